"""Average pooling, 1d/2d/3d, forward and backward, with PyTorch's divisor
rules (count_include_pad, ceil-mode overhang not counted, divisor_override)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from . import _args, _core
from ._docs import Template
from ._types import IntOrTuple, Shape


def _avg_window(nd, fn, lay, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
    win = _args.summed_window(_args.window(lay, kernel_size, stride, padding, 1, ceil_mode,
                                           fn), fn)
    cip = _args.flag(count_include_pad, fn, "count_include_pad")
    div = _args.positive_int_or_none(divisor_override, fn, "divisor_override")
    return win, cip, div or 0


def _avg_pool_full(fn, x, window, flags, out):
    """A call without a plan (cpool._core.PlanCache): every argument
    checked, and the plan kept for the next call like it."""
    nd, kernel_size, stride, padding, divisor_override = window
    ceil_mode, count_include_pad, channels_last = flags
    key = _core.fast_key(x, window, flags)
    x = _args.array(x, fn)
    code = _args.dtype_code(x, _args.FLOAT_DTYPES, fn)
    lay = _args.layout(x, nd, channels_last, fn)
    win, cip, div = _avg_window(nd, fn, lay, kernel_size, stride, padding, ceil_mode,
                                count_include_pad, divisor_override)
    dtype = x.dtype.newbyteorder("=")  # the plan's: not out's, which may be an alias
    y = _args.output(out, lay.shape(win.out), dtype, fn, (x,))
    geom = lay.geom(win)
    if y.size:
        _args.check_status(_core.avg_pool(code, geom, _args.contiguous(x), y, cip, div, False),
                           fn)
    _FAST.remember(key, code, y.shape, dtype, geom, cip, div)
    return y


# called as _FAST(fn, x, window, flags, out), as in maxpool.py
_FAST = _core.PlanCache("avg_pool", _avg_pool_full, _args.check_status)


def _avg_pool(nd, fn, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, channels_last, out):
    return _FAST(fn, x, (nd, kernel_size, stride, padding, divisor_override),
                 (ceil_mode, count_include_pad, channels_last), out)


def _avg_pool_backward(nd, fn, grad_output, input_shape, kernel_size, stride, padding,
                       ceil_mode, count_include_pad, divisor_override, channels_last):
    lay = _args.input_shape(input_shape, nd, channels_last, fn)
    win, cip, div = _avg_window(nd, fn, lay, kernel_size, stride, padding, ceil_mode,
                                count_include_pad, divisor_override)
    g, code = _args.grad_output(grad_output, lay.shape(win.out), fn)
    gx = np.empty(lay.shape(lay.spatial), dtype=g.dtype)
    if gx.size:
        _args.check_status(_core.avg_pool(code, lay.geom(win), g, gx, cip, div, True), fn)
    return gx


_DIVISOR = """
divisor_override : int, optional
    Divide every window's sum by this positive int instead."""
_DIVISOR_BACKWARD = """
divisor_override : int, optional
    As in the forward call."""

_DOC = Template("""\
{nd}d average pooling: the mean of each window.

Slides a window of ``kernel_size`` elements over {the_axes} of
every ``(n, c)`` plane, ``stride`` apart, over the input padded with zeros by
``padding`` on both sides, and divides each window's sum by its divisor
(see Notes).

Parameters
----------
{p_x_float}
{p_kernel}
{p_stride}
{p_padding}
{p_ceil_mode}
count_include_pad : bool, default True
    Count the zero padding in the divisor.{divisor}
{p_channels_last}
{p_out}

Returns
-------
{r_pooled}

Raises
------
{e_type}
{e_value_window}

See Also
--------
avg_pool{nd}d_backward : The gradient.
adaptive_avg_pool{nd}d : Average pooling to a given output size.
lp_pool{nd}d : The p-norm of each window.
max_pool{nd}d : The maximum of each window instead.
cpool.nn.AvgPool{nd}d : The same as a layer object.

Notes
-----
{n_output_size} {n_ceil_mode}

Each window's in-bounds elements are summed in {scan}, in the dtype of ``x``
(float32 stays float32), and the sum is divided once, as in PyTorch. The
divisor is ``divisor_override`` when given; else, with
``count_include_pad=True``, the window's size clipped to the padded input
(explicit padding counts, the part of a ceil-mode window that hangs past the
right padding does not, PyTorch's rule); with ``count_include_pad=False``,
the number of input elements in the window. Unlike PyTorch, a zero or
negative ``divisor_override`` is a ``ValueError``.{note}
{n_threads}

Examples
--------
>>> import numpy as np
>>> import cpool
{example}""", divisor={1: "", 2: _DIVISOR, 3: _DIVISOR}, note={
    1: " As in PyTorch, 1d has no ``divisor_override``.", 2: "", 3: """ An input
smaller than the kernel is accepted when the padding makes the output size at
least 1, as in 2d; PyTorch's ``avg_pool3d`` alone refuses it."""}, example={1: """\
>>> x = np.arange(6.0).reshape(1, 6)                   # (C, L)
>>> print(cpool.avg_pool1d(x, 2))
[[0.5 2.5 4.5]]
>>> ones = np.ones((1, 6))
>>> print(cpool.avg_pool1d(ones, 4, stride=3, padding=1, ceil_mode=True))
[[0.75 1.   0.5 ]]
>>> print(cpool.avg_pool1d(ones, 4, 3, 1, ceil_mode=True, count_include_pad=False))
[[1. 1. 1.]]""", 2: """\
>>> x = np.arange(16.0).reshape(1, 1, 4, 4)            # (N, C, H, W)
>>> print(cpool.avg_pool2d(x, 2))
[[[[ 2.5  4.5]
   [10.5 12.5]]]]
>>> print(cpool.avg_pool2d(x, 2, divisor_override=1))  # window sums
[[[[10. 18.]
   [42. 50.]]]]""", 3: """\
>>> x = np.arange(8.0, dtype=np.float32).reshape(2, 2, 2, 1)  # (D, H, W, C)
>>> y = cpool.avg_pool3d(x, 2, channels_last=True)
>>> y.shape, y.dtype, y.ravel()
((1, 1, 1, 1), dtype('float32'), array([3.5], dtype=float32))
>>> y = cpool.avg_pool3d(x, 3, padding=1, count_include_pad=False, channels_last=True)
>>> y.ravel()                                  # a 3x3x3 window over a 2x2x2 input
array([3.5], dtype=float32)"""})


@_DOC.rank(1)
def avg_pool1d(x: np.ndarray, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, *, channels_last: bool = False,
               out: Optional[np.ndarray] = None) -> np.ndarray:
    return _FAST("avg_pool1d", x, (1, kernel_size, stride, padding, None),
                 (ceil_mode, count_include_pad, channels_last), out)


@_DOC.rank(2)
def avg_pool2d(x: np.ndarray, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: Optional[int] = None, *,
               channels_last: bool = False, out: Optional[np.ndarray] = None) -> np.ndarray:
    return _FAST("avg_pool2d", x, (2, kernel_size, stride, padding, divisor_override),
                 (ceil_mode, count_include_pad, channels_last), out)


@_DOC.rank(3)
def avg_pool3d(x: np.ndarray, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: Optional[int] = None, *,
               channels_last: bool = False, out: Optional[np.ndarray] = None) -> np.ndarray:
    return _FAST("avg_pool3d", x, (3, kernel_size, stride, padding, divisor_override),
                 (ceil_mode, count_include_pad, channels_last), out)


_BACKWARD_DOC = Template("""\
Gradient of :func:`avg_pool{nd}d` with respect to its input.

Spreads each output's gradient, divided by that window's divisor, over the
window's input elements. Takes the window arguments of the forward call
rather than its input.

Parameters
----------
{p_grad_output}
{p_input_shape}
{p_kernel}
{p_stride}
{p_padding}
{p_ceil_mode}
count_include_pad : bool, default True
    As in the forward call.{divisor}
{p_channels_last_grad}

Returns
-------
{r_grad_input}

Raises
------
{e_type}
ValueError
    If ``input_shape`` does not have {ndim} entries, a window argument is
    out of range (as in :func:`avg_pool{nd}d`), or ``grad_output`` is not
    shaped like the forward result.

See Also
--------
avg_pool{nd}d : The forward pass.
cpool.nn.AvgPool{nd}d : Keeps the input shape for the backward.

Notes
-----
The divisor of each window is the forward pass's. The contributions are added
in increasing output order, PyTorch's order, so float sums match it to the
bit.

Examples
--------
>>> import numpy as np
>>> import cpool
{example}""", divisor={1: "", 2: _DIVISOR_BACKWARD, 3: _DIVISOR_BACKWARD}, example={1: """\
>>> g = np.ones((1, 3))                     # the gradient of avg_pool1d(ones, 4, 3, 1, True)
>>> print(cpool.avg_pool1d_backward(g, (1, 6), 4, stride=3, padding=1, ceil_mode=True))
[[0.25 0.25 0.5  0.25 0.25 0.75]]""", 2: """\
>>> g = np.array([[[[1.0, 2.0]]]])          # for an input of shape (1, 1, 2, 4)
>>> print(cpool.avg_pool2d_backward(g, (1, 1, 2, 4), 2))
[[[[0.25 0.25 0.5  0.5 ]
   [0.25 0.25 0.5  0.5 ]]]]""", 3: """\
>>> g = np.ones((1, 1, 1, 1))               # for an input of shape (1, 2, 2, 2)
>>> print(cpool.avg_pool3d_backward(g, (1, 2, 2, 2), 2).ravel())
[0.125 0.125 0.125 0.125 0.125 0.125 0.125 0.125]"""})


@_BACKWARD_DOC.rank(1)
def avg_pool1d_backward(grad_output: np.ndarray, input_shape: Shape, kernel_size: IntOrTuple,
                        stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                        ceil_mode: bool = False, count_include_pad: bool = True, *,
                        channels_last: bool = False) -> np.ndarray:
    return _avg_pool_backward(1, "avg_pool1d_backward", grad_output, input_shape,
                              kernel_size, stride, padding, ceil_mode, count_include_pad,
                              None, channels_last)


@_BACKWARD_DOC.rank(2)
def avg_pool2d_backward(grad_output: np.ndarray, input_shape: Shape, kernel_size: IntOrTuple,
                        stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                        ceil_mode: bool = False, count_include_pad: bool = True,
                        divisor_override: Optional[int] = None, *,
                        channels_last: bool = False) -> np.ndarray:
    return _avg_pool_backward(2, "avg_pool2d_backward", grad_output, input_shape,
                              kernel_size, stride, padding, ceil_mode, count_include_pad,
                              divisor_override, channels_last)


@_BACKWARD_DOC.rank(3)
def avg_pool3d_backward(grad_output: np.ndarray, input_shape: Shape, kernel_size: IntOrTuple,
                        stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                        ceil_mode: bool = False, count_include_pad: bool = True,
                        divisor_override: Optional[int] = None, *,
                        channels_last: bool = False) -> np.ndarray:
    return _avg_pool_backward(3, "avg_pool3d_backward", grad_output, input_shape,
                              kernel_size, stride, padding, ceil_mode, count_include_pad,
                              divisor_override, channels_last)
