"""Adaptive max and average pooling, 1d/2d/3d: output bin i of an axis spans
[floor(i*a/n), ceil((i+1)*a/n)) of the input extent a, in exact integer
arithmetic; the bins run through the same C kernels as max/avg pooling."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import _args, _core
from .maxpool import index_backward

SizeArg = Union[int, None, Sequence[Optional[int]]]


def _bins_geom(lay, out_size):
    return lay.bins_geom(out_size, tuple(_args.adaptive_bins(a, n)
                                         for a, n in zip(lay.spatial, out_size)))


def _adaptive(nd, fn, x, output_size, is_max, return_indices, channels_last, out):
    x = _args.array(x, fn)
    code = _args.dtype_code(x, _args.MAX_DTYPES if is_max else _args.FLOAT_DTYPES, fn)
    lay = _args.layout(x, nd, channels_last, fn)
    size = _args.adaptive_output_size(output_size, lay, fn)
    return_indices = _args.flag(return_indices, fn, "return_indices") if is_max else False
    shape = lay.shape(size)
    y = _args.output(out, shape, x.dtype.newbyteorder("="), fn, (x,))
    ind = np.empty(shape, dtype=np.int64) if return_indices else None
    if y.size:
        geom = _bins_geom(lay, size)
        xc = _args.contiguous(x)
        rc = (_core.max_pool_fwd(code, geom, xc, y, ind) if is_max
              else _core.avg_pool(code, geom, xc, y, True, 0, False))
        _args.check_status(rc, fn)
    return (y, ind) if return_indices else y


def _adaptive_avg_backward(nd, fn, grad_output, input_shape, channels_last):
    lay = _args.input_shape(input_shape, nd, channels_last, fn)
    g = _args.array(grad_output, fn, "grad_output")
    size = _args.spatial_of(g.shape, lay) if g.ndim == len(lay.shape(lay.spatial)) else None
    if size is None or len(size) != nd:
        raise ValueError(f"{fn}(): grad_output has shape {g.shape}, which does not match "
                         f"input_shape {tuple(input_shape)}")
    g, code = _args.grad_output(g, lay.shape(size), fn)
    # an empty grad_output (output size 0) leaves the gradient all zero
    gx = (np.empty if g.size else np.zeros)(lay.shape(lay.spatial), dtype=g.dtype)
    if gx.size and g.size:
        _args.check_status(_core.avg_pool(code, _bins_geom(lay, size), g, gx, True, 0, True),
                           fn)
    return gx


def adaptive_max_pool1d(x: np.ndarray, output_size: SizeArg, return_indices: bool = False, *,
                        channels_last: bool = False, out: Optional[np.ndarray] = None):
    """Adaptive 1d max pooling to ``output_size`` bins; ``(y, indices)`` on request."""
    return _adaptive(1, "adaptive_max_pool1d", x, output_size, True, return_indices,
                     channels_last, out)


def adaptive_max_pool2d(x: np.ndarray, output_size: SizeArg, return_indices: bool = False, *,
                        channels_last: bool = False, out: Optional[np.ndarray] = None):
    """Adaptive 2d max pooling; ``None`` in ``output_size`` keeps that axis."""
    return _adaptive(2, "adaptive_max_pool2d", x, output_size, True, return_indices,
                     channels_last, out)


def adaptive_max_pool3d(x: np.ndarray, output_size: SizeArg, return_indices: bool = False, *,
                        channels_last: bool = False, out: Optional[np.ndarray] = None):
    """Adaptive 3d max pooling."""
    return _adaptive(3, "adaptive_max_pool3d", x, output_size, True, return_indices,
                     channels_last, out)


def adaptive_avg_pool1d(x: np.ndarray, output_size: SizeArg, *, channels_last: bool = False,
                        out: Optional[np.ndarray] = None) -> np.ndarray:
    """Adaptive 1d average pooling: each bin's sum divided by its extent."""
    return _adaptive(1, "adaptive_avg_pool1d", x, output_size, False, False, channels_last,
                     out)


def adaptive_avg_pool2d(x: np.ndarray, output_size: SizeArg, *, channels_last: bool = False,
                        out: Optional[np.ndarray] = None) -> np.ndarray:
    """Adaptive 2d average pooling: ``sum / kh / kw`` per bin, as PyTorch."""
    return _adaptive(2, "adaptive_avg_pool2d", x, output_size, False, False, channels_last,
                     out)


def adaptive_avg_pool3d(x: np.ndarray, output_size: SizeArg, *, channels_last: bool = False,
                        out: Optional[np.ndarray] = None) -> np.ndarray:
    """Adaptive 3d average pooling: ``sum / kd / kh / kw`` per bin."""
    return _adaptive(3, "adaptive_avg_pool3d", x, output_size, False, False, channels_last,
                     out)


def adaptive_max_pool1d_backward(grad_output: np.ndarray, indices: np.ndarray,
                                 input_shape: Tuple[int, ...], *, channels_last: bool = False
                                 ) -> np.ndarray:
    """Gradient of :func:`adaptive_max_pool1d` (scatter-add through indices)."""
    return index_backward(1, "adaptive_max_pool1d_backward", grad_output, indices,
                          input_shape, channels_last)


def adaptive_max_pool2d_backward(grad_output: np.ndarray, indices: np.ndarray,
                                 input_shape: Tuple[int, ...], *, channels_last: bool = False
                                 ) -> np.ndarray:
    """Gradient of :func:`adaptive_max_pool2d` (scatter-add through indices)."""
    return index_backward(2, "adaptive_max_pool2d_backward", grad_output, indices,
                          input_shape, channels_last)


def adaptive_max_pool3d_backward(grad_output: np.ndarray, indices: np.ndarray,
                                 input_shape: Tuple[int, ...], *, channels_last: bool = False
                                 ) -> np.ndarray:
    """Gradient of :func:`adaptive_max_pool3d` (scatter-add through indices)."""
    return index_backward(3, "adaptive_max_pool3d_backward", grad_output, indices,
                          input_shape, channels_last)


def adaptive_avg_pool1d_backward(grad_output: np.ndarray, input_shape: Tuple[int, ...], *,
                                 channels_last: bool = False) -> np.ndarray:
    """Gradient of :func:`adaptive_avg_pool1d`; the output size is grad_output's."""
    return _adaptive_avg_backward(1, "adaptive_avg_pool1d_backward", grad_output,
                                  input_shape, channels_last)


def adaptive_avg_pool2d_backward(grad_output: np.ndarray, input_shape: Tuple[int, ...], *,
                                 channels_last: bool = False) -> np.ndarray:
    """Gradient of :func:`adaptive_avg_pool2d`: grad / kh / kw added over each bin."""
    return _adaptive_avg_backward(2, "adaptive_avg_pool2d_backward", grad_output,
                                  input_shape, channels_last)


def adaptive_avg_pool3d_backward(grad_output: np.ndarray, input_shape: Tuple[int, ...], *,
                                 channels_last: bool = False) -> np.ndarray:
    """Gradient of :func:`adaptive_avg_pool3d`."""
    return _adaptive_avg_backward(3, "adaptive_avg_pool3d_backward", grad_output,
                                  input_shape, channels_last)
