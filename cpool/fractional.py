"""Fractional max pooling (Graham 2014), 2d and 3d, with PyTorch's pseudo-
random overlapping windows: fed PyTorch's samples it gives PyTorch's exact
regions; without them, ``seed`` draws the samples."""
from __future__ import annotations

import numbers
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import _args, _core
from .maxpool import index_backward

IntOrTuple = Union[int, Sequence[int]]
RatioArg = Union[float, Sequence[float], None]

# Column of random_samples for each spatial axis, in PyTorch's order:
# 2d (H, W) takes columns (1, 0); 3d (D, H, W) takes (0, 1, 2).
_SAMPLE_COLUMN = {2: (1, 0), 3: (0, 1, 2)}


def _output_size(lay, k, output_size, output_ratio, fn):
    nd = lay.nd
    if output_size is not None:
        size = _args.ntuple(output_size, nd, fn, "output_size")
    elif output_ratio is not None:
        ratios = (tuple(output_ratio) if isinstance(output_ratio, (tuple, list))
                  else (output_ratio,) * nd)
        if len(ratios) != nd:
            raise ValueError(f"{fn}(): output_ratio must be a number or a tuple of {nd} "
                             f"numbers, got {output_ratio!r}")
        if not all(isinstance(r, numbers.Real) and not isinstance(r, (bool, np.bool_))
                   for r in ratios):
            raise TypeError(f"{fn}(): output_ratio must be a number or a tuple of {nd} "
                            f"numbers, got {output_ratio!r}")
        if not all(0 < r < 1 for r in ratios):
            raise ValueError(f"{fn}(): output_ratio must lie in (0, 1), got {output_ratio!r}")
        size = tuple(int(a * float(r)) for a, r in zip(lay.spatial, ratios))
    else:
        raise ValueError(f"{fn}(): give output_size or output_ratio")
    for a, o, kk in zip(lay.spatial, size, k):
        if o < 1:
            raise ValueError(f"{fn}(): output_size must be >= 1 on every axis, got {size} "
                             f"(output_size={output_size!r}, output_ratio={output_ratio!r})")
        if o + kk - 1 > a:
            raise ValueError(f"{fn}(): output_size {size} with kernel_size {k} needs input "
                             f"extents of at least output + kernel - 1, got {lay.spatial}")
    return size


def _samples(random_samples, seed, lay, dtype, fn):
    """(N*C, d) samples in the interval dtype, validated."""
    shape = (lay.n, lay.c, lay.nd)
    if random_samples is None:
        s = _args.generator(seed, fn).random(shape)
    else:
        s = _args.array(random_samples, fn, "random_samples")
        if s.dtype.kind != "f":
            raise TypeError(f"{fn}(): random_samples must be a float array, got {s.dtype}")
        if s.shape != shape and not (not lay.batched and s.shape == shape[1:]):
            raise ValueError(f"{fn}(): random_samples must have shape {shape}, "
                             f"got {s.shape}")
        if not np.all((s >= 0) & (s < 1)):
            raise ValueError(f"{fn}(): random_samples must lie in [0, 1) (no NaN)")
    return np.asarray(s, dtype=dtype).reshape(lay.n * lay.c, lay.nd)


def _intervals(size, out, k, u, dtype):
    """PyTorch's generate_intervals in `dtype`, one row of window starts per
    plane: start_i = int((i + u) * alpha) - int(u * alpha), the last flush
    right at size - k; returned as [start, start + k) pairs."""
    planes = u.shape[0]
    starts = np.empty((planes, out), dtype=np.int64)
    if out > 1:
        alpha = dtype.type(size - k) / dtype.type(out - 1)
        i = np.arange(out - 1, dtype=dtype)
        starts[:, :-1] = (((i[None, :] + u[:, None]) * alpha).astype(np.int64)
                          - (u * alpha).astype(np.int64)[:, None])
    starts[:, -1] = size - k
    return np.ascontiguousarray(np.stack([starts, starts + k], axis=2).reshape(-1))


def _fractional(nd, fn, x, kernel_size, output_size, output_ratio, return_indices,
                random_samples, seed, channels_last):
    x = _args.array(x, fn)
    code = _args.dtype_code(x, _args.MAX_DTYPES, fn)
    lay = _args.layout(x, nd, channels_last, fn)
    k = _args.ntuple(kernel_size, nd, fn, "kernel_size")
    if min(k) < 1:
        raise ValueError(f"{fn}(): kernel_size must be positive, got {kernel_size!r}")
    return_indices = _args.flag(return_indices, fn, "return_indices")
    size = _output_size(lay, k, output_size, output_ratio, fn)
    dtype = x.dtype.newbyteorder("=") if x.dtype.kind == "f" else np.dtype(np.float64)
    u = _samples(random_samples, seed, lay, dtype, fn)
    # Windows differ per plane, so the kernel runs channels-first (a
    # channels-last input is transposed once, and so is the result).
    cf = _args.channels_first(lay)
    xc = _args.to_channels_first(x, lay) if lay.channels_last else _args.contiguous(x)
    bins = tuple(_intervals(a, o, kk, u[:, col], dtype)
                 for a, o, kk, col in zip(lay.spatial, size, k, _SAMPLE_COLUMN[nd]))
    y = np.empty(cf.shape(size), dtype=x.dtype.newbyteorder("="))
    ind = np.empty(y.shape, dtype=np.int64) if return_indices else None
    if y.size:
        _args.check_status(_core.max_pool_fwd(code, cf.bins_geom(size, bins, per_plane=True),
                                              xc, y, ind), fn)
    if lay.channels_last:
        y = _args.to_channels_last(y, lay)
        ind = _args.to_channels_last(ind, lay) if return_indices else None
    return (y, ind) if return_indices else y


_DOC = """Fractional max pooling in {nd}d (Graham 2014) of ``{cf}`` or batch-less
    (channels-last ``{cl}``).

    Size the output with ``output_size`` or ``output_ratio`` (a number or a
    tuple in (0, 1); ``int(in * ratio)`` per axis).  ``random_samples`` of
    shape ``(N, C, {nd})`` in [0, 1), in PyTorch's order ({order}), reproduce
    PyTorch's pooling regions exactly; otherwise ``seed`` (int, Generator or
    None) draws them.  Returns ``y`` or ``(y, indices)``."""


def fractional_max_pool2d(x: np.ndarray, kernel_size: IntOrTuple,
                          output_size: Optional[IntOrTuple] = None,
                          output_ratio: RatioArg = None, return_indices: bool = False,
                          random_samples: Optional[np.ndarray] = None, seed=None, *,
                          channels_last: bool = False):
    return _fractional(2, "fractional_max_pool2d", x, kernel_size, output_size, output_ratio,
                       return_indices, random_samples, seed, channels_last)


def fractional_max_pool3d(x: np.ndarray, kernel_size: IntOrTuple,
                          output_size: Optional[IntOrTuple] = None,
                          output_ratio: RatioArg = None, return_indices: bool = False,
                          random_samples: Optional[np.ndarray] = None, seed=None, *,
                          channels_last: bool = False):
    return _fractional(3, "fractional_max_pool3d", x, kernel_size, output_size, output_ratio,
                       return_indices, random_samples, seed, channels_last)


fractional_max_pool2d.__doc__ = _DOC.format(nd=2, cf="(N, C, H, W)", cl="(N, H, W, C)",
                                            order="column 0 for W, column 1 for H")
fractional_max_pool3d.__doc__ = _DOC.format(nd=3, cf="(N, C, D, H, W)", cl="(N, D, H, W, C)",
                                            order="columns for D, H, W")


def fractional_max_pool2d_backward(grad_output: np.ndarray, indices: np.ndarray,
                                   input_shape: Tuple[int, ...], *,
                                   channels_last: bool = False) -> np.ndarray:
    """Gradient of :func:`fractional_max_pool2d` (scatter-add through indices)."""
    return index_backward(2, "fractional_max_pool2d_backward", grad_output, indices,
                          input_shape, channels_last)


def fractional_max_pool3d_backward(grad_output: np.ndarray, indices: np.ndarray,
                                   input_shape: Tuple[int, ...], *,
                                   channels_last: bool = False) -> np.ndarray:
    """Gradient of :func:`fractional_max_pool3d` (scatter-add through indices)."""
    return index_backward(3, "fractional_max_pool3d_backward", grad_output, indices,
                          input_shape, channels_last)
