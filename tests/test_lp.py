"""lp_pool{1,2,3}d (power-average pooling) and its backward pass: against the
NumPy reference (reference_lp_adaptive.py), against PyTorch, finite
differences, layouts, errors and thread invariance."""
import math
import random

import numpy as np
import pytest

import cpool
import reference as ref
from conftest import (check_bad_call, FLOATS, SHAPES, make_input, to_layout,
                      same_at_every_thread_count)
from reference import out_size

INF = math.inf
P_ALL = [1, 2, 3, 1.5, 4.0, INF, -INF]
P_FINITE = [1, 2, 3, 1.5, 4.0]


# Looked up at call time, so the module collects before the functions exist.
def lp(nd):
    return getattr(cpool, f"lp_pool{nd}d")


def lp_b(nd):
    return getattr(cpool, f"lp_pool{nd}d_backward")


def lp_configs(nd, count=8, seed=0):
    """(kernel, stride, ceil_mode) valid for SHAPES[nd] (no padding, output >= 1):
    overlapping (stride < kernel), gapped (stride > kernel), anisotropic, and
    ceil-mode configurations with a partial last window."""
    S = SHAPES[nd][2:]
    fixed = [((2,) * nd, (2,) * nd, True), ((3,) * nd, (2,) * nd, False),
             ((2,) * nd, (1,) * nd, False), ((3,) * nd, (2,) * nd, True),
             ((2,) * nd, (2,) * nd, False), ((2,) * nd, (3,) * nd, True)]
    out = list(fixed)
    r = random.Random(seed * 10 + nd)
    while len(out) < count:
        k = tuple(r.randint(1, 4) for _ in range(nd))
        s = tuple(r.randint(1, 3) for _ in range(nd))
        c = (k, s, r.random() < 0.5)
        if min(out_size(a, ki, si, 0, 1, c[2]) for a, ki, si in zip(S, k, s)) >= 1 \
                and c not in out:
            out.append(c)
    return out[:count]


def _partial(nd, cfg):
    """Whether a ceil-mode config has a window clipped by the input's end."""
    k, s, ceil = cfg
    return any(e - b < ki for a, ki, si in zip(SHAPES[nd][2:], k, s)
               for b, e in ref.lp_windows(a, ki, si, ceil))


def test_configs_include_partial_windows():
    for nd in (1, 2, 3):
        assert _partial(nd, lp_configs(nd)[0])
        assert any(_partial(nd, c) for c in lp_configs(nd, count=3))


def lp_input(shape, dtype, p, rng):
    """Signed values where (sum x**p)**(1/p) is real for any sign (p = 1, 2, 4,
    +-inf); positive ones for odd and fractional p."""
    if p in (3, 1.5):
        return rng.uniform(0.1, 2.0, shape).astype(dtype)
    if abs(p) == INF:
        return make_input(shape, dtype, rng)  # integers: ties of |x| and zeros
    return rng.standard_normal(shape).astype(dtype)


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12,
                                                                         atol=1e-12)


def _pid(p):
    return {INF: "inf", -INF: "-inf"}.get(p, repr(p))


# ---- forward ------------------------------------------------------------------

@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("p", P_ALL, ids=_pid)
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_forward_matches_reference(nd, dtype, p, channels_last, rng):
    for cfg in lp_configs(nd, count=6, seed=1):
        x = to_layout(lp_input(SHAPES[nd], dtype, p, rng), channels_last)
        y = lp(nd)(x, p, *cfg, channels_last=channels_last)
        r = ref.lp_pool(x, nd, p, *cfg, channels_last=channels_last)
        assert y.dtype == dtype and y.shape == r.shape
        assert not np.isnan(r).any()
        if abs(p) == INF:
            np.testing.assert_array_equal(y, r)  # max/min of |x|: exact
        else:
            np.testing.assert_allclose(y, r, **_tol(dtype))


def test_ceil_mode_partial_window_is_not_inflated():
    x = np.arange(1, 6, dtype=np.float64).reshape(1, 1, 5)
    y = cpool.lp_pool1d(x, 2, 2, ceil_mode=True)
    # windows [1, 2], [3, 4], [5]: the last is the L2 norm of [5], i.e. 5.
    # PyTorch gives sqrt(25 * 2 / 1) = 7.071 (the partial window inflated to k=2).
    np.testing.assert_allclose(y[0, 0], [math.sqrt(5), 5.0, 5.0], rtol=1e-15)
    assert abs(y[0, 0, 2] - math.sqrt(50)) > 1
    np.testing.assert_allclose(cpool.lp_pool1d(x, 1, 2, ceil_mode=True)[0, 0], [3, 7, 5])
    # 2d, 3x3 input, k=2, ceil: windows of 4, 2, 2 and 1 elements
    x2 = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3)
    y2 = cpool.lp_pool2d(x2, 2, 2, ceil_mode=True)
    np.testing.assert_allclose(y2[0], np.sqrt([[1 + 4 + 16 + 25, 9 + 36], [49 + 64, 81]]),
                               rtol=1e-6)
    # the ceil rule itself: the last window must start inside the input (L=5,k=2,s=4)
    assert cpool.lp_pool1d(x, 2, 2, 4, ceil_mode=True).shape == (1, 1, 2)
    assert cpool.lp_pool1d(x, 2, 2, 5, ceil_mode=True).shape == (1, 1, 1)


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
def test_signed_sums_and_nan(dtype):
    x = np.array([[-1.0, -2.0, -1.0, 2.0]], dtype)  # (C=1, L=4), windows of 2
    y1 = cpool.lp_pool1d(x, 1, 2)
    np.testing.assert_array_equal(y1, [[-3.0, 1.0]])  # p=1: signed sums
    y2 = cpool.lp_pool1d(x, 2, 2)
    np.testing.assert_allclose(y2, np.sqrt([[5.0, 5.0]]), rtol=1e-6)
    assert not np.isnan(y1).any() and not np.isnan(y2).any()
    y3 = cpool.lp_pool1d(x, 3, 2)  # -9 ** (1/3) -> NaN; 7 ** (1/3)
    assert np.isnan(y3[0, 0]) and y3[0, 1] == pytest.approx(7 ** (1 / 3), rel=1e-6)
    xp = np.array([[1.0, 2.0, 3.0, 1.0]], dtype)
    xp_neg_sum = np.array([[1.0, -2.0, 3.0, 1.0]], dtype)
    assert not np.isnan(cpool.lp_pool1d(xp, 1.5, 2)).any()
    y15 = cpool.lp_pool1d(xp_neg_sum, 1.5, 2)  # (-2)**1.5 is NaN -> the window is NaN
    assert np.isnan(y15[0, 0]) and not np.isnan(y15[0, 1])
    for p in (1, 2, 3, 1.5, INF, -INF):
        np.testing.assert_allclose(cpool.lp_pool1d(xp, p, 2), ref.lp_pool(xp, 1, p, 2),
                                   rtol=1e-6)
        np.testing.assert_array_equal(np.isnan(cpool.lp_pool1d(xp_neg_sum, p, 2)),
                                      np.isnan(ref.lp_pool(xp_neg_sum, 1, p, 2)))


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
def test_infinite_norms(dtype):
    x = np.array([[[3.0, -5.0, 0.5, -0.25, 7.0, -7.0]]], dtype)
    np.testing.assert_array_equal(cpool.lp_pool1d(x, INF, 2), [[[5.0, 0.5, 7.0]]])
    np.testing.assert_array_equal(cpool.lp_pool1d(x, -INF, 2), [[[3.0, 0.25, 7.0]]])
    np.testing.assert_array_equal(cpool.lp_pool1d(x, float("inf"), 3, 1),
                                  [[[5.0, 5.0, 7.0, 7.0]]])
    # ceil mode: windows [0, 4) and the partial [4, 6)
    np.testing.assert_array_equal(cpool.lp_pool1d(x, -np.inf, 4, 4, ceil_mode=True),
                                  [[[0.25, 7.0]]])


def test_norm_type_forms_agree(rng):
    x = rng.uniform(0.1, 2, (2, 3, 7, 8))
    y = cpool.lp_pool2d(x, 2.0, 2)
    for p in (2, np.float64(2.0), np.float32(2.0), np.int64(2)):
        np.testing.assert_allclose(cpool.lp_pool2d(x, p, 2), y, rtol=1e-14)
    y3 = cpool.lp_pool2d(x, 3, (2, 3), (1, 2))
    np.testing.assert_allclose(y3, ref.lp_pool(x, 2, 3, (2, 3), (1, 2)), rtol=1e-12)


def test_negative_finite_norm_type(rng):
    """Only 0 and NaN are refused: p = -1 is the (sum 1/x)**-1 of the window."""
    x = rng.uniform(0.5, 2, (1, 2, 9))
    y = cpool.lp_pool1d(x, -1, 3)
    np.testing.assert_allclose(y, ref.lp_pool(x, 1, -1, 3), rtol=1e-12)
    np.testing.assert_allclose(y[0, 0, 0], 1 / (1 / x[0, 0, :3]).sum(), rtol=1e-12)


def test_stride_defaults_to_kernel(rng):
    x = rng.uniform(0.1, 2, (2, 2, 5, 6, 5))
    np.testing.assert_array_equal(cpool.lp_pool3d(x, 2, 2), cpool.lp_pool3d(x, 2, 2, 2))
    np.testing.assert_array_equal(cpool.lp_pool3d(x, 2, (2, 1, 3)),
                                  cpool.lp_pool3d(x, 2, (2, 1, 3), None))
    assert cpool.lp_pool3d(x, 2, (2, 1, 3)).shape == (2, 2, 2, 6, 1)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_layouts_agree_exactly(nd, rng):
    for p in P_ALL:
        x = lp_input(SHAPES[nd], np.float32, p, rng)
        for cfg in lp_configs(nd, count=5, seed=2):
            y = lp(nd)(x, p, *cfg)
            yl = lp(nd)(to_layout(x, True), p, *cfg, channels_last=True)
            np.testing.assert_array_equal(np.moveaxis(yl, -1, 1), y)
            g = rng.standard_normal(y.shape).astype(np.float32)
            gx = lp_b(nd)(g, x, y, p, *cfg)
            gxl = lp_b(nd)(to_layout(g, True), to_layout(x, True), yl, p, *cfg,
                           channels_last=True)
            np.testing.assert_array_equal(np.moveaxis(gxl, -1, 1), gx)


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_batchless_equals_batched(nd, channels_last, rng):
    kw = dict(channels_last=channels_last)
    for p in (2, 1.5, INF):
        x = to_layout(lp_input(SHAPES[nd], np.float64, p, rng), channels_last)
        for cfg in lp_configs(nd, count=4, seed=3):
            y = lp(nd)(x[0], p, *cfg, **kw)
            yb = lp(nd)(x, p, *cfg, **kw)
            assert y.shape == yb.shape[1:]
            np.testing.assert_array_equal(y, yb[0])
            g = rng.standard_normal(yb.shape)
            np.testing.assert_array_equal(lp_b(nd)(g[0], x[0], y, p, *cfg, **kw),
                                          lp_b(nd)(g, x, yb, p, *cfg, **kw)[0])


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_out_argument(nd, rng):
    x = rng.uniform(0.1, 2, SHAPES[nd])
    cfg = lp_configs(nd)[2]
    r = lp(nd)(x, 2, *cfg)
    buf = np.full(r.shape, np.nan)
    assert lp(nd)(x, 2, *cfg, out=buf) is buf
    np.testing.assert_array_equal(buf, r)


def test_strided_input_not_modified(rng):
    base = rng.uniform(0.1, 2, (2, 3, 14, 16)).astype(np.float32)
    keep = base.copy()
    x = base[:, :, ::2, 1::2]
    np.testing.assert_allclose(cpool.lp_pool2d(x, 2, 3, 2),
                               ref.lp_pool(np.ascontiguousarray(x), 2, 2, 3, 2), rtol=1e-5)
    np.testing.assert_array_equal(base, keep)


# ---- backward ----------------------------------------------------------------

@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("p", P_ALL, ids=_pid)
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_backward_matches_reference(nd, dtype, p, channels_last, rng):
    for cfg in lp_configs(nd, count=5, seed=4):
        if abs(p) == INF:
            x = lp_input(SHAPES[nd], dtype, p, rng)
        else:  # positive: x**(p-1) and y**(1-p) finite for every p here
            x = rng.uniform(0.1, 2.0, SHAPES[nd]).astype(dtype)
        x = to_layout(x, channels_last)
        y = lp(nd)(x, p, *cfg, channels_last=channels_last)
        g = rng.standard_normal(y.shape).astype(dtype)
        gx = lp_b(nd)(g, x, y, p, *cfg, channels_last=channels_last)
        r = ref.lp_pool_backward(g, x, y, nd, p, *cfg, channels_last=channels_last)
        assert gx.dtype == dtype and gx.shape == x.shape
        np.testing.assert_allclose(gx, r, **_tol(dtype))


@pytest.mark.parametrize("p", [1, 2, 4.0], ids=_pid)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_backward_signed_inputs(nd, p, rng):
    for cfg in lp_configs(nd, count=4, seed=5):
        x = rng.standard_normal(SHAPES[nd])
        y = lp(nd)(x, p, *cfg)
        g = rng.standard_normal(y.shape)
        np.testing.assert_allclose(lp_b(nd)(g, x, y, p, *cfg),
                                   ref.lp_pool_backward(g, x, y, nd, p, *cfg),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
def test_backward_zero_windows_give_zero_gradient(dtype):
    x = np.array([[[0.0, 0.0, 1.0, -1.0, 3.0, 4.0]]], dtype)
    g = np.array([[[1.0, 1.0, 1.0]]], dtype)
    for p in (2, 4.0, 1.5, 3):
        y = cpool.lp_pool1d(x, p, 2)
        gx = cpool.lp_pool1d_backward(g, x, y, p, 2)
        assert not np.isnan(gx[0, 0, :2]).any()
        np.testing.assert_array_equal(gx[0, 0, :2], [0, 0])
    y = cpool.lp_pool1d(x, 1, 2)  # p = 1: the window [1, -1] sums to 0
    assert y[0, 0, 1] == 0
    gx = cpool.lp_pool1d_backward(g, x, y, 1, 2)
    np.testing.assert_array_equal(gx[0, 0], [0, 0, 0, 0, 1, 1])
    y = cpool.lp_pool1d(x, 2, 2)
    gx = cpool.lp_pool1d_backward(g, x, y, 2, 2)
    np.testing.assert_allclose(gx[0, 0, 4:], [0.6, 0.8], rtol=1e-6)


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
def test_backward_infinite_norms_route_to_first_extreme(dtype):
    x = np.array([[[3.0, -3.0, -2.0, 2.0, 0.0, -1.0]]], dtype)
    g = np.array([[[10.0, 20.0, 30.0]]], dtype)
    y = cpool.lp_pool1d(x, INF, 2)
    np.testing.assert_array_equal(y, [[[3.0, 2.0, 1.0]]])
    np.testing.assert_array_equal(cpool.lp_pool1d_backward(g, x, y, INF, 2),
                                  [[[10.0, 0.0, -20.0, 0.0, 0.0, -30.0]]])
    y = cpool.lp_pool1d(x, -INF, 2)
    np.testing.assert_array_equal(y, [[[3.0, 2.0, 0.0]]])
    # the min of the last window is x = 0: sign(0) = 0, so no gradient at all
    np.testing.assert_array_equal(cpool.lp_pool1d_backward(g, x, y, -INF, 2),
                                  [[[10.0, 0.0, -20.0, 0.0, 0.0, 0.0]]])
    # overlapping windows accumulate on a shared extreme
    x = np.array([[[1.0, -5.0, 2.0, 0.5]]], dtype)
    y = cpool.lp_pool1d(x, INF, 2, 1)
    gx = cpool.lp_pool1d_backward(np.ones_like(y), x, y, INF, 2, 1)
    np.testing.assert_array_equal(gx, [[[0.0, -2.0, 1.0, 0.0]]])


@pytest.mark.parametrize("p", P_ALL, ids=_pid)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_backward_finite_differences(nd, p, rng):
    """d(sum(w * y))/dx against central differences, float64, distinct positive
    values (and random signs for +-inf, with distinct magnitudes)."""
    shape = SHAPES[nd]
    eps = 1e-6 if abs(p) != INF else 1e-4
    for cfg in lp_configs(nd, count=3, seed=6):
        x = (rng.permutation(np.prod(shape)).reshape(shape) + 5.0) * 0.1
        if abs(p) == INF:
            x *= rng.choice([-1.0, 1.0], size=shape)
        y = lp(nd)(x, p, *cfg)
        w = rng.standard_normal(y.shape)
        gx = lp_b(nd)(w, x, y, p, *cfg)
        flat = x.reshape(-1)
        for j in rng.choice(flat.size, 20, replace=False):
            old = flat[j]
            flat[j] = old + eps
            fp = (w * lp(nd)(x, p, *cfg)).sum()
            flat[j] = old - eps
            fm = (w * lp(nd)(x, p, *cfg)).sum()
            flat[j] = old
            num = (fp - fm) / (2 * eps)
            assert abs(num - gx.reshape(-1)[j]) < 1e-6 * max(1.0, abs(num))


# ---- PyTorch -------------------------------------------------------------------

def _torch_case(nd, r):
    while True:
        S = tuple(r.randint(1, 12 if nd < 3 else 7) for _ in range(nd))
        k = tuple(r.randint(1, 4) for _ in range(nd))
        s = tuple(r.randint(1, 4) for _ in range(nd))
        ceil = r.random() < 0.5
        if min(out_size(a, ki, si, 0, 1, ceil) for a, ki, si in zip(S, k, s)) < 1:
            continue
        if nd == 3 and any(a < ki for a, ki in zip(S, k)):
            continue  # PyTorch's avg_pool3d (inside lp_pool3d) refuses these
        if nd == 1:  # PyTorch's lp_pool1d wants int kernel_size
            return S, k[0], s[0], ceil
        return S, k, s, ceil


def _valid_counts(nd, S, k, s, ceil):
    k, s = ref._tup(k, nd), ref._tup(s, nd)
    cnt = np.ones([len(ref.lp_windows(a, ki, si, ceil)) for a, ki, si in zip(S, k, s)])
    for ax, (a, ki, si) in enumerate(zip(S, k, s)):
        w = np.array([e - b for b, e in ref.lp_windows(a, ki, si, ceil)], float)
        cnt = cnt * w.reshape([-1 if j == ax else 1 for j in range(nd)])
    return cnt, float(np.prod(k))


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_matches_torch(nd, dtype):
    torch = pytest.importorskip("torch")
    tf = getattr(torch.nn.functional, f"lp_pool{nd}d")
    r = random.Random(900 + nd)
    tol = _tol(dtype)
    btol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10,
                                                                         atol=1e-12)
    for trial in range(14):
        S, k, s, ceil = _torch_case(nd, r)
        for p in P_ALL:
            rng = np.random.default_rng(trial)
            shape = ((2,) if trial % 3 else ()) + (3,) + S
            if abs(p) == INF:
                x = rng.uniform(0.1, 2, shape) * rng.choice([-1, 1], shape)
            else:
                x = rng.uniform(0.1, 2, shape)
            x = x.astype(dtype)
            tx = torch.from_numpy(x.copy()).requires_grad_(True)
            ty = tf(tx, p, k, s, ceil_mode=ceil)
            y = lp(nd)(x, p, k, s, ceil)
            t = ty.detach().numpy()
            if abs(p) == INF:
                np.testing.assert_array_equal(y, t)
            elif ceil:
                # PyTorch inflates a partial window's sum by K / valid: undo it
                cnt, K = _valid_counts(nd, S, k, s, ceil)
                np.testing.assert_allclose(y, (t.astype(np.float64) ** p * cnt / K) ** (1 / p),
                                           **tol)
                continue  # PyTorch's gradient is that of the inflated value
            else:
                np.testing.assert_allclose(y, t, **tol)
            g = rng.standard_normal(y.shape).astype(dtype)
            ty.backward(torch.from_numpy(g))
            np.testing.assert_allclose(lp_b(nd)(g, x, y, p, k, s, ceil), tx.grad.numpy(),
                                       **btol)


def test_torch_ceil_mode_example_differs_as_documented():
    torch = pytest.importorskip("torch")
    x = np.arange(1, 6, dtype=np.float64).reshape(1, 1, 5)
    t = torch.nn.functional.lp_pool1d(torch.from_numpy(x), 2, 2, ceil_mode=True).numpy()
    y = cpool.lp_pool1d(x, 2, 2, ceil_mode=True)
    np.testing.assert_allclose(t[0, 0], [math.sqrt(5), 5, math.sqrt(50)], rtol=1e-12)
    np.testing.assert_allclose(y[0, 0, :2], t[0, 0, :2], rtol=1e-12)
    assert y[0, 0, 2] == pytest.approx(5.0, rel=1e-12)


def test_signed_values_match_torch():
    torch = pytest.importorskip("torch")
    x = np.array([[-1.0, -2.0, -1.0, 2.0, 0.5, -3.0]])
    for p in (1, 2, 3, 1.5, 4.0):
        t = torch.nn.functional.lp_pool1d(torch.from_numpy(x), p, 2).numpy()
        np.testing.assert_allclose(cpool.lp_pool1d(x, p, 2), t, rtol=1e-12)  # NaN == NaN


# ---- errors ------------------------------------------------------------------

X2 = np.ones((1, 2, 6, 6), np.float32)
Y2 = np.ones((1, 2, 3, 3), np.float32)
G2 = np.ones((1, 2, 3, 3), np.float32)

BAD_CALLS = [
    # (call, exception, words the message must contain)
    (lambda: cpool.lp_pool2d(X2, 0, 2), ValueError, "norm_type"),
    (lambda: cpool.lp_pool2d(X2, 0.0, 2), ValueError, "norm_type"),
    (lambda: cpool.lp_pool2d(X2, float("nan"), 2), ValueError, "norm_type"),
    (lambda: cpool.lp_pool2d(X2, np.nan, 2), ValueError, "norm_type"),
    (lambda: cpool.lp_pool2d(X2, True, 2), TypeError, "norm_type"),
    (lambda: cpool.lp_pool2d(X2, np.True_, 2), TypeError, "norm_type"),
    (lambda: cpool.lp_pool2d(X2, None, 2), TypeError, "norm_type"),
    (lambda: cpool.lp_pool2d(X2.astype(np.int32), 2, 2), TypeError, "int32"),
    (lambda: cpool.lp_pool2d(X2.astype(np.float16), 2, 2), TypeError, "float16"),
    (lambda: cpool.lp_pool2d(X2.astype(np.uint8), 2, 2), TypeError, "uint8"),
    (lambda: cpool.lp_pool2d([[1.0]], 2, 2), TypeError, "numpy.ndarray"),
    (lambda: cpool.lp_pool2d(X2[0, 0], 2, 2), ValueError, "dimensions"),
    (lambda: cpool.lp_pool1d(X2, 2, 2), ValueError, "dimensions"),
    (lambda: cpool.lp_pool2d(X2, 2, 0), ValueError, "kernel_size"),
    (lambda: cpool.lp_pool2d(X2, 2, (2, 2, 2)), ValueError, "kernel_size"),
    (lambda: cpool.lp_pool2d(X2, 2, 2.0), TypeError, "kernel_size"),
    (lambda: cpool.lp_pool2d(X2, 2, 7), ValueError, "kernel_size"),
    (lambda: cpool.lp_pool2d(X2, 2, 2, 0), ValueError, "stride"),
    (lambda: cpool.lp_pool2d(X2, 2, 2, ceil_mode=1), TypeError, "ceil_mode"),
    (lambda: cpool.lp_pool2d(X2, 2, 2, channels_last="yes"), TypeError, "channels_last"),
    (lambda: cpool.lp_pool2d(X2, 2, 2, out=np.empty((1, 2, 3, 4), np.float32)), ValueError,
     "out"),
    (lambda: cpool.lp_pool2d(X2, 2, 2, out=np.empty((1, 2, 3, 3), np.float64)), ValueError,
     "out"),
    # backward
    (lambda: cpool.lp_pool2d_backward(G2[..., :2], X2, Y2, 2, 2), ValueError, "grad_output"),
    (lambda: cpool.lp_pool2d_backward(G2[0], X2, Y2, 2, 2), ValueError, "grad_output"),
    (lambda: cpool.lp_pool2d_backward(G2.astype(np.float16), X2, Y2, 2, 2), TypeError,
     "grad_output"),
    (lambda: cpool.lp_pool2d_backward(G2, X2, Y2[..., :2], 2, 2), ValueError, "output"),
    (lambda: cpool.lp_pool2d_backward(G2, X2.astype(np.int32), Y2, 2, 2), TypeError,
     "int32"),
    (lambda: cpool.lp_pool2d_backward(G2, X2, Y2, 0, 2), ValueError, "norm_type"),
    (lambda: cpool.lp_pool2d_backward(G2, X2, Y2, True, 2), TypeError, "norm_type"),
    (lambda: cpool.lp_pool2d_backward(G2, X2, Y2, 2, 3), ValueError, "output"),
]


@pytest.mark.parametrize("call,exc,words", BAD_CALLS,
                         ids=[f"{j}-{w}" for j, (_, _, w) in enumerate(BAD_CALLS)])
def test_bad_call_raises(call, exc, words):
    check_bad_call(call, exc, words, (X2, Y2, G2))


# ---- threads -----------------------------------------------------------------

def _all_ops(x, xl):
    out = []
    for p, k, s, ceil in ((2, 3, 2, True), (3, 2, None, False), (1.5, (3, 2), 1, False),
                          (INF, 3, 2, True), (-INF, 2, 1, False)):
        y = cpool.lp_pool2d(x, p, k, s, ceil)
        yl = cpool.lp_pool2d(xl, p, k, s, ceil, channels_last=True)
        g = np.linspace(-1, 1, y.size, dtype=x.dtype).reshape(y.shape)
        gl = np.ascontiguousarray(np.moveaxis(g, 1, -1))
        out += [y, yl, cpool.lp_pool2d_backward(g, x, y, p, k, s, ceil),
                cpool.lp_pool2d_backward(gl, xl, yl, p, k, s, ceil, channels_last=True)]
    out += [cpool.lp_pool3d(x.reshape(2, 8, 16, 16, 16), 2, 3, 2),
            cpool.lp_pool1d(x.reshape(2, 8, -1), 2, 5, 3)]
    return out


def _ordered_power_sums(x, p, k, s):
    """Channels-first 2d windows without ceil mode: 0 + t(tap 0) + t(tap 1)
    + ... in row-major tap order, each step rounded in x's dtype, then the
    p-th root for p = 1 or 2 -- the scalar loop's operations one by one."""
    OH = (x.shape[2] - k[0]) // s[0] + 1
    OW = (x.shape[3] - k[1]) // s[1] + 1
    acc = np.zeros(x.shape[:2] + (OH, OW), x.dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        for a in range(k[0]):
            for b in range(k[1]):
                v = x[:, :, a:a + s[0] * (OH - 1) + 1:s[0], b:b + s[1] * (OW - 1) + 1:s[1]]
                acc = acc + (v * v if p == 2 else v)
        return np.sqrt(acc) if p == 2 else acc


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
def test_wide_rows_bit_exact(p, channels_last, rng):
    """Rows of 8 and more windows, float32, take the AVX2 sums with the root
    in the same pass (channels-first, where the CPU has AVX2): each square,
    sum and root is one correctly rounded float32 operation, so the results
    are the scalar order's bits -- zeros of either sign, squares that
    overflow, NaN -- at every thread count."""
    x = rng.standard_normal((2, 3, 9, 41)).astype(np.float32)
    x[0, 0, :2, :] = -0.0
    x[0, 1, 3, 5] = 3e19  # its square is inf
    x[1, 2, 4, 7] = np.nan
    bits = lambda a: np.ascontiguousarray(a).view(np.uint32)
    for k, s in (((2, 2), (2, 2)), ((3, 3), (2, 2)), ((2, 3), (1, 2)), ((3, 2), (3, 1)),
                 ((4, 4), (1, 1))):
        want = _ordered_power_sums(x, p, k, s)
        xl = to_layout(x, channels_last)
        got = same_at_every_thread_count(
            lambda: [lp(2)(xl, p, k, s, channels_last=channels_last)])[0]
        if channels_last:
            got = np.moveaxis(got, -1, 1)
        np.testing.assert_array_equal(bits(got), bits(want))


def test_results_identical_at_every_thread_count(rng):
    x = rng.uniform(0.1, 2, (2, 8, 64, 64)).astype(np.float32)
    xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    same_at_every_thread_count(lambda: _all_ops(x, xl))
