"""cpool on dask arrays: the forward pooling functions for stacks larger than
memory, on any dask scheduler (threads, processes, a distributed cluster).

``import cpool.dask`` (needs ``pip install "cpool[dask]"``); ``import cpool``
alone never imports dask.  Every function here has the name and arguments of
its in-memory counterpart, less ``out=``, takes a ``dask.array.Array`` (a
NumPy array is wrapped with ``dask.array.asarray``) and returns dask arrays:
``y``, or ``(y, indices)`` where the in-memory function returns indices.
Nothing is computed until you ask; argument errors (``ValueError``,
``TypeError``, the in-memory messages) are raised by the call itself.

Results equal the in-memory function's on the computed array, bit for bit,
however the input is chunked:

- Windowed pooling (max, avg, lp, stochastic): chunks along the batch and
  channel axes are kept as they are.  Along a spatial axis, output block i
  holds the outputs whose windows start in input chunk i (blocks with none
  are dropped); its task reads the input from a multiple of the stride up to
  its last window's end -- its own chunk plus halos sliced from the
  neighbours, as many as a window spans -- and runs the in-memory function
  with the same window arguments on it.  The region starts on a stride
  multiple and reaches the real left (right) edge whenever a kept window
  touches the left (right) padding, so padding, ``ceil_mode``,
  ``count_include_pad`` and ``divisor_override`` act exactly as they do on
  the whole array.  Chunks of any size work, including chunks smaller than
  a window.
- Adaptive and global pooling and ``spatial_pyramid_pool``: the bins span
  the whole extent, so each task pools one whole spatial plane of its
  (batch chunk, channel chunk) block: **one such block, spatial axes
  complete, must fit in a worker's memory**.  Chunk the batch (and channel)
  axes to make it small.
- Indices are global: the flat offset in the whole input plane, int64, as
  in memory (-1 for a window of padding only).  ``y`` and ``indices`` come
  from the same tasks: compute them together (``dask.compute(y, idx)``) and
  each block is pooled once.
- Stochastic pooling: ``seed`` is resolved once, at the call (an int as is,
  one draw from a ``numpy.random.Generator``, fresh entropy for None), and
  every block draws with the counters of its outputs' positions in the whole
  output, so the result is the in-memory result for that seed, whatever the
  chunking.  The activation check (>= 0, finite) runs when a block is
  computed; the position in its message is relative to the region that
  block read, which the message names.

Each task calls cpool's OpenMP kernels, which use ``cpool.get_num_threads()``
threads; where dask already runs a task per core, ``cpool.set_num_threads(1)``
(in each worker process, e.g. ``client.run(cpool.set_num_threads, 1)``)
avoids oversubscription.

>>> import dask, dask.array as da, numpy as np
>>> import cpool, cpool.dask as cd
>>> a = np.arange(2 * 3 * 9 * 9, dtype=np.float32).reshape(2, 3, 9, 9) % 7
>>> x = da.from_array(a, chunks=(1, 3, 2, 4))       # chunks smaller than a window
>>> y, idx = cd.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)
>>> y.chunks         # per input chunk, the outputs whose windows start in it
((1, 1), (3,), (2, 1, 1, 1), (3, 2))
>>> y_np, idx_np = dask.compute(y, idx)             # one pass: the same tasks
>>> ref_y, ref_idx = cpool.max_pool2d(a, 3, stride=2, padding=1, return_indices=True)
>>> bool((y_np == ref_y).all() and (idx_np == ref_idx).all())
True"""
from __future__ import annotations

import bisect
import functools
import itertools
import operator
from typing import Optional, Sequence, Tuple, Union

import numpy as np

try:
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(f'cpool.dask needs dask: pip install "cpool[dask]" ({e})') from e

from . import _args
from . import adaptive as _adaptive_mod
from . import avgpool as _avgpool
from . import globalpool as _globalpool
from . import lppool as _lppool
from . import maxpool as _maxpool
from . import spp as _spp
from . import stochastic as _stochastic

IntOrTuple = Union[int, Sequence[int]]
SizeArg = Union[int, None, Sequence[Optional[int]]]
ArrayLike = Union["da.Array", np.ndarray]
Pooled = Union["da.Array", Tuple["da.Array", "da.Array"]]

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d",
    "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "lp_pool1d", "lp_pool2d", "lp_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "global_max_pool", "global_avg_pool",
    "stochastic_pool1d", "stochastic_pool2d", "stochastic_pool3d",
    "spatial_pyramid_pool",
]


# ---- input checks -------------------------------------------------------------

def _dask_array(x, fn: str) -> da.Array:
    if isinstance(x, np.ndarray):
        x = da.asarray(x)
    elif not isinstance(x, da.Array):
        raise TypeError(f"{fn}(): x must be a dask.array.Array or a numpy.ndarray, "
                        f"got {type(x).__name__}")
    if any(c != c for chunks in x.chunks for c in chunks):
        raise ValueError(f"{fn}(): x has unknown chunk sizes {x.chunks}; call "
                         f"x.compute_chunk_sizes() first")
    meta = getattr(x, "_meta", None)
    if meta is not None and not isinstance(meta, np.ndarray):
        raise TypeError(f"{fn}(): x's blocks must be numpy arrays, got "
                        f"{type(meta).__module__}.{type(meta).__name__}")
    return x


def _probe(call, x: da.Array, ranks):
    """Runs the in-memory call on a stand-in for x that holds no data: x's
    dtype and shape with an empty batch axis, so it raises the errors x
    would (same types, same messages), now rather than at compute time.
    Returns its result, whose shape gives the output's extents.  `ranks`:
    (unbatched, batched) ranks the function takes; any other rank, or an
    empty axis, gets x's own shape, which the call refuses before touching
    data."""
    shape = x.shape
    if x.ndim == ranks[1] and all(shape[1:]):
        shape = (0,) + shape[1:]
    elif x.ndim == ranks[0] and all(shape):
        shape = (0,) + shape
    return call(np.broadcast_to(np.zeros((), dtype=x.dtype), shape))


def _axes(ndim: int, nd: int, channels_last: bool):
    """(batch axis or None, channel axis, spatial axes) of a valid input."""
    batched = ndim == nd + 2
    if channels_last:
        return (0 if batched else None), ndim - 1, tuple(range(ndim - 1 - nd, ndim - 1))
    return (0 if batched else None), int(batched), tuple(range(ndim - nd, ndim))


# ---- the graph ---------------------------------------------------------------

def _assemble(pieces, axis: int = 0) -> np.ndarray:
    """One array from a nested list (one level per axis) of adjacent pieces."""
    if isinstance(pieces, np.ndarray):
        return pieces
    parts = [_assemble(p, axis + 1) for p in pieces]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)


def _gather(x: da.Array, bounds, halo: str, regions, dsk: dict, sliced: dict):
    """The nested list (one level per axis) of keys whose blocks, assembled,
    are x[regions].  regions: per axis, a chunk index (that whole chunk) or a
    (start, stop) range; bounds: the chunk edges per axis.  Parts of chunks
    that a range covers only partly become slicing tasks (added to dsk, one
    per distinct slice: `sliced` remembers them), so only the halo, not the
    whole neighbouring chunk, travels to the task that needs it."""
    per_axis = []
    for chunks, edges, r in zip(x.chunks, bounds, regions):
        if isinstance(r, int):
            per_axis.append([(r, 0, chunks[r])])
            continue
        r0, r1 = r
        first = bisect.bisect_right(edges, r0) - 1
        last = bisect.bisect_left(edges, r1) - 1
        per_axis.append([(i, max(r0, edges[i]) - edges[i], min(r1, edges[i + 1]) - edges[i])
                         for i in range(first, last + 1) if chunks[i]])

    def nest(axis, index, where):
        if axis < len(per_axis):
            return [nest(axis + 1, index + (i,), where + ((a, b),))
                    for i, a, b in per_axis[axis]]
        key = (x.name,) + index
        if all(a == 0 and b == c[i] for (a, b), c, i in zip(where, x.chunks, index)):
            return key
        name = sliced.get((index, where))
        if name is None:
            name = sliced[(index, where)] = (halo, len(sliced))
            dsk[name] = (operator.getitem, key, tuple(slice(a, b) for a, b in where))
        return name

    return nest(0, (), ())


def _build(x: da.Array, token: str, blocks, outputs):
    """Dask arrays from one task per block.

    blocks: {block id: (regions, task)}; the task gets the pieces of
    x[regions] (see _gather, _assemble).  outputs: one (name, chunks, dtype,
    keys) per array returned, keys mapping each of its block indices to
    (block id, item): the array's block is that item of the task's result,
    or the result itself for item None (then the block index must be the
    block id, and the tasks are named as the array's blocks)."""
    halo, raw = f"halo-{token}", f"pool-{token}"
    direct = len(outputs) == 1 and all(w is None for _, w in outputs[0][3].values())
    if direct:
        raw = outputs[0][0]
        assert all(k == b for k, (b, _) in outputs[0][3].items())
    bounds = [tuple(itertools.accumulate((0,) + c)) for c in x.chunks]
    dsk, sliced = {}, {}
    for bid, (regions, task) in blocks.items():
        dsk[(raw,) + bid] = (task, _gather(x, bounds, halo, regions, dsk, sliced))
    graph = HighLevelGraph.from_collections(raw, dsk, dependencies=[x])
    arrays = []
    for name, chunks, dtype, keys in outputs:
        meta = np.empty((0,) * len(chunks), dtype=dtype)
        if not direct:
            layer = {(name,) + k: (operator.getitem, (raw,) + b, w)
                     for k, (b, w) in keys.items()}
            graph_y = HighLevelGraph({**graph.layers, name: layer},
                                     {**graph.dependencies, name: {raw}})
        arrays.append(da.Array(graph if direct else graph_y, name, chunks, meta=meta))
    return arrays


def _outputs(fn, token, chunks, dtype, keys, pair):
    """The outputs argument of _build for y, or y and its indices (items 0, 1)."""
    if not pair:
        return [(f"{fn}-{token}", chunks, dtype, {k: (b, None) for k, b in keys.items()})]
    return [(f"{fn}-{token}", chunks, dtype, {k: (b, 0) for k, b in keys.items()}),
            (f"{fn}-indices-{token}", chunks, np.dtype(np.int64),
             {k: (b, 1) for k, b in keys.items()})]


def _result(arrays):
    return tuple(arrays) if len(arrays) > 1 else arrays[0]


# ---- windowed pooling: max, avg, lp, stochastic ------------------------------

def _axis_blocks(chunks, k: int, s: int, p: int, d: int, ceil_mode: bool, out: int):
    """Output blocks along one spatial axis as (o0, o1, m, stop): block i
    holds global outputs [o0, o1), those whose windows start in input chunk
    i; its task pools x[m*s : stop] with the original window arguments,
    whose output j is global output m + j.

    m = max(0, o0 - ceil(p/s)) keeps the region start on a stride multiple
    and left of every kept window (o0*s - p >= m*s), so the task's own left
    padding is only ever seen by windows it drops -- unless m = 0, where it
    is the real padding.  stop is the last kept window's end, or L: a kept
    window that reaches the task's right padding is then the real one."""
    eff = (k - 1) * d + 1
    q = -(-p // s)
    L = sum(chunks)
    starts = itertools.accumulate(chunks[:-1])
    edges = [0] + [min(out, -(-(a + p) // s)) for a in starts] + [out]
    blocks = []
    for o0, o1 in zip(edges[:-1], edges[1:]):
        if o1 > o0:
            m = max(0, o0 - q)
            blocks.append((o0, o1, m, min(L, (o1 - 1) * s - p + eff)))
    return blocks


def _global_indices(idx: np.ndarray, local, starts, extents, may_be_empty: bool) -> np.ndarray:
    """Flat offsets in a region plane (extents `local`, placed at `starts`)
    -> flat offsets in the whole plane (`extents`); -1 (a window of padding
    only, which needs dilation: may_be_empty) stays -1.

    With local strides Ls_a = prod(local[a+1:]) and global ones Gs_a, the
    coordinate c_a = q_a - local[a] * q_(a-1) with q_a = idx // Ls_a, so
    sum((c_a + starts_a) * Gs_a) = idx + sum(starts_a * Gs_a)
    + sum over a < last of q_a * Gs_(a+1) * (extents[a+1] - local[a+1]):
    one integer division per axis but the last, no coordinates."""
    nd = len(local)
    if tuple(local) == tuple(extents):
        return idx
    gs = [int(np.prod(extents[a + 1:], dtype=object)) for a in range(nd)]
    ls = [int(np.prod(local[a + 1:], dtype=object)) for a in range(nd)]
    out = idx + sum(a * g for a, g in zip(starts, gs))
    for a in range(nd - 1):
        grow = gs[a + 1] * (extents[a + 1] - local[a + 1])
        if grow:
            q = idx // ls[a]
            q *= grow
            out += q
    if may_be_empty:
        out[idx < 0] = -1
    return out


def _window_task(call, keep, spatial_axes, starts, extents, may_be_empty, region, pieces):
    """One block of a windowed pooling: pool the assembled region, keep the
    block's outputs, make indices global."""
    x = _assemble(pieces)
    try:
        res = call(x)
    except ValueError as e:  # data-dependent: stochastic pooling's activations
        where = ", ".join(f"{r0}:{r1}" for r0, r1 in region)
        raise ValueError(f"{e} [the position is within x[{where}], the region this "
                         f"block reads]") from None
    if not isinstance(res, tuple):
        return res[keep]
    y, idx = res
    local = tuple(x.shape[a] for a in spatial_axes)
    return y[keep], _global_indices(idx[keep], local, starts, extents, may_be_empty)


def _windowed(fn, x, nd, channels_last, win, call, first, positioned=False):
    """The dask arrays of a windowed pooling.  call: the in-memory function
    with every argument but x bound -- or, positioned (stochastic pooling),
    call(position) gives that for the block at `position`.  first: its
    result on the probe (tells y's dtype and whether indices come too)."""
    pair = isinstance(first, tuple)
    dtype = (first[0] if pair else first).dtype
    batch_ax, chan_ax, sp_axes = _axes(x.ndim, nd, channels_last)
    # per axis, per block: (region read, outputs kept, output extent, global
    # index of the task's output 0); batch and channel blocks are the chunks
    plans = []
    for ax, chunks in enumerate(x.chunks):
        edges = tuple(itertools.accumulate((0,) + chunks))
        if ax in sp_axes:
            j = sp_axes.index(ax)
            s = win.stride[j]
            plans.append([((m * s, stop), slice(o0 - m, o1 - m), o1 - o0, m)
                          for o0, o1, m, stop in _axis_blocks(
                              chunks, win.kernel[j], s, win.padding[j], win.dilation[j],
                              win.ceil_mode, win.out[j])])
        else:
            plans.append([(i, slice(None), c, edges[i]) for i, c in enumerate(chunks)])
    extents = tuple(x.shape[a] for a in sp_axes)
    # with dilation 1 and padding <= kernel // 2 every window holds an input element
    may_be_empty = max(win.dilation) > 1
    dims = ((x.shape[batch_ax] if batch_ax is not None else 1, x.shape[chan_ax])
            + tuple(win.out))
    token = tokenize(fn, x.name, win.kernel, win.stride, win.padding, win.dilation,
                     win.ceil_mode, call(None) if positioned else call)
    blocks = {}
    for bid in itertools.product(*(range(len(p)) for p in plans)):
        parts = [p[i] for p, i in zip(plans, bid)]
        regions = tuple(r for r, _, _, _ in parts)
        read = tuple(r if isinstance(r, tuple) else (o, o + n) for r, _, n, o in parts)
        task_call = call
        if positioned:
            offsets = ((parts[batch_ax][3] if batch_ax is not None else 0, parts[chan_ax][3])
                       + tuple(parts[a][3] for a in sp_axes))
            task_call = call((offsets, dims))
        task = functools.partial(_window_task, task_call, tuple(p[1] for p in parts), sp_axes,
                                 tuple(read[a][0] for a in sp_axes), extents, may_be_empty,
                                 read)
        blocks[bid] = (regions, task)
    chunks = tuple(tuple(e[2] for e in p) for p in plans)
    return _result(_build(x, token, blocks,
                          _outputs(fn, token, chunks, dtype, {b: b for b in blocks}, pair)))


def _window_geometry(fn, x, nd, channels_last, kernel_size, stride, padding, dilation,
                     ceil_mode):
    lay = _args.layout_of_shape(x.shape, nd, channels_last, fn)
    return _args.window(lay, kernel_size, stride, padding, dilation, ceil_mode, fn)


def _max_pool(nd, fn, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
              channels_last):
    x = _dask_array(x, fn)
    call = functools.partial(_maxpool._max_pool, nd, fn, kernel_size=kernel_size,
                             stride=stride, padding=padding, dilation=dilation,
                             ceil_mode=ceil_mode, return_indices=return_indices,
                             channels_last=channels_last, out=None)
    first = _probe(call, x, (nd + 1, nd + 2))
    win = _window_geometry(fn, x, nd, channels_last, kernel_size, stride, padding, dilation,
                           ceil_mode)
    return _windowed(fn, x, nd, bool(channels_last), win, call, first)


def _avg_pool(nd, fn, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, channels_last):
    x = _dask_array(x, fn)
    call = functools.partial(_avgpool._avg_pool, nd, fn, kernel_size=kernel_size,
                             stride=stride, padding=padding, ceil_mode=ceil_mode,
                             count_include_pad=count_include_pad,
                             divisor_override=divisor_override, channels_last=channels_last,
                             out=None)
    first = _probe(call, x, (nd + 1, nd + 2))
    win = _window_geometry(fn, x, nd, channels_last, kernel_size, stride, padding, 1,
                           ceil_mode)
    return _windowed(fn, x, nd, bool(channels_last), win, call, first)


def _lp_pool(nd, fn, x, norm_type, kernel_size, stride, ceil_mode, channels_last):
    x = _dask_array(x, fn)
    call = functools.partial(_lppool._lp_pool, nd, fn, norm_type=norm_type,
                             kernel_size=kernel_size, stride=stride, ceil_mode=ceil_mode,
                             channels_last=channels_last, out=None)
    first = _probe(call, x, (nd + 1, nd + 2))
    win = _window_geometry(fn, x, nd, channels_last, kernel_size, stride, 0, 1, ceil_mode)
    return _windowed(fn, x, nd, bool(channels_last), win, call, first)


def _stochastic_call(nd, fn, kwargs, position):
    """The in-memory stochastic pooling for the block at `position` (see
    cpool.stochastic._counter); position None: the whole array's."""
    return functools.partial(_stochastic._stochastic, nd, fn, position=position, **kwargs)


def _stochastic_pool(nd, fn, x, kernel_size, stride, padding, training, seed, return_indices,
                     channels_last):
    x = _dask_array(x, fn)
    kwargs = dict(kernel_size=kernel_size, stride=stride, padding=padding, training=training,
                  seed=0, return_indices=return_indices, channels_last=channels_last,
                  out=None)
    first = _probe(_stochastic_call(nd, fn, kwargs, None), x, (nd + 1, nd + 2))
    # One key for every block, resolved now and after the other checks, as
    # in memory: seed=Generator takes one draw, seed=None is fresh entropy
    # per call (not per block).
    kwargs["seed"] = _args.seed64(seed, fn) if training else 0
    win = _window_geometry(fn, x, nd, channels_last, kernel_size, stride, padding, 1, False)
    return _windowed(fn, x, nd, bool(channels_last), win,
                     functools.partial(_stochastic_call, nd, fn, kwargs), first,
                     positioned=True)


# ---- whole-plane pooling: adaptive, global, spatial pyramid --------------------

def _plane_task(call, pieces):
    return call(_assemble(pieces))


def _plane_blocks(x, batch_ax, chan_ax, call):
    """One task per (batch chunk, channel chunk) block, reading its whole
    spatial planes, keyed (batch chunk, channel chunk); batch chunk 0 when
    x has no batch axis."""
    nb = len(x.chunks[batch_ax]) if batch_ax is not None else 1
    blocks = {}
    for bi, ci in itertools.product(range(nb), range(len(x.chunks[chan_ax]))):
        regions = [(0, n) for n in x.shape]
        if batch_ax is not None:
            regions[batch_ax] = bi
        regions[chan_ax] = ci
        blocks[(bi, ci)] = (tuple(regions), functools.partial(_plane_task, call))
    return blocks


def _adaptive(nd, fn, x, output_size, is_max, return_indices, channels_last):
    x = _dask_array(x, fn)
    call = functools.partial(_adaptive_mod._adaptive, nd, fn, output_size=output_size,
                             is_max=is_max, return_indices=return_indices,
                             channels_last=channels_last, out=None)
    first = _probe(call, x, (nd + 1, nd + 2))
    pair = isinstance(first, tuple)
    y0 = first[0] if pair else first
    batch_ax, chan_ax, sp_axes = _axes(x.ndim, nd, bool(channels_last))
    probe_axis = 0 if batch_ax is not None else 1  # the probe always has a batch axis
    chunks = tuple(x.chunks[ax] if ax not in sp_axes else (y0.shape[ax + probe_axis],)
                   for ax in range(x.ndim))

    def block_index(bi, ci):
        k = [0] * x.ndim
        if batch_ax is not None:
            k[batch_ax] = bi
        k[chan_ax] = ci
        return tuple(k)

    blocks = {block_index(*b): v for b, v in _plane_blocks(x, batch_ax, chan_ax, call).items()}
    token = tokenize(fn, x.name, call)
    return _result(_build(x, token, blocks,
                          _outputs(fn, token, chunks, y0.dtype, {b: b for b in blocks}, pair)))


def _global(fn, x, is_max, channels_last):
    x = _dask_array(x, fn)
    call = functools.partial(_globalpool._global, fn, is_max=is_max,
                             channels_last=channels_last)
    # batched only; any other rank is refused by the probe with x's own shape
    first = _probe(call, x, (None, x.ndim) if 3 <= x.ndim <= 5 else (None, None))
    _, chan_ax, _ = _axes(x.ndim, x.ndim - 2, bool(channels_last))
    blocks = _plane_blocks(x, 0, chan_ax, call)
    token = tokenize(fn, x.name, call)
    chunks = (x.chunks[0], x.chunks[chan_ax])
    return _result(_build(x, token, blocks,
                          _outputs(fn, token, chunks, first.dtype, {b: b for b in blocks},
                                   False)))


def _spp_levels(call, sizes, x):
    """spatial_pyramid_pool of one (batch, channel) block, split into one
    item per level (then one per level's indices).  A level's slice of the
    block's result is its (channels, l, l) part, which is one piece of that
    level's slice of the whole result."""
    res = call(x)
    y, idx = res if isinstance(res, tuple) else (res, None)
    c = y.shape[-1] // sum(sizes)
    edges = list(itertools.accumulate([0] + [c * n for n in sizes]))
    parts = [y[..., a:b] for a, b in zip(edges[:-1], edges[1:])]
    if idx is not None:
        parts += [idx[..., a:b] for a, b in zip(edges[:-1], edges[1:])]
    return tuple(parts)


def spatial_pyramid_pool(x: ArrayLike, levels: Sequence[int] = (1, 2, 4), mode: str = "max",
                         bins: str = "adaptive", return_indices: bool = False, *,
                         channels_last: bool = False) -> Pooled:
    """:func:`cpool.spatial_pyramid_pool` of a dask array ``(N, C, H, W)`` or
    ``(C, H, W)`` (channels last ``(N, H, W, C)``): ``(N, C * sum(l*l))``,
    level by level, each level's ``(C, l, l)`` block in C order, as in
    memory; ``(y, indices)`` with ``return_indices``.  Each task pools the
    whole ``H x W`` planes of one (batch chunk, channel chunk) block; the
    result is chunked by batch chunk and, along the features, by (level,
    channel chunk)."""
    fn = "spatial_pyramid_pool"
    x = _dask_array(x, fn)
    call = functools.partial(_spp.spatial_pyramid_pool, levels=levels, mode=mode, bins=bins,
                             return_indices=return_indices, channels_last=channels_last)
    first = _probe(call, x, (3, 4))
    pair = isinstance(first, tuple)
    sizes = [int(l) * int(l) for l in levels]
    batch_ax, chan_ax, _ = _axes(x.ndim, 2, bool(channels_last))
    blocks = _plane_blocks(x, batch_ax, chan_ax, functools.partial(_spp_levels, call, sizes))
    cchunks = x.chunks[chan_ax]
    features = tuple(c * n for n in sizes for c in cchunks)
    chunks = (x.chunks[batch_ax], features) if batch_ax is not None else (features,)
    # block (level li, channel chunk ci) of the features is item li of the
    # task of channel chunk ci (the indices: item len(levels) + li)
    keys = {}
    for bi, ci in blocks:
        for li in range(len(sizes)):
            j = li * len(cchunks) + ci
            keys[(bi, j) if batch_ax is not None else (j,)] = ((bi, ci), li)
    token = tokenize(fn, x.name, call)
    dtype = (first[0] if pair else first).dtype
    outs = [(f"{fn}-{token}", chunks, dtype, keys)]
    if pair:
        outs.append((f"{fn}-indices-{token}", chunks, np.dtype(np.int64),
                     {k: (b, len(sizes) + li) for k, (b, li) in keys.items()}))
    return _result(_build(x, token, blocks, outs))


# ---- public functions ----------------------------------------------------------

_MEM = """  The in-memory function is :func:`cpool.{name}`; see the module
    docstring for chunking, exactness and indices."""


def max_pool1d(x: ArrayLike, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False, *, channels_last: bool = False) -> Pooled:
    return _max_pool(1, "max_pool1d", x, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, channels_last)


def max_pool2d(x: ArrayLike, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False, *, channels_last: bool = False) -> Pooled:
    return _max_pool(2, "max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, channels_last)


def max_pool3d(x: ArrayLike, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False, *, channels_last: bool = False) -> Pooled:
    return _max_pool(3, "max_pool3d", x, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, channels_last)


def avg_pool1d(x: ArrayLike, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, *, channels_last: bool = False) -> "da.Array":
    return _avg_pool(1, "avg_pool1d", x, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None, channels_last)


def avg_pool2d(x: ArrayLike, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: Optional[int] = None, *,
               channels_last: bool = False) -> "da.Array":
    return _avg_pool(2, "avg_pool2d", x, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, channels_last)


def avg_pool3d(x: ArrayLike, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: Optional[int] = None, *,
               channels_last: bool = False) -> "da.Array":
    return _avg_pool(3, "avg_pool3d", x, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, channels_last)


def lp_pool1d(x: ArrayLike, norm_type: float, kernel_size: IntOrTuple,
              stride: Optional[IntOrTuple] = None, ceil_mode: bool = False, *,
              channels_last: bool = False) -> "da.Array":
    return _lp_pool(1, "lp_pool1d", x, norm_type, kernel_size, stride, ceil_mode,
                    channels_last)


def lp_pool2d(x: ArrayLike, norm_type: float, kernel_size: IntOrTuple,
              stride: Optional[IntOrTuple] = None, ceil_mode: bool = False, *,
              channels_last: bool = False) -> "da.Array":
    return _lp_pool(2, "lp_pool2d", x, norm_type, kernel_size, stride, ceil_mode,
                    channels_last)


def lp_pool3d(x: ArrayLike, norm_type: float, kernel_size: IntOrTuple,
              stride: Optional[IntOrTuple] = None, ceil_mode: bool = False, *,
              channels_last: bool = False) -> "da.Array":
    return _lp_pool(3, "lp_pool3d", x, norm_type, kernel_size, stride, ceil_mode,
                    channels_last)


def adaptive_max_pool1d(x: ArrayLike, output_size: SizeArg, return_indices: bool = False, *,
                        channels_last: bool = False) -> Pooled:
    return _adaptive(1, "adaptive_max_pool1d", x, output_size, True, return_indices,
                     channels_last)


def adaptive_max_pool2d(x: ArrayLike, output_size: SizeArg, return_indices: bool = False, *,
                        channels_last: bool = False) -> Pooled:
    return _adaptive(2, "adaptive_max_pool2d", x, output_size, True, return_indices,
                     channels_last)


def adaptive_max_pool3d(x: ArrayLike, output_size: SizeArg, return_indices: bool = False, *,
                        channels_last: bool = False) -> Pooled:
    return _adaptive(3, "adaptive_max_pool3d", x, output_size, True, return_indices,
                     channels_last)


def adaptive_avg_pool1d(x: ArrayLike, output_size: SizeArg, *,
                        channels_last: bool = False) -> "da.Array":
    return _adaptive(1, "adaptive_avg_pool1d", x, output_size, False, False, channels_last)


def adaptive_avg_pool2d(x: ArrayLike, output_size: SizeArg, *,
                        channels_last: bool = False) -> "da.Array":
    return _adaptive(2, "adaptive_avg_pool2d", x, output_size, False, False, channels_last)


def adaptive_avg_pool3d(x: ArrayLike, output_size: SizeArg, *,
                        channels_last: bool = False) -> "da.Array":
    return _adaptive(3, "adaptive_avg_pool3d", x, output_size, False, False, channels_last)


def global_max_pool(x: ArrayLike, *, channels_last: bool = False) -> "da.Array":
    return _global("global_max_pool", x, True, channels_last)


def global_avg_pool(x: ArrayLike, *, channels_last: bool = False) -> "da.Array":
    return _global("global_avg_pool", x, False, channels_last)


def stochastic_pool1d(x: ArrayLike, kernel_size: IntOrTuple,
                      stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                      training: bool = True, seed=None,
                      return_indices: bool = False, *, channels_last: bool = False) -> Pooled:
    return _stochastic_pool(1, "stochastic_pool1d", x, kernel_size, stride, padding,
                            training, seed, return_indices, channels_last)


def stochastic_pool2d(x: ArrayLike, kernel_size: IntOrTuple,
                      stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                      training: bool = True, seed=None,
                      return_indices: bool = False, *, channels_last: bool = False) -> Pooled:
    return _stochastic_pool(2, "stochastic_pool2d", x, kernel_size, stride, padding,
                            training, seed, return_indices, channels_last)


def stochastic_pool3d(x: ArrayLike, kernel_size: IntOrTuple,
                      stride: Optional[IntOrTuple] = None, padding: IntOrTuple = 0,
                      training: bool = True, seed=None,
                      return_indices: bool = False, *, channels_last: bool = False) -> Pooled:
    return _stochastic_pool(3, "stochastic_pool3d", x, kernel_size, stride, padding,
                            training, seed, return_indices, channels_last)


_DOCS = {
    "max_pool": "Max pooling in {nd}d of a dask array; ``y`` or ``(y, indices)``, indices "
                "flat in the whole input plane.",
    "avg_pool": "Average pooling in {nd}d of a dask array, with PyTorch's divisor rules.",
    "lp_pool": "Lp pooling in {nd}d of a dask array.",
    "adaptive_max_pool": "Adaptive max pooling in {nd}d of a dask array; ``y`` or "
                         "``(y, indices)``.  Each task pools whole spatial planes.",
    "adaptive_avg_pool": "Adaptive average pooling in {nd}d of a dask array.  Each task "
                         "pools whole spatial planes.",
    "stochastic_pool": "Stochastic pooling in {nd}d of a dask array: for an int seed, the "
                       "in-memory result for that seed, whatever the chunking.",
}
for _family, _text in _DOCS.items():
    for _nd in (1, 2, 3):
        _f = globals()[f"{_family}{_nd}d"]
        _f.__doc__ = _text.format(nd=_nd) + _MEM.format(name=_f.__name__)
global_max_pool.__doc__ = ("Max over all spatial positions of a batched dask array, "
                           "``(N, C)``.  Each task reduces whole spatial planes."
                           + _MEM.format(name="global_max_pool"))
global_avg_pool.__doc__ = ("Mean over all spatial positions of a batched dask array, "
                           "``(N, C)``.  Each task reduces whole spatial planes."
                           + _MEM.format(name="global_avg_pool"))
del _family, _text, _nd, _f
