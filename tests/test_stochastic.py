"""Stochastic pooling (Zeiler & Fergus 2013): the draws' validity and
frequencies (chi-square against p_i = a_i / sum a), the seed, thread, layout
and batch contracts, the eval pass and the backward against reference.py, and
the error table.  Every test is deterministic: all seeds are fixed."""
import math
import re

import numpy as np
import pytest

import cpool
import reference as ref
from conftest import (FLOATS, SHAPES, check_bad_call, make_input, to_layout, window_configs,
                      same_at_every_thread_count)


def fwd(nd):
    return getattr(cpool, f"stochastic_pool{nd}d")


def bwd(nd):
    return getattr(cpool, f"stochastic_pool{nd}d_backward")


def dtype_id(t):
    return np.dtype(t).name


def stoch_configs(nd, count=8, seed=0):
    """(kernel, stride, padding) triples valid for SHAPES[nd]: window_configs
    without dilation or ceil mode, so overlapping windows (kernel > stride),
    padding, strides over the kernel and anisotropic tuples all occur."""
    out = []
    for k, s, p, d, ceil in window_configs(nd, count=24, dilation=False, seed=seed):
        if not ceil and (k, s, p) not in out:
            out.append((k, s, p))
    return out[:count]


def relu_input(shape, dtype, rng, smooth=False):
    """Non-negative activations with many zeros: integers in [0, 5] (ties,
    ~58 % zeros), or continuous values with ~40 % zeros."""
    if smooth:
        x = rng.random(shape) * (rng.random(shape) < 0.6)
        return x.astype(dtype)
    return np.maximum(make_input(shape, dtype, rng), 0).astype(dtype)


def cf_flat(a, nd, channels_last):
    """A user-layout output as a flat array in channels-first batched order."""
    return ref._to_cf(a, nd, channels_last)[0].ravel()


def check_draws(x, y, i, nd, k, s, p, channels_last):
    """Each output is x at its index, the index is one of its window's
    in-bounds taps, the value is > 0 unless the window is all zero, where it
    is 0 at the window's first in-bounds tap."""
    wins = ref.stochastic_windows(x, nd, k, s, p, channels_last)
    yf, jf = cf_flat(y, nd, channels_last), cf_flat(i, nd, channels_last)
    assert y.dtype == x.dtype and i.dtype == np.int64 and y.shape == i.shape
    assert yf.size == len(wins)
    for o, (w, v, j) in enumerate(zip(wins, yf, jf)):
        taps = dict(w)
        assert int(j) in taps, (o, int(j), [t for t, _ in w])
        assert v == taps[int(j)], (o, v, taps[int(j)])
        if all(a == 0 for _, a in w):
            assert v == 0 and int(j) == w[0][0], (o, v, int(j), w)
        else:
            assert v > 0, (o, v, int(j), w)


# ---- chi-square ------------------------------------------------------------------
# The 0.9999 quantiles of the chi-square distribution (any statistics table,
# e.g. NIST/SEMATECH e-Handbook 1.3.6.7.4; recomputed to 6 digits from the
# regularized incomplete gamma function, see test_chi2_table).  0.9999 rather
# than 0.999 so that the fixed seeds of a correct sampler have a negligible
# chance of sitting in the rejection region; with 20 000 draws the test still
# catches any real bias (a wrong tap, uniform instead of proportional draws,
# an off-by-one in the cumulative sum) by orders of magnitude.
CHI2_Q = 0.9999
CHI2_CRIT = {1: 15.136705, 2: 18.420681, 3: 21.107513, 4: 23.512742,
             5: 25.744832, 6: 27.856341, 7: 29.877504, 8: 31.827628}


def _chi2_cdf(x, k):
    """P(k/2, x/2), the regularized lower incomplete gamma, by its series."""
    a, z = k / 2, x / 2
    term = total = 1 / a
    n = 0
    while term > total * 1e-17:
        n += 1
        term *= z / (a + n)
        total += term
    return total * math.exp(-z + a * math.log(z) - math.lgamma(a))


def chi2_critical(dof):
    try:
        from scipy.stats import chi2
    except ImportError:
        return CHI2_CRIT[dof]
    return float(chi2.ppf(CHI2_Q, dof))


def assert_frequencies(counts, weights, what=""):
    """counts[t] (draws of tap t) fit p_t = w_t / sum(w): never a zero-weight
    tap, and a chi-square goodness of fit below the 0.9999 quantile.  Returns
    (statistic, dof, critical value)."""
    counts = np.asarray(counts, np.float64).ravel()
    w = np.asarray(weights, np.float64).ravel()
    pos = w > 0
    assert (counts[~pos] == 0).all(), (what, counts, w)
    p = w[pos] / w[pos].sum()
    e = counts.sum() * p
    stat = float(((counts[pos] - e) ** 2 / e).sum())
    dof = int(pos.sum()) - 1
    if dof == 0:
        return stat, dof, 0.0
    crit = chi2_critical(dof)
    print(f"chi2 {what}: n={int(counts.sum())} dof={dof} stat={stat:.3f} crit={crit:.3f}")
    assert stat < crit, (what, stat, dof, crit, counts[pos], e)
    return stat, dof, crit


def test_chi2_table():
    for dof, crit in CHI2_CRIT.items():
        assert abs(_chi2_cdf(crit, dof) - CHI2_Q) < 1e-7, dof
    # the usual textbook 0.999 values, as a check on _chi2_cdf itself
    for dof, crit in {1: 10.828, 2: 13.816, 3: 16.266, 6: 22.458}.items():
        assert abs(_chi2_cdf(crit, dof) - 0.999) < 2e-6, dof


# ---- frequencies -----------------------------------------------------------------

SEEDS = (0, 1, 2, 3, 4)


def draw_frequencies(nd, plane, kernel, stride, padding, dtype, planes=4000, seeds=SEEDS,
                     channels_last=False, what=""):
    """Replicate one spatial plane over `planes` channels (every output is its
    own draw, the counter differs), draw with each seed, and check every
    window position's index counts against its taps' activations.  Returns
    the drawn values of the last seed's outputs for each window, and the
    reference windows."""
    plane = np.asarray(plane, dtype)
    x = np.ascontiguousarray(np.broadcast_to(plane, (1, planes) + plane.shape))
    wins = ref.stochastic_windows(x[:, :1], nd, kernel, stride, padding)
    counts = np.zeros((len(wins), plane.size), np.int64)
    values = [[] for _ in wins]
    for seed in seeds:
        y, i = fwd(nd)(to_layout(x, channels_last), kernel, stride, padding, seed=seed,
                       return_indices=True, channels_last=channels_last)
        yc = ref._to_cf(y, nd, channels_last)[0].reshape(planes, len(wins))
        ic = ref._to_cf(i, nd, channels_last)[0].reshape(planes, len(wins))
        assert ((ic >= 0) & (ic < plane.size)).all()
        np.testing.assert_array_equal(yc, plane.ravel()[ic])
        for o in range(len(wins)):
            counts[o] += np.bincount(ic[:, o], minlength=plane.size)
            values[o].append(yc[:, o])
    for o, w in enumerate(wins):
        weights = np.zeros(plane.size)
        for t, a in w:
            weights[t] = a
        assert_frequencies(counts[o], weights, f"{what} window {o}")
    return [np.concatenate(v).astype(np.float64) for v in values], wins


W3 = np.array([[0, 1, 2], [3, 0, 5], [1, 1, 4]])


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
def test_frequencies_3x3(dtype, channels_last):
    values, wins = draw_frequencies(2, W3, 3, None, 0, dtype, channels_last=channels_last,
                                    what=f"3x3 {dtype_id(dtype)} cl={channels_last}")
    # the mean draw estimates E[y] = sum a^2 / sum a, the eval output
    a = W3.ravel().astype(np.float64)
    mu = (a * a).sum() / a.sum()
    sd = math.sqrt((a ** 3).sum() / a.sum() - mu * mu)
    v = values[0]
    assert abs(v.mean() - mu) < 5 * sd / math.sqrt(v.size), (v.mean(), mu)


def test_frequencies_tiled_in_one_plane():
    """The same 3x3 window tiled 10 x 10 in each of 40 planes: the draws of all
    4000 outputs per seed, spatial and channel positions together."""
    planes, T = 40, 10
    x = np.ascontiguousarray(np.broadcast_to(np.tile(W3, (T, T)), (1, planes, 3 * T, 3 * T)))
    x = x.astype(np.float32)
    counts = np.zeros(9, np.int64)
    for seed in (10, 11, 12, 13, 14):
        y, i = cpool.stochastic_pool2d(x, 3, seed=seed, return_indices=True)
        assert y.shape == (1, planes, T, T)
        h, w = np.divmod(i, 3 * T)
        oh = np.arange(T).reshape(1, 1, T, 1)
        ow = np.arange(T).reshape(1, 1, 1, T)
        lh, lw = h - 3 * oh, w - 3 * ow
        assert ((lh >= 0) & (lh < 3) & (lw >= 0) & (lw < 3)).all()
        local = (lh * 3 + lw).ravel()
        np.testing.assert_array_equal(y.ravel(), W3.ravel()[local])
        counts += np.bincount(local, minlength=9)
    assert_frequencies(counts, W3, "3x3 tiled")


def test_frequencies_2x2():
    draw_frequencies(2, [[1, 2], [3, 4]], 2, None, 0, np.float64, what="2x2")


def test_frequencies_1d():
    draw_frequencies(1, [0.5, 0, 2.5, 7], 4, None, 0, np.float32, what="1d k=4")


def test_frequencies_3d():
    draw_frequencies(3, np.array([1, 0, 0, 3, 2, 0, 1, 1]).reshape(2, 2, 2), 2, None, 0,
                     np.float64, what="3d 2x2x2")


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
def test_frequencies_overlapping_windows(channels_last):
    """Three overlapping 1d windows (k=3, s=1) over [1, 2, 3, 0, 4], each with its
    own probabilities, and a 2d plane with padding (k=3, s=2, p=1) whose border
    windows hold 4 or 6 in-bounds taps."""
    draw_frequencies(1, [1, 2, 3, 0, 4], 3, 1, 0, np.float64, planes=3000,
                     channels_last=channels_last, what="1d overlapping")
    draw_frequencies(2, [[1, 0, 2, 1], [3, 1, 0, 2], [0, 4, 1, 1]], 3, 2, 1, np.float32,
                     planes=3000, channels_last=channels_last, what="2d padded")


def test_frequencies_padding_never_drawn():
    # L=2, k=3, s=3, p=1: one window, taps -1 (padding), 0, 1
    draw_frequencies(1, [3, 1], 3, 3, 1, np.float32, what="1d padding")


@pytest.mark.parametrize("plane,dtype", [
    ([1, 1000], np.float32),
    ([1e-30, 3e-30, 2e-30], np.float32),
    ([1e300, 3e300, 2e300], np.float64),
    ([0, 0, 0, 7], np.float64),
], ids=["skewed", "tiny", "huge", "one-nonzero"])
def test_frequencies_extreme_scales(plane, dtype):
    values, _ = draw_frequencies(1, plane, len(plane), None, 0, dtype, what=f"1d {plane}")
    assert np.isfinite(values[0]).all()


def _pairs_uniform(a, b, what):
    """(a, b) two 0/1 draw arrays of fair coins: the four joint outcomes are
    equally likely (independence and fairness together)."""
    counts = np.bincount(2 * a.ravel() + b.ravel(), minlength=4)
    assert_frequencies(counts, np.ones(4), what)


def test_draws_independent():
    """[1, 1] windows are fair coins; neighbours in space, channel, batch and
    consecutive seeds must be independent (a counter or key reused between
    them would show here)."""
    M = 20000
    f = cpool.stochastic_pool1d
    x = np.ones((1, 1, 2 * M), np.float64)
    _, i = f(x, 2, seed=3, return_indices=True)
    b = (i[0, 0] - 2 * np.arange(M)).astype(np.int64)
    assert set(np.unique(b)) <= {0, 1}
    assert_frequencies(np.bincount(b, minlength=2), [1, 1], "coin")
    _pairs_uniform(b[0::2], b[1::2], "spatial neighbours")
    _, i2 = f(x, 2, seed=4, return_indices=True)
    _pairs_uniform(b, (i2[0, 0] - 2 * np.arange(M)), "seeds 3 and 4")
    xc = np.ones((2, M // 2, 2), np.float32)
    _, ic = f(xc, 2, seed=5, return_indices=True)
    _pairs_uniform(ic[0, 0::2, 0], ic[0, 1::2, 0], "channel neighbours")
    _pairs_uniform(ic[0, :, 0], ic[1, :, 0], "batch neighbours")


# ---- every draw is valid ----------------------------------------------------------

@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_draws_are_valid(nd, dtype, channels_last, rng):
    f = fwd(nd)
    avg = getattr(cpool, f"avg_pool{nd}d")
    for j, (k, s, p) in enumerate(stoch_configs(nd, count=10)):
        x = to_layout(relu_input(SHAPES[nd], dtype, rng, smooth=j % 2 == 1), channels_last)
        for xi in (x, x[0]):  # batched and batch-less
            y, i = f(xi, k, s, p, seed=100 + j, return_indices=True,
                     channels_last=channels_last)
            assert y.shape == avg(xi, k, s, p, channels_last=channels_last).shape
            check_draws(xi, y, i, nd, k, s, p, channels_last)
            # no-index path and explicit training=True: the same draws
            np.testing.assert_array_equal(
                f(xi, k, s, p, seed=100 + j, channels_last=channels_last), y)
            np.testing.assert_array_equal(
                f(xi, k, s, p, True, 100 + j, channels_last=channels_last), y)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_draws_valid_sparse_and_non_contiguous(nd, rng):
    """Mostly-zero inputs (many all-zero windows) and a non-contiguous view."""
    f = fwd(nd)
    shape = SHAPES[nd]
    for j, (k, s, p) in enumerate(stoch_configs(nd, count=6, seed=1)):
        x = rng.random(shape) * (rng.random(shape) < 0.1)
        y, i = f(x, k, s, p, seed=j, return_indices=True)
        check_draws(x, y, i, nd, k, s, p, False)
        big = np.zeros(shape[:2] + tuple(2 * v for v in shape[2:]), np.float32)
        view = big[(slice(None), slice(None)) + (slice(None, None, -2),) * nd]
        view[...] = relu_input(shape, np.float32, rng)
        y, i = f(view, k, s, p, seed=j, return_indices=True)
        check_draws(view, y, i, nd, k, s, p, False)
        np.testing.assert_array_equal(
            i, f(np.ascontiguousarray(view), k, s, p, seed=j, return_indices=True)[1])


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
def test_all_zero_windows_give_zero_at_first_tap(channels_last):
    x = np.zeros((1, 1, 5), np.float32)
    y, i = cpool.stochastic_pool1d(to_layout(x, channels_last), 3, 1, 1, seed=0,
                                   return_indices=True, channels_last=channels_last)
    np.testing.assert_array_equal(y.ravel(), np.zeros(5))
    np.testing.assert_array_equal(i.ravel(), [0, 0, 1, 2, 3])  # padding is never a tap
    x2 = np.zeros((2, 3, 4, 5), np.float64)
    x2[1, 2, 3, 4] = 2.0  # one nonzero: its windows always draw it
    y, i = cpool.stochastic_pool2d(to_layout(x2, channels_last), 3, 2, 1, seed=7,
                                   return_indices=True, channels_last=channels_last)
    if channels_last:
        y, i = np.moveaxis(y, -1, 1), np.moveaxis(i, -1, 1)
    first = np.array([[0, 1, 3], [5, 6, 8]])  # row-major first in-bounds tap
    for n in range(2):
        for c in range(3):
            if (n, c) == (1, 2):
                np.testing.assert_array_equal(y[n, c], [[0, 0, 0], [0, 0, 2]])
                np.testing.assert_array_equal(i[n, c], [[0, 1, 3], [5, 6, 19]])
            else:
                np.testing.assert_array_equal(y[n, c], np.zeros((2, 3)))
                np.testing.assert_array_equal(i[n, c], first)


def test_negative_zero_is_an_activation_of_zero():
    x = np.array([[[-0.0, 0.0, -0.0, 3.0]]], np.float32)
    y, i = cpool.stochastic_pool1d(x, 2, seed=0, return_indices=True)
    np.testing.assert_array_equal(y, [[[0, 3]]])
    np.testing.assert_array_equal(i, [[[0, 3]]])
    np.testing.assert_array_equal(cpool.stochastic_pool1d(x, 2, training=False), [[[0, 3]]])


# ---- seeds, threads, layouts, batch ---------------------------------------------

def _big(nd, rng, dtype=np.float32):
    shape = {1: (2, 6, 4000), 2: (2, 6, 67, 71), 3: (1, 4, 12, 40, 41)}[nd]
    return relu_input(shape, dtype, rng, smooth=True)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_seed_reproducible(nd, rng):
    f = fwd(nd)
    x = _big(nd, rng)
    a = f(x, 3, 2, 1, seed=123, return_indices=True)
    b = f(x, 3, 2, 1, seed=123, return_indices=True)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(f(x, 3, 2, 1, seed=123), a[0])
    c = f(x, 3, 2, 1, seed=np.int64(123), return_indices=True)  # a NumPy integer is an int
    np.testing.assert_array_equal(c[1], a[1])
    # the input is never modified
    x0 = x.copy()
    f(x, 3, 2, 1, seed=5)
    np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_different_seeds_differ(nd, rng):
    f = fwd(nd)
    x = _big(nd, rng)
    # the whole 64-bit key matters: 0 and 2**32 (or 2**63) are different keys
    seeds = [0, 1, 2, 12345, 2 ** 32, 2 ** 32 + 1, 2 ** 63, 2 ** 64 - 1]
    outs = []
    for s in seeds:
        y, i = f(x, 3, 2, 1, seed=s, return_indices=True)
        outs.append(i.tobytes())
        if s == 2 ** 64 - 1:
            xs = x[:, :, :40] if nd == 1 else x[:, :, :9, :10] if nd == 2 \
                else x[:, :, :4, :5, :5]
            ys, is_ = f(xs, 3, 2, 1, seed=s, return_indices=True)
            check_draws(xs, ys, is_, nd, 3, 2, 1, False)
    assert len(set(outs)) == len(seeds)


def test_seed_none_is_fresh_entropy(rng):
    x = _big(2, rng)
    a = cpool.stochastic_pool2d(x, 2, return_indices=True)
    b = cpool.stochastic_pool2d(x, 2, seed=None, return_indices=True)
    assert not np.array_equal(a[1], b[1])
    xs = x[:, :, :9, :10]
    ys, is_ = cpool.stochastic_pool2d(xs, 3, 2, 1, return_indices=True)
    check_draws(xs, ys, is_, 2, 3, 2, 1, False)


def test_seed_generator():
    rng = np.random.default_rng(0)
    x = _big(2, rng)
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    a = cpool.stochastic_pool2d(x, 3, 2, 1, seed=g1, return_indices=True)
    b = cpool.stochastic_pool2d(x, 3, 2, 1, seed=g2, return_indices=True)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    # the draw advanced both generators alike, so the next calls agree too ...
    assert g1.bit_generator.state == g2.bit_generator.state
    assert g1.bit_generator.state != np.random.default_rng(5).bit_generator.state
    c = cpool.stochastic_pool2d(x, 3, 2, 1, seed=g1, return_indices=True)
    d = cpool.stochastic_pool2d(x, 3, 2, 1, seed=g2, return_indices=True)
    np.testing.assert_array_equal(c[1], d[1])
    # ... and differ from the first ones
    assert not np.array_equal(a[1], c[1])
    xs = x[:, :, :9, :10]
    ys, is_ = cpool.stochastic_pool2d(xs, 3, 2, 1, seed=np.random.default_rng(1),
                                      return_indices=True)
    check_draws(xs, ys, is_, 2, 3, 2, 1, False)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_thread_count_invariance(nd, rng):
    f = fwd(nd)
    x = _big(nd, rng)
    xl = to_layout(x, True)
    k, s, p = 3, 2, 1

    def run():
        y, i = f(x, k, s, p, seed=99, return_indices=True)
        yl, il = f(xl, k, s, p, seed=99, return_indices=True, channels_last=True)
        g = np.linspace(0, 1, y.size).reshape(y.shape).astype(x.dtype)
        return [y, i, yl, il, f(x, 2, seed=7), f(x, k, s, p, training=False),
                f(xl, k, s, p, training=False, channels_last=True),
                bwd(nd)(g, i, x.shape), bwd(nd)(to_layout(g, True), il, xl.shape,
                                                channels_last=True)]

    one = same_at_every_thread_count(run)
    # and the layouts agree at any thread count
    np.testing.assert_array_equal(np.moveaxis(one[2], -1, 1), one[0])
    np.testing.assert_array_equal(np.moveaxis(one[3], -1, 1), one[1])


@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_layouts_agree(nd, dtype, rng):
    f = fwd(nd)
    for j, (k, s, p) in enumerate(stoch_configs(nd, count=8, seed=2)):
        x = relu_input(SHAPES[nd], dtype, rng, smooth=True)
        xl = to_layout(x, True)
        y, i = f(x, k, s, p, seed=j, return_indices=True)
        yl, il = f(xl, k, s, p, seed=j, return_indices=True, channels_last=True)
        np.testing.assert_array_equal(np.moveaxis(yl, -1, 1), y)
        np.testing.assert_array_equal(np.moveaxis(il, -1, 1), i)
        np.testing.assert_array_equal(
            np.moveaxis(f(xl, k, s, p, training=False, channels_last=True), -1, 1),
            f(x, k, s, p, training=False))


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_batchless_equals_batched_of_one(nd, channels_last, rng):
    f = fwd(nd)
    for j, (k, s, p) in enumerate(stoch_configs(nd, count=5, seed=3)):
        x = to_layout(relu_input(SHAPES[nd], np.float64, rng, smooth=True), channels_last)[0]
        y, i = f(x, k, s, p, seed=j, return_indices=True, channels_last=channels_last)
        yb, ib = f(x[None], k, s, p, seed=j, return_indices=True, channels_last=channels_last)
        assert yb.shape == (1,) + y.shape
        np.testing.assert_array_equal(y, yb[0])
        np.testing.assert_array_equal(i, ib[0])
        np.testing.assert_array_equal(
            f(x, k, s, p, training=False, channels_last=channels_last),
            f(x[None], k, s, p, training=False, channels_last=channels_last)[0])


# ---- eval pass -------------------------------------------------------------------

RTOL = {np.float32: 1e-6, np.float64: 1e-12}


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_eval_matches_reference(nd, dtype, channels_last, rng):
    f = fwd(nd)
    for j, (k, s, p) in enumerate(stoch_configs(nd, count=10, seed=4)):
        x = to_layout(relu_input(SHAPES[nd], dtype, rng, smooth=j % 2 == 0), channels_last)
        for xi in (x, x[0]):
            y = f(xi, k, s, p, training=False, channels_last=channels_last)
            r = ref.stochastic_pool_eval(xi, nd, k, s, p, channels_last=channels_last)
            assert y.dtype == xi.dtype and y.shape == r.shape
            np.testing.assert_allclose(y, r, rtol=RTOL[dtype], atol=0)
            # the seed plays no part
            np.testing.assert_array_equal(
                f(xi, k, s, p, training=False, seed=j, channels_last=channels_last), y)


def test_eval_special_windows():
    # all-zero window -> exactly 0; one nonzero -> itself; [1, 3] -> 10 / 4
    x = np.array([[[0, 0, 0, 5, 1, 3]]], np.float64)
    np.testing.assert_array_equal(cpool.stochastic_pool1d(x, 2, training=False),
                                  [[[0, 5, 2.5]]])
    # squares past float32's range: the sums are float64
    x = np.array([[[3e20, 1e20]]], np.float32)
    y = cpool.stochastic_pool1d(x, 2, training=False)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [[[2.5e20]]], rtol=1e-6)
    # padding is not part of the window: [., 4, 4] and [4, 4, .] give 4
    x = np.array([[[4, 4]]], np.float32)
    np.testing.assert_array_equal(cpool.stochastic_pool1d(x, 3, 1, 1, training=False),
                                  [[[4, 4]]])


# ---- backward --------------------------------------------------------------------

@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_backward_matches_reference(nd, dtype, channels_last, rng):
    f, fb = fwd(nd), bwd(nd)
    mb = getattr(cpool, f"max_pool{nd}d_backward")
    for j, (k, s, p) in enumerate(stoch_configs(nd, count=8, seed=5)):
        x = to_layout(relu_input(SHAPES[nd], dtype, rng, smooth=True), channels_last)
        for xi in (x, x[0]):
            y, i = f(xi, k, s, p, seed=j, return_indices=True, channels_last=channels_last)
            gy = rng.standard_normal(y.shape).astype(dtype)
            gx = fb(gy, i, xi.shape, channels_last=channels_last)
            assert gx.dtype == dtype and gx.shape == xi.shape
            np.testing.assert_array_equal(
                gx, ref.stochastic_pool_backward(gy, i, xi.shape, nd,
                                                 channels_last=channels_last))
            np.testing.assert_array_equal(
                gx, mb(gy, i, xi.shape, channels_last=channels_last))


def test_backward_overlapping_windows_accumulate():
    x = np.zeros((1, 1, 3, 3), np.float64)
    x[0, 0, 1, 1] = 1.0  # the only nonzero: every 2x2 window draws it
    y, i = cpool.stochastic_pool2d(x, 2, 1, seed=0, return_indices=True)
    np.testing.assert_array_equal(i, np.full((1, 1, 2, 2), 4))
    gx = cpool.stochastic_pool2d_backward(np.ones_like(y), i, x.shape)
    assert gx[0, 0, 1, 1] == 4.0 and gx.sum() == 4.0
    # 1d, k=3, s=1, p=1 over [0, 2, 0, 0]: windows 0..2 all hold position 1
    x1 = np.array([[[0.0, 2.0, 0.0, 0.0]]], np.float32)
    y1, i1 = cpool.stochastic_pool1d(x1, 3, 1, 1, seed=0, return_indices=True)
    np.testing.assert_array_equal(i1, [[[1, 1, 1, 2]]])
    g1 = cpool.stochastic_pool1d_backward(np.array([[[1, 2, 4, 8]]], np.float32), i1, x1.shape)
    np.testing.assert_array_equal(g1, [[[0, 7, 8, 0]]])


# ---- out= ------------------------------------------------------------------------

@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_out(nd, channels_last, rng):
    f = fwd(nd)
    x = to_layout(relu_input(SHAPES[nd], np.float32, rng, smooth=True), channels_last)
    kw = dict(channels_last=channels_last)
    want = f(x, 3, 2, 1, seed=8, **kw)
    out = np.full(want.shape, -7, np.float32)
    r = f(x, 3, 2, 1, seed=8, out=out, **kw)
    assert r is out
    np.testing.assert_array_equal(out, want)
    out2 = np.full(want.shape, -7, np.float32)
    y, i = f(x, 3, 2, 1, seed=8, return_indices=True, out=out2, **kw)
    assert y is out2
    np.testing.assert_array_equal(out2, want)
    np.testing.assert_array_equal(i, f(x, 3, 2, 1, seed=8, return_indices=True, **kw)[1])
    want_e = f(x, 3, 2, 1, training=False, **kw)
    out3 = np.full(want_e.shape, -7, np.float32)
    assert f(x, 3, 2, 1, training=False, out=out3, **kw) is out3
    np.testing.assert_array_equal(out3, want_e)


# ---- bad activations ----------------------------------------------------------------

def _bad_x(shape, rng, dtype=np.float32):
    return relu_input(shape, dtype, rng, smooth=True)


def _bad_cases(rng):
    """(name, nd, x, call kwargs, position words, kind words)."""
    cases = []
    x = _bad_x((2, 3, 5, 6), rng)
    x[1, 2, 3, 4] = -1.0
    x[1, 2, 4, 0] = np.nan  # later in C order
    cases.append(("negative", 2, x, {}, "(1, 2, 3, 4)", ("negative",)))
    x = _bad_x((2, 3, 5, 6), rng)
    x[0, 1, 2, 3] = np.nan
    x[1, 0, 0, 0] = -2.0
    cases.append(("nan", 2, x, {}, "(0, 1, 2, 3)", ("NaN", "nan")))
    x = _bad_x((2, 3, 5, 6), rng)
    x[1, 0, 0, 1] = np.inf
    cases.append(("inf", 2, x, {}, "(1, 0, 0, 1)", ("inf",)))
    x = _bad_x((2, 3, 5, 6), rng, np.float64)
    x[0, 0, 4, 5] = -np.inf
    cases.append(("-inf", 2, x, {}, "(0, 0, 4, 5)", ("negative", "inf")))
    x = _bad_x((2, 3, 5, 6), rng)
    x[0, 2, 1, 1] = -np.finfo(np.float32).smallest_subnormal
    cases.append(("subnormal", 2, x, {}, "(0, 2, 1, 1)", ("negative",)))
    # channels_last: the position in the array as passed; (1, 4, 5, 0) comes
    # first in channels-first order but second in the array's own C order
    xl = _bad_x((2, 5, 6, 3), rng)
    xl[1, 4, 0, 2] = -1.0
    xl[1, 4, 5, 0] = -1.0
    cases.append(("channels_last", 2, xl, {"channels_last": True}, "(1, 4, 0, 2)",
                  ("negative",)))
    # batch-less, 1d, 3d
    x = _bad_x((3, 5, 6), rng)
    x[2, 0, 3] = np.nan
    cases.append(("batchless", 2, x, {}, "(2, 0, 3)", ("NaN", "nan")))
    x = _bad_x((2, 3, 11), rng, np.float64)
    x[1, 1, 7] = -0.5
    cases.append(("1d", 1, x, {}, "(1, 1, 7)", ("negative",)))
    x = _bad_x((2, 2, 5, 6, 5), rng)
    x[1, 0, 4, 5, 2] = np.inf
    cases.append(("3d", 3, x, {}, "(1, 0, 4, 5, 2)", ("inf",)))
    # an element no window covers (L=11, k=2 leaves position 10 out) still counts
    x = _bad_x((2, 3, 11), rng)
    x[1, 2, 10] = -1.0
    cases.append(("uncovered", 1, x, {}, "(1, 2, 10)", ("negative",)))
    # a non-contiguous view: positions in the view's own indices
    base = _bad_x((2, 3, 10, 12), rng)
    v = base[:, ::-1, ::2, 1::2]
    base[1, 2, 4, 3] = -3.0  # view (1, 0, 2, 1)
    base[1, 0, 2, 1] = -3.0  # view (1, 2, 1, 0): later in the view's C order
    cases.append(("view", 2, v, {}, "(1, 0, 2, 1)", ("negative",)))
    return cases


_CASE_NAMES = ["negative", "nan", "inf", "-inf", "subnormal", "channels_last", "batchless",
               "1d", "3d", "uncovered", "view"]


@pytest.mark.parametrize("use_out", [True, False], ids=["out", "fresh"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("case", _CASE_NAMES)
def test_bad_activation_named(case, training, use_out):
    # into out=, x is checked before anything is written; a fresh result is
    # checked by the kernel as it reads x (every element, covered or not)
    rng = np.random.default_rng(77)
    name, nd, x, kw, pos, kinds = next(c for c in _bad_cases(rng) if c[0] == case)
    f = fwd(nd)
    good = np.abs(np.nan_to_num(x, nan=1.0, posinf=1.0, neginf=1.0))
    out = np.full(f(good, 2, training=training, seed=0, **kw).shape, 7, x.dtype)
    if use_out:
        call = (lambda: f(x, 2, training=training, seed=0, out=out, **kw))
    else:
        call = (lambda: f(x, 2, training=training, seed=0, **kw))
    assert ref.first_bad_activation(x) is not None
    assert str(ref.first_bad_activation(x)) == pos
    check_bad_call(call, ValueError, pos, (x, out))
    with pytest.raises(ValueError) as info:
        call()
    assert any(w in str(info.value) for w in kinds), str(info.value)
    assert (out == 7).all()


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_every_element_is_checked(nd, channels_last):
    # one bad element at a time, everywhere: in windows, in the gaps that
    # strides beyond the kernel leave, past the last window, beside padding;
    # the kernel's own check (a fresh result) must find each one
    rng = np.random.default_rng(5)
    shape = SHAPES[nd]
    x = to_layout(_bad_x(shape, rng), channels_last)
    f = fwd(nd)
    for k, s, p in [(2, 3, 0), (3, 2, 1), (2, 2, 0), (1, 2, 0)]:
        for flat in range(x.size):
            xb = x.copy()
            xb.reshape(-1)[flat] = -1.0
            pos = str(tuple(int(i) for i in np.unravel_index(flat, x.shape)))
            with pytest.raises(ValueError, match=re.escape(pos)):
                f(xb, k, s, p, seed=1, channels_last=channels_last)
        f(x, k, s, p, seed=1, channels_last=channels_last)  # and no false alarm


def test_bad_activation_first_position_with_threads():
    """Several bad values spread over a large array: the first in C order is
    named at every thread count."""
    rng = np.random.default_rng(3)
    x = _bad_x((2, 6, 67, 71), rng)
    x[1, 5, 66, 70] = np.nan
    x[1, 0, 0, 0] = np.inf
    x[0, 4, 33, 2] = -1.0
    x[0, 5, 60, 60] = np.nan
    for n in (1, 2, 3):
        with cpool.num_threads(n):
            for training in (True, False):
                with pytest.raises(ValueError, match=r"\(0, 4, 33, 2\)") as info:
                    cpool.stochastic_pool2d(x, 3, 2, 1, training=training, seed=1)
                assert "negative" in str(info.value)


# ---- the error table ----------------------------------------------------------------

X2 = np.zeros((1, 2, 6, 6), np.float32)
X2[0, :, ::2, 1::2] = 1.5
G2 = np.zeros((1, 2, 3, 3), np.float32)
I2 = np.zeros((1, 2, 3, 3), np.int64)


def sp2(*a, **k):
    return cpool.stochastic_pool2d(*a, **k)


def sb2(*a, **k):
    return cpool.stochastic_pool2d_backward(*a, **k)


BAD_CALLS = [
    # dtypes and arrays
    (lambda: sp2(X2.astype(np.float16), 2), TypeError, "float16"),
    (lambda: sp2(X2.astype(np.int32), 2), TypeError, "int32"),
    (lambda: sp2(X2.astype(np.uint8), 2), TypeError, "uint8"),
    (lambda: sp2(X2.astype(bool), 2), TypeError, "bool"),
    (lambda: sp2(X2.astype(np.complex64), 2), TypeError, "complex64"),
    (lambda: sp2(X2.astype(np.int64), 2, training=False), TypeError, "int64"),
    (lambda: sp2(X2.tolist(), 2), TypeError, "x"),
    # ranks and shapes
    (lambda: sp2(X2[0, 0], 2), ValueError, "dimensions"),
    (lambda: sp2(X2[None], 2), ValueError, "dimensions"),
    (lambda: cpool.stochastic_pool1d(X2, 2), ValueError, "dimensions"),
    (lambda: cpool.stochastic_pool3d(X2[None, None], 2), ValueError, "dimensions"),
    (lambda: cpool.stochastic_pool3d(X2[0, 0], 2), ValueError, "dimensions"),
    (lambda: sp2(np.zeros((1, 0, 4, 4), np.float32), 2), ValueError, "shape"),
    # window arguments
    (lambda: sp2(X2, 0), ValueError, "kernel_size"),
    (lambda: sp2(X2, -1), ValueError, "kernel_size"),
    (lambda: sp2(X2, (2, 2, 2)), ValueError, "kernel_size"),
    (lambda: sp2(X2, 2.0), TypeError, "kernel_size"),
    (lambda: sp2(X2, 7), ValueError, ("too small", "kernel_size")),
    (lambda: sp2(X2, 2, 0), ValueError, "stride"),
    (lambda: sp2(X2, 2, (1, -1)), ValueError, "stride"),
    (lambda: sp2(X2, 2, 1, -1), ValueError, "padding"),
    (lambda: sp2(X2, 3, 1, 2), ValueError, "padding"),
    (lambda: sp2(X2, 2, 1, 2), ValueError, "padding"),
    (lambda: sp2(X2, (3, 2), 1, (1, 2)), ValueError, "padding"),
    (lambda: sp2(X2, 2, training=False, padding=2), ValueError, "padding"),
    (lambda: sp2(X2, 2, ceil_mode=True), TypeError, "ceil_mode"),
    (lambda: sp2(X2, 2, dilation=2), TypeError, "dilation"),
    # flags
    (lambda: sp2(X2, 2, training=1), TypeError, "training"),
    (lambda: sp2(X2, 2, training="yes"), TypeError, "training"),
    (lambda: sp2(X2, 2, training=None), TypeError, "training"),
    (lambda: sp2(X2, 2, return_indices="yes"), TypeError, "return_indices"),
    (lambda: sp2(X2, 2, training=False, return_indices=True), ValueError, "return_indices"),
    (lambda: sp2(X2, 2, channels_last=None), TypeError, "channels_last"),
    # seeds
    (lambda: sp2(X2, 2, seed=-1), ValueError, "seed"),
    (lambda: sp2(X2, 2, seed=-2 ** 70), ValueError, "seed"),
    (lambda: sp2(X2, 2, seed=2 ** 64), ValueError, "seed"),
    (lambda: sp2(X2, 2, seed=2 ** 100), ValueError, "seed"),
    (lambda: sp2(X2, 2, seed=1.5), TypeError, "seed"),
    (lambda: sp2(X2, 2, seed=np.float64(3)), TypeError, "seed"),
    (lambda: sp2(X2, 2, seed="abc"), TypeError, "seed"),
    # out=
    (lambda: sp2(X2, 2, out=np.empty((1, 2, 3, 4), np.float32)), ValueError, "out"),
    (lambda: sp2(X2, 2, out=np.empty((1, 2, 3, 3), np.float64)), ValueError, "out"),
    (lambda: sp2(X2, 2, out=np.empty((1, 2, 3, 6), np.float32)[..., ::2]), ValueError, "out"),
    (lambda: sp2(X2, 2, training=False, out=np.empty((1, 2, 3, 4), np.float32)), ValueError,
     "out"),
    (lambda: sp2(X2, 2, out=[0]), TypeError, "out"),
    # backward
    (lambda: sb2(G2.astype(np.float16), I2, (1, 2, 6, 6)), TypeError, "grad_output"),
    (lambda: sb2(G2.astype(np.int32), I2, (1, 2, 6, 6)), TypeError, "grad_output"),
    (lambda: sb2(G2, I2.astype(np.int32), (1, 2, 6, 6)), TypeError, "indices"),
    (lambda: sb2(G2, I2 + 36, (1, 2, 6, 6)), ValueError, "indices"),
    (lambda: sb2(G2, I2 - 2, (1, 2, 6, 6)), ValueError, "indices"),
    (lambda: sb2(G2, I2 + 2 ** 62, (1, 2, 6, 6)), ValueError, "indices"),
    (lambda: sb2(np.moveaxis(G2, 1, -1), np.moveaxis(I2 + 36, 1, -1), (1, 6, 6, 2),
                 channels_last=True), ValueError, "indices"),
    (lambda: sb2(G2[..., :2], I2, (1, 2, 6, 6)), ValueError, ("grad_output", "indices")),
    (lambda: sb2(G2, I2[..., :2], (1, 2, 6, 6)), ValueError, ("grad_output", "indices")),
    (lambda: sb2(G2, I2, (1, 3, 6, 6)), ValueError, ("grad_output", "input_shape")),
    (lambda: sb2(G2, I2, (1, 2, 6)), ValueError, "input_shape"),
    (lambda: sb2(G2, I2, "shape"), TypeError, "input_shape"),
    (lambda: cpool.stochastic_pool1d_backward(G2, I2, (1, 2, 6, 6)), ValueError,
     ("dimensions", "grad_output", "input_shape")),
]


@pytest.mark.parametrize("call,exc,words", BAD_CALLS,
                         ids=[f"{j}-{w if isinstance(w, str) else w[0]}"
                              for j, (_, _, w) in enumerate(BAD_CALLS)])
def test_bad_call_raises(call, exc, words):
    check_bad_call(call, exc, words, (X2, G2, I2))


def test_largest_seed_accepted():
    y, i = cpool.stochastic_pool2d(X2, 2, seed=2 ** 64 - 1, return_indices=True)
    check_draws(X2, y, i, 2, 2, 2, 0, False)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("channels_last", [False, True])
def test_block_position_draws_what_the_whole_array_draws(nd, channels_last, rng):
    """A block of the input pooled with its position in the whole output
    (the private hook cpool.dask uses) draws exactly the whole call's
    samples for those outputs: the counters are the whole output's
    channels-first indices, in either layout."""
    S = {1: (23,), 2: (9, 14), 3: (6, 7, 8)}[nd]
    x = np.abs(rng.standard_normal((3, 4) + S)).astype(np.float32)
    pool = getattr(cpool, f"stochastic_pool{nd}d")
    y, idx = pool(x, 2, seed=11, return_indices=True)  # k2s2: blocks align
    O = y.shape[2:]
    lo = tuple(1 if o > 2 else 0 for o in O)     # a block of outputs away from 0
    hi = tuple(o - (1 if o > 3 else 0) for o in O)
    n0, c0 = 1, 1
    sub = x[n0:3, c0:3][(...,) + tuple(slice(2 * a, 2 * b) for a, b in zip(lo, hi))]
    want = y[n0:3, c0:3][(...,) + tuple(slice(a, b) for a, b in zip(lo, hi))]
    want_i = idx[n0:3, c0:3][(...,) + tuple(slice(a, b) for a, b in zip(lo, hi))]
    if channels_last:
        sub = np.ascontiguousarray(np.moveaxis(sub, 1, -1))
    got, got_i = cpool.stochastic._stochastic(
        nd, "stochastic_pool", sub, 2, None, 0, True, 11, True, channels_last, None,
        position=((n0, c0) + lo, y.shape))
    if channels_last:
        got, got_i = np.moveaxis(got, -1, 1), np.moveaxis(got_i, -1, 1)
    np.testing.assert_array_equal(got, want)
    # indices are the block's own; as positions in the whole plane they match
    local = np.unravel_index(got_i, sub.shape[2:] if not channels_last else sub.shape[1:-1])
    whole = np.ravel_multi_index(tuple(i + 2 * a for i, a in zip(local, lo)), S)
    np.testing.assert_array_equal(whole, want_i)
    # without the position the block draws its own, different samples
    other = cpool.stochastic._stochastic(nd, "stochastic_pool", sub, 2, None, 0, True, 11,
                                         False, channels_last, None)
    assert not np.array_equal(np.moveaxis(other, -1, 1) if channels_last else other, want)


# ---- exact draws against reference.stochastic_pool2d_train -------------------------

def test_reference_philox_known_answers():
    # Random123's known-answer vectors for Philox4x32-10
    cases = [((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
             ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2,
              (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
             ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
              (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]
    for ctr, key, want in cases:
        assert [int(w) for w in ref.philox4x32_10(ctr, key)] == list(want)


# Rows or channels of 8 and more outputs take the AVX2 draws (float32, where
# the CPU has AVX2), fewer the C ones; 260 channels are two parts of lanes.
DRAW_SHAPES = [(2, 70, 17, 15), (1, 12, 9, 45), (1, 260, 7, 7)]


@pytest.mark.parametrize("shape", DRAW_SHAPES, ids=["narrow", "wide", "deep"])
@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
def test_training_draws_equal_the_specification(dtype, channels_last, shape, rng):
    x = np.maximum(rng.standard_normal(shape), 0).astype(dtype)  # ReLU zeros
    x[0, 3] = 0  # whole planes of all-zero windows
    for (k, s), seed in zip([(3, 2), (2, 2), ((2, 3), (1, 2)), (4, 1)], [0, 7, 2**40 + 3, 99]):
        xl = to_layout(x, channels_last)
        y, i = fwd(2)(xl, k, s, seed=seed, return_indices=True, channels_last=channels_last)
        yr, ir = ref.stochastic_pool2d_train(xl, k, s, seed, channels_last=channels_last)
        np.testing.assert_array_equal(i, ir)
        np.testing.assert_array_equal(y, yr)


def _knife_edge_input(shape, taps, seed, rng):
    """(N, C, H, taps * OW) float32 whose k=(1, taps), s=(1, taps) windows
    put one running sum, after a random number of taps, within float32
    rounding of the threshold t = u * S: the taps after it share S - v with
    v = the running sum there, S = v / u, rounded to float32."""
    N, C, H, OW = shape
    u = ref.stochastic_uniforms(np.arange(N * C * H * OW), seed).reshape(shape)
    x = rng.uniform(0.5, 2, shape + (taps,))
    edge = rng.integers(0, taps - 1, shape)  # the running sum at the edge
    after = np.arange(taps) > edge[..., None]
    v = np.where(after, 0, x).sum(axis=-1)
    rest = np.where(u > 0, v * (1 - u) / np.maximum(u, 1e-300), 1.0)
    share = np.minimum(rest / (taps - 1 - edge), 1e30)
    x = np.where(after, share[..., None], x)
    return x.reshape(N, C, H, OW * taps).astype(np.float32), edge


@pytest.mark.parametrize("taps", [2, 4, 9])
@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
def test_float32_draws_on_the_knife_edge_equal_the_specification(channels_last, taps, rng):
    # The draw is specified in float64 sums; float32 sums decide it the same
    # except where a running sum lies within float32 rounding of t.  Here
    # every window is built so, and a float32-only count gets many wrong.
    seed, shape = 1234, (2, 64, 6, 40)
    x, edge = _knife_edge_input(shape, taps, seed, rng)
    u = ref.stochastic_uniforms(np.arange(np.prod(shape)), seed).reshape(shape)
    win = x.reshape(shape + (taps,))
    v32 = np.take_along_axis(np.cumsum(win, -1, dtype=np.float32), edge[..., None], -1)[..., 0]
    v64 = np.take_along_axis(np.cumsum(win, -1, dtype=np.float64), edge[..., None], -1)[..., 0]
    s32, s64 = win.sum(-1, dtype=np.float32), win.sum(-1, dtype=np.float64)
    wrong = (v32 <= (u * s32).astype(np.float32)) != (v64 <= u * s64)
    assert wrong.sum() > 100  # the trap bites a float32-only implementation
    assert (edge > 0).mean() > 0.4 or taps == 2  # not only the first running sum
    xl = to_layout(x, channels_last)
    y, i = fwd(2)(xl, (1, taps), (1, taps), seed=seed, return_indices=True,
                  channels_last=channels_last)
    yr, ir = ref.stochastic_pool2d_train(xl, (1, taps), (1, taps), seed,
                                         channels_last=channels_last)
    np.testing.assert_array_equal(i, ir)
    np.testing.assert_array_equal(y, yr)


@pytest.mark.parametrize("width", [9, 41])
@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
def test_float32_sums_past_float32_range_draw_exactly(channels_last, width, rng):
    # windows summing past float32's maximum (the sums are float64)
    x = rng.uniform(1e38, 3.4e38, (1, 16, 9, width)).astype(np.float32)
    x[0, :, ::3] = 0
    xl = to_layout(x, channels_last)
    y, i = fwd(2)(xl, 3, 2, seed=5, return_indices=True, channels_last=channels_last)
    yr, ir = ref.stochastic_pool2d_train(xl, 3, 2, 5, channels_last=channels_last)
    np.testing.assert_array_equal(i, ir)
    np.testing.assert_array_equal(y, yr)


def _subnormal_input(shape, dtype, rng):
    """Zeros (75 %) and one to three of dtype's smallest subnormal: window
    sums of a few units in the last place, where u * S can round up to S
    (float64) and float32's relative rounding bounds do not hold."""
    tiny = np.finfo(dtype).smallest_subnormal
    count = rng.integers(1, 4, shape) * (rng.random(shape) < 0.25)
    return count.astype(dtype) * tiny


@pytest.mark.parametrize("shape", [(2, 20, 13, 15), (1, 12, 9, 45)], ids=["narrow", "wide"])
@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
def test_subnormal_windows_draw_exactly(dtype, channels_last, shape, rng):
    # k=5, s=1 has 25 taps (the path without stored running sums)
    x = _subnormal_input(shape, dtype, rng)
    xl = to_layout(x, channels_last)
    for (k, s), seed in zip([(3, 2), (2, 2), (5, 1), ((1, 2), (1, 2))], [3, 4, 5, 6]):
        y, i = fwd(2)(xl, k, s, seed=seed, return_indices=True, channels_last=channels_last)
        yr, ir = ref.stochastic_pool2d_train(xl, k, s, seed, channels_last=channels_last)
        np.testing.assert_array_equal(i, ir)
        np.testing.assert_array_equal(y, yr)
        check_draws(xl, y, i, 2, k, s, 0, channels_last)


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_subnormal_windows_with_padding_draw_a_positive_tap(nd, dtype, channels_last, rng):
    # clipped border windows, and windows of one subnormal: drawn for sure
    shape = SHAPES[nd]
    x = to_layout(_subnormal_input(shape, dtype, rng), channels_last)
    for j, (k, s, p) in enumerate([(3, 2, 1), (5, 1, 2), (2, 1, 1)]):
        for seed in range(3):
            y, i = fwd(nd)(x, k, s, p, seed=10 * j + seed, return_indices=True,
                           channels_last=channels_last)
            check_draws(x, y, i, nd, k, s, p, channels_last)
