"""cpool.dask: every function equals its in-memory counterpart bit for bit,
values and indices, for many chunkings of the input (chunks of one element,
chunks smaller than a window, uneven chunks), in both layouts, on dask's
threaded scheduler and on a two-process distributed cluster."""
import inspect
import subprocess
import sys

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

import cpool  # noqa: E402
import cpool.dask as cd  # noqa: E402
from reference import out_size  # noqa: E402

# The block-position hook of in-memory stochastic pooling
# (cpool.stochastic._stochastic(..., position=...)).
HOOK = "position" in inspect.signature(cpool.stochastic._stochastic).parameters
needs_hook = pytest.mark.skipif(not HOOK, reason="the installed cpool predates the block "
                                "position hook of stochastic pooling; reinstall cpool")

SHAPES = {1: (3, 4, 23), 2: (2, 3, 13, 11), 3: (2, 2, 7, 6, 8)}


def random_chunks(shape, rng, spatial):
    """Random chunk sizes per axis: batch and channels in one or a few
    chunks, spatial axes in runs of 1 to about a third of the extent."""
    out = []
    for ax, n in enumerate(shape):
        top = max(1, n // 3) if ax in spatial else n
        sizes = []
        while sum(sizes) < n:
            sizes.append(min(int(rng.integers(1, top + 1)), n - sum(sizes)))
        out.append(tuple(sizes))
    return tuple(out)


def chunkings(shape, spatial, seed, count=3):
    """One chunk; single elements along the spatial axes; `count` random."""
    rng = np.random.default_rng(seed)
    ones = tuple((1,) * n if ax in spatial else (n,) for ax, n in enumerate(shape))
    return [shape, ones] + [random_chunks(shape, rng, spatial) for _ in range(count)]


def spatial_axes(ndim, nd, channels_last):
    return tuple(range(ndim - 1 - nd, ndim - 1)) if channels_last else tuple(
        range(ndim - nd, ndim))


def layout(x_cf, channels_last):
    return np.ascontiguousarray(np.moveaxis(x_cf, 1, -1)) if channels_last else x_cf


def window_configs(nd, seed, count=7):
    """Fixed and random (kernel, stride, padding, dilation, ceil_mode) valid
    for SHAPES[nd]: overlapping windows, strides above the kernel,
    padding, dilation, ceil mode."""
    rng = np.random.default_rng(seed + nd)
    spatial = SHAPES[nd][2:]
    fixed = [((2,) * nd, (2,) * nd, (0,) * nd, (1,) * nd, False),
             ((3,) * nd, (2,) * nd, (1,) * nd, (1,) * nd, True),
             ((3,) * nd, (1,) * nd, (1,) * nd, (1,) * nd, False),
             ((5,) * nd, (3,) * nd, (2,) * nd, (2,) * nd, True),
             ((2,) * nd, (3,) * nd, (1,) * nd, (1,) * nd, True)]
    out = []
    while len(out) < count:
        if fixed:
            c = fixed.pop(0)
        else:
            k = tuple(int(v) for v in rng.integers(1, 6, nd))
            c = (k, tuple(int(v) for v in rng.integers(1, 4, nd)),
                 tuple(int(rng.integers(0, ki // 2 + 1)) for ki in k),
                 tuple(int(v) for v in rng.integers(1, 3, nd)), bool(rng.random() < 0.5))
        k, s, p, d, ceil = c
        if all(out_size(L, *w, ceil) >= 1 for L, *w in zip(spatial, k, s, p, d)) \
                and c not in out:
            out.append(c)
    return out


def compute(result, scheduler="threads"):
    if isinstance(result, tuple):
        return dask.compute(*result, scheduler=scheduler)
    return dask.compute(result, scheduler=scheduler)[0]


def same(dask_fn, mem_fn, x, chunks, *args, scheduler="threads", **kw):
    """dask_fn on x chunked as given equals mem_fn on x: shapes, dtypes,
    values, indices; the dask arrays declare the shape and dtype they hold."""
    want = mem_fn(x, *args, **kw)
    got = dask_fn(da.from_array(x, chunks=chunks), *args, **kw)
    assert isinstance(got, tuple) == isinstance(want, tuple)
    wants, gots = (want, got) if isinstance(want, tuple) else ((want,), (got,))
    assert all(isinstance(g, da.Array) for g in gots)
    values = compute(got, scheduler)
    values = values if isinstance(want, tuple) else (values,)
    for w, g, v in zip(wants, gots, values):
        assert g.shape == w.shape and g.dtype == w.dtype, (g, w.shape, w.dtype)
        assert v.shape == w.shape and v.dtype == w.dtype
        np.testing.assert_array_equal(v, w)
    return values


# ---- windowed pooling --------------------------------------------------------------

def window_cases(nd):
    return [(nd, cl, i) for cl in (False, True) for i in range(7)]


def all_window_cases():
    return [c for nd in (1, 2, 3) for c in window_cases(nd)]


@pytest.mark.parametrize("nd,channels_last,case", all_window_cases())
def test_max_pool(nd, channels_last, case):
    rng = np.random.default_rng(case)
    k, s, p, d, ceil = window_configs(nd, 0)[case]
    x = layout(rng.integers(-4, 4, SHAPES[nd]).astype(np.float32), channels_last)
    fns = getattr(cd, f"max_pool{nd}d"), getattr(cpool, f"max_pool{nd}d")
    sp = spatial_axes(x.ndim, nd, channels_last)
    for i, chunks in enumerate(chunkings(x.shape, sp, case)):
        same(*fns, x, chunks, k, s, p, d, ceil, True, channels_last=channels_last)
        if i == 2:
            same(*fns, x, chunks, k, s, p, d, ceil, channels_last=channels_last)


@pytest.mark.parametrize("nd,channels_last,case", all_window_cases())
def test_avg_pool(nd, channels_last, case):
    rng = np.random.default_rng(case)
    k, s, p, _, ceil = window_configs(nd, 1)[case]
    x = layout(rng.standard_normal(SHAPES[nd]), channels_last)
    fns = getattr(cd, f"avg_pool{nd}d"), getattr(cpool, f"avg_pool{nd}d")
    sp = spatial_axes(x.ndim, nd, channels_last)
    extra = [{}, {"count_include_pad": False}]
    if nd > 1:
        extra.append({"divisor_override": 3})
    for i, chunks in enumerate(chunkings(x.shape, sp, case)):
        same(*fns, x, chunks, k, s, p, ceil_mode=ceil, channels_last=channels_last,
             **extra[i % len(extra)])


@pytest.mark.parametrize("nd,channels_last,case", all_window_cases()[::2])
def test_lp_pool(nd, channels_last, case):
    rng = np.random.default_rng(case)
    k, s, _, _, ceil = window_configs(nd, 2)[case]
    x = layout(np.abs(rng.standard_normal(SHAPES[nd])).astype(np.float32), channels_last)
    fns = getattr(cd, f"lp_pool{nd}d"), getattr(cpool, f"lp_pool{nd}d")
    sp = spatial_axes(x.ndim, nd, channels_last)
    for chunks, p in zip(chunkings(x.shape, sp, case), (2, 1.5, np.inf, 3, -np.inf)):
        same(*fns, x, chunks, p, k, s, ceil, channels_last=channels_last)


def test_dtypes_and_byte_order():
    rng = np.random.default_rng(7)
    x = rng.integers(-100, 100, SHAPES[2]).astype(np.int8)
    for chunks in chunkings(x.shape, (2, 3), 7, count=1):
        same(cd.max_pool2d, cpool.max_pool2d, x, chunks, 3, 2, 1, return_indices=True)
    xb = rng.standard_normal(SHAPES[2]).astype(">f8")
    same(cd.avg_pool2d, cpool.avg_pool2d, xb, (1, 2, 4, 3), 3, 2, 1)
    same(cd.max_pool2d, cpool.max_pool2d, xb, (1, 2, 4, 3), 2)


def test_nan_and_empty_windows():
    """NaN windows and windows of padding only (index -1) stay as in memory."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 2, 17)).astype(np.float32)
    x[0, 1, 5] = x[1, 0, 11] = np.nan
    for chunks in chunkings(x.shape, (2,), 8):
        same(cd.max_pool1d, cpool.max_pool1d, x, chunks, 4, 2, 2, 5, True, True)
        same(cd.max_pool1d, cpool.max_pool1d, x, chunks, 3, 1, 1, 1, False, True)
        # taps at -1 and 17: padding only, -inf and index -1
        same(cd.max_pool1d, cpool.max_pool1d, x, chunks, 2, 1, 1, 18, False, True)


def test_unbatched():
    rng = np.random.default_rng(9)
    x = rng.integers(0, 6, (3, 13, 11)).astype(np.float64)
    xl = np.ascontiguousarray(np.moveaxis(x, 0, -1))
    for chunks in chunkings(x.shape, (1, 2), 9, count=2):
        same(cd.max_pool2d, cpool.max_pool2d, x, chunks, 3, 2, 1, return_indices=True)
        same(cd.avg_pool2d, cpool.avg_pool2d, xl, chunks[1:] + chunks[:1], 3, 2, 1,
             channels_last=True)
        same(cd.adaptive_max_pool2d, cpool.adaptive_max_pool2d, x, chunks, (4, 3), True)
        same(cd.spatial_pyramid_pool, cpool.spatial_pyramid_pool, x, chunks, (1, 3),
             return_indices=True)
        if HOOK:
            same(cd.stochastic_pool2d, cpool.stochastic_pool2d, xl, chunks[1:] + chunks[:1],
                 3, 2, 1, True, 21, True, channels_last=True)


def test_empty_batch():
    x = np.zeros((0, 3, 9, 9), np.float32)
    same(cd.max_pool2d, cpool.max_pool2d, x, (1, 2, 4, 4), 3, 2, return_indices=True)
    same(cd.global_avg_pool, cpool.global_avg_pool, x, (1, 2, 4, 4))


# ---- adaptive, global, SPP ----------------------------------------------------------

@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("channels_last", [False, True])
def test_adaptive(nd, channels_last):
    rng = np.random.default_rng(nd)
    x = layout(rng.integers(-5, 5, SHAPES[nd]).astype(np.float32), channels_last)
    sp = spatial_axes(x.ndim, nd, channels_last)
    sizes = [3, (None,) * nd, tuple(range(2, 2 + nd)), 1, tuple(2 * n for n in SHAPES[nd][2:])]
    for chunks, size in zip(chunkings(x.shape, sp, nd), sizes):
        same(getattr(cd, f"adaptive_max_pool{nd}d"), getattr(cpool, f"adaptive_max_pool{nd}d"),
             x, chunks, size, True, channels_last=channels_last)
        same(getattr(cd, f"adaptive_avg_pool{nd}d"), getattr(cpool, f"adaptive_avg_pool{nd}d"),
             x, chunks, size, channels_last=channels_last)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("channels_last", [False, True])
def test_global(nd, channels_last):
    rng = np.random.default_rng(nd)
    x = layout(rng.standard_normal(SHAPES[nd]), channels_last)
    sp = spatial_axes(x.ndim, nd, channels_last)
    for chunks in chunkings(x.shape, sp, nd, count=2):
        same(cd.global_max_pool, cpool.global_max_pool, x, chunks,
             channels_last=channels_last)
        same(cd.global_avg_pool, cpool.global_avg_pool, x, chunks,
             channels_last=channels_last)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("mode,bins", [("max", "adaptive"), ("avg", "adaptive"),
                                       ("max", "paper"), ("avg", "paper")])
def test_spp(channels_last, mode, bins):
    rng = np.random.default_rng(3)
    x = layout(rng.integers(0, 9, (3, 5, 13, 11)).astype(np.float32), channels_last)
    sp = spatial_axes(4, 2, channels_last)
    ch = 3 if channels_last else 1
    for chunks, levels in zip(chunkings(x.shape, sp, 3), [(1, 2, 4), (3,), (4, 1), (2, 3)]):
        chunks = tuple((2, 1, 2) if ax == ch else c for ax, c in enumerate(chunks))
        same(cd.spatial_pyramid_pool, cpool.spatial_pyramid_pool, x, chunks, levels, mode,
             bins, mode == "max", channels_last=channels_last)


# ---- stochastic pooling --------------------------------------------------------------

@needs_hook
@pytest.mark.parametrize("nd,channels_last,case", all_window_cases()[::2])
def test_stochastic(nd, channels_last, case):
    """Same seed, same result for every chunking, and the in-memory one."""
    rng = np.random.default_rng(case)
    k, s, p, _, _ = window_configs(nd, 3)[case]
    x = layout(rng.integers(0, 4, SHAPES[nd]).astype(np.float32), channels_last)
    fns = getattr(cd, f"stochastic_pool{nd}d"), getattr(cpool, f"stochastic_pool{nd}d")
    sp = spatial_axes(x.ndim, nd, channels_last)
    for chunks in chunkings(x.shape, sp, case):
        same(*fns, x, chunks, k, s, p, True, 1234 + case, True, channels_last=channels_last)
        same(*fns, x, chunks, k, s, p, False, channels_last=channels_last)


@needs_hook
def test_stochastic_seeds():
    rng = np.random.default_rng(4)
    x = rng.integers(0, 4, (2, 3, 13, 11)).astype(np.float64)
    d = da.from_array(x, chunks=(1, 2, 4, 3))
    # a Generator gives one draw, as in memory
    y = cd.stochastic_pool2d(d, 3, 2, 1, seed=np.random.default_rng(5)).compute()
    np.testing.assert_array_equal(
        y, cpool.stochastic_pool2d(x, 3, 2, 1, seed=np.random.default_rng(5)))
    # seed=None: fresh entropy per call, the same for all blocks of one call
    a = cd.stochastic_pool2d(d, 3, 2, 1)
    np.testing.assert_array_equal(a.compute(), a.compute())
    # 2**64 - 1 is a valid key; the channels-first counter spans both layouts
    y = cd.stochastic_pool2d(d, 3, 2, seed=2**64 - 1).compute()
    yl = cd.stochastic_pool2d(np.moveaxis(d, 1, -1).rechunk((2, 5, 2, 1)), 3, 2,
                              seed=2**64 - 1, channels_last=True).compute()
    np.testing.assert_array_equal(y, np.moveaxis(yl, -1, 1))


@needs_hook
def test_stochastic_negative_activation_at_compute():
    x = np.ones((1, 1, 8, 8), np.float32)
    x[0, 0, 6, 5] = -1
    y = cd.stochastic_pool2d(da.from_array(x, chunks=4), 2, seed=0)  # no data read yet
    with pytest.raises(ValueError, match=r"negative.*x\[0:1, 0:1, 4:8, 4:8\]"):
        y.compute(scheduler="threads")


# ---- arguments, laziness, packaging --------------------------------------------------

BAD = [
    ("max_pool2d", ((2, 3, 9, 9), np.float32), (3,), {"padding": 2}),
    ("max_pool2d", ((2, 3, 9, 9), np.float32), (10,), {}),
    ("max_pool2d", ((3, 9), np.float32), (2,), {}),
    ("max_pool1d", ((2, 3, 4, 9), np.float32), (2,), {}),
    ("max_pool2d", ((2, 3, 9, 9), np.float32), (2,), {"return_indices": 1}),
    ("max_pool1d", ((2, 3, 9), np.complex64), (2,), {}),
    ("max_pool3d", ((2, 0, 4, 4, 4), np.float32), (2,), {}),
    ("avg_pool2d", ((2, 3, 9, 9), np.int32), (2,), {}),
    ("avg_pool2d", ((2, 3, 9, 9), np.float32), (2,), {"divisor_override": 0}),
    ("avg_pool3d", ((2, 3, 9, 9, 9), np.float32), ((2, 2),), {}),
    ("lp_pool1d", ((2, 3, 9), np.float32), (0, 2), {}),
    ("lp_pool2d", ((2, 3, 9, 9), np.float32), ("2", 2), {}),
    ("adaptive_max_pool2d", ((2, 3, 9, 9), np.float32), (-1,), {}),
    ("adaptive_avg_pool1d", ((2, 3, 9), np.float32), ((1, 2),), {}),
    ("global_max_pool", ((3, 9), np.float32), (), {}),
    ("global_avg_pool", ((2, 3, 9), np.int8), (), {}),
    ("spatial_pyramid_pool", ((2, 3, 9, 9), np.float32), ((),), {}),
    ("spatial_pyramid_pool", ((2, 3, 9, 9), np.float32), ((10,),), {"bins": "paper"}),
    ("spatial_pyramid_pool", ((2, 3, 9, 9), np.float32), ((2,), "avg"),
     {"return_indices": True}),
    ("stochastic_pool2d", ((2, 3, 9, 9), np.float32), (2,), {"seed": -1}),
    ("stochastic_pool2d", ((2, 3, 9, 9), np.float32), (2,), {"seed": 1.5}),
    ("stochastic_pool2d", ((2, 3, 9, 9), np.float32), (2,),
     {"training": False, "return_indices": True}),
    ("stochastic_pool1d", ((2, 3, 9), np.float32), (2,), {"training": None}),
]


@pytest.mark.parametrize("name,spec,args,kw", BAD, ids=[b[0] for b in BAD])
def test_bad_arguments_raise_at_call(name, spec, args, kw):
    """The same exception and message as in memory, from the call itself."""
    shape, dtype = spec
    x = np.zeros(shape, dtype)
    with pytest.raises((ValueError, TypeError)) as mem:
        getattr(cpool, name)(x, *args, **kw)
    with pytest.raises(mem.type) as got:
        getattr(cd, name)(da.from_array(x, chunks=2), *args, **kw)
    assert str(got.value) == str(mem.value)


def test_inputs():
    x = np.arange(2 * 3 * 8 * 8, dtype=np.float32).reshape(2, 3, 8, 8)
    y = cd.max_pool2d(x, 2)  # NumPy arrays are wrapped
    assert isinstance(y, da.Array)
    np.testing.assert_array_equal(y.compute(), cpool.max_pool2d(x, 2))
    with pytest.raises(TypeError, match="dask.array.Array or a numpy.ndarray"):
        cd.max_pool2d(x.tolist(), 2)
    d = da.from_array(x, chunks=(1, 3, 8, 8))
    unknown = d[d[:, 0, 0, 0] >= 0]
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        cd.avg_pool2d(unknown, 2)


def _boom(block):
    raise AssertionError("computed while building the graph")


def test_lazy():
    """Building the graph reads no data: x's blocks raise when computed."""
    x = da.zeros((2, 4, 16, 16), chunks=(1, 2, 5, 7), dtype=np.float32).map_blocks(
        _boom, dtype=np.float32)
    calls = [lambda: cd.max_pool2d(x, 3, 2, 1, return_indices=True),
             lambda: cd.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
             lambda: cd.lp_pool2d(x, 2, 3),
             lambda: cd.adaptive_max_pool2d(x, 5, True),
             lambda: cd.global_avg_pool(x),
             lambda: cd.spatial_pyramid_pool(x, return_indices=True)]
    if HOOK:
        calls.append(lambda: cd.stochastic_pool2d(x, 2, seed=1, return_indices=True))
    for call in calls:
        res = call()
        for r in res if isinstance(res, tuple) else (res,):
            assert isinstance(r, da.Array)
        with pytest.raises(AssertionError, match="computed while"):
            compute(res)


def test_indices_and_values_share_tasks():
    x = da.zeros((2, 3, 12, 12), chunks=(1, 3, 5, 5), dtype=np.float32)
    y, idx = cd.max_pool2d(x, 3, 2, 1, return_indices=True)
    graph = {**dict(y.__dask_graph__()), **dict(idx.__dask_graph__())}
    pool_tasks = [k for k in graph if isinstance(k, tuple) and str(k[0]).startswith("pool-")]
    assert len(pool_tasks) == y.npartitions


def test_import_cpool_does_not_import_dask(tmp_path):
    code = "import cpool, sys; assert 'dask' not in sys.modules, 'dask imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


# ---- a distributed cluster -----------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster, set_as_default=False) as c:
        yield c


def test_distributed(client):
    rng = np.random.default_rng(11)
    x = rng.integers(-5, 5, (4, 3, 19, 17)).astype(np.float32)
    chunks = (2, (1, 2), (3, 7, 1, 8), (5, 5, 2, 5))
    xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    chunks_l = (chunks[0], chunks[2], chunks[3], chunks[1])
    run = dict(scheduler=client)
    same(cd.max_pool2d, cpool.max_pool2d, x, chunks, 3, 2, 1, 1, True, True, **run)
    same(cd.avg_pool2d, cpool.avg_pool2d, xl, chunks_l, 4, 3, 2, True, False,
         channels_last=True, **run)
    same(cd.lp_pool2d, cpool.lp_pool2d, np.abs(x), chunks, 2, 3, 2, **run)
    same(cd.adaptive_max_pool2d, cpool.adaptive_max_pool2d, x, chunks, (5, 4), True, **run)
    same(cd.global_avg_pool, cpool.global_avg_pool, xl, chunks_l, channels_last=True, **run)
    same(cd.spatial_pyramid_pool, cpool.spatial_pyramid_pool, x, chunks, (1, 2, 4),
         return_indices=True, **run)
    x3 = rng.standard_normal((2, 2, 9, 8, 7))
    same(cd.max_pool3d, cpool.max_pool3d, x3, (1, 1, 2, 3, 4), 3, 2, 1, 2, True, True, **run)


@needs_hook
def test_distributed_stochastic(client):
    rng = np.random.default_rng(12)
    x = rng.integers(0, 5, (4, 3, 19, 17)).astype(np.float32)
    same(cd.stochastic_pool2d, cpool.stochastic_pool2d, x, (3, 2, (3, 7, 1, 8), 4), 3, 2, 1,
         True, 99, True, scheduler=client)
