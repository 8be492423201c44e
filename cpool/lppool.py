"""Lp pooling, 1d/2d/3d: (sum of x**p over the window) ** (1/p), one fused
pass (power, sum, root) in the C core, and its backward."""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import _args, _core
from .maxpool import _max_pool, index_backward

IntOrTuple = Union[int, Sequence[int]]


def _setup(nd, fn, x, norm_type, kernel_size, stride, ceil_mode, channels_last):
    x = _args.array(x, fn)
    code = _args.dtype_code(x, _args.FLOAT_DTYPES, fn)
    lay = _args.layout(x, nd, channels_last, fn)
    p = _args.norm_type(norm_type, fn)
    win = _args.window(lay, kernel_size, stride, 0, 1, ceil_mode, fn)
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


_DOC = """{nd}d Lp pooling: ``(sum of x**p over each window) ** (1/p)``.

    Inputs ``{cf}`` or batch-less (channels-last: ``{cl}``); float32/float64.
    ``norm_type`` p may be any finite nonzero number, or ``inf`` (max |x|) and
    ``-inf`` (min |x|).  No padding.  PyTorch's values, except that a ceil-mode
    partial window sums only its own elements (PyTorch scales it up to the
    full kernel area); see the README."""


def lp_pool1d(x: np.ndarray, norm_type: float, kernel_size: IntOrTuple,
              stride: Optional[IntOrTuple] = None, ceil_mode: bool = False, *,
              channels_last: bool = False, out: Optional[np.ndarray] = None) -> np.ndarray:
    return _lp_pool(1, "lp_pool1d", x, norm_type, kernel_size, stride, ceil_mode,
                    channels_last, out)


def lp_pool2d(x: np.ndarray, norm_type: float, kernel_size: IntOrTuple,
              stride: Optional[IntOrTuple] = None, ceil_mode: bool = False, *,
              channels_last: bool = False, out: Optional[np.ndarray] = None) -> np.ndarray:
    return _lp_pool(2, "lp_pool2d", x, norm_type, kernel_size, stride, ceil_mode,
                    channels_last, out)


def lp_pool3d(x: np.ndarray, norm_type: float, kernel_size: IntOrTuple,
              stride: Optional[IntOrTuple] = None, ceil_mode: bool = False, *,
              channels_last: bool = False, out: Optional[np.ndarray] = None) -> np.ndarray:
    return _lp_pool(3, "lp_pool3d", x, norm_type, kernel_size, stride, ceil_mode,
                    channels_last, out)


lp_pool1d.__doc__ = _DOC.format(nd=1, cf="(N, C, L)", cl="(N, L, C)")
lp_pool2d.__doc__ = _DOC.format(nd=2, cf="(N, C, H, W)", cl="(N, H, W, C)")
lp_pool3d.__doc__ = _DOC.format(nd=3, cf="(N, C, D, H, W)", cl="(N, D, H, W, C)")


def lp_pool1d_backward(grad_output: np.ndarray, x: np.ndarray, output: np.ndarray,
                       norm_type: float, kernel_size: IntOrTuple,
                       stride: Optional[IntOrTuple] = None, ceil_mode: bool = False, *,
                       channels_last: bool = False) -> np.ndarray:
    """Gradient of :func:`lp_pool1d` w.r.t. x: ``x**(p-1) * y**(1-p)`` summed over
    the windows holding x (none from a window whose output is 0)."""
    return _lp_pool_backward(1, "lp_pool1d_backward", grad_output, x, output, norm_type,
                             kernel_size, stride, ceil_mode, channels_last)


def lp_pool2d_backward(grad_output: np.ndarray, x: np.ndarray, output: np.ndarray,
                       norm_type: float, kernel_size: IntOrTuple,
                       stride: Optional[IntOrTuple] = None, ceil_mode: bool = False, *,
                       channels_last: bool = False) -> np.ndarray:
    """Gradient of :func:`lp_pool2d` w.r.t. x."""
    return _lp_pool_backward(2, "lp_pool2d_backward", grad_output, x, output, norm_type,
                             kernel_size, stride, ceil_mode, channels_last)


def lp_pool3d_backward(grad_output: np.ndarray, x: np.ndarray, output: np.ndarray,
                       norm_type: float, kernel_size: IntOrTuple,
                       stride: Optional[IntOrTuple] = None, ceil_mode: bool = False, *,
                       channels_last: bool = False) -> np.ndarray:
    """Gradient of :func:`lp_pool3d` w.r.t. x."""
    return _lp_pool_backward(3, "lp_pool3d_backward", grad_output, x, output, norm_type,
                             kernel_size, stride, ceil_mode, channels_last)
