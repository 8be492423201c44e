"""Lp pooling, 1d/2d/3d: (sum of x**p over the window) ** (1/p), one fused
pass (power, sum, root) in the C core, and its backward."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from . import _args, _core
from ._docs import Template
from ._types import IntOrTuple
from .maxpool import _max_pool, index_backward


def _setup(nd, fn, x, norm_type, kernel_size, stride, ceil_mode, channels_last):
    x = _args.array(x, fn)
    code = _args.dtype_code(x, _args.FLOAT_DTYPES, fn)
    lay = _args.layout(x, nd, channels_last, fn)
    p = _args.norm_type(norm_type, fn)
    win = _args.summed_window(_args.window(lay, kernel_size, stride, 0, 1, ceil_mode, fn), fn)
    return x, code, lay, p, win


def _abs_extreme(nd, x, p, win, channels_last, return_indices, out=None):
    """p = +inf: max |x|; p = -inf: min |x| = -max(-|x|) (PyTorch's rule)."""
    a = np.abs(x) if p > 0 else -np.abs(x)
    res = _max_pool(nd, "lp_pool", a, win.kernel, win.stride, 0, 1, win.ceil_mode,
                    return_indices, channels_last, out)
    y = res[0] if return_indices else res
    if p < 0:
        np.negative(y, out=y)
    return res


def _lp_pool(nd, fn, x, norm_type, kernel_size, stride, ceil_mode, channels_last, out):
    x, code, lay, p, win = _setup(nd, fn, x, norm_type, kernel_size, stride, ceil_mode,
                                  channels_last)
    y = _args.output(out, lay.shape(win.out), x.dtype.newbyteorder("="), fn, (x,))
    if math.isinf(p):
        return _abs_extreme(nd, x, p, win, lay.channels_last, False, y) if y.size else y
    if y.size:
        _args.check_status(_core.lp_pool_fwd(code, lay.geom(win), _args.contiguous(x), y, p),
                           fn)
    return y


def _lp_pool_backward(nd, fn, grad_output, x, output, norm_type, kernel_size, stride,
                      ceil_mode, channels_last):
    x, code, lay, p, win = _setup(nd, fn, x, norm_type, kernel_size, stride, ceil_mode,
                                  channels_last)
    shape = lay.shape(win.out)
    g, _ = _args.grad_output(grad_output, shape, fn)
    y = _args.array(output, fn, "output")
    if y.shape != shape or y.dtype.newbyteorder("=") != x.dtype.newbyteorder("="):
        raise ValueError(f"{fn}(): output must be the forward result, shape {shape} and "
                         f"dtype {x.dtype}, got shape {y.shape} and dtype {y.dtype}")
    if g.dtype != x.dtype.newbyteorder("="):
        raise TypeError(f"{fn}(): grad_output has dtype {g.dtype}, expected {x.dtype} "
                        f"(the dtype of x)")
    if math.isinf(p):
        # the gradient goes to the window's extreme |x|, with x's sign there
        _, idx = _abs_extreme(nd, x, p, win, lay.channels_last, True)
        planes_x, planes_i = _args.planes(_args.contiguous(x), lay), _args.planes(idx, lay)
        sign = np.sign(np.take_along_axis(planes_x, planes_i, axis=1)).reshape(g.shape)
        return index_backward(nd, fn, g * sign, idx, x.shape, lay.channels_last)
    gx = np.empty(x.shape, dtype=g.dtype)
    if gx.size:
        _args.check_status(_core.lp_pool_bwd(code, lay.geom(win), g, _args.contiguous(x),
                                             _args.contiguous(y), gx, p), fn)
    return gx


_DOC = Template("""\
{nd}d Lp pooling: the p-norm of each window, ``(sum x**p) ** (1/p)``.

Slides a window of ``kernel_size`` elements over {the_axes} of
every ``(n, c)`` plane, ``stride`` apart, and takes the p-norm of each
window. For non-negative input, ``p=1`` gives the window's sum and a large p
approaches its maximum.

Parameters
----------
{p_x_float}
norm_type : float
    The power p: any nonzero number, or ``inf`` (the largest ``|x|`` of each
    window) or ``-inf`` (the smallest).
{p_kernel}
{p_stride}
{p_ceil_mode}
{p_channels_last}
{p_out}

Returns
-------
{r_pooled}

Raises
------
{e_type}
ValueError
    If ``norm_type`` is 0 or NaN, or for the shape, window and ``out``
    errors of :func:`avg_pool{nd}d`.

See Also
--------
lp_pool{nd}d_backward : The gradient.
avg_pool{nd}d : The mean of each window.
max_pool{nd}d : The maximum of each window.
cpool.nn.LPPool{nd}d : The same as a layer object.

Notes
-----
{n_output_size} There is no padding here, so ``padding`` is 0 in it.
{n_ceil_mode}

Each window's ``x**p`` are summed in one pass and the sum is raised to
``1/p``, which gives PyTorch's values: no absolute value is taken, so
``p=1`` gives the signed sum, and a negative sum gives NaN unless ``1/p`` is
an integer. ``norm_type=inf`` is the largest and ``-inf`` the smallest
``|x|`` of the window.

cpool differs from PyTorch in ceil mode: a partial last window sums only its
own elements, whereas PyTorch scales its sum up to the full kernel area. For
``x = [1, 2, 3, 4, 5]``, ``p=2``, ``kernel_size=2`` and ``ceil_mode=True``
cpool gives ``[sqrt(5), 5, 5]`` and PyTorch ``[sqrt(5), 5, sqrt(50)]``;
without ceil mode the two agree. {n_threads}

Examples
--------
>>> import numpy as np
>>> import cpool
{example}""", example={1: """\
>>> x = np.arange(1.0, 6.0).reshape(1, 5)              # (C, L): 1 2 3 4 5
>>> print(cpool.lp_pool1d(x, 1, 2))                    # p = 1: window sums
[[3. 7.]]
>>> print(cpool.lp_pool1d(x, 2, 2, ceil_mode=True))    # the last window holds 5 alone
[[2.23606798 5.         5.        ]]""", 2: """\
>>> x = np.arange(16.0).reshape(1, 4, 4) - 8           # (C, H, W)
>>> print(cpool.lp_pool2d(x, float("inf"), 2))         # the largest |x|
[[[8. 6.]
  [5. 7.]]]
>>> print(cpool.lp_pool2d(x, -float("inf"), 2))        # the smallest |x|
[[[3. 1.]
  [0. 2.]]]""", 3: """\
>>> x = np.arange(8.0).reshape(1, 2, 2, 2)             # (C, D, H, W)
>>> print(cpool.lp_pool3d(x, 1, 2))
[[[[28.]]]]
>>> cpool.lp_pool3d(np.ones((1, 2, 2, 4)), 2, (1, 2, 2)).shape
(1, 2, 1, 2)"""})


@_DOC.rank(1)
def lp_pool1d(x: np.ndarray, norm_type: float, kernel_size: IntOrTuple,
              stride: Optional[IntOrTuple] = None, ceil_mode: bool = False, *,
              channels_last: bool = False, out: Optional[np.ndarray] = None) -> np.ndarray:
    return _lp_pool(1, "lp_pool1d", x, norm_type, kernel_size, stride, ceil_mode,
                    channels_last, out)


@_DOC.rank(2)
def lp_pool2d(x: np.ndarray, norm_type: float, kernel_size: IntOrTuple,
              stride: Optional[IntOrTuple] = None, ceil_mode: bool = False, *,
              channels_last: bool = False, out: Optional[np.ndarray] = None) -> np.ndarray:
    return _lp_pool(2, "lp_pool2d", x, norm_type, kernel_size, stride, ceil_mode,
                    channels_last, out)


@_DOC.rank(3)
def lp_pool3d(x: np.ndarray, norm_type: float, kernel_size: IntOrTuple,
              stride: Optional[IntOrTuple] = None, ceil_mode: bool = False, *,
              channels_last: bool = False, out: Optional[np.ndarray] = None) -> np.ndarray:
    return _lp_pool(3, "lp_pool3d", x, norm_type, kernel_size, stride, ceil_mode,
                    channels_last, out)


_BACKWARD_DOC = Template("""\
Gradient of :func:`lp_pool{nd}d` with respect to its input.

Each window sends ``grad * x**(p-1) * y**(1-p)`` to its elements, where
``y`` is the window's forward result; the contributions of overlapping
windows add up.

Parameters
----------
{p_grad_output}
x : numpy.ndarray
    The forward input, in the layout given by ``channels_last``; float32 or
    float64, the dtype of ``grad_output``.
output : numpy.ndarray
    The forward result ``lp_pool{nd}d(x, ...)``, shaped like ``grad_output``.
norm_type : float
    As in the forward call.
{p_kernel}
{p_stride}
{p_ceil_mode}
{p_channels_last_grad}

Returns
-------
numpy.ndarray
    The gradient with respect to ``x``, shaped and typed like ``x``.

Raises
------
{e_type}
ValueError
    If ``output`` or ``grad_output`` is not shaped like the forward result,
    or for the errors of :func:`lp_pool{nd}d`.

See Also
--------
lp_pool{nd}d : The forward pass.
cpool.nn.LPPool{nd}d : Keeps ``x`` and the result for the backward.

Notes
-----
A window whose result is 0 passes no gradient (PyTorch's rule). With
``norm_type=inf`` (``-inf``) the gradient goes to the element of largest
(smallest) ``|x|``, with the sign of ``x`` there.

Examples
--------
>>> import numpy as np
>>> import cpool
{example}""", example={1: """\
>>> x = np.array([[3.0, 4.0, 0.0, 0.0]])               # (C, L)
>>> y = cpool.lp_pool1d(x, 2, 2)
>>> print(y)
[[5. 0.]]
>>> print(cpool.lp_pool1d_backward(np.ones_like(y), x, y, 2, 2))   # x / y, and 0
[[0.6 0.8 0.  0. ]]""", 2: """\
>>> x = np.arange(16.0).reshape(1, 4, 4) - 8           # (C, H, W)
>>> y = cpool.lp_pool2d(x, float("inf"), 2)
>>> print(cpool.lp_pool2d_backward(np.ones_like(y), x, y, float("inf"), 2))
[[[-1.  0. -1.  0.]
  [ 0.  0.  0.  0.]
  [ 0.  0.  0.  0.]
  [ 0.  1.  0.  1.]]]""", 3: """\
>>> x = np.arange(8.0).reshape(1, 1, 2, 2, 2)          # (N, C, D, H, W)
>>> y = cpool.lp_pool3d(x, 1, 2)                       # p = 1: the sum
>>> print(cpool.lp_pool3d_backward(np.ones_like(y), x, y, 1, 2).ravel())
[1. 1. 1. 1. 1. 1. 1. 1.]"""})


@_BACKWARD_DOC.rank(1)
def lp_pool1d_backward(grad_output: np.ndarray, x: np.ndarray, output: np.ndarray,
                       norm_type: float, kernel_size: IntOrTuple,
                       stride: Optional[IntOrTuple] = None, ceil_mode: bool = False, *,
                       channels_last: bool = False) -> np.ndarray:
    return _lp_pool_backward(1, "lp_pool1d_backward", grad_output, x, output, norm_type,
                             kernel_size, stride, ceil_mode, channels_last)


@_BACKWARD_DOC.rank(2)
def lp_pool2d_backward(grad_output: np.ndarray, x: np.ndarray, output: np.ndarray,
                       norm_type: float, kernel_size: IntOrTuple,
                       stride: Optional[IntOrTuple] = None, ceil_mode: bool = False, *,
                       channels_last: bool = False) -> np.ndarray:
    return _lp_pool_backward(2, "lp_pool2d_backward", grad_output, x, output, norm_type,
                             kernel_size, stride, ceil_mode, channels_last)


@_BACKWARD_DOC.rank(3)
def lp_pool3d_backward(grad_output: np.ndarray, x: np.ndarray, output: np.ndarray,
                       norm_type: float, kernel_size: IntOrTuple,
                       stride: Optional[IntOrTuple] = None, ceil_mode: bool = False, *,
                       channels_last: bool = False) -> np.ndarray:
    return _lp_pool_backward(3, "lp_pool3d_backward", grad_output, x, output, norm_type,
                             kernel_size, stride, ceil_mode, channels_last)
