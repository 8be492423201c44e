"""Max unpooling, 1d/2d/3d: the partial inverse of max pooling, placing each
value at its index in a zeroed output.  Deterministic where indices repeat:
in each (n, c) plane the last input element in scan order wins (PyTorch's
result depends on thread timing there)."""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from . import _args, _core

IntOrTuple = Union[int, Sequence[int]]


def _unpool_size(lay, kernel_size, stride, padding, output_size, fn):
    nd = lay.nd
    k = _args.ntuple(kernel_size, nd, fn, "kernel_size")
    s = k if stride is None else _args.ntuple(stride, nd, fn, "stride")
    p = _args.ntuple(padding, nd, fn, "padding")
    for name, vals, low in (("kernel_size", k, 1), ("stride", s, 1), ("padding", p, 0)):
        if min(vals) < low:
            raise ValueError(f"{fn}(): {name} must be {'positive' if low else 'non-negative'}"
                             f", got {vals if nd > 1 else vals[0]}")
    default = tuple((a - 1) * si + ki - 2 * pi for a, ki, si, pi in zip(lay.spatial, k, s, p))
    if output_size is None:
        size = default
    else:
        full = (tuple(_args._int(v, fn, "output_size") for v in output_size)
                if isinstance(output_size, (tuple, list))
                else (_args._int(output_size, fn, "output_size"),) * nd)
        if len(full) == nd:
            size = full
        elif len(full) == len(lay.shape(lay.spatial)):
            size = _args.spatial_of(full, lay)
        else:
            raise ValueError(f"{fn}(): output_size must have {nd} entries (or the full "
                             f"output shape), got {output_size!r}")
        for o, d, si in zip(size, default, s):
            if not d - si < o < d + si:
                raise ValueError(f"{fn}(): invalid output_size {output_size!r}: each "
                                 f"spatial size must lie strictly between default - stride "
                                 f"and default + stride, default {default}, stride {s}")
    if min(size) < 1:
        raise ValueError(f"{fn}(): the unpooled size {size} is empty for input spatial size "
                         f"{lay.spatial}, kernel_size={k}, stride={s}, padding={p}")
    return size


def _max_unpool(nd, fn, x, indices, kernel_size, stride, padding, output_size, channels_last):
    x = _args.array(x, fn)
    code = _args.dtype_code(x, _args.MAX_DTYPES, fn)
    lay = _args.layout(x, nd, channels_last, fn)
    ind = _args.indices(indices, x.shape, fn)
    size = _unpool_size(lay, kernel_size, stride, padding, output_size, fn)
    y = np.empty(lay.shape(size), dtype=x.dtype.newbyteorder("="))
    if x.size:
        geom = _args.extents_geom(lay, size, lay.spatial)  # dst: the unpooled plane
        rc = _core.index_scatter(code, geom, _args.contiguous(x), ind, y, True)
        _args.check_status(rc, fn, int(np.prod(size)))
    else:
        y.fill(0)
    return y


def _max_unpool_backward(nd, fn, grad_output, indices, channels_last):
    ind = _args.array(indices, fn, "indices")
    lay = _args.layout(ind, nd, channels_last, fn, "indices")
    g = _args.array(grad_output, fn, "grad_output")
    if g.ndim != ind.ndim:
        raise ValueError(f"{fn}(): grad_output must have {ind.ndim} dimensions like indices, "
                         f"got shape {g.shape}")
    size = _args.spatial_of(g.shape, lay)
    g, code = _args.grad_output(g, lay.shape(size), fn)
    ind = _args.indices(ind, ind.shape, fn)
    cf = _args.channels_first(lay)
    if lay.channels_last:  # the winners pass runs channels-first
        g, ind = _args.to_channels_first(g, lay), _args.to_channels_first(ind, lay)
    gx = np.empty(cf.shape(lay.spatial), dtype=g.dtype)
    if gx.size:
        geom = _args.extents_geom(cf, size, lay.spatial)
        rc = _core.index_gather_winners(code, geom, g, ind, gx)
        _args.check_status(rc, fn, int(np.prod(size)))
    return _args.to_channels_last(gx, lay) if lay.channels_last else gx


def max_unpool1d(x: np.ndarray, indices: np.ndarray, kernel_size: IntOrTuple,
                 stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                 output_size: Optional[Sequence[int]] = None, *,
                 channels_last: bool = False) -> np.ndarray:
    """Inverse of :func:`max_pool1d` with its indices: zeros except at the
    indexed positions.  Default length ``(L - 1) * stride + kernel - 2 * padding``."""
    return _max_unpool(1, "max_unpool1d", x, indices, kernel_size, stride, padding,
                       output_size, channels_last)


def max_unpool2d(x: np.ndarray, indices: np.ndarray, kernel_size: IntOrTuple,
                 stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                 output_size: Optional[Sequence[int]] = None, *,
                 channels_last: bool = False) -> np.ndarray:
    """Inverse of :func:`max_pool2d` with its indices (PyTorch's size rules)."""
    return _max_unpool(2, "max_unpool2d", x, indices, kernel_size, stride, padding,
                       output_size, channels_last)


def max_unpool3d(x: np.ndarray, indices: np.ndarray, kernel_size: IntOrTuple,
                 stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                 output_size: Optional[Sequence[int]] = None, *,
                 channels_last: bool = False) -> np.ndarray:
    """Inverse of :func:`max_pool3d` with its indices (PyTorch's size rules)."""
    return _max_unpool(3, "max_unpool3d", x, indices, kernel_size, stride, padding,
                       output_size, channels_last)


def max_unpool1d_backward(grad_output: np.ndarray, indices: np.ndarray, *,
                          channels_last: bool = False) -> np.ndarray:
    """Gradient of :func:`max_unpool1d` w.r.t. x: ``grad_output`` at each index
    for the element that won it, 0 for the others and for index -1."""
    return _max_unpool_backward(1, "max_unpool1d_backward", grad_output, indices,
                                channels_last)


def max_unpool2d_backward(grad_output: np.ndarray, indices: np.ndarray, *,
                          channels_last: bool = False) -> np.ndarray:
    """Gradient of :func:`max_unpool2d` w.r.t. x."""
    return _max_unpool_backward(2, "max_unpool2d_backward", grad_output, indices,
                                channels_last)


def max_unpool3d_backward(grad_output: np.ndarray, indices: np.ndarray, *,
                          channels_last: bool = False) -> np.ndarray:
    """Gradient of :func:`max_unpool3d` w.r.t. x."""
    return _max_unpool_backward(3, "max_unpool3d_backward", grad_output, indices,
                                channels_last)
