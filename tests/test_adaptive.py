"""adaptive_{max,avg}_pool{1,2,3}d and their backward passes: against the NumPy
reference (reference_lp_adaptive.py), against PyTorch, finite differences,
layouts, output_size forms, errors and thread invariance."""
import math
import random
from fractions import Fraction

import numpy as np
import pytest

import cpool
import reference as ref
from conftest import (check_bad_call, FLOATS, INTS, SHAPES, make_input, to_layout,
                      same_at_every_thread_count)


# Looked up at call time, so the module collects before the functions exist.
def amax(nd):
    return getattr(cpool, f"adaptive_max_pool{nd}d")


def amax_b(nd):
    return getattr(cpool, f"adaptive_max_pool{nd}d_backward")


def aavg(nd):
    return getattr(cpool, f"adaptive_avg_pool{nd}d")


def aavg_b(nd):
    return getattr(cpool, f"adaptive_avg_pool{nd}d_backward")


def output_sizes(nd, count=12, seed=0):
    """A fixed, varied sample of output_size arguments for SHAPES[nd]: ints and
    tuples, None entries (nd > 1), 1, the input size, sizes that do not divide
    the input (overlapping bins) and sizes larger than the input."""
    S = SHAPES[nd][2:]
    fixed = {1: [1, 3, (4,), 11, 13, 22],
             2: [1, (1, 1), 3, (3, 5), (7, 8), (None, 3), (4, None), (10, 13), (2, 16)],
             3: [1, 2, (2, 4, 3), (5, 6, 5), (None, 4, None), (7, 1, 9), (3, 11, 2)]}[nd]
    out = list(fixed)
    r = random.Random(1000 * seed + nd)
    while len(out) < count:
        o = tuple(None if nd > 1 and r.random() < 0.15 else r.randint(1, 2 * a + 1)
                  for a in S)
        if o not in out:
            out.append(o)
    return out[:count]


def _resolved(osz, S):
    return ref.adaptive_out_shape(osz, S)


# ---- the bin formula (of the reference; cpool's bins are checked through it) --

def test_bin_formula_small_sizes():
    for a in range(1, 21):
        for n in range(1, 26):
            bins = [ref.adaptive_bin(i, a, n) for i in range(n)]
            for i, (s, e) in enumerate(bins):
                assert s == math.floor(Fraction(i * a, n))
                assert e == math.ceil(Fraction((i + 1) * a, n))
                assert 0 <= s < e <= a
            # together they cover the input, in order, with no gaps
            assert bins[0][0] == 0 and bins[-1][1] == a
            assert all(bins[i + 1][0] <= bins[i][1] for i in range(n - 1))
            assert all(bins[i + 1][0] >= bins[i][0] for i in range(n - 1))


def test_bin_formula_known_examples():
    assert [ref.adaptive_bin(i, 5, 3) for i in range(3)] == [(0, 2), (1, 4), (3, 5)]
    assert [ref.adaptive_bin(i, 3, 5) for i in range(5)] == [(0, 1), (0, 2), (1, 2), (1, 3),
                                                              (2, 3)]
    assert [ref.adaptive_bin(i, 6, 3) for i in range(3)] == [(0, 2), (2, 4), (4, 6)]


@pytest.mark.parametrize("a", [10 ** 12, 10 ** 12 + 3, 2 ** 62 + 1, 10 ** 18 + 3])
def test_bin_formula_huge_extent_is_exact(a):
    n = 7
    for i in range(n):
        s, e = ref.adaptive_bin(i, a, n)
        assert s == math.floor(Fraction(i * a, n))
        assert e == math.ceil(Fraction((i + 1) * a, n))
        # PyTorch's overflow-safe integer form (AdaptivePooling.h)
        assert s == (i // n) * a + ((i % n) * a) // n
        assert e == 1 + ((i + 1) * a - 1) // n
    if a > 2 ** 53:  # where a float formula would round, the exact one still holds
        assert any(ref.adaptive_bin(i, a, n) != (math.floor(i * a / n),
                                                 math.ceil((i + 1) * a / n))
                   for i in range(n))


# ---- adaptive max ----------------------------------------------------------

def _check_max(nd, x, osz, channels_last):
    y, i = amax(nd)(x, osz, return_indices=True, channels_last=channels_last)
    ry, ri = ref.adaptive_max_pool(x, nd, osz, channels_last=channels_last)
    assert y.dtype == x.dtype and i.dtype == np.int64
    assert y.shape == ry.shape and i.shape == ri.shape
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(i, ri)
    np.testing.assert_array_equal(amax(nd)(x, osz, channels_last=channels_last), ry)
    return y, i


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("osz_id", range(12))
def test_max_forward_matches_reference(nd, osz_id, channels_last, rng):
    osz = output_sizes(nd)[osz_id]
    x = to_layout(make_input(SHAPES[nd], np.float32, rng), channels_last)
    _check_max(nd, x, osz, channels_last)


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS + INTS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_dtypes(nd, dtype, channels_last, rng):
    for osz in output_sizes(nd, count=10, seed=1)[-4:]:
        x = to_layout(make_input(SHAPES[nd], dtype, rng), channels_last)
        _check_max(nd, x, osz, channels_last)


@pytest.mark.parametrize("dtype", INTS, ids=lambda t: np.dtype(t).name)
def test_max_integer_extremes(dtype):
    info = np.iinfo(dtype)
    x = np.array([[[info.min, info.min, info.max, info.max, info.min]]], dtype=dtype)
    y, i = cpool.adaptive_max_pool1d(x, 3, return_indices=True)
    # bins [0, 2), [1, 4), [3, 5)
    np.testing.assert_array_equal(y[0, 0], [info.min, info.max, info.max])
    np.testing.assert_array_equal(i[0, 0], [0, 2, 3])
    y, i = cpool.adaptive_max_pool1d(np.full((1, 1, 4), info.min, dtype), 2,
                                     return_indices=True)
    np.testing.assert_array_equal(y[0, 0], [info.min, info.min])
    np.testing.assert_array_equal(i[0, 0], [0, 2])


def test_max_int64_beyond_float_precision():
    big = 2 ** 62
    x = np.array([[[big + 1, big, big + 3, big + 2]]], dtype=np.int64)
    y, i = cpool.adaptive_max_pool1d(x, 2, return_indices=True)
    assert y[0, 0].tolist() == [big + 1, big + 3]
    assert i[0, 0].tolist() == [0, 2]


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
def test_max_ties_keep_first_maximum(channels_last):
    x = to_layout(np.array([[[[1, 3, 3], [3, 3, 0]]]], dtype=np.float32), channels_last)
    y, i = cpool.adaptive_max_pool2d(x, 1, return_indices=True, channels_last=channels_last)
    assert y.item() == 3 and i.item() == 1
    y, i = cpool.adaptive_max_pool2d(np.zeros((1, 1, 3, 3), np.int16), (1, 1),
                                     return_indices=True)
    assert y.item() == 0 and i.item() == 0


@pytest.mark.parametrize("shape,osz", [((2, 9, 13, 13), 2), ((1, 7, 15, 20), (2, 3)),
                                       ((3, 2, 13, 17), (2, 3)), ((2, 70, 15, 15), 2)],
                         ids=str)
def test_max_wide_bins_bit_exact(shape, osz, rng):
    # Bins 6-8 wide and tall take their own float32 kernel (a window row per
    # vector, the next row's columns read and masked out; the last plane's
    # last row loaded under a mask).  Sizes that bins divide evenly become
    # regular windows, so none here do.  Planes: plain data, a rare maximum
    # repeated (the first copy wins), ties everywhere, NaNs (the last wins),
    # -0/+0 ties, only -inf; each also as the last plane, whose last row
    # ends the buffer.  70 channels: blocks of 64 planes start mid-sample.
    x = rng.standard_normal(shape).astype(np.float32)
    P = shape[2] * shape[3]
    flat = x.reshape(-1, P)
    specials = [lambda v: v.__setitem__(slice(9 % P, None, 7), 50),
                lambda v: v.__setitem__(slice(None), rng.integers(0, 3, P)),
                lambda v: v.__setitem__(rng.choice(P, 9, replace=False), np.nan),
                lambda v: v.__setitem__(slice(None), np.where(rng.random(P) < 0.5, -0.0, 0.0)),
                lambda v: v.__setitem__(slice(None), -np.inf)]
    for j, make in enumerate(specials):
        make(flat[j % len(flat)])
    for last in range(len(specials)):
        specials[last](flat[-1])
        bits = lambda a: np.ascontiguousarray(a).view(np.uint32)  # noqa: E731
        y, i = cpool.adaptive_max_pool2d(x, osz, return_indices=True)
        ry, ri = ref.adaptive_max_pool(x, 2, osz)
        np.testing.assert_array_equal(bits(y), bits(ry))
        np.testing.assert_array_equal(i, ri)
        np.testing.assert_array_equal(bits(cpool.adaptive_max_pool2d(x, osz)), bits(ry))
        if isinstance(osz, int):  # a level after another: y has a batch stride
            y, i = cpool.spatial_pyramid_pool(x, (1, osz), return_indices=True)
            np.testing.assert_array_equal(bits(y[:, shape[1]:]), bits(ry.reshape(shape[0], -1)))
            np.testing.assert_array_equal(i[:, shape[1]:], ri.reshape(shape[0], -1))


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
def test_max_nan_gives_nan_and_last_nan_index(dtype, channels_last):
    x = np.zeros((1, 1, 3, 3), dtype)
    x[0, 0, 0, 1] = x[0, 0, 2, 1] = np.nan
    x[0, 0, 1, 1] = 100
    y, i = cpool.adaptive_max_pool2d(to_layout(x, channels_last), 1, return_indices=True,
                                     channels_last=channels_last)
    assert np.isnan(y.item()) and i.item() == 7
    # overlapping bins: 1d, a=5, n=3: [0,2) [1,4) [3,5); NaN at 1 is in bins 0 and 1
    x = np.array([[[5, np.nan, 9, 1, 2]]], dtype)
    y, i = cpool.adaptive_max_pool1d(x, 3, return_indices=True)
    assert np.isnan(y[0, 0, 0]) and np.isnan(y[0, 0, 1]) and y[0, 0, 2] == 2
    assert i[0, 0].tolist() == [1, 1, 4]


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_backward_matches_reference(nd, dtype, channels_last, rng):
    for osz in output_sizes(nd, count=12, seed=2)[::2]:
        x = to_layout(make_input(SHAPES[nd], dtype, rng), channels_last)
        y, i = amax(nd)(x, osz, return_indices=True, channels_last=channels_last)
        gy = rng.standard_normal(y.shape).astype(dtype)
        gx = amax_b(nd)(gy, i, x.shape, channels_last=channels_last)
        assert gx.dtype == dtype and gx.shape == x.shape
        np.testing.assert_array_equal(
            gx, ref.adaptive_max_pool_backward(gy, i, x.shape, nd,
                                               channels_last=channels_last))


def test_max_backward_overlapping_bins_accumulate():
    # a=3, n=5 bins [0,1) [0,2) [1,2) [1,3) [2,3): x[1] is the max of bins 1, 2, 3
    x = np.array([[[0.0, 7.0, 1.0]]])
    y, i = cpool.adaptive_max_pool1d(x, 5, return_indices=True)
    assert i[0, 0].tolist() == [0, 1, 1, 1, 2]
    gx = cpool.adaptive_max_pool1d_backward(np.array([[[1.0, 2.0, 4.0, 8.0, 16.0]]]), i,
                                            x.shape)
    assert gx[0, 0].tolist() == [1.0, 14.0, 16.0]


# ---- adaptive avg ----------------------------------------------------------

@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("osz_id", range(12))
def test_avg_forward_matches_reference_bitwise(nd, dtype, osz_id, channels_last, rng):
    osz = output_sizes(nd)[osz_id]
    x = to_layout(make_input(SHAPES[nd], dtype, rng, ties=False), channels_last)
    y = aavg(nd)(x, osz, channels_last=channels_last)
    r = ref.adaptive_avg_pool(x, nd, osz, channels_last=channels_last)
    assert y.dtype == dtype and y.shape == r.shape
    # row-major sum in the input dtype, then / kd / kh / kw: equal to the bit
    np.testing.assert_array_equal(y, r)


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_avg_backward_matches_reference_bitwise(nd, dtype, channels_last, rng):
    for osz in output_sizes(nd, count=12, seed=3)[1::2]:
        x = to_layout(make_input(SHAPES[nd], dtype, rng), channels_last)
        y = aavg(nd)(x, osz, channels_last=channels_last)
        gy = rng.standard_normal(y.shape).astype(dtype)
        gx = aavg_b(nd)(gy, x.shape, channels_last=channels_last)
        assert gx.dtype == dtype and gx.shape == x.shape
        np.testing.assert_array_equal(
            gx, ref.adaptive_avg_pool_backward(gy, x.shape, nd, channels_last=channels_last))


def test_avg_known_values():
    x = np.arange(5, dtype=np.float64).reshape(1, 1, 5)
    # bins [0,2) [1,4) [3,5)
    np.testing.assert_array_equal(cpool.adaptive_avg_pool1d(x, 3)[0, 0], [0.5, 2.0, 3.5])
    gx = cpool.adaptive_avg_pool1d_backward(np.array([[[2.0, 3.0, 4.0]]]), x.shape)
    np.testing.assert_array_equal(gx[0, 0], [1.0, 2.0, 1.0, 3.0, 2.0])
    x2 = np.arange(12, dtype=np.float32).reshape(1, 3, 4)  # batch-less (C=1, H=3, W=4)
    np.testing.assert_array_equal(cpool.adaptive_avg_pool2d(x2, (1, 2))[0],
                                  [[4.5, 6.5]])


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_avg_gradient_is_conserved(nd, dtype, rng):
    """Each bin spreads its gradient with weights summing to 1."""
    x = make_input(SHAPES[nd], dtype, rng, ties=False)
    for osz in output_sizes(nd, count=8, seed=4):
        y = aavg(nd)(x, osz)
        gy = rng.uniform(0.5, 1.5, y.shape).astype(dtype)
        gx = aavg_b(nd)(gy, x.shape)
        np.testing.assert_allclose(gx.sum(axis=tuple(range(2, 2 + nd))),
                                   gy.sum(axis=tuple(range(2, 2 + nd))),
                                   rtol=1e-5 if dtype == np.float32 else 1e-12)


# ---- shared: layouts, batch-less, output_size forms, out= ---------------------

@pytest.mark.parametrize("nd", [1, 2, 3])
def test_layouts_agree_exactly(nd, rng):
    x = make_input(SHAPES[nd], np.float32, rng, ties=False)
    xl = to_layout(x, True)
    for osz in output_sizes(nd, count=8, seed=5):
        y, i = amax(nd)(x, osz, return_indices=True)
        yl, il = amax(nd)(xl, osz, return_indices=True, channels_last=True)
        np.testing.assert_array_equal(np.moveaxis(yl, -1, 1), y)
        np.testing.assert_array_equal(np.moveaxis(il, -1, 1), i)
        a = aavg(nd)(x, osz)
        al = aavg(nd)(xl, osz, channels_last=True)
        np.testing.assert_array_equal(np.moveaxis(al, -1, 1), a)
        g = rng.standard_normal(a.shape).astype(np.float32)
        gl = to_layout(g, True)
        np.testing.assert_array_equal(
            np.moveaxis(aavg_b(nd)(gl, xl.shape, channels_last=True), -1, 1),
            aavg_b(nd)(g, x.shape))
        np.testing.assert_array_equal(
            np.moveaxis(amax_b(nd)(gl, il, xl.shape, channels_last=True), -1, 1),
            amax_b(nd)(g, i, x.shape))


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_batchless_equals_batched(nd, channels_last, rng):
    x = to_layout(make_input(SHAPES[nd], np.float64, rng, ties=False), channels_last)
    kw = dict(channels_last=channels_last)
    for osz in output_sizes(nd, count=6, seed=6):
        y, i = amax(nd)(x[0], osz, return_indices=True, **kw)
        yb, ib = amax(nd)(x, osz, return_indices=True, **kw)
        assert y.shape == yb.shape[1:]
        np.testing.assert_array_equal(y, yb[0])
        np.testing.assert_array_equal(i, ib[0])
        a = aavg(nd)(x[0], osz, **kw)
        np.testing.assert_array_equal(a, aavg(nd)(x, osz, **kw)[0])
        np.testing.assert_array_equal(a, ref.adaptive_avg_pool(x[0], nd, osz, **kw))
        g = rng.standard_normal(yb.shape)
        np.testing.assert_array_equal(aavg_b(nd)(g[0], x[0].shape, **kw),
                                      aavg_b(nd)(g, x.shape, **kw)[0])
        np.testing.assert_array_equal(amax_b(nd)(g[0], i, x[0].shape, **kw),
                                      amax_b(nd)(g, ib, x.shape, **kw)[0])


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_output_size_int_equals_tuple(nd, rng):
    x = make_input(SHAPES[nd], np.float32, rng, ties=False)
    for n in (1, 2, 3, 5):
        np.testing.assert_array_equal(aavg(nd)(x, n), aavg(nd)(x, (n,) * nd))
        np.testing.assert_array_equal(amax(nd)(x, n), amax(nd)(x, [n] * nd))
        assert aavg(nd)(x, n).shape == SHAPES[nd][:2] + (n,) * nd


@pytest.mark.parametrize("nd", [2, 3])
def test_output_size_none_keeps_input_size(nd, rng):
    x = make_input(SHAPES[nd], np.float64, rng, ties=False)
    S = SHAPES[nd][2:]
    osz = (None,) + (2,) * (nd - 1)
    y = aavg(nd)(x, osz)
    assert y.shape == SHAPES[nd][:3] + (2,) * (nd - 1)
    np.testing.assert_array_equal(y, aavg(nd)(x, (S[0],) + (2,) * (nd - 1)))
    np.testing.assert_array_equal(amax(nd)(x, (None,) * nd), x)
    np.testing.assert_array_equal(aavg(nd)(x, (None,) * nd), x)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_identity_output_size(nd, rng):
    x = make_input(SHAPES[nd], np.float32, rng)
    S = SHAPES[nd][2:]
    y, i = amax(nd)(x, S, return_indices=True)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(i, np.broadcast_to(np.arange(int(np.prod(S))).reshape(S),
                                                     x.shape))
    np.testing.assert_array_equal(aavg(nd)(x, S), x)
    g = rng.standard_normal(x.shape).astype(np.float32)
    np.testing.assert_array_equal(aavg_b(nd)(g, x.shape), g)
    np.testing.assert_array_equal(amax_b(nd)(g, i, x.shape), g)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_output_larger_than_input(nd, rng):
    x = make_input(SHAPES[nd], np.float64, rng, ties=False)
    S = SHAPES[nd][2:]
    big = tuple(2 * a for a in S)  # every bin has one element: each input repeated twice
    y, i = amax(nd)(x, big, return_indices=True)
    rep = x
    for ax in range(nd):
        rep = np.repeat(rep, 2, axis=2 + ax)
    np.testing.assert_array_equal(y, rep)
    np.testing.assert_array_equal(aavg(nd)(x, big), rep)
    gx = aavg_b(nd)(np.ones(y.shape), x.shape)
    np.testing.assert_array_equal(gx, np.full(x.shape, 2.0 ** nd))


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_output_size_zero_gives_empty_output(nd, channels_last, rng):
    x = to_layout(make_input(SHAPES[nd], np.float32, rng), channels_last)
    osz = (0,) + (2,) * (nd - 1)
    ry = ref.adaptive_avg_pool(x, nd, osz, channels_last=channels_last)
    assert ry.size == 0
    y, i = amax(nd)(x, osz, return_indices=True, channels_last=channels_last)
    assert y.shape == ry.shape and i.shape == ry.shape and i.dtype == np.int64
    assert aavg(nd)(x, osz, channels_last=channels_last).shape == ry.shape
    assert aavg(nd)(x, 0, channels_last=channels_last).shape == \
        ref.adaptive_avg_pool(x, nd, 0, channels_last=channels_last).shape


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_out_argument(nd, rng):
    x = make_input(SHAPES[nd], np.float64, rng, ties=False)
    osz = output_sizes(nd)[3]
    shape = ref.adaptive_avg_pool(x, nd, osz).shape
    buf = np.full(shape, np.nan)
    res = aavg(nd)(x, osz, out=buf)
    assert res is buf
    np.testing.assert_array_equal(buf, ref.adaptive_avg_pool(x, nd, osz))
    buf2 = np.full(shape, np.nan)
    res, idx = amax(nd)(x, osz, return_indices=True, out=buf2)
    assert res is buf2
    ry, ri = ref.adaptive_max_pool(x, nd, osz)
    np.testing.assert_array_equal(buf2, ry)
    np.testing.assert_array_equal(idx, ri)


def test_input_not_modified_and_strided_input(rng):
    base = make_input((2, 3, 14, 16), np.float32, rng, ties=False)
    x = base[:, :, ::2, ::2]  # non-contiguous view
    keep = base.copy()
    np.testing.assert_array_equal(cpool.adaptive_avg_pool2d(x, (3, 5)),
                                  ref.adaptive_avg_pool(np.ascontiguousarray(x), 2, (3, 5)))
    np.testing.assert_array_equal(cpool.adaptive_max_pool2d(x, (3, 5)),
                                  ref.adaptive_max_pool(np.ascontiguousarray(x), 2, (3, 5))[0])
    np.testing.assert_array_equal(base, keep)


# ---- finite differences ------------------------------------------------------

@pytest.mark.parametrize("nd", [1, 2, 3])
def test_backward_finite_differences(nd, rng):
    shape = SHAPES[nd]
    eps = 1e-4  # values are 0.1 apart, so no argmax moves
    for osz in output_sizes(nd, count=10, seed=7)[::3]:
        x = rng.permutation(np.prod(shape)).reshape(shape).astype(np.float64) * 0.1
        y, i = amax(nd)(x, osz, return_indices=True)
        w = rng.standard_normal(y.shape)
        gmax = amax_b(nd)(w, i, x.shape)
        gavg = aavg_b(nd)(w, x.shape)
        flat = x.reshape(-1)
        for j in rng.choice(flat.size, 25, replace=False):
            old = flat[j]
            flat[j] = old + eps
            fp = (w * amax(nd)(x, osz)).sum(), (w * aavg(nd)(x, osz)).sum()
            flat[j] = old - eps
            fm = (w * amax(nd)(x, osz)).sum(), (w * aavg(nd)(x, osz)).sum()
            flat[j] = old
            assert abs((fp[0] - fm[0]) / (2 * eps) - gmax.reshape(-1)[j]) < 1e-6
            assert abs((fp[1] - fm[1]) / (2 * eps) - gavg.reshape(-1)[j]) < 1e-6


# ---- PyTorch ---------------------------------------------------------------------

def _torch_case(nd, r):
    S = tuple(r.randint(1, 13 if nd < 3 else 7) for _ in range(nd))
    hi = 16 if nd < 3 else 9
    O = tuple(r.randint(1, hi) for _ in range(nd))
    if nd > 1 and r.random() < 0.2:
        j = r.randrange(nd)
        O = O[:j] + (None,) + O[j + 1:]
    if r.random() < 0.1:
        O = (1,) * nd  # PyTorch takes its mean() path here
    osz = O if (nd > 1 or r.random() < 0.5) else O[0]
    return S, O, osz


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_matches_torch(nd, dtype):
    torch = pytest.importorskip("torch")
    tf = getattr(torch.nn.functional, f"adaptive_max_pool{nd}d")
    r = random.Random(500 + nd)
    for trial in range(50):
        S, _, osz = _torch_case(nd, r)
        rng = np.random.default_rng(trial)
        x = rng.integers(-4, 5, size=((2,) if trial % 4 else ()) + (3,) + S).astype(dtype)
        if trial % 5 == 0:
            x.reshape(-1)[rng.integers(x.size, size=2)] = np.nan
        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        ty, ti = tf(tx, osz, return_indices=True)
        y, i = amax(nd)(x, osz, return_indices=True)
        np.testing.assert_array_equal(y, ty.detach().numpy())
        np.testing.assert_array_equal(i, ti.numpy())
        gy = rng.standard_normal(y.shape).astype(dtype)
        ty.backward(torch.from_numpy(gy))
        np.testing.assert_array_equal(amax_b(nd)(gy, i, x.shape), tx.grad.numpy())


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_avg_matches_torch(nd, dtype):
    torch = pytest.importorskip("torch")
    tf = getattr(torch.nn.functional, f"adaptive_avg_pool{nd}d")
    r = random.Random(600 + nd)
    tol = dict(rtol=1e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-14, atol=1e-16)
    for trial in range(50):
        S, O, osz = _torch_case(nd, r)
        rng = np.random.default_rng(trial)
        x = rng.standard_normal(((2,) if trial % 4 else ()) + (3,) + S).astype(dtype)
        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        ty = tf(tx, osz)
        y = aavg(nd)(x, osz)
        gy = rng.standard_normal(y.shape).astype(dtype)
        ty.backward(torch.from_numpy(gy))
        gx = aavg_b(nd)(gy, x.shape)
        if all(o == 1 for o in _resolved(O, S)):
            # PyTorch computes a (1, .., 1) output with mean(): another summation
            # order and one division, so only close; cpool keeps sum / kd / kh / kw.
            np.testing.assert_allclose(y, ty.detach().numpy(), **tol)
            np.testing.assert_allclose(gx, tx.grad.numpy(), **tol)
            np.testing.assert_array_equal(y, ref.adaptive_avg_pool(x, nd, osz))
        else:
            np.testing.assert_array_equal(y, ty.detach().numpy())
            np.testing.assert_array_equal(gx, tx.grad.numpy())


@pytest.mark.parametrize("nd", [2, 3])
def test_avg_channels_last_close_to_torch(nd):
    """PyTorch's channels-last path divides once by kh*kw and may differ from its
    contiguous result by 1 ulp; cpool's layouts agree exactly (test above)."""
    torch = pytest.importorskip("torch")
    tf = getattr(torch.nn.functional, f"adaptive_avg_pool{nd}d")
    fmt = torch.channels_last if nd == 2 else torch.channels_last_3d
    r = random.Random(700 + nd)
    for trial in range(30):
        S, _, osz = _torch_case(nd, r)
        x = np.random.default_rng(trial).standard_normal((2, 3) + S).astype(np.float32)
        ty = tf(torch.from_numpy(x).contiguous(memory_format=fmt), osz).numpy()
        yl = aavg(nd)(to_layout(x, True), osz, channels_last=True)
        np.testing.assert_allclose(np.moveaxis(yl, -1, 1), ty, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(np.moveaxis(yl, -1, 1), aavg(nd)(x, osz))


@pytest.mark.parametrize("nd", [2, 3])
def test_max_channels_last_matches_torch(nd):
    torch = pytest.importorskip("torch")
    tf = getattr(torch.nn.functional, f"adaptive_max_pool{nd}d")
    fmt = torch.channels_last if nd == 2 else torch.channels_last_3d
    r = random.Random(800 + nd)
    for trial in range(30):
        S, _, osz = _torch_case(nd, r)
        x = np.random.default_rng(trial).integers(-4, 5, (2, 3) + S).astype(np.float32)
        ty, ti = tf(torch.from_numpy(x).contiguous(memory_format=fmt), osz,
                    return_indices=True)
        yl, il = amax(nd)(to_layout(x, True), osz, return_indices=True, channels_last=True)
        np.testing.assert_array_equal(np.moveaxis(yl, -1, 1), ty.numpy())
        np.testing.assert_array_equal(np.moveaxis(il, -1, 1), ti.numpy())


# ---- errors ----------------------------------------------------------------------

X2 = np.zeros((1, 2, 6, 6), np.float32)
G2 = np.zeros((1, 2, 3, 3), np.float32)
I2 = np.zeros((1, 2, 3, 3), np.int64)

BAD_CALLS = [
    # (call, exception, words the message must contain)
    (lambda: cpool.adaptive_avg_pool2d(X2, -1), ValueError, "output_size"),
    (lambda: cpool.adaptive_max_pool2d(X2, (3, -2)), ValueError, "output_size"),
    (lambda: cpool.adaptive_avg_pool2d(X2, (2, 2, 2)), ValueError, "output_size"),
    (lambda: cpool.adaptive_max_pool3d(X2[None], (2, 2)), ValueError, "output_size"),
    (lambda: cpool.adaptive_avg_pool2d(X2, 2.5), TypeError, "output_size"),
    (lambda: cpool.adaptive_avg_pool2d(X2, (2, 2.0)), TypeError, "output_size"),
    (lambda: cpool.adaptive_max_pool2d(X2, True), TypeError, "output_size"),
    (lambda: cpool.adaptive_avg_pool1d(X2[0], "3"), TypeError, "output_size"),
    (lambda: cpool.adaptive_avg_pool2d(X2.astype(np.int32), 2), TypeError, "int32"),
    (lambda: cpool.adaptive_avg_pool2d(X2.astype(np.float16), 2), TypeError, "float16"),
    (lambda: cpool.adaptive_max_pool2d(X2.astype(np.float16), 2), TypeError, "float16"),
    (lambda: cpool.adaptive_max_pool2d(X2.astype(bool), 2), TypeError, "bool"),
    (lambda: cpool.adaptive_max_pool2d(X2.astype(np.complex64), 2), TypeError, "complex64"),
    (lambda: cpool.adaptive_max_pool2d([[1.0]], 1), TypeError, "numpy.ndarray"),
    (lambda: cpool.adaptive_max_pool2d(X2[0, 0], 2), ValueError, "dimensions"),
    (lambda: cpool.adaptive_avg_pool2d(X2[None], 2), ValueError, "dimensions"),
    (lambda: cpool.adaptive_avg_pool1d(X2, 2), ValueError, "dimensions"),
    (lambda: cpool.adaptive_max_pool2d(np.zeros((1, 1, 0, 4), np.float32), 2), ValueError,
     "shape"),
    (lambda: cpool.adaptive_avg_pool2d(X2, 2, channels_last=1), TypeError, "channels_last"),
    (lambda: cpool.adaptive_max_pool2d(X2, 2, return_indices="no"), TypeError,
     "return_indices"),
    (lambda: cpool.adaptive_avg_pool2d(X2, 2, out=np.empty((1, 2, 3, 3), np.float32)),
     ValueError, "out"),
    (lambda: cpool.adaptive_max_pool2d(X2, 2, out=np.empty((1, 2, 2, 2), np.float64)),
     ValueError, "out"),
    # backward
    (lambda: cpool.adaptive_max_pool2d_backward(G2, I2, (1, 3, 6, 6)), ValueError,
     "grad_output"),
    (lambda: cpool.adaptive_max_pool2d_backward(G2[0], I2[0], (1, 2, 6, 6)), ValueError,
     "grad_output"),
    (lambda: cpool.adaptive_max_pool2d_backward(G2.astype(np.int32), I2, (1, 2, 6, 6)),
     TypeError, "grad_output"),
    (lambda: cpool.adaptive_max_pool2d_backward(G2, I2[..., :2], (1, 2, 6, 6)), ValueError,
     "indices"),
    (lambda: cpool.adaptive_max_pool2d_backward(G2, I2.astype(np.int32), (1, 2, 6, 6)),
     TypeError, "indices"),
    (lambda: cpool.adaptive_max_pool2d_backward(G2, I2 + 36, (1, 2, 6, 6)), ValueError,
     "indices"),
    (lambda: cpool.adaptive_max_pool2d_backward(G2, I2 - 2, (1, 2, 6, 6)), ValueError,
     "indices"),
    (lambda: cpool.adaptive_max_pool2d_backward(G2, I2, (1, 2, 6)), ValueError,
     "input_shape"),
    (lambda: cpool.adaptive_max_pool2d_backward(G2, I2, "shape"), TypeError, "input_shape"),
    (lambda: cpool.adaptive_avg_pool2d_backward(G2, (1, 3, 6, 6)), ValueError,
     "grad_output"),
    (lambda: cpool.adaptive_avg_pool2d_backward(G2[..., 0], (1, 2, 6, 6)), ValueError,
     "grad_output"),
    (lambda: cpool.adaptive_avg_pool2d_backward(G2.astype(np.float16), (1, 2, 6, 6)),
     TypeError, "grad_output"),
    (lambda: cpool.adaptive_avg_pool2d_backward(G2.astype(np.int64), (1, 2, 6, 6)),
     TypeError, "grad_output"),
    (lambda: cpool.adaptive_avg_pool2d_backward(G2, (1, 2, 6)), ValueError, "input_shape"),
]


@pytest.mark.parametrize("call,exc,words", BAD_CALLS,
                         ids=[f"{j}-{w}" for j, (_, _, w) in enumerate(BAD_CALLS)])
def test_bad_call_raises(call, exc, words):
    check_bad_call(call, exc, words, (X2, G2, I2))


# ---- threads ---------------------------------------------------------------------

def _all_ops(x, xl):
    out = []
    for osz in ((7, 5), (32, 32), (1, 1), (100, 9)):
        y, i = cpool.adaptive_max_pool2d(x, osz, return_indices=True)
        yl, il = cpool.adaptive_max_pool2d(xl, osz, return_indices=True, channels_last=True)
        a = cpool.adaptive_avg_pool2d(x, osz)
        al = cpool.adaptive_avg_pool2d(xl, osz, channels_last=True)
        g = np.linspace(-1, 1, a.size, dtype=x.dtype).reshape(a.shape)
        gl = np.ascontiguousarray(np.moveaxis(g, 1, -1))
        out += [y, i, yl, il, a, al,
                cpool.adaptive_max_pool2d_backward(g, i, x.shape),
                cpool.adaptive_max_pool2d_backward(gl, il, xl.shape, channels_last=True),
                cpool.adaptive_avg_pool2d_backward(g, x.shape),
                cpool.adaptive_avg_pool2d_backward(gl, xl.shape, channels_last=True)]
    x3 = x.reshape(2, 8, 16, 16, 16)
    out += [cpool.adaptive_avg_pool3d(x3, (5, 3, 7)),
            cpool.adaptive_max_pool3d(x3, (5, 3, 7), return_indices=True)[1],
            cpool.adaptive_avg_pool1d(x.reshape(2, 8, -1), 100),
            cpool.adaptive_max_pool1d(x.reshape(2, 8, -1), 100, return_indices=True)[1]]
    return out


def test_results_identical_at_every_thread_count(rng):
    x = rng.standard_normal((2, 8, 64, 64)).astype(np.float32)
    xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    same_at_every_thread_count(lambda: _all_ops(x, xl))


def _special(shape, dtype, seed):
    """Values that make the pick order visible: -0 and +0 (equal, different
    bits), NaNs with distinct payloads, -inf and a few ties."""
    rng = np.random.default_rng(seed)
    pool = np.array([0.0, -0.0, 1.0, 1.0, -np.inf, -1.0, np.nan], dtype)
    x = pool[rng.integers(len(pool), size=shape)]
    bits = x.view(np.uint32 if dtype == np.float32 else np.uint64)
    nan = np.isnan(x)
    bits[nan] |= rng.integers(1, 1 << 20, size=int(nan.sum())).astype(bits.dtype)
    return x


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,out", [
    ((2, 3, 9, 40), (3, 5)),      # column groups
    ((2, 3, 9, 40), (2, 1)),      # whole rows: one merged run through the lanes
    ((1, 2, 5, 300), (2, 2)),     # windows wider than half a chunk: lanes per row
    ((1, 2, 4, 5, 37), (2, 3, 4)),
    ((2, 2, 700), (3,)),
    ((2, 2, 11, 13), (13, 17)),   # more outputs than columns: overlapping bins
])
def test_max_bins_bit_exact_on_zero_and_nan_ties(dtype, shape, out):
    """Bin windows are reduced columns first or through lanes; the result
    must still be the scan-order pick, bit for bit."""
    nd = len(out)
    fn = getattr(cpool, f"adaptive_max_pool{nd}d")
    for seed in range(3):
        x = _special(shape, dtype, seed)
        with np.errstate(invalid="ignore"):
            y, i = fn(x, out, return_indices=True)
            ry, ri = ref.adaptive_max_pool(x, nd, out)
        np.testing.assert_array_equal(i, ri)
        np.testing.assert_array_equal(y.view(f"u{x.itemsize}"), ry.view(f"u{x.itemsize}"))
