"""Stochastic pooling (Zeiler & Fergus 2013), 1d/2d/3d.

Training draws one activation per window with probability proportional to
its value and records where it came from; evaluation returns each window's
probability-weighted average, sum(a**2) / sum(a).  Draws come from Philox
keyed by ``seed`` with the output's channels-first position as the counter:
a pure function of (seed, input), the same at every thread count and in
either layout."""
from __future__ import annotations

from typing import Optional

import numpy as np

from . import _args, _core
from ._docs import Template, index_backward_doc
from ._types import IntOrTuple, Pooled, Seed, Shape, StochasticPoolFunction, typed_as
from .maxpool import index_backward


_BAD_ACTIVATION = -5  # CPOOL_EVALUE


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
    # A fresh result may be scribbled on before a bad activation is found, so
    # the kernel checks x as it reads it; into out=, nothing may be written
    # then, so x is checked first, in a pass of its own.
    check_in_kernel = out is None and y.size > 0
    if not check_in_kernel:
        _check_activations(xc, code, fn)
    ind = np.empty(shape, dtype=np.int64) if return_indices else None
    if y.size:
        counter = _counter(nd, position) if position is not None else None
        rc = _core.stochastic_pool_fwd(code, lay.geom(win), xc, y, ind, training, key, counter,
                                       check_in_kernel)
        if rc == _BAD_ACTIVATION:
            _check_activations(xc, code, fn)  # raises, naming the first bad element
        _args.check_status(rc, fn)
    return (y, ind) if return_indices else y


_DOC = Template("""\
{nd}d stochastic pooling (Zeiler & Fergus 2013): a random element per window.

In training, each window yields one of its activations, drawn with
probability proportional to its value; in evaluation, the expectation of
that draw. A regulariser in place of max pooling, after a ReLU [1]_.

Parameters
----------
x : numpy.ndarray
    Activations, all >= 0 and finite: ``{x_cf}`` or batch-less ``{x_cf0}``;
    with ``channels_last=True``, ``{x_cl}`` or ``{x_cl0}``. float32 or
    float64. Any strides and byte order; ``x`` is never modified.
{p_kernel}
{p_stride}
{p_padding} Padding is never drawn.
training : bool, default True
    Draw (``True``) or return the expectation (``False``).
seed : int, numpy.random.Generator or None, optional
    Key of the draws: an int (the same int, the same draws), a Generator
    (one draw from it makes the key) or ``None`` (fresh entropy). Unused
    when ``training=False``.
return_indices : bool, default False
    Also return where each drawn value came from (training only).
{p_channels_last}
{p_out}

Returns
-------
{r_y}
{r_indices}

Raises
------
{e_type}
ValueError
    If ``x`` holds a negative, NaN or infinite value (the message names its
    position; nothing is written), if ``return_indices=True`` with
    ``training=False``, if an int ``seed`` lies outside [0, 2**64), or for
    the shape, window and ``out`` errors of :func:`avg_pool{nd}d`.

See Also
--------
stochastic_pool{nd}d_backward : The gradient, through the drawn indices.
max_pool{nd}d : The deterministic maximum.
cpool.nn.StochasticPool{nd}d : A layer with train and eval modes.

Notes
-----
A window's activations ``a_i`` (padding excluded) give probabilities ``p_i =
a_i / sum_j a_j``. With ``training=True`` each output is one ``a_i``, drawn
with probability ``p_i``: the window's sum is taken in float64 and the drawn
position is the first whose running sum exceeds ``u * sum(a)`` for a uniform
``u``, so a zero activation is never drawn. A window of zeros gives 0 and, as
its index, its first element inside the input. With ``training=False`` each
output is ``sum_i p_i * a_i = sum(a**2) / sum(a)`` (0 for a window of zeros)
and nothing is drawn, so there are no indices.

The draws come from Philox4x32-10, a counter-based generator keyed by the
seed, whose counter is the output's position in channels-first order: the
result is a function of the seed and ``x`` alone, identical at every thread
count and in both layouts.

{n_output_size}

{n_indices}

References
----------
.. [1] M. D. Zeiler and R. Fergus, "Stochastic Pooling for Regularization of
   Deep Convolutional Neural Networks", International Conference on Learning
   Representations (ICLR 2013), arXiv:1301.3557.

Examples
--------
>>> import numpy as np
>>> import cpool
{example}""", example={1: """\
>>> a = np.arange(4.0).reshape(1, 1, 4)                # (N, C, L), after a ReLU
>>> print(cpool.stochastic_pool1d(a, 2, training=False))   # sum(a**2) / sum(a)
[[[1.  2.6]]]
>>> y, idx = cpool.stochastic_pool1d(a, 2, seed=0, return_indices=True)
>>> np.array_equal(y, np.take_along_axis(a, idx, axis=-1))  # y holds drawn elements
True""", 2: """\
>>> x = np.arange(16.0).reshape(1, 4, 4)               # (C, H, W)
>>> y = cpool.stochastic_pool2d(x, 2, seed=42)
>>> np.array_equal(y, cpool.stochastic_pool2d(x, 2, seed=42))   # same seed, same draws
True
>>> yl = cpool.stochastic_pool2d(np.moveaxis(x, 0, -1), 2, seed=42, channels_last=True)
>>> np.array_equal(yl, np.moveaxis(y, 0, -1))          # in either layout
True
>>> print(np.round(cpool.stochastic_pool2d(x, 2, training=False), 3))
[[[ 4.2    5.444]
  [10.905 12.84 ]]]""", 3: """\
>>> x = np.arange(64.0).reshape(1, 1, 4, 4, 4)         # (N, C, D, H, W)
>>> rng = np.random.default_rng(0)
>>> y, idx = cpool.stochastic_pool3d(x, 2, seed=rng, return_indices=True)
>>> y.shape, idx.shape
((1, 1, 2, 2, 2), (1, 1, 2, 2, 2))
>>> cpool.stochastic_pool3d(x, 2, training=False, return_indices=True)
Traceback (most recent call last):
    ...
ValueError: stochastic_pool3d(): return_indices=True needs training=True: ..."""})


@typed_as(StochasticPoolFunction)
@_DOC.rank(1)
def stochastic_pool1d(x: np.ndarray, kernel_size: IntOrTuple,
                      stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                      training: bool = True, seed: Seed = None, return_indices: bool = False,
                      *, channels_last: bool = False, out: Optional[np.ndarray] = None
                      ) -> Pooled:
    return _stochastic(1, "stochastic_pool1d", x, kernel_size, stride, padding, training,
                       seed, return_indices, channels_last, out)


@typed_as(StochasticPoolFunction)
@_DOC.rank(2)
def stochastic_pool2d(x: np.ndarray, kernel_size: IntOrTuple,
                      stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                      training: bool = True, seed: Seed = None, return_indices: bool = False,
                      *, channels_last: bool = False, out: Optional[np.ndarray] = None
                      ) -> Pooled:
    return _stochastic(2, "stochastic_pool2d", x, kernel_size, stride, padding, training,
                       seed, return_indices, channels_last, out)


@typed_as(StochasticPoolFunction)
@_DOC.rank(3)
def stochastic_pool3d(x: np.ndarray, kernel_size: IntOrTuple,
                      stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                      training: bool = True, seed: Seed = None, return_indices: bool = False,
                      *, channels_last: bool = False, out: Optional[np.ndarray] = None
                      ) -> Pooled:
    return _stochastic(3, "stochastic_pool3d", x, kernel_size, stride, padding, training,
                       seed, return_indices, channels_last, out)


_BACKWARD_DOC = index_backward_doc(
    "stochastic_pool", "StochasticPool", drawn=True, example={1: """\
>>> a = np.array([[[0.0, 2.0, 3.0, 0.0]]])             # one nonzero per window
>>> y, idx = cpool.stochastic_pool1d(a, 2, seed=0, return_indices=True)
>>> print(cpool.stochastic_pool1d_backward(np.ones_like(y), idx, a.shape))
[[[0. 1. 1. 0.]]]""", 2: """\
>>> x = np.arange(16.0).reshape(1, 4, 4)               # (C, H, W)
>>> y, idx = cpool.stochastic_pool2d(x, 2, seed=0, return_indices=True)
>>> g = cpool.stochastic_pool2d_backward(np.ones_like(y), idx, x.shape)
>>> print(g.shape, g.sum())                            # a 1 at each drawn element
(1, 4, 4) 4.0""", 3: """\
>>> x = np.arange(64.0).reshape(1, 1, 4, 4, 4)         # (N, C, D, H, W)
>>> y, idx = cpool.stochastic_pool3d(x, 2, seed=0, return_indices=True)
>>> g = cpool.stochastic_pool3d_backward(np.ones_like(y), idx, x.shape)
>>> print(g.shape, g.sum())                            # a 1 at each drawn element
(1, 1, 4, 4, 4) 8.0"""})


@_BACKWARD_DOC.rank(1)
def stochastic_pool1d_backward(grad_output: np.ndarray, indices: np.ndarray,
                               input_shape: Shape, *, channels_last: bool = False
                               ) -> np.ndarray:
    return index_backward(1, "stochastic_pool1d_backward", grad_output, indices, input_shape,
                          channels_last)


@_BACKWARD_DOC.rank(2)
def stochastic_pool2d_backward(grad_output: np.ndarray, indices: np.ndarray,
                               input_shape: Shape, *, channels_last: bool = False
                               ) -> np.ndarray:
    return index_backward(2, "stochastic_pool2d_backward", grad_output, indices, input_shape,
                          channels_last)


@_BACKWARD_DOC.rank(3)
def stochastic_pool3d_backward(grad_output: np.ndarray, indices: np.ndarray,
                               input_shape: Shape, *, channels_last: bool = False
                               ) -> np.ndarray:
    return index_backward(3, "stochastic_pool3d_backward", grad_output, indices, input_shape,
                          channels_last)
