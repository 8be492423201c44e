"""Property-based comparison with the NumPy reference over arbitrary
geometries, layouts, batch-less inputs and dtypes (hypothesis)."""
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
DTYPES = [np.float32, np.float64, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.int64]


@st.composite
def geometries(draw, dilation=True):
    nd = draw(st.integers(1, 3))
    top = {1: 13, 2: 8, 3: 5}[nd]
    S = tuple(draw(st.integers(1, top)) for _ in range(nd))
    k = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    d = tuple(draw(st.integers(1, 3)) for _ in range(nd)) if dilation else (1,) * nd
    ceil = draw(st.booleans())
    assume(all(ref.out_size(*a, ceil) >= 1 for a in zip(S, k, s, p, d)))
    batched = draw(st.booleans())
    channels_last = draw(st.booleans())
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    shape = ((n,) if batched else ()) + ((S + (c,)) if channels_last else ((c,) + S))
    return nd, shape, k, s, p, d, ceil, channels_last


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.filter_too_much])


@SETTINGS
@given(geometries(), st.sampled_from(DTYPES), st.integers(0, 2**32 - 1))
def test_max_pool_any_geometry(geom, dtype, seed):
    nd, shape, k, s, p, d, ceil, cl = geom
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, size=shape).astype(dtype)
    if np.issubdtype(dtype, np.floating) and rng.random() < 0.3:
        x.reshape(-1)[rng.integers(x.size)] = np.nan
    y, i = MAX[nd](x, k, s, p, d, ceil, return_indices=True, channels_last=cl)
    ry, ri = ref.max_pool(x, nd, k, s, p, d, ceil, channels_last=cl)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(i, ri)
    if np.issubdtype(dtype, np.floating):
        gy = rng.standard_normal(y.shape).astype(dtype)
        np.testing.assert_array_equal(MAXB[nd](gy, i, x.shape, channels_last=cl),
                                      ref.max_pool_backward(gy, i, x.shape, nd,
                                                            channels_last=cl))


@SETTINGS
@given(geometries(dilation=False), st.sampled_from([np.float32, np.float64]),
       st.booleans(), st.sampled_from([None, 1, 2, 7]), st.integers(0, 2**32 - 1))
def test_avg_pool_any_geometry(geom, dtype, cip, div, seed):
    nd, shape, k, s, p, _, ceil, cl = geom
    if nd == 1:
        div = None
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    kw = dict(ceil_mode=ceil, count_include_pad=cip)
    if div is not None:
        kw["divisor_override"] = div
    y = AVG[nd](x, k, s, p, **kw, channels_last=cl)
    np.testing.assert_array_equal(y, ref.avg_pool(x, nd, k, s, p, **kw, channels_last=cl))
    gy = rng.standard_normal(y.shape).astype(dtype)
    np.testing.assert_array_equal(
        AVGB[nd](gy, x.shape, k, s, p, **kw, channels_last=cl),
        ref.avg_pool_backward(gy, x.shape, nd, k, s, p, **kw, channels_last=cl))
