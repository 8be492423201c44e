"""Max pooling, 1d/2d/3d, forward (values and optional int64 indices) and
backward (scatter-add of the gradient through the indices)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from . import _args, _core
from ._docs import Template, index_backward_doc
from ._types import IntOrTuple, MaxPoolFunction, Pooled, Shape, typed_as

def _max_pool_full(fn, x, window, flags, out):
    """A call without a plan (cpool._core.PlanCache): every argument
    checked, and the plan kept for the next call like it."""
    nd, kernel_size, stride, padding, dilation = window
    ceil_mode, return_indices, channels_last = flags
    key = _core.fast_key(x, window, flags)
    x = _args.array(x, fn)
    code = _args.dtype_code(x, _args.MAX_DTYPES, fn)
    lay = _args.layout(x, nd, channels_last, fn)
    win = _args.window(lay, kernel_size, stride, padding, dilation, ceil_mode, fn)
    return_indices = _args.flag(return_indices, fn, "return_indices")
    shape = lay.shape(win.out)
    dtype = x.dtype.newbyteorder("=")  # the plan's: not out's, which may be an alias
    y = _args.output(out, shape, dtype, fn, (x,))
    ind = np.empty(shape, dtype=np.int64) if return_indices else None
    geom = lay.geom(win)
    if y.size:
        _args.check_status(_core.max_pool_fwd(code, geom, _args.contiguous(x), y, ind), fn)
    _FAST.remember(key, code, shape, dtype, geom)
    return (y, ind) if return_indices else y


# called as _FAST(fn, x, window, flags, out): Cython runs a planned call
# without a Python frame of ours (a tiny call has 2 us)
_FAST = _core.PlanCache("max_pool", _max_pool_full, _args.check_status)


def _max_pool(nd, fn, x, kernel_size, stride, padding, dilation, ceil_mode,
              return_indices, channels_last, out):
    return _FAST(fn, x, (nd, kernel_size, stride, padding, dilation),
                 (ceil_mode, return_indices, channels_last), out)


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


_DOC = Template("""\
{nd}d max pooling: the largest element of each window.

Slides a window of ``kernel_size`` elements (spread by ``dilation``) over
{the_axes} of every ``(n, c)`` plane, ``stride`` apart, over the
input padded by ``padding`` on both sides, and keeps the maximum of each
window; optionally also where it was, for :func:`max_pool{nd}d_backward` and
:func:`max_unpool{nd}d`.

Parameters
----------
{p_x_max}
{p_kernel}
{p_stride}
{p_padding} Padding never wins: it acts as ``-inf``.
{p_dilation}
{p_ceil_mode}
{p_return_indices}
{p_channels_last}
{p_out}

Returns
-------
{r_y}
{r_indices}

Raises
------
{e_type}
{e_value_window}

See Also
--------
max_pool{nd}d_backward : The gradient, through the indices.
max_unpool{nd}d : Places the maxima back at their indices.
adaptive_max_pool{nd}d : Max pooling to a given output size.
avg_pool{nd}d : The mean of each window instead.
cpool.nn.MaxPool{nd}d : The same as a layer object.

Notes
-----
{n_output_size} {n_ceil_mode} With dilation a window spans ``dilation * (kernel_size - 1) + 1``
elements, which take the place of ``kernel_size`` there. ``padding <=
kernel_size // 2`` is required whatever the dilation.

{n_indices}

{n_nan_ties}

A window made only of padding (possible with dilation, e.g. a 2-wide axis
with ``kernel_size=2, stride=1, padding=1, dilation=3``) gives ``-inf`` (the
dtype's minimum for integers) and index ``-1``, which every backward and
``max_unpool{nd}d`` skip; PyTorch returns an index outside the plane there,
which its backward then writes through. cpool also accepts uint16, which
PyTorch rejects{int1d}. {n_threads}

``kernel_size=3, stride=2`` is the overlapping pooling of AlexNet [1]_, which
the authors found to overfit slightly less than ``kernel_size=2, stride=2``
at the same output size.

References
----------
.. [1] A. Krizhevsky, I. Sutskever and G. E. Hinton, "ImageNet
   Classification with Deep Convolutional Neural Networks", Advances in
   Neural Information Processing Systems 25 (NIPS 2012), section 3.4.

Examples
--------
>>> import numpy as np
>>> import cpool
{example}""", int1d={1: """, and integer input without indices, which PyTorch's
``max_pool1d`` takes only with ``return_indices=True``""", 2: "", 3: ""}, example={1: """\
>>> x = np.arange(10.0).reshape(1, 2, 5)               # (N, C, L)
>>> y, idx = cpool.max_pool1d(x, 3, stride=2, padding=1, return_indices=True)
>>> print(y)
[[[1. 3. 4.]
  [6. 8. 9.]]]
>>> print(idx)                                         # offsets along L
[[[1 3 4]
  [1 3 4]]]
>>> cpool.max_pool1d(x, 2).shape, cpool.max_pool1d(x, 2, ceil_mode=True).shape
((1, 2, 2), (1, 2, 3))""", 2: """\
>>> x = np.arange(16.0).reshape(1, 4, 4)               # (C, H, W), no batch axis
>>> y, idx = cpool.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)
>>> print(y)
[[[ 5.  7.]
  [13. 15.]]]
>>> print(idx)                                         # h * W + w
[[[ 5  7]
  [13 15]]]
>>> xl = np.moveaxis(x, 0, -1)                         # (H, W, C)
>>> cpool.max_pool2d(xl, 3, 2, 1, channels_last=True).shape
(2, 2, 1)""", 3: """\
>>> x = np.arange(8, dtype=np.uint8).reshape(1, 1, 2, 2, 2)    # (N, C, D, H, W)
>>> y, idx = cpool.max_pool3d(x, 2, stride=1, padding=1, return_indices=True)
>>> y.shape, y.dtype
((1, 1, 3, 3, 3), dtype('uint8'))
>>> print(idx[0, 0, 1])                                # (d * H + h) * W + w
[[4 5 5]
 [6 7 7]
 [6 7 7]]"""})


@typed_as(MaxPoolFunction)
@_DOC.rank(1)
def max_pool1d(x: np.ndarray, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False, *, channels_last: bool = False,
               out: Optional[np.ndarray] = None) -> Pooled:
    return _FAST("max_pool1d", x, (1, kernel_size, stride, padding, dilation),
                 (ceil_mode, return_indices, channels_last), out)


@typed_as(MaxPoolFunction)
@_DOC.rank(2)
def max_pool2d(x: np.ndarray, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False, *, channels_last: bool = False,
               out: Optional[np.ndarray] = None) -> Pooled:
    return _FAST("max_pool2d", x, (2, kernel_size, stride, padding, dilation),
                 (ceil_mode, return_indices, channels_last), out)


@typed_as(MaxPoolFunction)
@_DOC.rank(3)
def max_pool3d(x: np.ndarray, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False, *, channels_last: bool = False,
               out: Optional[np.ndarray] = None) -> Pooled:
    return _FAST("max_pool3d", x, (3, kernel_size, stride, padding, dilation),
                 (ceil_mode, return_indices, channels_last), out)


_BACKWARD_DOC = index_backward_doc("max_pool", "MaxPool", example={1: """\
>>> x = np.array([[1.0, 2.0, 5.0, 2.0, 1.0]])          # (C, L)
>>> y, idx = cpool.max_pool1d(x, 3, stride=1, return_indices=True)
>>> print(y, idx)
[[5. 5. 5.]] [[2 2 2]]
>>> print(cpool.max_pool1d_backward(np.ones_like(y), idx, x.shape))
[[0. 0. 3. 0. 0.]]""", 2: """\
>>> x = np.arange(16.0).reshape(1, 4, 4)               # (C, H, W)
>>> y, idx = cpool.max_pool2d(x, 3, stride=1, return_indices=True)
>>> print(cpool.max_pool2d_backward(np.ones_like(y), idx, x.shape))
[[[0. 0. 0. 0.]
  [0. 0. 0. 0.]
  [0. 0. 1. 1.]
  [0. 0. 1. 1.]]]""", 3: """\
>>> x = np.arange(8.0).reshape(1, 1, 2, 2, 2)          # (N, C, D, H, W)
>>> y, idx = cpool.max_pool3d(x, 2, stride=1, padding=1, return_indices=True)
>>> g = cpool.max_pool3d_backward(np.ones_like(y), idx, x.shape)
>>> print(g.ravel())                    # 27 windows: the corner 7 is in 8 of them
[1. 2. 2. 4. 2. 4. 4. 8.]"""})


@_BACKWARD_DOC.rank(1)
def max_pool1d_backward(grad_output: np.ndarray, indices: np.ndarray, input_shape: Shape, *,
                        channels_last: bool = False) -> np.ndarray:
    return index_backward(1, "max_pool1d_backward", grad_output, indices, input_shape,
                          channels_last)


@_BACKWARD_DOC.rank(2)
def max_pool2d_backward(grad_output: np.ndarray, indices: np.ndarray, input_shape: Shape, *,
                        channels_last: bool = False) -> np.ndarray:
    return index_backward(2, "max_pool2d_backward", grad_output, indices, input_shape,
                          channels_last)


@_BACKWARD_DOC.rank(3)
def max_pool3d_backward(grad_output: np.ndarray, indices: np.ndarray, input_shape: Shape, *,
                        channels_last: bool = False) -> np.ndarray:
    return index_backward(3, "max_pool3d_backward", grad_output, indices, input_shape,
                          channels_last)
