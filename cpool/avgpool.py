"""Average pooling, 1d/2d/3d, forward and backward, with PyTorch's divisor
rules (count_include_pad, ceil-mode overhang not counted, divisor_override)."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import _args, _core

IntOrTuple = Union[int, Sequence[int]]


def _avg_window(nd, fn, lay, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
    win = _args.window(lay, kernel_size, stride, padding, 1, ceil_mode, fn)
    cip = _args.flag(count_include_pad, fn, "count_include_pad")
    div = _args.positive_int_or_none(divisor_override, fn, "divisor_override")
    return win, cip, div or 0


_FAST = _args.FastCache()


def _avg_pool(nd, fn, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, channels_last, out):
    key = _args.fast_key(x, (nd, kernel_size, stride, padding, divisor_override),
                         (ceil_mode, count_include_pad, channels_last))
    hit = _FAST.get(key) if key is not None else None
    if hit is not None:
        code, shape, dtype, geom, (cip, div) = hit
        y = np.empty(shape, dtype) if out is None else _args.output(out, shape, dtype, fn, (x,))
        if y.size:
            _args.check_status(_core.avg_pool(code, geom, x, y, cip, div, False), fn)
        return y
    x = _args.array(x, fn)
    code = _args.dtype_code(x, _args.FLOAT_DTYPES, fn)
    lay = _args.layout(x, nd, channels_last, fn)
    win, cip, div = _avg_window(nd, fn, lay, kernel_size, stride, padding, ceil_mode,
                                count_include_pad, divisor_override)
    y = _args.output(out, lay.shape(win.out), x.dtype.newbyteorder("="), fn, (x,))
    geom = lay.geom(win)
    if y.size:
        _args.check_status(_core.avg_pool(code, geom, _args.contiguous(x), y, cip, div, False),
                           fn)
    _FAST.remember(key, code, y.shape, y.dtype, geom, cip, div)
    return y


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


def avg_pool1d(x: np.ndarray, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, *, channels_last: bool = False,
               out: Optional[np.ndarray] = None) -> np.ndarray:
    """1d average pooling of ``(N, C, L)`` or ``(C, L)``.  As in PyTorch there is no
    ``divisor_override`` in 1d."""
    return _avg_pool(1, "avg_pool1d", x, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None, channels_last, out)


def avg_pool2d(x: np.ndarray, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: Optional[int] = None, *,
               channels_last: bool = False, out: Optional[np.ndarray] = None) -> np.ndarray:
    """2d average pooling of ``(N, C, H, W)`` or ``(C, H, W)``."""
    return _avg_pool(2, "avg_pool2d", x, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, channels_last, out)


def avg_pool3d(x: np.ndarray, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: Optional[int] = None, *,
               channels_last: bool = False, out: Optional[np.ndarray] = None) -> np.ndarray:
    """3d average pooling of ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""
    return _avg_pool(3, "avg_pool3d", x, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, channels_last, out)


def avg_pool1d_backward(grad_output: np.ndarray, input_shape: Tuple[int, ...],
                        kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
                        padding: IntOrTuple = 0, ceil_mode: bool = False,
                        count_include_pad: bool = True, *, channels_last: bool = False
                        ) -> np.ndarray:
    """Gradient of :func:`avg_pool1d` w.r.t. its input."""
    return _avg_pool_backward(1, "avg_pool1d_backward", grad_output, input_shape,
                              kernel_size, stride, padding, ceil_mode, count_include_pad,
                              None, channels_last)


def avg_pool2d_backward(grad_output: np.ndarray, input_shape: Tuple[int, ...],
                        kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
                        padding: IntOrTuple = 0, ceil_mode: bool = False,
                        count_include_pad: bool = True, divisor_override: Optional[int] = None,
                        *, channels_last: bool = False) -> np.ndarray:
    """Gradient of :func:`avg_pool2d` w.r.t. its input."""
    return _avg_pool_backward(2, "avg_pool2d_backward", grad_output, input_shape,
                              kernel_size, stride, padding, ceil_mode, count_include_pad,
                              divisor_override, channels_last)


def avg_pool3d_backward(grad_output: np.ndarray, input_shape: Tuple[int, ...],
                        kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
                        padding: IntOrTuple = 0, ceil_mode: bool = False,
                        count_include_pad: bool = True, divisor_override: Optional[int] = None,
                        *, channels_last: bool = False) -> np.ndarray:
    """Gradient of :func:`avg_pool3d` w.r.t. its input."""
    return _avg_pool_backward(3, "avg_pool3d_backward", grad_output, input_shape,
                              kernel_size, stride, padding, ceil_mode, count_include_pad,
                              divisor_override, channels_last)
