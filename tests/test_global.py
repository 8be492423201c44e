"""global_max_pool and global_avg_pool: (N, C, *S) or (N, *S, C) with 1-3
spatial axes -> (N, C).  Against NumPy, the reference, the adaptive pools
with output size 1, layouts, errors and thread invariance."""
import numpy as np
import pytest

import cpool
import reference as ref
from conftest import (check_bad_call, FLOATS, INTS, SHAPES, make_input, to_layout,
                      same_at_every_thread_count)

SPATIAL = {1: (2,), 2: (2, 3), 3: (2, 3, 4)}


def _axes(nd, channels_last):
    return tuple(range(1, 1 + nd)) if channels_last else tuple(range(2, 2 + nd))


def _tol(dtype):
    return dict(rtol=1e-6) if dtype == np.float32 else dict(rtol=1e-12)


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS + INTS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_matches_numpy(nd, dtype, channels_last, rng):
    x = to_layout(make_input(SHAPES[nd], dtype, rng), channels_last)
    y = cpool.global_max_pool(x, channels_last=channels_last)
    assert y.shape == SHAPES[nd][:2] and y.dtype == dtype
    np.testing.assert_array_equal(y, x.max(axis=_axes(nd, channels_last)))
    np.testing.assert_array_equal(y, ref.global_max_pool(x, channels_last))
    a = getattr(cpool, f"adaptive_max_pool{nd}d")(x, 1, channels_last=channels_last)
    np.testing.assert_array_equal(y, a.reshape(SHAPES[nd][:2]))


@pytest.mark.parametrize("dtype", INTS, ids=lambda t: np.dtype(t).name)
def test_max_integer_extremes(dtype):
    info = np.iinfo(dtype)
    x = np.full((2, 2, 3, 3), info.min, dtype)
    x[1, 0, 2, 2] = info.max
    x[0, 1, 0, 0] = info.min + 1
    np.testing.assert_array_equal(cpool.global_max_pool(x),
                                  [[info.min, info.min + 1], [info.max, info.min]])


def test_max_int64_beyond_float_precision():
    big = 2 ** 62
    x = np.array([[[big + 1, big, big + 3, big + 2]]], dtype=np.int64)
    assert cpool.global_max_pool(x).tolist() == [[big + 3]]


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_nan_propagates(nd, dtype, channels_last, rng):
    x = make_input(SHAPES[nd], dtype, rng)
    x[0, 1].reshape(-1)[3] = np.nan
    x[1, 0].reshape(-1)[-1] = np.nan
    x[1, 1].reshape(-1)[0] = np.inf  # an inf is a value, not a NaN
    y = cpool.global_max_pool(to_layout(x, channels_last), channels_last=channels_last)
    nan = np.zeros(y.shape, bool)
    nan[0, 1] = nan[1, 0] = True
    np.testing.assert_array_equal(np.isnan(y), nan)
    assert y[1, 1] == np.inf
    np.testing.assert_array_equal(y, ref.global_max_pool(x))


def test_max_all_minus_inf():
    x = np.full((1, 2, 3, 2), -np.inf, np.float32)
    np.testing.assert_array_equal(cpool.global_max_pool(x), [[-np.inf, -np.inf]])


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_avg_matches_numpy_mean(nd, dtype, channels_last, rng):
    # positive values near 1, so a relative tolerance is meaningful
    x = to_layout(rng.uniform(0.5, 1.5, SHAPES[nd]).astype(dtype), channels_last)
    y = cpool.global_avg_pool(x, channels_last=channels_last)
    assert y.shape == SHAPES[nd][:2] and y.dtype == dtype
    np.testing.assert_allclose(y, x.mean(axis=_axes(nd, channels_last)), **_tol(dtype))
    np.testing.assert_allclose(y, ref.global_avg_pool(x, channels_last), **_tol(dtype))
    a = getattr(cpool, f"adaptive_avg_pool{nd}d")(x, 1, channels_last=channels_last)
    np.testing.assert_allclose(y, a.reshape(SHAPES[nd][:2]), **_tol(dtype))


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
def test_avg_known_values(dtype):
    x = np.arange(24, dtype=dtype).reshape(1, 2, 3, 4)  # plane means 5.5 and 17.5
    np.testing.assert_array_equal(cpool.global_avg_pool(x), [[5.5, 17.5]])
    np.testing.assert_array_equal(cpool.global_max_pool(x), [[11, 23]])
    xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    np.testing.assert_array_equal(cpool.global_avg_pool(xl, channels_last=True), [[5.5, 17.5]])
    x5 = np.full((2, 3, 4, 5, 6), 0.25, dtype)
    np.testing.assert_array_equal(cpool.global_avg_pool(x5), np.full((2, 3), 0.25, dtype))


def test_avg_nan_and_inf_propagate():
    x = np.ones((2, 2, 4, 4))
    x[0, 0, 1, 2] = np.nan
    x[1, 1, 3, 3] = np.inf
    y = cpool.global_avg_pool(x)
    assert np.isnan(y[0, 0]) and y[1, 1] == np.inf
    assert y[0, 1] == 1 and y[1, 0] == 1


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_layouts_agree_exactly(nd, rng):
    for dtype in (np.float32, np.float64, np.int16):
        x = make_input(SHAPES[nd], dtype, rng, ties=False)
        xl = to_layout(x, True)
        np.testing.assert_array_equal(cpool.global_max_pool(xl, channels_last=True),
                                      cpool.global_max_pool(x))
        if dtype != np.int16:
            np.testing.assert_array_equal(cpool.global_avg_pool(xl, channels_last=True),
                                          cpool.global_avg_pool(x))


def test_shapes_and_spatial_ranks(rng):
    for nd, S in SPATIAL.items():
        x = rng.standard_normal((3, 5) + S).astype(np.float32)
        assert cpool.global_max_pool(x).shape == (3, 5)
        assert cpool.global_avg_pool(x).shape == (3, 5)
        xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
        assert cpool.global_max_pool(xl, channels_last=True).shape == (3, 5)
    # a batch of one, and a (N, C, 1) input whose only spatial position is the value
    x = rng.standard_normal((1, 4, 1))
    np.testing.assert_array_equal(cpool.global_max_pool(x), x[:, :, 0])
    np.testing.assert_array_equal(cpool.global_avg_pool(x), x[:, :, 0])


def test_strided_input_not_modified(rng):
    base = rng.standard_normal((4, 6, 10, 12))
    keep = base.copy()
    x = base[::2, 1::2, ::3, ::2]
    np.testing.assert_array_equal(cpool.global_max_pool(x), x.max(axis=(2, 3)))
    np.testing.assert_allclose(cpool.global_avg_pool(x), x.mean(axis=(2, 3)), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_array_equal(base, keep)


def test_empty_batch(rng):
    x = np.zeros((0, 3, 4, 4), np.float32)
    assert cpool.global_max_pool(x).shape == (0, 3)
    assert cpool.global_avg_pool(x).shape == (0, 3)


# ---- errors ------------------------------------------------------------------

X = np.zeros((2, 3, 4, 4), np.float32)

BAD_CALLS = [
    (lambda: cpool.global_max_pool(X[0, 0]), ValueError, "shape"),
    (lambda: cpool.global_avg_pool(X[0, 0]), ValueError, "shape"),
    (lambda: cpool.global_max_pool(X[0, 0, 0]), ValueError, "shape"),
    (lambda: cpool.global_max_pool(X[None, None]), ValueError, "shape"),
    (lambda: cpool.global_avg_pool(X[None, None]), ValueError, "shape"),
    (lambda: cpool.global_avg_pool(X.astype(np.int32)), TypeError, "int32"),
    (lambda: cpool.global_avg_pool(X.astype(np.int64)), TypeError, "int64"),
    (lambda: cpool.global_avg_pool(X.astype(np.float16)), TypeError, "float16"),
    (lambda: cpool.global_max_pool(X.astype(np.float16)), TypeError, "float16"),
    (lambda: cpool.global_max_pool(X.astype(bool)), TypeError, "bool"),
    (lambda: cpool.global_max_pool(X.astype(np.complex128)), TypeError, "complex128"),
    (lambda: cpool.global_max_pool(X.tolist()), TypeError, "numpy.ndarray"),
    (lambda: cpool.global_avg_pool(X, channels_last=1), TypeError, "channels_last"),
    (lambda: cpool.global_max_pool(X, channels_last="no"), TypeError, "channels_last"),
    (lambda: cpool.global_max_pool(np.zeros((2, 3, 0, 4), np.float32)), ValueError, "shape"),
    (lambda: cpool.global_avg_pool(np.zeros((2, 0, 4), np.float32)), ValueError, "shape"),
]


@pytest.mark.parametrize("call,exc,words", BAD_CALLS,
                         ids=[f"{j}-{w}" for j, (_, _, w) in enumerate(BAD_CALLS)])
def test_bad_call_raises(call, exc, words):
    check_bad_call(call, exc, words, (X,))


# ---- threads -----------------------------------------------------------------

def test_results_identical_at_every_thread_count(rng):
    x = rng.standard_normal((2, 8, 64, 64)).astype(np.float32)
    xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    xi = make_input((2, 8, 64, 64), np.int32, rng)
    inputs = [(x, False), (xl, True), (x.reshape(2, 8, 16, 16, 16), False),
              (x.reshape(2, 8, -1), False)]

    def run():
        out = [cpool.global_max_pool(xi)]
        for a, cl in inputs:
            out += [cpool.global_max_pool(a, channels_last=cl),
                    cpool.global_avg_pool(a, channels_last=cl)]
        return out

    same_at_every_thread_count(run)


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
def test_avg_large_float32_plane_stays_accurate(channels_last, rng):
    # 300 x 301 values near 1000: the plane sums to ~9e7, far past float32's
    # 2**24 of exact integers, so summing in one float32 chain is off by
    # about 1e-3; cpool sums blocks of 64 in float32 and the blocks in double
    x = (1000 + rng.uniform(0, 1, (2, 3, 300, 301))).astype(np.float32)
    exact = x.astype(np.float64).mean(axis=(2, 3))
    chain = np.cumsum(x.reshape(2, 3, -1), axis=-1, dtype=np.float32)[..., -1] / x[0, 0].size
    assert np.abs(chain / exact - 1).max() > 1e-5  # the failure this guards against
    y = cpool.global_avg_pool(to_layout(x, channels_last), channels_last=channels_last)
    np.testing.assert_allclose(y, exact, rtol=5e-7)


def test_layouts_agree_exactly_on_many_blocks(rng):
    # planes of 1, 2 and many 64-element blocks plus a tail of S % 8 elements
    for shape in ((2, 3, 9, 9), (2, 5, 11, 13), (1, 300, 37, 41)):
        x = rng.uniform(0, 10, shape).astype(np.float32)
        xl = to_layout(x, True)
        np.testing.assert_array_equal(cpool.global_avg_pool(xl, channels_last=True),
                                      cpool.global_avg_pool(x))


def _whole_plane_ref(x_cf):
    """The scan rule over each whole plane: (values, flat indices), exact."""
    N, C = x_cf.shape[:2]
    y = np.empty((N, C), x_cf.dtype)
    idx = np.empty((N, C), np.int64)
    for n in range(N):
        for c in range(C):
            plane = x_cf[n, c]
            y[n, c], idx[n, c] = ref.window_max(plane, list(np.ndindex(plane.shape)))
    return y, idx


def _nan(payload):
    return np.array([0x7FC00000 | payload], np.uint32).view(np.float32)[0]


@pytest.mark.parametrize("S", [(1, 1), (1, 7), (2, 4), (3, 3), (1, 31), (4, 8), (3, 11),
                               (13, 13), (25, 41)], ids=str)
def test_max_over_whole_planes_bit_exact(S, rng):
    # Whole-plane maxima take their own float32 path (one vector pass whose
    # 32 lanes keep their first maxima; a NaN sends it to a search for the
    # last NaN).  Planes with: NaNs of distinct payloads (the last one wins),
    # -0 and +0 tied at the maximum (the first in scan order wins), only
    # -inf, +inf, a maximum in the tail past the last block of 8 or 32, plain
    # random data, a maximum repeated 32 apart from offset 9 on (the first
    # copy in a lane that sees a second), and ties everywhere.
    P = int(np.prod(S))
    planes = [rng.standard_normal(P).astype(np.float32) for _ in range(10)]
    planes[0][rng.choice(P, min(P, 3), replace=False)] = [_nan(1), _nan(2), _nan(3)][:min(P, 3)]
    planes[1][:] = -1
    planes[1][rng.choice(P, min(P, 4), replace=False)] = np.array([-0.0, 0.0, -0.0, 0.0],
                                                                  np.float32)[:min(P, 4)]
    planes[2][:] = -np.inf
    planes[3][P // 2] = np.inf
    planes[4][-1] = 100
    planes[5][:] = 0.0
    planes[5][0] = -0.0
    planes[6][-1] = _nan(7)
    planes[8][9 % P::32] = 50
    planes[9][:] = rng.integers(0, 3, P)
    x = np.stack(planes).reshape((2, 5) + S)
    yr, ir = _whole_plane_ref(x)
    bits = lambda a: np.ascontiguousarray(a).view(np.uint32)  # noqa: E731
    y, i = cpool.adaptive_max_pool2d(x, 1, return_indices=True)
    np.testing.assert_array_equal(bits(y[..., 0, 0]), bits(yr))
    np.testing.assert_array_equal(i[..., 0, 0], ir)
    y, i = cpool.max_pool2d(x, S, return_indices=True)  # a kernel the size of the plane
    np.testing.assert_array_equal(bits(y[..., 0, 0]), bits(yr))
    np.testing.assert_array_equal(i[..., 0, 0], ir)
    # without indices, a plain maximum whose ties at zero and NaNs are resolved after
    np.testing.assert_array_equal(bits(cpool.adaptive_max_pool2d(x, 1)[..., 0, 0]), bits(yr))
    np.testing.assert_array_equal(bits(cpool.max_pool2d(x, S)[..., 0, 0]), bits(yr))
    np.testing.assert_array_equal(bits(cpool.global_max_pool(x)), bits(yr))
    xl = to_layout(x, True)
    np.testing.assert_array_equal(bits(cpool.global_max_pool(xl, channels_last=True)), bits(yr))
    y, i = cpool.adaptive_max_pool2d(xl, 1, return_indices=True, channels_last=True)
    np.testing.assert_array_equal(bits(y[:, 0, 0]), bits(yr))
    np.testing.assert_array_equal(i[:, 0, 0], ir)
