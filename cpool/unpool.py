"""Max unpooling, 1d/2d/3d: the partial inverse of max pooling, placing each
value at its index in a zeroed output.  Deterministic where indices repeat:
in each (n, c) plane the last input element in scan order wins (PyTorch's
result depends on thread timing there)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from . import _args, _core
from ._docs import Template
from ._types import IntOrTuple


def _unpool_size(lay, kernel_size, stride, padding, output_size, fn):
    nd = lay.nd
    k = _args.ntuple(kernel_size, nd, fn, "kernel_size")
    s = k if stride is None else _args.ntuple(stride, nd, fn, "stride")
    p = _args.ntuple(padding, nd, fn, "padding")
    for name, vals, low in (("kernel_size", k, 1), ("stride", s, 1), ("padding", p, 0)):
        if min(vals) < low:
            raise ValueError(f"{fn}(): {name} must be {'positive' if low else 'non-negative'}"
                             f", got {vals if nd > 1 else vals[0]}")
        _args.window_bounded(vals, fn, name)
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


_DOC = Template("""\
{nd}d max unpooling: each value put back at its index in a zeroed array.

The partial inverse of :func:`max_pool{nd}d`: given the pooled values and the
indices it returned, builds an array of the unpooled size that holds each
value at its index and zeros everywhere else.

Parameters
----------
x : numpy.ndarray
    Values to place, ``{x_cf}`` or batch-less ``{x_cf0}``; with
    ``channels_last=True``, ``{x_cl}`` or ``{x_cl0}``. float32, float64,
    int8, uint8, int16, uint16, int32 or int64.
indices : numpy.ndarray of int64
    Shaped like ``x``: for each value, its flat offset ``{index}`` in the
    unpooled plane of the same ``(n, c)``; ``-1`` entries are skipped.
kernel_size : int or tuple of int
    The pooling window: {ints}.
stride : int or tuple of int, optional
    The pooling stride; ``None`` (the default) means ``kernel_size``.
padding : int or tuple of int, default 0
    The pooling padding.
output_size : int or sequence of int, optional
    The unpooled spatial size (see Notes): an int, {nd} ints, or the full
    output shape. By default ``(L_in - 1) * stride + kernel_size - 2 *
    padding`` per axis.
{p_channels_last}

Returns
-------
numpy.ndarray
    ``{y_cf}`` or ``{y_cf0}``; with ``channels_last=True``, ``{y_cl}`` or
    ``{y_cl0}``, where ``({S_out})`` is the unpooled size. Same dtype as
    ``x``.

Raises
------
{e_type}
ValueError
    If ``x`` does not have {ndim} dimensions, ``indices`` is not shaped
    like it, an index lies outside ``[-1, plane size)`` (nothing is written
    outside the result), a window argument is out of range, or
    ``output_size`` has the wrong length or lies outside the allowed range.

See Also
--------
max_unpool{nd}d_backward : The gradient.
max_pool{nd}d : Gives the values and indices to unpool.
cpool.nn.MaxUnpool{nd}d : The same as a layer object.

Notes
-----
Each unpooled extent defaults to PyTorch's ``(L_in - 1) * stride +
kernel_size - 2 * padding``. A given ``output_size`` must lie strictly
between that default minus ``stride`` and the default plus ``stride`` on
every axis. The indices address the unpooled plane, so when the pooled input
was not of the default size (an odd extent pooled by 2, say), pass its size
as ``output_size``.

cpool differs from PyTorch where indices repeat within a plane: the last
input element in scan order wins, deterministically, at every thread count
and in both layouts (PyTorch's result depends on thread timing). Index
``-1``, which max pooling gives a window of padding only, is skipped
(PyTorch rejects it).

Examples
--------
>>> import numpy as np
>>> import cpool
{example}""", example={1: """\
>>> x = np.array([[1.0, 5.0, 2.0, 6.0, 3.0]])          # (C, L)
>>> y, idx = cpool.max_pool1d(x, 2, return_indices=True)
>>> print(cpool.max_unpool1d(y, idx, 2))               # default (2 - 1) * 2 + 2 = 4
[[0. 5. 0. 6.]]
>>> print(cpool.max_unpool1d(y, idx, 2, output_size=5))    # the length of x
[[0. 5. 0. 6. 0.]]""", 2: """\
>>> x = np.arange(16.0).reshape(1, 1, 4, 4)            # (N, C, H, W)
>>> y, idx = cpool.max_pool2d(x, 2, return_indices=True)
>>> print(cpool.max_unpool2d(y, idx, 2))
[[[[ 0.  0.  0.  0.]
   [ 0.  5.  0.  7.]
   [ 0.  0.  0.  0.]
   [ 0. 13.  0. 15.]]]]""", 3: """\
>>> v = np.array([[[[[1.0, 2.0]]]]])                   # (N, C, D, H, W) = (1, 1, 1, 1, 2)
>>> idx = np.array([[[[[3, 3]]]]])                     # both at offset 3
>>> print(cpool.max_unpool3d(v, idx, (1, 1, 2)).ravel())   # the later one wins
[0. 0. 0. 2.]"""})


@_DOC.rank(1)
def max_unpool1d(x: np.ndarray, indices: np.ndarray, kernel_size: IntOrTuple,
                 stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                 output_size: Optional[IntOrTuple] = None, *,
                 channels_last: bool = False) -> np.ndarray:
    return _max_unpool(1, "max_unpool1d", x, indices, kernel_size, stride, padding,
                       output_size, channels_last)


@_DOC.rank(2)
def max_unpool2d(x: np.ndarray, indices: np.ndarray, kernel_size: IntOrTuple,
                 stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                 output_size: Optional[IntOrTuple] = None, *,
                 channels_last: bool = False) -> np.ndarray:
    return _max_unpool(2, "max_unpool2d", x, indices, kernel_size, stride, padding,
                       output_size, channels_last)


@_DOC.rank(3)
def max_unpool3d(x: np.ndarray, indices: np.ndarray, kernel_size: IntOrTuple,
                 stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                 output_size: Optional[IntOrTuple] = None, *,
                 channels_last: bool = False) -> np.ndarray:
    return _max_unpool(3, "max_unpool3d", x, indices, kernel_size, stride, padding,
                       output_size, channels_last)


_BACKWARD_DOC = Template("""\
Gradient of :func:`max_unpool{nd}d` with respect to its values ``x``.

Each value receives the gradient at its index, if it is the value that the
forward pass kept there; the others, and index ``-1``, receive 0.

Parameters
----------
grad_output : numpy.ndarray
    Gradient with respect to the unpooled result, ``{y_cf}`` or ``{y_cf0}``
    (channels last: ``{y_cl}`` or ``{y_cl0}``); float32 or float64.
indices : numpy.ndarray of int64
    The indices given to the forward call; their shape is the shape of
    ``x``.
{p_channels_last_grad}

Returns
-------
numpy.ndarray
    The gradient with respect to ``x``: shaped like ``indices``, in the
    dtype of ``grad_output``.

Raises
------
{e_type}
ValueError
    If the arrays do not have {ndim} dimensions or do not match (same rank,
    batch and channels), or an index lies outside ``[-1, plane size)``.

See Also
--------
max_unpool{nd}d : The forward pass.
cpool.nn.MaxUnpool{nd}d : Keeps the indices for the backward.

Notes
-----
Where indices repeat, the element that won the position in the forward pass
(the last in scan order) gets the gradient, so the gradient is that of the
function computed. PyTorch gives it to every element pointing there.

Examples
--------
>>> import numpy as np
>>> import cpool
{example}""", example={1: """\
>>> g = np.arange(4.0).reshape(1, 4)                   # (C, L_out)
>>> print(cpool.max_unpool1d_backward(g, np.array([[1, 3]])))
[[1. 3.]]""", 2: """\
>>> g = np.arange(16.0).reshape(1, 1, 4, 4)            # (N, C, H_out, W_out)
>>> idx = np.array([[[[5, 7], [13, 15]]]])
>>> print(cpool.max_unpool2d_backward(g, idx))
[[[[ 5.  7.]
   [13. 15.]]]]""", 3: """\
>>> g = np.arange(4.0).reshape(1, 1, 1, 1, 4)          # (N, C, D_out, H_out, W_out)
>>> idx = np.array([[[[[3, 3]]]]])                     # both at offset 3
>>> print(cpool.max_unpool3d_backward(g, idx).ravel())     # only the winner
[0. 3.]"""})


@_BACKWARD_DOC.rank(1)
def max_unpool1d_backward(grad_output: np.ndarray, indices: np.ndarray, *,
                          channels_last: bool = False) -> np.ndarray:
    return _max_unpool_backward(1, "max_unpool1d_backward", grad_output, indices,
                                channels_last)


@_BACKWARD_DOC.rank(2)
def max_unpool2d_backward(grad_output: np.ndarray, indices: np.ndarray, *,
                          channels_last: bool = False) -> np.ndarray:
    return _max_unpool_backward(2, "max_unpool2d_backward", grad_output, indices,
                                channels_last)


@_BACKWARD_DOC.rank(3)
def max_unpool3d_backward(grad_output: np.ndarray, indices: np.ndarray, *,
                          channels_last: bool = False) -> np.ndarray:
    return _max_unpool_backward(3, "max_unpool3d_backward", grad_output, indices,
                                channels_last)
