"""Max pooling, 1d/2d/3d, forward (values and optional int64 indices) and
backward (scatter-add of the gradient through the indices)."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import _args, _core

IntOrTuple = Union[int, Sequence[int]]


_FAST = _args.FastCache()


def _max_pool(nd, fn, x, kernel_size, stride, padding, dilation, ceil_mode,
              return_indices, channels_last, out):
    key = _args.fast_key(x, (nd, kernel_size, stride, padding, dilation),
                         (ceil_mode, return_indices, channels_last))
    hit = _FAST.get(key) if key is not None else None
    if hit is not None:
        code, shape, dtype, geom, _ = hit
        y = np.empty(shape, dtype) if out is None else _args.output(out, shape, dtype, fn, (x,))
        ind = np.empty(shape, np.int64) if return_indices else None
        if y.size:
            _args.check_status(_core.max_pool_fwd(code, geom, x, y, ind), fn)
        return (y, ind) if return_indices else y
    x = _args.array(x, fn)
    code = _args.dtype_code(x, _args.MAX_DTYPES, fn)
    lay = _args.layout(x, nd, channels_last, fn)
    win = _args.window(lay, kernel_size, stride, padding, dilation, ceil_mode, fn)
    return_indices = _args.flag(return_indices, fn, "return_indices")
    shape = lay.shape(win.out)
    y = _args.output(out, shape, x.dtype.newbyteorder("="), fn, (x,))
    ind = np.empty(shape, dtype=np.int64) if return_indices else None
    geom = lay.geom(win)
    if y.size:
        _args.check_status(_core.max_pool_fwd(code, geom, _args.contiguous(x), y, ind), fn)
    _FAST.remember(key, code, shape, y.dtype, geom)
    return (y, ind) if return_indices else y


def index_backward(nd, fn, grad_output, indices, input_shape, channels_last):
    """Backward of every family that records indices: scatter-add of
    grad_output into an input-shaped array through the indices."""
    lay = _args.input_shape(input_shape, nd, channels_last, fn)
    g = _args.array(grad_output, fn, "grad_output")
    expected = lay.shape(_args.spatial_of(g.shape, lay)) if g.ndim == len(input_shape) else None
    if expected is None or any(s < 1 for s in _args.spatial_of(g.shape, lay)):
        raise ValueError(f"{fn}(): grad_output has shape {g.shape}, which does not match "
                         f"input_shape {tuple(input_shape)} (same batch and channels, "
                         f"non-empty spatial axes)")
    g, code = _args.grad_output(g, expected, fn)
    ind = _args.indices(indices, expected, fn)
    gx = np.empty(lay.shape(lay.spatial), dtype=g.dtype)
    if gx.size:
        geom = _args.extents_geom(lay, lay.spatial, _args.spatial_of(g.shape, lay))
        rc = _core.index_scatter(code, geom, g, ind, gx, False)
        _args.check_status(rc, fn, int(np.prod(lay.spatial)))
    return gx


def max_pool1d(x: np.ndarray, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False, *, channels_last: bool = False,
               out: Optional[np.ndarray] = None):
    """1d max pooling of ``(N, C, L)`` or ``(C, L)`` (``(N, L, C)`` / ``(L, C)`` with
    ``channels_last=True``).  Returns ``y`` or ``(y, indices)``; see the README."""
    return _max_pool(1, "max_pool1d", x, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices, channels_last, out)


def max_pool2d(x: np.ndarray, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False, *, channels_last: bool = False,
               out: Optional[np.ndarray] = None):
    """2d max pooling of ``(N, C, H, W)`` or ``(C, H, W)`` (``(N, H, W, C)`` / ``(H, W, C)``
    with ``channels_last=True``).  Returns ``y`` or ``(y, indices)``; indices are
    ``h * W + w`` in the input plane, as PyTorch."""
    return _max_pool(2, "max_pool2d", x, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices, channels_last, out)


def max_pool3d(x: np.ndarray, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False, *, channels_last: bool = False,
               out: Optional[np.ndarray] = None):
    """3d max pooling of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` (channels last:
    ``(N, D, H, W, C)`` / ``(D, H, W, C)``).  Returns ``y`` or ``(y, indices)``;
    indices are ``(d * H + h) * W + w``."""
    return _max_pool(3, "max_pool3d", x, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices, channels_last, out)


def max_pool1d_backward(grad_output: np.ndarray, indices: np.ndarray,
                        input_shape: Tuple[int, ...], *, channels_last: bool = False
                        ) -> np.ndarray:
    """Gradient of :func:`max_pool1d` w.r.t. its input: ``grad_output`` added at
    ``indices`` (overlapping windows accumulate; index -1 is skipped)."""
    return index_backward(1, "max_pool1d_backward", grad_output, indices, input_shape,
                              channels_last)


def max_pool2d_backward(grad_output: np.ndarray, indices: np.ndarray,
                        input_shape: Tuple[int, ...], *, channels_last: bool = False
                        ) -> np.ndarray:
    """Gradient of :func:`max_pool2d` w.r.t. its input (scatter-add through indices)."""
    return index_backward(2, "max_pool2d_backward", grad_output, indices, input_shape,
                              channels_last)


def max_pool3d_backward(grad_output: np.ndarray, indices: np.ndarray,
                        input_shape: Tuple[int, ...], *, channels_last: bool = False
                        ) -> np.ndarray:
    """Gradient of :func:`max_pool3d` w.r.t. its input (scatter-add through indices)."""
    return index_backward(3, "max_pool3d_backward", grad_output, indices, input_shape,
                              channels_last)
