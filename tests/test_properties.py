"""Property-based comparison with the NumPy reference over arbitrary
geometries, layouts, batch-less inputs, dtypes and memory layouts (hypothesis),
for every public function and its backward.

Each input is also handed over non-contiguous (strided, negatively strided,
transposed into shape, Fortran-ordered): the result must be bit-identical to
the one for a C-contiguous copy, and no buffer the library reads may change.
The runs are derandomized, so the same examples are drawn every time."""
import math

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cpool
import reference as ref

MAX = {1: cpool.max_pool1d, 2: cpool.max_pool2d, 3: cpool.max_pool3d}
MAXB = {1: cpool.max_pool1d_backward, 2: cpool.max_pool2d_backward,
        3: cpool.max_pool3d_backward}
AVG = {1: cpool.avg_pool1d, 2: cpool.avg_pool2d, 3: cpool.avg_pool3d}
AVGB = {1: cpool.avg_pool1d_backward, 2: cpool.avg_pool2d_backward,
        3: cpool.avg_pool3d_backward}
LP = {1: cpool.lp_pool1d, 2: cpool.lp_pool2d, 3: cpool.lp_pool3d}
LPB = {1: cpool.lp_pool1d_backward, 2: cpool.lp_pool2d_backward, 3: cpool.lp_pool3d_backward}
AMAX = {1: cpool.adaptive_max_pool1d, 2: cpool.adaptive_max_pool2d,
        3: cpool.adaptive_max_pool3d}
AMAXB = {1: cpool.adaptive_max_pool1d_backward, 2: cpool.adaptive_max_pool2d_backward,
         3: cpool.adaptive_max_pool3d_backward}
AAVG = {1: cpool.adaptive_avg_pool1d, 2: cpool.adaptive_avg_pool2d,
        3: cpool.adaptive_avg_pool3d}
AAVGB = {1: cpool.adaptive_avg_pool1d_backward, 2: cpool.adaptive_avg_pool2d_backward,
         3: cpool.adaptive_avg_pool3d_backward}
FRAC = {2: cpool.fractional_max_pool2d, 3: cpool.fractional_max_pool3d}
FRACB = {2: cpool.fractional_max_pool2d_backward, 3: cpool.fractional_max_pool3d_backward}
UNPOOL = {1: cpool.max_unpool1d, 2: cpool.max_unpool2d, 3: cpool.max_unpool3d}
UNPOOLB = {1: cpool.max_unpool1d_backward, 2: cpool.max_unpool2d_backward,
           3: cpool.max_unpool3d_backward}
STOCH = {1: cpool.stochastic_pool1d, 2: cpool.stochastic_pool2d, 3: cpool.stochastic_pool3d}
STOCHB = {1: cpool.stochastic_pool1d_backward, 2: cpool.stochastic_pool2d_backward,
          3: cpool.stochastic_pool3d_backward}

FLOATS = [np.float32, np.float64]
DTYPES = FLOATS + [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.int64]
INF = math.inf
# lp norms: the ones tests/test_lp.py uses, and a negative finite one
LP_NORMS = [1, 2, 3, 1.5, 4.0, INF, -INF, -1]
# the tolerances of tests/test_lp.py and tests/test_stochastic.py (eval pass)
LP_TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}
EVAL_RTOL = {np.float32: 1e-6, np.float64: 1e-12}

# Memory layouts an input is handed over in (see `present`).
VIEWS = ("contiguous", "strided", "reversed", "transposed", "fortran")

# Spatial extents: largest per rank (the reference is slow), with 1 and the
# primes favoured; 1d reaches past one AVX2 vector of every dtype (32 int8).
TOP = {1: 37, 2: 11, 3: 6}
PRIMES = (2, 3, 5, 7, 11, 13, 17, 31, 37)
# Channel counts: 9 and 17 leave a tail after whole 8-float vectors in the
# channels-last kernels.
CHANNELS = (1, 2, 3, 4, 5, 9, 17)


def extents(top):
    """A spatial extent in [1, top], often 1 or a prime."""
    return st.one_of(st.sampled_from((1,) + tuple(q for q in PRIMES if q <= top)),
                     st.integers(1, top))


@st.composite
def layouts(draw, S, batch_optional=True):
    """(shape, channels_last) of an input with spatial extents S."""
    batched = draw(st.booleans()) if batch_optional else True
    channels_last = draw(st.booleans())
    n = draw(st.integers(1, 3))
    # a wide spatial plane with many channels costs the reference too much
    c = draw(st.sampled_from(CHANNELS if int(np.prod(S)) <= 40 else CHANNELS[:5]))
    shape = ((n,) if batched else ()) + ((S + (c,)) if channels_last else ((c,) + S))
    return shape, channels_last


@st.composite
def geometries(draw, dilation=True, padding=True, ceil=True):
    nd = draw(st.integers(1, 3))
    S = tuple(draw(extents(TOP[nd])) for _ in range(nd))
    k = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k) if padding else (0,) * nd
    d = tuple(draw(st.integers(1, 3)) for _ in range(nd)) if dilation else (1,) * nd
    ceil_mode = draw(st.booleans()) if ceil else False
    assume(all(ref.out_size(*a, ceil_mode) >= 1 for a in zip(S, k, s, p, d)))
    shape, channels_last = draw(layouts(S))
    return nd, shape, k, s, p, d, ceil_mode, channels_last


SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.filter_too_much,
                                           HealthCheck.too_slow])
views = st.sampled_from(VIEWS)
seeds = st.integers(0, 2**32 - 1)


# ---- helpers ---------------------------------------------------------------------

def values(shape, dtype, rng, specials=False):
    """Small integers, so windows hold ties; with `specials`, also the dtype's
    extremes (integers) or NaN and -inf (floats), which max pooling must treat
    by PyTorch's rules."""
    lo = 0 if np.issubdtype(dtype, np.unsignedinteger) else -3
    x = rng.integers(lo, 6, size=shape).astype(dtype)
    if specials and rng.random() < 0.5:
        flat = x.reshape(-1)
        picks = rng.integers(flat.size, size=rng.integers(1, 4))
        if np.issubdtype(dtype, np.floating):
            flat[picks] = rng.choice([np.nan, -np.inf], size=picks.size)
        else:
            info = np.iinfo(dtype)
            flat[picks] = rng.choice([info.min, info.max], size=picks.size)
    return x


def relu_values(shape, dtype, rng):
    """Non-negative activations with many zeros: small integers (ties and
    all-zero windows) or continuous values."""
    if rng.random() < 0.5:
        return np.maximum(rng.integers(-4, 4, size=shape), 0).astype(dtype)
    return (rng.random(shape) * (rng.random(shape) < 0.6)).astype(dtype)


def present(x, how, rng):
    """x's values in an array of the memory kind `how`, and the buffer that
    holds them.  "strided" and "reversed" are views into a larger buffer
    whose other elements are junk (NaN, or the dtype's maximum), so reading
    outside the view shows in the result."""
    if how == "contiguous":
        v = x.copy()
        return v, v
    if how == "fortran":
        v = np.array(x, order="F")
        return v, v
    if how == "transposed":
        perm = rng.permutation(x.ndim)
        buf = np.ascontiguousarray(x.transpose(perm))
        return buf.transpose(np.argsort(perm)), buf
    steps = rng.integers(1, 4, size=x.ndim)
    steps[rng.integers(x.ndim)] = rng.integers(2, 4)
    flip = np.zeros(x.ndim, bool)
    if how == "reversed":
        steps[-1] = rng.integers(1, 3)
        flip = rng.random(x.ndim) < 0.4
        flip[-1] = True  # x[..., ::-1] of the larger buffer at least
    offsets = rng.integers(0, 3, size=x.ndim)
    junk = np.nan if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).max
    buf = np.full(tuple(o + step * n + 1 for o, step, n in zip(offsets, steps, x.shape)),
                  junk, x.dtype)
    v = buf[tuple(slice(o, o + step * n, step) for o, step, n in zip(offsets, steps, x.shape))]
    v = v[tuple(slice(None, None, -1) if f else slice(None) for f in flip)]
    v[...] = x
    return v, buf


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view(f"u{a.itemsize}")


def assert_same_bits(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape,
                                                                   want.dtype, want.shape)
    np.testing.assert_array_equal(bits(got), bits(want))


def on_any_memory(call, arrays, how, rng):
    """call(*arrays) on the C-contiguous arrays, then on the same values
    presented as `how`: the results must agree to the bit (a non-contiguous
    input is at most copied) and no input buffer may change.  Returns the
    result."""
    keep = [a.copy() for a in arrays]
    want = call(*arrays)
    for a, k in zip(arrays, keep):
        assert_same_bits(a, k)
    shown = [present(a, how, rng) for a in arrays]
    before = [b.copy() for _, b in shown]
    got = call(*[v for v, _ in shown])
    for (_, b), k in zip(shown, before):
        assert_same_bits(b, k)
    for g, w in zip(got if isinstance(got, tuple) else (got,),
                    want if isinstance(want, tuple) else (want,)):
        assert_same_bits(g, w)
    return got


def cf_flat(a, nd, channels_last):
    """A user-layout output flattened in channels-first batched C order."""
    return ref._to_cf(a, nd, channels_last)[0].ravel()


def assert_valid_draws(x, y, i, nd, k, s, p, channels_last):
    """Each stochastic output is x at its index, the index is an in-bounds tap
    of its window, and a zero is drawn only from an all-zero window (then at
    its first in-bounds tap)."""
    wins = ref.stochastic_windows(x, nd, k, s, p, channels_last)
    yf, jf = cf_flat(y, nd, channels_last), cf_flat(i, nd, channels_last)
    assert yf.size == jf.size == len(wins)
    for o, (w, v, j) in enumerate(zip(wins, yf, jf)):
        taps = dict(w)
        assert int(j) in taps, (o, int(j), w)
        assert v == taps[int(j)], (o, v, int(j), w)
        if any(a > 0 for _, a in w):
            assert v > 0, (o, v, int(j), w)
        else:
            assert v == 0 and int(j) == w[0][0], (o, v, int(j), w)


def to_channels_first(x, nd):
    """A channels-last array moved to channels-first, contiguous."""
    return np.ascontiguousarray(np.moveaxis(x, -1, x.ndim - nd - 1))


def to_channels_last(x, nd):
    return np.ascontiguousarray(np.moveaxis(x, x.ndim - nd - 1, -1))


# ---- max and average pooling ------------------------------------------------------

@SETTINGS
@given(geometries(), st.sampled_from(DTYPES), views, views, seeds)
def test_max_pool_any_geometry(geom, dtype, how, how_g, seed):
    """max_pool forward (values and indices, ties, NaN, -inf and integer
    extremes) and backward equal the reference for any geometry, dtype,
    layout and memory layout."""
    nd, shape, k, s, p, d, ceil, cl = geom
    rng = np.random.default_rng(seed)
    x = values(shape, dtype, rng, specials=True)
    y, i = on_any_memory(lambda a: MAX[nd](a, k, s, p, d, ceil, return_indices=True,
                                           channels_last=cl), [x], how, rng)
    ry, ri = ref.max_pool(x, nd, k, s, p, d, ceil, channels_last=cl)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(i, ri)
    if np.issubdtype(dtype, np.floating):
        gy = rng.standard_normal(y.shape).astype(dtype)
        gx = on_any_memory(lambda g, j: MAXB[nd](g, j, x.shape, channels_last=cl),
                           [gy, i], how_g, rng)
        np.testing.assert_array_equal(gx, ref.max_pool_backward(gy, i, x.shape, nd,
                                                                channels_last=cl))


@SETTINGS
@given(geometries(dilation=False), st.sampled_from(FLOATS), st.booleans(),
       st.sampled_from([None, 1, 2, 7]), views, views, seeds)
def test_avg_pool_any_geometry(geom, dtype, cip, div, how, how_g, seed):
    """avg_pool forward and backward equal the reference to the bit for any
    geometry, count_include_pad, divisor_override, layout and memory layout."""
    nd, shape, k, s, p, _, ceil, cl = geom
    if nd == 1:
        div = None
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    kw = dict(ceil_mode=ceil, count_include_pad=cip)
    if div is not None:
        kw["divisor_override"] = div
    y = on_any_memory(lambda a: AVG[nd](a, k, s, p, **kw, channels_last=cl), [x], how, rng)
    np.testing.assert_array_equal(y, ref.avg_pool(x, nd, k, s, p, **kw, channels_last=cl))
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = on_any_memory(lambda g: AVGB[nd](g, x.shape, k, s, p, **kw, channels_last=cl),
                       [gy], how_g, rng)
    np.testing.assert_array_equal(
        gx, ref.avg_pool_backward(gy, x.shape, nd, k, s, p, **kw, channels_last=cl))


# ---- Lp pooling ----------------------------------------------------------------------

def lp_values(shape, dtype, norm, rng):
    """As tests/test_lp.py: signed values where (sum x**p)**(1/p) is real for
    any sign (p = 1, 2, 4), small signed integers for p = +-inf (ties of |x|
    and zeros), positive ones otherwise."""
    if norm in (3, 1.5, -1):
        return rng.uniform(0.1, 2.0, shape).astype(dtype)
    if abs(norm) == INF:
        return values(shape, dtype, rng)
    return rng.standard_normal(shape).astype(dtype)


@SETTINGS
@given(geometries(dilation=False, padding=False), st.sampled_from(FLOATS),
       st.sampled_from(LP_NORMS), views, views, seeds)
def test_lp_pool_any_geometry(geom, dtype, norm, how, how_g, seed):
    """lp_pool forward and backward agree with the reference (exactly for
    p = +-inf, within tests/test_lp.py's tolerance otherwise), ceil-mode
    partial windows included."""
    nd, shape, k, s, _, _, ceil, cl = geom
    rng = np.random.default_rng(seed)
    x = lp_values(shape, dtype, norm, rng)
    y = on_any_memory(lambda a: LP[nd](a, norm, k, s, ceil, channels_last=cl), [x], how, rng)
    r = ref.lp_pool(x, nd, norm, k, s, ceil, channels_last=cl)
    assert y.dtype == dtype and y.shape == r.shape
    if abs(norm) == INF:
        np.testing.assert_array_equal(y, r)  # a max/min of |x|: exact
    else:
        np.testing.assert_allclose(y, r, **LP_TOL[dtype])
    # positive inputs for the finite norms, as test_lp.py's backward test:
    # x**(p-1) and y**(1-p) are finite
    xb = x if abs(norm) == INF else rng.uniform(0.1, 2.0, shape).astype(dtype)
    yb = LP[nd](xb, norm, k, s, ceil, channels_last=cl)
    gy = rng.standard_normal(yb.shape).astype(dtype)
    gx = on_any_memory(lambda g, a, b: LPB[nd](g, a, b, norm, k, s, ceil, channels_last=cl),
                       [gy, xb, yb], how_g, rng)
    assert gx.dtype == dtype and gx.shape == x.shape
    np.testing.assert_allclose(
        gx, ref.lp_pool_backward(gy, xb, yb, nd, norm, k, s, ceil, channels_last=cl),
        **LP_TOL[dtype])


# ---- adaptive and global pooling -------------------------------------------------------

@st.composite
def adaptive_cases(draw):
    """(nd, shape, output_size, channels_last): output sizes from 1 to past
    twice the input (overlapping and repeated bins), None entries, int form."""
    nd = draw(st.integers(1, 3))
    S = tuple(draw(extents(TOP[nd])) for _ in range(nd))
    if draw(st.booleans()):
        osz = draw(st.integers(1, 2 * min(S) + 1))
    else:
        osz = tuple(None if nd > 1 and draw(st.integers(0, 5)) == 0
                    else draw(st.integers(1, 2 * a + 1)) for a in S)
    shape, cl = draw(layouts(S))
    return nd, shape, osz, cl


@SETTINGS
@given(adaptive_cases(), st.sampled_from(DTYPES), views, views, seeds)
def test_adaptive_max_pool_any_geometry(case, dtype, how, how_g, seed):
    """adaptive_max_pool forward (values, indices) and backward equal the
    reference bit for bit."""
    nd, shape, osz, cl = case
    rng = np.random.default_rng(seed)
    x = values(shape, dtype, rng, specials=True)
    y, i = on_any_memory(lambda a: AMAX[nd](a, osz, return_indices=True, channels_last=cl),
                         [x], how, rng)
    ry, ri = ref.adaptive_max_pool(x, nd, osz, channels_last=cl)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(i, ri)
    assert_same_bits(AMAX[nd](x, osz, channels_last=cl), y)
    if np.issubdtype(dtype, np.floating):
        gy = rng.standard_normal(y.shape).astype(dtype)
        gx = on_any_memory(lambda g, j: AMAXB[nd](g, j, x.shape, channels_last=cl),
                           [gy, i], how_g, rng)
        np.testing.assert_array_equal(
            gx, ref.adaptive_max_pool_backward(gy, i, x.shape, nd, channels_last=cl))


@SETTINGS
@given(adaptive_cases(), st.sampled_from(FLOATS), views, views, seeds)
def test_adaptive_avg_pool_any_geometry(case, dtype, how, how_g, seed):
    """adaptive_avg_pool forward (row-major sum, then / each bin extent) and
    backward equal the reference bit for bit."""
    nd, shape, osz, cl = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    y = on_any_memory(lambda a: AAVG[nd](a, osz, channels_last=cl), [x], how, rng)
    np.testing.assert_array_equal(y, ref.adaptive_avg_pool(x, nd, osz, channels_last=cl))
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = on_any_memory(lambda g: AAVGB[nd](g, x.shape, channels_last=cl), [gy], how_g, rng)
    np.testing.assert_array_equal(
        gx, ref.adaptive_avg_pool_backward(gy, x.shape, nd, channels_last=cl))


@st.composite
def global_cases(draw):
    """(shape, channels_last): batched only, 1 to 3 spatial axes."""
    nd = draw(st.integers(1, 3))
    S = tuple(draw(extents(TOP[nd])) for _ in range(nd))
    return draw(layouts(S, batch_optional=False))


@SETTINGS
@given(global_cases(), st.sampled_from(DTYPES), views, seeds)
def test_global_max_pool_any_geometry(case, dtype, how, seed):
    """global_max_pool equals the reference exactly (NaN planes, -inf,
    integer extremes) and returns (N, C)."""
    shape, cl = case
    rng = np.random.default_rng(seed)
    x = values(shape, dtype, rng, specials=True)
    y = on_any_memory(lambda a: cpool.global_max_pool(a, channels_last=cl), [x], how, rng)
    r = ref.global_max_pool(x, cl)
    assert y.shape == r.shape and y.dtype == dtype
    np.testing.assert_array_equal(y, r)


@SETTINGS
@given(global_cases(), st.sampled_from(FLOATS), views, seeds)
def test_global_avg_pool_any_geometry(case, dtype, how, seed):
    """global_avg_pool is within tests/test_global.py's tolerance of the
    correctly rounded mean; (N, C) out."""
    shape, cl = case
    rng = np.random.default_rng(seed)
    # positive values near 1, so a relative tolerance is meaningful
    x = rng.uniform(0.5, 1.5, shape).astype(dtype)
    y = on_any_memory(lambda a: cpool.global_avg_pool(a, channels_last=cl), [x], how, rng)
    r = ref.global_avg_pool(x, cl)
    assert y.shape == r.shape and y.dtype == dtype
    np.testing.assert_allclose(y, r, rtol=1e-6 if dtype == np.float32 else 1e-12)


# ---- fractional max pooling ------------------------------------------------------

@st.composite
def fractional_cases(draw):
    """(nd, shape, kernel_size, sizing kwargs, channels_last) with O + k - 1 <= I
    on every axis: kernels from 1 to the input, every output size that
    fits, the int, tuple and ratio forms."""
    nd = draw(st.integers(2, 3))
    S = tuple(draw(extents(TOP[nd])) for _ in range(nd))
    k = tuple(draw(st.integers(1, min(a, 4))) for a in S)
    O = tuple(draw(st.integers(1, a - kk + 1)) for a, kk in zip(S, k))
    form = draw(st.sampled_from(["size", "int", "ratio"]))
    if form == "int":
        o = min(O)
        kw = dict(output_size=o)
    elif form == "ratio" and all(o < a for o, a in zip(O, S)):
        # int(a * ratio) == o: a ratio halfway between o / a and (o + 1) / a
        kw = dict(output_ratio=tuple((o + 0.5) / a for o, a in zip(O, S)))
    else:
        kw = dict(output_size=O)
    kernel = k[0] if len(set(k)) == 1 and draw(st.booleans()) else k
    shape, cl = draw(layouts(S))
    return nd, shape, kernel, kw, cl


@SETTINGS
@given(fractional_cases(), st.sampled_from(DTYPES), st.booleans(), views, views, seeds)
def test_fractional_max_pool_any_geometry(case, dtype, samples_in_x_dtype, how, how_g, seed):
    """fractional_max_pool with explicit random_samples equals the reference
    (regions, values, indices) bit for bit, and so does its backward."""
    nd, shape, k, kw, cl = case
    rng = np.random.default_rng(seed)
    x = values(shape, dtype, rng, specials=True)
    batched = len(shape) == nd + 2
    N = shape[0] if batched else 1
    C = shape[-1] if cl else shape[-nd - 1]
    u = rng.random((N, C, nd))
    if not batched and rng.random() < 0.5:
        u = u[0]  # (C, d) for a batch-less input
    if samples_in_x_dtype and np.issubdtype(dtype, np.floating):
        u = u.astype(dtype)
    y, i = on_any_memory(
        lambda a, v: FRAC[nd](a, k, **kw, return_indices=True, random_samples=v,
                              channels_last=cl), [x, u], how, rng)
    ry, ri = ref.fractional_max_pool(x, nd, k, **kw, random_samples=u, channels_last=cl)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(i, ri)
    if np.issubdtype(dtype, np.floating):
        gy = rng.standard_normal(y.shape).astype(dtype)
        gx = on_any_memory(lambda g, j: FRACB[nd](g, j, x.shape, channels_last=cl),
                           [gy, i], how_g, rng)
        np.testing.assert_array_equal(
            gx, ref.fractional_max_pool_backward(gy, i, x.shape, nd, channels_last=cl))


# ---- max_unpool ------------------------------------------------------------------

@SETTINGS
@given(geometries(dilation=False), st.sampled_from(DTYPES),
       st.sampled_from(["default", "input", "full"]), st.booleans(), views, views, seeds)
def test_max_unpool_any_geometry(geom, dtype, size_form, scramble, how, how_g, seed):
    """max_unpool of max_pool's output and indices (optionally with -1
    entries and duplicates inside a plane) equals the reference: -1 skipped,
    the last write in scan order wins; its backward equals the reference."""
    nd, shape, k, s, p, _, ceil, cl = geom
    rng = np.random.default_rng(seed)
    x = values(shape, dtype, rng, specials=True)
    y, i = MAX[nd](x, k, s, p, 1, ceil, return_indices=True, channels_last=cl)
    if scramble:
        # indices of other outputs of the same plane stay in range; -1 is skipped
        ic = ref._to_cf(i, nd, cl)[0].copy()
        planes = ic.reshape(ic.shape[0] * ic.shape[1], -1)
        for row in planes:
            m = rng.random(row.size)
            row[m < 0.3] = row[rng.integers(row.size, size=int((m < 0.3).sum()))]
            row[m > 0.85] = -1
        ic = planes.reshape(ic.shape)
        i = to_channels_last(ic, nd) if cl else ic
        i = i if len(shape) == nd + 2 else i[0]
    S = ref._cf_shape(shape, nd, cl)[2:]
    default = tuple(ref.unpool_default_size(v, *a)
                    for v, a in zip(ref._cf_shape(y.shape, nd, cl)[2:], zip(k, s, p)))
    osz = S
    if size_form == "default" and min(default) >= 1 and i.max() < np.prod(default):
        osz = None
    elif size_form == "full" and not cl:
        osz = shape  # the batch and channel entries are allowed, and ignored
    u = on_any_memory(lambda a, j: UNPOOL[nd](a, j, k, s, p, osz, channels_last=cl),
                      [y, i], how, rng)
    np.testing.assert_array_equal(u, ref.max_unpool(y, i, nd, k, s, p, osz,
                                                    channels_last=cl))
    if np.issubdtype(dtype, np.floating):
        gy = rng.standard_normal(u.shape).astype(dtype)
        gx = on_any_memory(lambda g, j: UNPOOLB[nd](g, j, channels_last=cl), [gy, i],
                           how_g, rng)
        np.testing.assert_array_equal(gx, ref.max_unpool_backward(gy, i, nd,
                                                                  channels_last=cl))


# ---- stochastic pooling ----------------------------------------------------------

@SETTINGS
@given(geometries(dilation=False, ceil=False), st.sampled_from(FLOATS), views, seeds)
def test_stochastic_pool_eval_any_geometry(geom, dtype, how, seed):
    """training=False equals the reference's sum(a**2) / sum(a) over each
    window (0 for an all-zero window), within tests/test_stochastic.py's
    tolerance."""
    nd, shape, k, s, p, _, _, cl = geom
    rng = np.random.default_rng(seed)
    x = relu_values(shape, dtype, rng)
    y = on_any_memory(lambda a: STOCH[nd](a, k, s, p, training=False, channels_last=cl),
                      [x], how, rng)
    r = ref.stochastic_pool_eval(x, nd, k, s, p, channels_last=cl)
    assert y.dtype == dtype and y.shape == r.shape
    np.testing.assert_allclose(y, r, rtol=EVAL_RTOL[dtype], atol=0)


@SETTINGS
@given(geometries(dilation=False, ceil=False), st.sampled_from(FLOATS),
       st.integers(0, 2**64 - 1), views, views, seeds)
def test_stochastic_pool_training_any_geometry(geom, dtype, key, how, how_g, seed):
    """training=True: each output is x at its index, inside its window, never
    a zero unless the window is all zero; the same seed gives the same draws
    (with or without indices, any memory layout, either channel layout); the
    backward equals the reference."""
    nd, shape, k, s, p, _, _, cl = geom
    rng = np.random.default_rng(seed)
    x = relu_values(shape, dtype, rng)
    y, i = on_any_memory(lambda a: STOCH[nd](a, k, s, p, seed=key, return_indices=True,
                                             channels_last=cl), [x], how, rng)
    assert y.dtype == dtype and i.dtype == np.int64 and y.shape == i.shape
    assert_valid_draws(x, y, i, nd, k, s, p, cl)
    assert_same_bits(STOCH[nd](x, k, s, p, True, key, channels_last=cl), y)
    # the other channel layout, same seed: the same draws
    if cl:
        y2, i2 = STOCH[nd](to_channels_first(x, nd), k, s, p, seed=key, return_indices=True)
        assert_same_bits(to_channels_last(y2, nd), y)
        assert_same_bits(to_channels_last(i2, nd), i)
    else:
        y2, i2 = STOCH[nd](to_channels_last(x, nd), k, s, p, seed=key, return_indices=True,
                           channels_last=True)
        assert_same_bits(to_channels_first(y2, nd), y)
        assert_same_bits(to_channels_first(i2, nd), i)
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = on_any_memory(lambda g, j: STOCHB[nd](g, j, x.shape, channels_last=cl), [gy, i],
                       how_g, rng)
    np.testing.assert_array_equal(
        gx, ref.stochastic_pool_backward(gy, i, x.shape, nd, channels_last=cl))


# ---- spatial pyramid pooling ------------------------------------------------------

@st.composite
def spp_cases(draw):
    """(shape, levels, mode, bins, dtype, channels_last): levels in any order,
    with repeats; adaptive levels may exceed the map, paper ones fit it;
    every dtype for max, floats for avg."""
    H, W = draw(extents(13)), draw(extents(13))
    bins = draw(st.sampled_from(["adaptive", "paper"]))
    top = min(H, W, 6) if bins == "paper" else 7
    levels = draw(st.lists(st.integers(1, top), min_size=1, max_size=4))
    levels = tuple(levels) if draw(st.booleans()) else levels
    mode = draw(st.sampled_from(["max", "avg"]))
    dtype = draw(st.sampled_from(DTYPES if mode == "max" else FLOATS))
    shape, cl = draw(layouts((H, W)))
    return shape, levels, mode, bins, dtype, cl


@SETTINGS
@given(spp_cases(), views, views, seeds)
def test_spatial_pyramid_pool_any_geometry(case, how, how_g, seed):
    """spatial_pyramid_pool (max: every dtype, values and indices; avg:
    floats, sum / kh / kw) equals the reference bit for bit, and so does the
    max backward; the avg backward within tests/test_spp.py's tolerance."""
    shape, levels, mode, bins, dtype, cl = case
    rng = np.random.default_rng(seed)
    x = values(shape, dtype, rng, specials=True) if mode == "max" else \
        rng.standard_normal(shape).astype(dtype)
    if mode == "max":
        y, i = on_any_memory(lambda a: cpool.spatial_pyramid_pool(
            a, levels, mode, bins, True, channels_last=cl), [x], how, rng)
    else:
        y = on_any_memory(lambda a: cpool.spatial_pyramid_pool(
            a, levels, mode, bins, channels_last=cl), [x], how, rng)
        i = None
    ry, ri = ref.spatial_pyramid_pool(x, levels, mode, bins, channels_last=cl)
    assert y.dtype == dtype and y.shape == ry.shape
    np.testing.assert_array_equal(y, ry)
    if mode == "max":
        np.testing.assert_array_equal(i, ri)
    if not np.issubdtype(dtype, np.floating):
        return
    gy = rng.standard_normal(y.shape).astype(dtype)
    args = [gy] + ([i] if mode == "max" else [])
    gx = on_any_memory(lambda g, *j: cpool.spatial_pyramid_pool_backward(
        g, x.shape, levels, mode, bins, *j, channels_last=cl), args, how_g, rng)
    rg = ref.spatial_pyramid_pool_backward(gy, x.shape, levels, mode, bins, ri,
                                           channels_last=cl)
    assert gx.dtype == dtype and gx.shape == x.shape
    if mode == "max":
        np.testing.assert_array_equal(gx, rg)
    else:
        np.testing.assert_allclose(gx, rg, rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   atol=1e-6 if dtype == np.float32 else 1e-14)
