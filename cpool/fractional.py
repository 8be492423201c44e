"""Fractional max pooling (Graham 2014), 2d and 3d, with PyTorch's pseudo-
random overlapping windows: fed PyTorch's samples it gives PyTorch's exact
regions; without them, ``seed`` draws the samples."""
from __future__ import annotations

import numbers
from typing import Optional

import numpy as np

from . import _args, _core
from ._docs import Template, index_backward_doc
from ._types import (FractionalMaxPoolFunction, IntOrTuple, Pooled, RatioArg, Seed, Shape,
                     typed_as)
from .maxpool import index_backward

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
    right at size - k; returned as [start, start + k) pairs.  Written in place
    into the pair table (np.stack of two tables took 6x as long)."""
    planes = u.shape[0]
    pairs = np.empty((planes, out, 2), dtype=np.int64)
    starts = pairs[:, :, 0]
    if out > 1:
        alpha = dtype.type(size - k) / dtype.type(out - 1)
        t = np.add(np.arange(out - 1, dtype=dtype)[None, :], u[:, None])
        t *= alpha
        np.copyto(starts[:, :-1], t, casting="unsafe")  # C truncation, as astype
        starts[:, :-1] -= (u * alpha).astype(np.int64)[:, None]
    starts[:, -1] = size - k
    np.add(starts, k, out=pairs[:, :, 1])
    return pairs.reshape(-1)


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
    # one table per (n, c) plane, in either layout (the C core transposes
    # channels-last data block by block)
    xc = _args.contiguous(x)
    bins = tuple(_intervals(a, o, kk, u[:, col], dtype)
                 for a, o, kk, col in zip(lay.spatial, size, k, _SAMPLE_COLUMN[nd]))
    y = np.empty(lay.shape(size), dtype=x.dtype.newbyteorder("="))
    ind = np.empty(y.shape, dtype=np.int64) if return_indices else None
    if y.size:
        geom = lay.bins_geom(size, bins, per_plane=True, width=k)
        _args.check_status(_core.max_pool_fwd(code, geom, xc, y, ind), fn)
    return (y, ind) if return_indices else y


_DOC = Template("""\
{nd}d fractional max pooling (Graham 2014): pseudo-random overlapping windows.

Shrinks {the_axes} by a factor that need not be an integer (say 1.5): the
maximum over overlapping windows of ``kernel_size`` whose starts follow
Graham's pseudo-random sequence [1]_ in PyTorch's form, with a random offset
per ``(n, c)`` plane and axis. Each call draws new offsets unless
``random_samples`` or an int ``seed`` fix them.

Parameters
----------
{p_x_max}
{p_kernel}
output_size : int or tuple of int, optional
    Output extent per spatial axis. Give this or ``output_ratio``; it wins
    when both are given.
output_ratio : float or tuple of float, optional
    Output extent as a fraction of the input extent, in (0, 1):
    ``int(L_in * output_ratio)`` per axis.
{p_return_indices}
random_samples : numpy.ndarray, optional
    The offsets, shaped ``(N, C, {nd})`` (``(C, {nd})`` for a batch-less input),
    floats in [0, 1), in PyTorch's column order: {order}. With PyTorch's
    samples the regions, values and indices are PyTorch's exactly.
seed : int, numpy.random.Generator or None, optional
    Where the offsets come from when ``random_samples`` is not given: an
    int (reproducible), a Generator (used as is) or ``None`` (fresh entropy).
{p_channels_last}

Returns
-------
{r_y}
{r_indices}

Raises
------
{e_type}
ValueError
    If neither ``output_size`` nor ``output_ratio`` is given, a ratio lies
    outside (0, 1), an output extent is below 1 or above ``L_in -
    kernel_size + 1``, ``kernel_size`` is below 1, a negative ``seed`` is
    given, or ``random_samples`` has the wrong shape or values outside [0,
    1) (NaN included); or for the shape errors of :func:`max_pool{nd}d`.

See Also
--------
fractional_max_pool{nd}d_backward : The gradient, through the indices.
max_pool{nd}d : Max pooling with a fixed stride.
adaptive_max_pool{nd}d : Deterministic bins for a given output size.
cpool.nn.FractionalMaxPool{nd}d : A layer that draws new regions at every forward.

Notes
-----
Along an axis of input extent ``L_in``, output extent ``L_out`` and sample
``u``, window ``i`` covers ``[start_i, start_i + kernel_size)`` with
``start_i = int((i + u) * alpha) - int(u * alpha)``, ``alpha = (L_in -
kernel_size) / (L_out - 1)``, and the last window flush with the end,
``start = L_in - kernel_size``: PyTorch's version of Graham's pseudo-random
overlapping regions. It is computed in the input's float type (float64 for
integer input), so PyTorch's samples give PyTorch's regions. The same int
``seed`` gives the same result at every thread count and in either layout.

{n_indices}

{n_nan_ties}

cpool differs from PyTorch in its checks: a scalar ``output_ratio`` works
(PyTorch 2.13's functional form raises a ``TypeError``); samples outside
[0, 1), a zero kernel and an impossible output size raise a ``ValueError``,
where PyTorch accepts some of them silently; and {note}

References
----------
.. [1] B. Graham, "Fractional Max-Pooling", arXiv:1412.6071, 2014.

Examples
--------
>>> import numpy as np
>>> import cpool
{example}""", order={2: "column 0 for W, column 1 for H",
                    3: "columns 0, 1, 2 for D, H, W"}, note={
    2: "``random_samples`` may be batch-less for a batch-less input.",
    3: """the output may reach ``L_in - kernel_size + 1`` as in 2d, where
PyTorch's 3d check stops one short."""}, example={2: """\
>>> x = np.arange(25.0).reshape(1, 1, 5, 5)            # (N, C, H, W)
>>> u = np.array([[[0.25, 0.5]]])                      # u for W, u for H
>>> y, idx = cpool.fractional_max_pool2d(x, 2, output_size=3, return_indices=True,
...                                      random_samples=u)
>>> print(y)                  # rows [0,2) [2,4) [3,5), columns [0,2) [1,3) [3,5)
[[[[ 6.  7.  9.]
   [16. 17. 19.]
   [21. 22. 24.]]]]
>>> cpool.fractional_max_pool2d(x, 2, output_ratio=0.7, seed=0).shape
(1, 1, 3, 3)""", 3: """\
>>> x = np.arange(216.0).reshape(1, 6, 6, 6)           # (C, D, H, W)
>>> a = cpool.fractional_max_pool3d(x, 2, output_ratio=0.5, seed=7)
>>> b = cpool.fractional_max_pool3d(x, 2, output_ratio=0.5, seed=7)
>>> a.shape, np.array_equal(a, b)
((1, 3, 3, 3), True)
>>> xl = np.moveaxis(x, 0, -1)                         # (D, H, W, C)
>>> cpool.fractional_max_pool3d(xl, 2, (4, 3, 2), seed=0, channels_last=True).shape
(4, 3, 2, 1)"""})


@typed_as(FractionalMaxPoolFunction)
@_DOC.rank(2)
def fractional_max_pool2d(x: np.ndarray, kernel_size: IntOrTuple,
                          output_size: Optional[IntOrTuple] = None,
                          output_ratio: RatioArg = None, return_indices: bool = False,
                          random_samples: Optional[np.ndarray] = None, seed: Seed = None, *,
                          channels_last: bool = False) -> Pooled:
    return _fractional(2, "fractional_max_pool2d", x, kernel_size, output_size, output_ratio,
                       return_indices, random_samples, seed, channels_last)


@typed_as(FractionalMaxPoolFunction)
@_DOC.rank(3)
def fractional_max_pool3d(x: np.ndarray, kernel_size: IntOrTuple,
                          output_size: Optional[IntOrTuple] = None,
                          output_ratio: RatioArg = None, return_indices: bool = False,
                          random_samples: Optional[np.ndarray] = None, seed: Seed = None, *,
                          channels_last: bool = False) -> Pooled:
    return _fractional(3, "fractional_max_pool3d", x, kernel_size, output_size, output_ratio,
                       return_indices, random_samples, seed, channels_last)


_BACKWARD_DOC = index_backward_doc("fractional_max_pool", "FractionalMaxPool", example={2: """\
>>> x = np.arange(25.0).reshape(1, 1, 5, 5)            # (N, C, H, W)
>>> u = np.array([[[0.25, 0.5]]])
>>> y, idx = cpool.fractional_max_pool2d(x, 2, output_size=3, return_indices=True,
...                                      random_samples=u)
>>> print(cpool.fractional_max_pool2d_backward(np.ones_like(y), idx, x.shape))
[[[[0. 0. 0. 0. 0.]
   [0. 1. 1. 0. 1.]
   [0. 0. 0. 0. 0.]
   [0. 1. 1. 0. 1.]
   [0. 1. 1. 0. 1.]]]]""", 3: """\
>>> x = np.arange(216.0).reshape(1, 6, 6, 6)           # (C, D, H, W)
>>> y, idx = cpool.fractional_max_pool3d(x, 2, output_size=3, return_indices=True,
...                                      seed=1)
>>> g = cpool.fractional_max_pool3d_backward(np.ones_like(y), idx, x.shape)
>>> print(g.shape, g.sum())                            # a 1 for each output
(1, 6, 6, 6) 27.0"""})


@_BACKWARD_DOC.rank(2)
def fractional_max_pool2d_backward(grad_output: np.ndarray, indices: np.ndarray,
                                   input_shape: Shape, *,
                                   channels_last: bool = False) -> np.ndarray:
    return index_backward(2, "fractional_max_pool2d_backward", grad_output, indices,
                          input_shape, channels_last)


@_BACKWARD_DOC.rank(3)
def fractional_max_pool3d_backward(grad_output: np.ndarray, indices: np.ndarray,
                                   input_shape: Shape, *,
                                   channels_last: bool = False) -> np.ndarray:
    return index_backward(3, "fractional_max_pool3d_backward", grad_output, indices,
                          input_shape, channels_last)
