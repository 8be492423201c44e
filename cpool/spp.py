"""Spatial pyramid pooling (He et al. 2014): a fixed-length vector from a
feature map of any size, by pooling it to l x l grids for each level l.

Each level runs the adaptive-pooling kernels with its own bin tables and, for
channels-first input, writes straight into its slice of the result (the C
kernels take an output batch stride), so no per-level array is made and
copied; a channels-last level is transposed from a result-sized buffer."""
from __future__ import annotations

import functools
import numbers
from typing import Optional, Sequence, Tuple

import numpy as np

from . import _args, _core
from ._docs import Template
from ._types import Pooled, Shape, SpatialPyramidPoolFunction, typed_as

_MODES = ("max", "avg")
_BINS = ("adaptive", "paper")


def _levels(levels, fn: str) -> Tuple[int, ...]:
    if not isinstance(levels, (tuple, list)) or len(levels) == 0:
        raise ValueError(f"{fn}(): levels must be a non-empty tuple of positive ints, "
                         f"got {levels!r}")
    for v in levels:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{fn}(): levels must hold ints, got {levels!r}")
        if v < 1:
            raise ValueError(f"{fn}(): levels must be positive, got {levels!r}")
    _args.window_bounded(levels, fn, "levels", levels)
    return tuple(int(v) for v in levels)


def _choice(value, options, fn: str, name: str) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{fn}(): {name} must be one of {', '.join(map(repr, options))}, "
                         f"got {value!r}")
    return value


@functools.lru_cache(maxsize=256)
def _paper_bins(size: int, level: int) -> np.ndarray:
    """He et al.'s rule: window ceil(a/l), stride floor(a/l), the first l
    windows, as [start, end) pairs (they always fit: (l-1)*floor(a/l) +
    ceil(a/l) <= a)."""
    k, s = -(-size // level), size // level
    start = np.arange(level, dtype=np.int64) * s
    bins = np.stack([start, start + k], axis=1).reshape(-1)
    bins.flags.writeable = False
    return bins


def _level_bins(spatial, level, rule, fn):
    if rule == "paper":
        for a in spatial:
            if level > a:
                raise ValueError(f"{fn}(): level {level} is larger than the input extent {a}: "
                                 f"bins='paper' needs a stride floor(a/l) >= 1 (use "
                                 f"bins='adaptive', which covers any size)")
        return tuple(_paper_bins(a, level) for a in spatial)
    return tuple(_args.adaptive_bins(a, level) for a in spatial)


def _setup(fn, levels, mode, bins):
    mode = _choice(mode, _MODES, fn, "mode")
    bins = _choice(bins, _BINS, fn, "bins")
    levels = _levels(levels, fn)
    return mode, bins, levels


_PARAMS = """\
levels : sequence of int, default (1, 2, 4)
    The pyramid: level ``l`` pools the map to an ``l x l`` grid.
mode : {{'max', 'avg'}}, default 'max'
    The maximum or the mean of each bin.
bins : {{'adaptive', 'paper'}}, default 'adaptive'
    The bin rule (see Notes)."""

_DOC = Template("""\
Spatial pyramid pooling: a fixed-length vector from any map size.

Pools each ``(n, c)`` plane to an ``l x l`` grid for every pyramid level
``l`` and concatenates the results, so the feature length depends on the
channels and the levels only: a classifier after it accepts images of any
size. This is the pooling layer of He et al. [1]_.

Parameters
----------
x : numpy.ndarray
    Feature maps, ``{x_cf}`` or batch-less ``{x_cf0}``; with
    ``channels_last=True``, ``{x_cl}`` or ``{x_cl0}``. float32 or float64,
    and with ``mode='max'`` also int8, uint8, int16, uint16, int32 or int64.
    Any strides and byte order; ``x`` is never modified.
{levels}
return_indices : bool, default False
    Also return the position of each maximum (``mode='max'`` only).
channels_last : bool, default False
    Read ``x`` as channels-last, ``{x_cl}`` or ``{x_cl0}``. The result is
    the same in both layouts.

Returns
-------
features : numpy.ndarray
    ``(N, C * sum(l * l for l in levels))``, or 1-d ``(C * sum(l * l))``
    for a batch-less ``x``: level by level in the order given, each level's
    ``(C, l, l)`` block flattened in C order, in both layouts. Same dtype as
    ``x``.
indices : numpy.ndarray of int64
    Only with ``return_indices=True``, as ``(features, indices)``: shaped
    like ``features``, the flat offset ``{index}`` in the input plane of
    each maximum.

Raises
------
{e_type}
ValueError
    If ``levels`` is empty or holds a level below 1, ``mode`` or ``bins`` is
    not one of the names above, ``return_indices=True`` with
    ``mode='avg'``, a level exceeds the map under ``bins='paper'``, or ``x``
    does not have {ndim} dimensions or has an empty axis other than the
    batch.

See Also
--------
spatial_pyramid_pool_backward : The gradient.
adaptive_max_pool2d : One level, as an ``(N, C, l, l)`` array.
cpool.nn.SpatialPyramidPool : The same as a layer object.

Notes
-----
Two bin rules are available. ``bins='adaptive'`` uses adaptive pooling's
bins, ``[floor(i * a / l), ceil((i + 1) * a / l))`` for extent ``a``: the
rule of the paper's appendix and of the authors' code, which covers every
element for any map size, levels larger than the map included.
``bins='paper'`` uses the rule of the paper's main text, window
``ceil(a / l)`` and stride ``floor(a / l)``, taking the first ``l``
windows: it leaves the last ``max(a mod l - 1, 0)`` rows or columns
uncovered (1 for ``a = 14, l = 4``), and a level with ``l > a`` is a
``ValueError``.

{n_indices}

{n_nan_ties}

References
----------
.. [1] K. He, X. Zhang, S. Ren and J. Sun, "Spatial Pyramid Pooling in Deep
   Convolutional Networks for Visual Recognition", European Conference on
   Computer Vision (ECCV 2014); IEEE Transactions on Pattern Analysis and
   Machine Intelligence 37(9), 2015. arXiv:1406.4729.

Examples
--------
>>> import numpy as np
>>> import cpool
>>> x = np.arange(16.0).reshape(1, 4, 4)               # (C, H, W)
>>> print(cpool.spatial_pyramid_pool(x, levels=(1, 2)))    # 1 + 4 bins
[15.  5.  7. 13. 15.]
>>> for size in (13, 10, 21):                          # any map size, one length
...     conv5 = np.ones((2, 256, size, size), np.float32)
...     print(cpool.spatial_pyramid_pool(conv5, levels=(4, 2, 1)).shape)
(2, 5376)
(2, 5376)
(2, 5376)
>>> m = np.arange(49.0).reshape(1, 7, 7)
>>> print(cpool.spatial_pyramid_pool(m, (4,), bins="paper").reshape(4, 4))
[[ 8.  9. 10. 11.]
 [15. 16. 17. 18.]
 [22. 23. 24. 25.]
 [29. 30. 31. 32.]]
>>> print(cpool.spatial_pyramid_pool(m, (4,)).reshape(4, 4))   # covers all of m
[[ 8. 10. 12. 13.]
 [22. 24. 26. 27.]
 [36. 38. 40. 41.]
 [43. 45. 47. 48.]]""", levels=_PARAMS)


@typed_as(SpatialPyramidPoolFunction)
@_DOC.rank(2)
def spatial_pyramid_pool(x: np.ndarray, levels: Sequence[int] = (1, 2, 4), mode: str = "max",
                         bins: str = "adaptive", return_indices: bool = False, *,
                         channels_last: bool = False) -> Pooled:
    fn = "spatial_pyramid_pool"
    x = _args.array(x, fn)
    mode, bins, levels = _setup(fn, levels, mode, bins)
    code = _args.dtype_code(x, _args.MAX_DTYPES if mode == "max" else _args.FLOAT_DTYPES, fn)
    lay = _args.layout(x, 2, channels_last, fn)
    return_indices = _args.flag(return_indices, fn, "return_indices")
    if return_indices and mode != "max":
        raise ValueError(f"{fn}(): return_indices=True needs mode='max'")
    tables = [_level_bins(lay.spatial, l, bins, fn) for l in levels]
    features = lay.c * sum(l * l for l in levels)
    y = np.empty((lay.n, features), dtype=x.dtype.newbyteorder("="))
    ind = np.empty(y.shape, dtype=np.int64) if return_indices else None
    xc = _args.contiguous(x)
    offset = 0
    for level, table in zip(levels, tables):
        block = lay.c * level * level
        if y.size and not lay.channels_last:
            # straight into the level's slice: the kernels take a batch stride
            geom = lay.bins_geom((level, level), table) + (features,)
            rc = (_core.max_pool_fwd(code, geom, xc, y, ind, offset) if mode == "max"
                  else _core.avg_pool(code, geom, xc, y, True, 0, False, offset))
            _args.check_status(rc, fn)
        elif y.size:
            # Channels-last kernels write (l, l, C) per sample; the result wants
            # (C, l, l), so each level goes through a result-sized buffer rather
            # than transposing the whole input.
            part = np.empty((lay.n, level, level, lay.c), dtype=y.dtype)
            pind = np.empty(part.shape, dtype=np.int64) if return_indices else None
            geom = lay.bins_geom((level, level), table)
            rc = (_core.max_pool_fwd(code, geom, xc, part, pind) if mode == "max"
                  else _core.avg_pool(code, geom, xc, part, True, 0, False))
            _args.check_status(rc, fn)
            y[:, offset:offset + block] = part.transpose(0, 3, 1, 2).reshape(lay.n, block)
            if return_indices:
                ind[:, offset:offset + block] = pind.transpose(0, 3, 1, 2).reshape(lay.n, block)
        offset += block
    if not lay.batched:
        y, ind = y[0], (ind[0] if return_indices else None)
    return (y, ind) if return_indices else y


_BACKWARD_DOC = Template("""\
Gradient of :func:`spatial_pyramid_pool` with respect to its input.

With ``mode='max'`` each feature's gradient goes to the element the forward
pass picked, through its indices; with ``mode='avg'`` it is spread evenly
over its bin. The levels' contributions add up.

Parameters
----------
grad_output : numpy.ndarray
    Gradient with respect to the features, ``(N, F)`` or ``(F,)`` with ``F
    = C * sum(l * l for l in levels)``; float32 or float64.
{p_input_shape}
{levels}
indices : numpy.ndarray of int64, optional
    The forward pass's indices; required for ``mode='max'``.
{p_channels_last_grad}

Returns
-------
{r_grad_input}

Raises
------
{e_type}
ValueError
    If ``indices`` is missing for ``mode='max'``, the shapes do not match,
    an index lies outside ``[-1, H * W)``, or for the argument errors of
    :func:`spatial_pyramid_pool`.

See Also
--------
spatial_pyramid_pool : The forward pass.
cpool.nn.SpatialPyramidPool : Keeps the indices for the backward.

Examples
--------
>>> import numpy as np
>>> import cpool
>>> x = np.arange(16.0).reshape(1, 4, 4)               # (C, H, W)
>>> f, idx = cpool.spatial_pyramid_pool(x, (1, 2), return_indices=True)
>>> print(cpool.spatial_pyramid_pool_backward(np.ones_like(f), x.shape, (1, 2),
...                                           indices=idx))
[[[0. 0. 0. 0.]
  [0. 1. 0. 1.]
  [0. 0. 0. 0.]
  [0. 1. 0. 2.]]]
>>> g = cpool.spatial_pyramid_pool_backward(np.ones(5), x.shape, (1, 2), mode="avg")
>>> print(g[0, 0])                                     # 1/16 + 1/4 everywhere
[0.3125 0.3125 0.3125 0.3125]""", levels=_PARAMS)


@_BACKWARD_DOC.rank(2)
def spatial_pyramid_pool_backward(grad_output: np.ndarray, input_shape: Shape,
                                  levels: Sequence[int] = (1, 2, 4), mode: str = "max",
                                  bins: str = "adaptive", indices: Optional[np.ndarray] = None,
                                  *, channels_last: bool = False) -> np.ndarray:
    fn = "spatial_pyramid_pool_backward"
    mode, bins, levels = _setup(fn, levels, mode, bins)
    lay = _args.input_shape(input_shape, 2, channels_last, fn)
    features = lay.c * sum(l * l for l in levels)
    shape = (lay.n, features) if lay.batched else (features,)
    g, code = _args.grad_output(grad_output, shape, fn)
    g = g.reshape(lay.n, features)
    tables = [_level_bins(lay.spatial, l, bins, fn) for l in levels]
    # per level, its (n, C, l*l) block of the flat features
    blocks, offset = [], 0
    for level in levels:
        blocks.append((offset, level))
        offset += lay.c * level * level

    def per_plane(a):
        """(n, F) level-major -> (n, C, sum l*l), each plane's outputs together."""
        return np.concatenate([a[:, o:o + lay.c * l * l].reshape(lay.n, lay.c, l * l)
                               for o, l in blocks], axis=2)

    if mode == "max":
        if indices is None:
            raise ValueError(f"{fn}(): indices are required for mode='max' (from "
                             f"spatial_pyramid_pool(..., return_indices=True))")
        ind = _args.indices(indices, shape, fn).reshape(lay.n, features)
        gp, ip = per_plane(g), per_plane(ind)
        per_plane_out = sum(l * l for l in levels)
        if lay.channels_last:  # the scatter walks (n, outputs, C) for this layout
            gp = np.ascontiguousarray(gp.transpose(0, 2, 1))
            ip = np.ascontiguousarray(ip.transpose(0, 2, 1))
        else:
            gp, ip = np.ascontiguousarray(gp), np.ascontiguousarray(ip)
        gx = np.empty(lay.shape(lay.spatial), dtype=g.dtype)
        if gx.size:
            geom = _args.extents_geom(lay, lay.spatial, (1, per_plane_out))
            rc = _core.index_scatter(code, geom, gp, ip, gx, False)
            _args.check_status(rc, fn, int(np.prod(lay.spatial)))
        return gx
    gx = np.zeros(lay.shape(lay.spatial), dtype=g.dtype)
    part = np.empty_like(gx)
    for (o, level), table in zip(blocks, tables):
        gl = g[:, o:o + lay.c * level * level].reshape(lay.n, lay.c, level, level)
        if lay.channels_last:
            gl = gl.transpose(0, 2, 3, 1)
        gl = np.ascontiguousarray(gl)
        if gx.size:
            rc = _core.avg_pool(code, lay.bins_geom((level, level), table), gl, part, True, 0,
                                True)
            _args.check_status(rc, fn)
            gx += part
    return gx
