"""Stochastic pooling (Zeiler & Fergus 2013), 1d/2d/3d.

Training draws one activation per window with probability proportional to
its value and records where it came from; evaluation returns each window's
probability-weighted average, sum(a**2) / sum(a).  Draws come from Philox
keyed by ``seed`` with the output's channels-first position as the counter:
a pure function of (seed, input), the same at every thread count and in
either layout."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import _args, _core
from .maxpool import index_backward

IntOrTuple = Union[int, Sequence[int]]


def _check_activations(x, code, fn):
    bad = _core.first_invalid_activation(code, x)
    if bad >= 0:
        pos = tuple(int(i) for i in np.unravel_index(bad, x.shape))
        v = x.reshape(-1)[bad]
        what = "NaN" if v != v else "infinite" if np.isinf(v) else "negative"
        raise ValueError(f"{fn}(): activations must be >= 0 and finite (as after a ReLU), "
                         f"but x at position {pos} is {v} ({what})")


def _counter(nd, position):
    """The C core's counter of a call whose outputs are a block of a larger
    logical output: `position` = (offsets, dims), both (n, c, *spatial)
    with nd spatial entries; dims is the whole output's channels-first
    shape, offsets where this call's output element 0 sits in it."""
    offsets, dims = position
    pad = 3 - nd
    n0, c0, *o0 = (int(v) for v in offsets)
    N, C, *O = (int(v) for v in dims)
    o0, O = [0] * pad + o0, [1] * pad + O
    h = O[2]
    d = O[1] * h
    c = O[0] * d
    n = C * c
    base = n0 * n + c0 * c + o0[0] * d + o0[1] * h + o0[2]
    if N * n >= 2**63 or base < 0:
        raise ValueError("stochastic pooling: block position outside the whole output")
    return (base, n, c, d, h)


def _stochastic(nd, fn, x, kernel_size, stride, padding, training, seed, return_indices,
                channels_last, out, position=None):
    """position: for cpool.dask, which block of a larger output this call
    computes, so that it draws what the whole array would (see _counter)."""
    x = _args.array(x, fn)
    code = _args.dtype_code(x, _args.FLOAT_DTYPES, fn)
    lay = _args.layout(x, nd, channels_last, fn)
    win = _args.window(lay, kernel_size, stride, padding, 1, False, fn)
    training = _args.flag(training, fn, "training")
    return_indices = _args.flag(return_indices, fn, "return_indices")
    if return_indices and not training:
        raise ValueError(f"{fn}(): return_indices=True needs training=True: evaluation "
                         f"draws no sample, so there are no indices")
    key = _args.seed64(seed, fn) if training else 0
    shape = lay.shape(win.out)
    y = _args.output(out, shape, x.dtype.newbyteorder("="), fn, (x,))
    xc = _args.contiguous(x)
    _check_activations(xc, code, fn)  # before anything is written to out
    ind = np.empty(shape, dtype=np.int64) if return_indices else None
    if y.size:
        counter = _counter(nd, position) if position is not None else None
        _args.check_status(_core.stochastic_pool_fwd(code, lay.geom(win), xc, y, ind,
                                                     training, key, counter), fn)
    return (y, ind) if return_indices else y


_DOC = """Stochastic pooling in {nd}d (Zeiler & Fergus 2013) of ``{cf}`` or
    batch-less (channels-last ``{cl}``); float32/float64, activations >= 0.

    ``training=True``: each output is one activation of its window, drawn with
    probability ``a_i / sum(a)`` (padding is never drawn; an all-zero window
    gives 0 and its first element); ``return_indices=True`` also returns where
    each came from, for the backward.  ``training=False``: each output is
    ``sum(a**2) / sum(a)``, the expectation of the draw.  ``seed``: an int, a
    ``numpy.random.Generator`` (one draw makes the seed) or None (fresh
    entropy); the same int gives the same result at every thread count and
    in either layout."""


def stochastic_pool1d(x: np.ndarray, kernel_size: IntOrTuple,
                      stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                      training: bool = True, seed=None, return_indices: bool = False, *,
                      channels_last: bool = False, out: Optional[np.ndarray] = None):
    return _stochastic(1, "stochastic_pool1d", x, kernel_size, stride, padding, training,
                       seed, return_indices, channels_last, out)


def stochastic_pool2d(x: np.ndarray, kernel_size: IntOrTuple,
                      stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                      training: bool = True, seed=None, return_indices: bool = False, *,
                      channels_last: bool = False, out: Optional[np.ndarray] = None):
    return _stochastic(2, "stochastic_pool2d", x, kernel_size, stride, padding, training,
                       seed, return_indices, channels_last, out)


def stochastic_pool3d(x: np.ndarray, kernel_size: IntOrTuple,
                      stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                      training: bool = True, seed=None, return_indices: bool = False, *,
                      channels_last: bool = False, out: Optional[np.ndarray] = None):
    return _stochastic(3, "stochastic_pool3d", x, kernel_size, stride, padding, training,
                       seed, return_indices, channels_last, out)


stochastic_pool1d.__doc__ = _DOC.format(nd=1, cf="(N, C, L)", cl="(N, L, C)")
stochastic_pool2d.__doc__ = _DOC.format(nd=2, cf="(N, C, H, W)", cl="(N, H, W, C)")
stochastic_pool3d.__doc__ = _DOC.format(nd=3, cf="(N, C, D, H, W)", cl="(N, D, H, W, C)")


def stochastic_pool1d_backward(grad_output: np.ndarray, indices: np.ndarray,
                               input_shape: Tuple[int, ...], *, channels_last: bool = False
                               ) -> np.ndarray:
    """Gradient of the training pass: ``grad_output`` added at the drawn indices."""
    return index_backward(1, "stochastic_pool1d_backward", grad_output, indices, input_shape,
                          channels_last)


def stochastic_pool2d_backward(grad_output: np.ndarray, indices: np.ndarray,
                               input_shape: Tuple[int, ...], *, channels_last: bool = False
                               ) -> np.ndarray:
    """Gradient of the training pass through the drawn indices."""
    return index_backward(2, "stochastic_pool2d_backward", grad_output, indices, input_shape,
                          channels_last)


def stochastic_pool3d_backward(grad_output: np.ndarray, indices: np.ndarray,
                               input_shape: Tuple[int, ...], *, channels_last: bool = False
                               ) -> np.ndarray:
    """Gradient of the training pass through the drawn indices."""
    return index_backward(3, "stochastic_pool3d_backward", grad_output, indices, input_shape,
                          channels_last)
