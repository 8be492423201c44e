"""max_unpool{1,2,3}d and their backward: against the NumPy reference
(reference_fractional_unpool.py), round trips through max pooling, PyTorch
cross-checks, duplicate indices (the last input element in scan order wins, at
any thread count), layouts and errors."""
import random

import numpy as np
import pytest

import cpool
import reference as ref
import reference as rf
from conftest import (FLOATS, INTS, SHAPES, check_bad_call, make_input, to_layout,
                      same_at_every_thread_count, window_configs)


def fwd(nd):
    return getattr(cpool, f"max_unpool{nd}d")


def bwd(nd):
    return getattr(cpool, f"max_unpool{nd}d_backward")


dtype_id = lambda t: np.dtype(t).name  # noqa: E731
ALL_DTYPES = FLOATS + INTS


def pooled(nd, x, cfg, channels_last=False):
    """Max-pool x with the reference: (y, indices, k, s, p)."""
    k, s, p, _, ceil = cfg
    y, i = ref.max_pool(x, nd, k, s, p, 1, ceil, channels_last=channels_last)
    return y, i, k, s, p


def random_indices(shape_cf, P, rng, minus_one=True):
    """Indices for a (N, C, *S) input in [-1, P) (or [0, P)): with P smaller
    than the plane, duplicates are certain."""
    return rng.integers(-1 if minus_one else 0, P, size=shape_cf).astype(np.int64)


def _check(nd, x, i, k, s, p, output_size, channels_last=False):
    u = fwd(nd)(x, i, k, s, p, output_size, channels_last=channels_last)
    ru = rf.max_unpool(x, i, nd, k, s, p, output_size, channels_last=channels_last)
    assert u.dtype == x.dtype and u.shape == ru.shape
    np.testing.assert_array_equal(u, ru)
    return u


# ---- against the reference ---------------------------------------------------

@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=dtype_id)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_round_trip_matches_reference(nd, dtype, channels_last, rng):
    for cfg in window_configs(nd, count=5, dilation=False, seed=ALL_DTYPES.index(dtype)):
        x = to_layout(make_input(SHAPES[nd], dtype, rng), channels_last)
        y, i, k, s, p = pooled(nd, x, cfg, channels_last)
        S = SHAPES[nd][2:]
        u = _check(nd, y, i, k, s, p, S, channels_last)
        ucf = np.moveaxis(u, -1, 1) if channels_last else u
        xcf = np.moveaxis(x, -1, 1) if channels_last else x
        icf = (np.moveaxis(i, -1, 1) if channels_last else i)
        icf = icf.reshape(icf.shape[0] * icf.shape[1], -1)
        # maxima at their positions, zeros elsewhere
        hit = np.zeros((icf.shape[0], int(np.prod(S))), bool)
        for r, row in enumerate(icf):
            hit[r, row] = True
        hit = hit.reshape(ucf.shape)
        np.testing.assert_array_equal(ucf[hit], xcf[hit])
        assert not ucf[~hit].any()


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=dtype_id)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_random_indices_with_duplicates_and_minus_one(nd, dtype, channels_last, rng):
    """Arbitrary indices: -1 is skipped, duplicates keep the last element."""
    shape = SHAPES[nd][:2] + tuple(max(2, v // 2) for v in SHAPES[nd][2:])
    k = (2,) * nd
    P = int(np.prod([(v - 1) * 2 + 2 for v in shape[2:]]))
    x = make_input(shape, dtype, rng)
    i = random_indices(shape, P // 3, rng)
    assert (i == -1).any()
    _check(nd, to_layout(x, channels_last), to_layout(i, channels_last), k, None, 0, None,
           channels_last)


@pytest.mark.parametrize("dtype", INTS, ids=dtype_id)
def test_integer_extremes(dtype):
    info = np.iinfo(dtype)
    x = np.array([[[info.min, info.max, info.max - 1]]], dtype=dtype)
    u = cpool.max_unpool1d(x, np.array([[[5, 0, 2]]]), 2)
    assert u.dtype == dtype
    np.testing.assert_array_equal(u[0, 0], [info.max, 0, info.max - 1, 0, 0, info.min])


def test_duplicates_last_wins_small():
    x = np.arange(1, 13, dtype=np.float32).reshape(1, 2, 2, 3)
    idx = np.array([[[[0, 5, 0], [3, 5, 1]],
                     [[2, 2, 2], [8, 7, 2]]]], dtype=np.int64)
    expected = np.zeros((1, 2, 3, 4), np.float32)
    expected[0, 0].flat[[0, 5, 3, 1]] = [3, 5, 4, 6]
    expected[0, 1].flat[[2, 8, 7]] = [12, 10, 11]
    for n in (1, 2):
        with cpool.num_threads(n):
            u = cpool.max_unpool2d(x, idx, 2, 1)
            np.testing.assert_array_equal(u, expected)
            ul = cpool.max_unpool2d(to_layout(x, True), to_layout(idx, True), 2, 1,
                                    channels_last=True)
            np.testing.assert_array_equal(np.moveaxis(ul, -1, 1), expected)
            g = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4) + 100
            gx = cpool.max_unpool2d_backward(g, idx)
            # losers of a duplicate get 0; winners read their position
            np.testing.assert_array_equal(
                gx, np.array([[[[0, 0, 100], [103, 105, 101]],
                               [[0, 0, 0], [120, 119, 114]]]], np.float32))


def test_minus_one_is_skipped():
    x = np.array([[[[7.0, 8.0], [9.0, 10.0]]]])
    idx = np.array([[[[-1, 1], [-1, 14]]]])
    u = cpool.max_unpool2d(x, idx, 2)
    expected = np.zeros((1, 1, 4, 4))
    expected[0, 0, 0, 1], expected[0, 0, 3, 2] = 8, 10
    np.testing.assert_array_equal(u, expected)
    gx = cpool.max_unpool2d_backward(np.ones((1, 1, 4, 4)) * 3, idx)
    np.testing.assert_array_equal(gx, [[[[0, 3], [0, 3]]]])


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_output_size_forms(nd, rng):
    """None, an int, d entries, d + 2 entries (and d + 1 for a batch-less
    input) mean the same; the open interval default +- stride is accepted."""
    k, s = (2,) * nd, (3,) * nd
    f = fwd(nd)
    for Sp in ((3,) * nd, (4, 3, 2)[:nd]):
        y = make_input((2, 3) + Sp, np.float64, rng, ties=False)
        default = tuple(rf.unpool_default_size(v, 2, 3, 0) for v in Sp)
        # indices that fit the smallest size tried below
        i = random_indices(y.shape, int(np.prod([v - 2 for v in default])), rng)
        base = f(y, i, k, s)
        assert base.shape == y.shape[:2] + default
        np.testing.assert_array_equal(base, rf.max_unpool(y, i, nd, k, s))
        for osz in (default, list(default), y.shape[:2] + default):
            np.testing.assert_array_equal(f(y, i, k, s, 0, osz), base)
        np.testing.assert_array_equal(f(y, i, 2, 3, output_size=None), base)
        np.testing.assert_array_equal(f(y[0], i[0], k, s, 0, (y.shape[1],) + default), base[0])
        np.testing.assert_array_equal(f(y[0], i[0], k, s, 0, default), base[0])
        for d in (-2, -1, 1, 2):  # strictly inside (default - 3, default + 3)
            osz = tuple(v + d for v in default)
            u = f(y, i, k, s, 0, osz)
            assert u.shape == y.shape[:2] + osz
            np.testing.assert_array_equal(u, rf.max_unpool(y, i, nd, k, s, 0, osz))
        for d in (-3, 3):
            with pytest.raises(ValueError, match="output_size"):
                f(y, i, k, s, 0, tuple(v + d for v in default))
        if nd > 1:  # one axis out of range is enough
            with pytest.raises(ValueError, match="output_size"):
                f(y, i, k, s, 0, default[:-1] + (default[-1] + 3,))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_output_size_int(nd, rng):
    """API.md: output_size, like every window argument, takes an int for all axes."""
    y = make_input((2, 3) + (3,) * nd, np.float32, rng)
    i = random_indices(y.shape, 6 ** nd, rng)
    f = fwd(nd)
    for o in (7, 8, 9):  # default (3 - 1) * 3 + 2 = 8, stride 3
        u = f(y, i, 2, 3, 0, o)
        assert u.shape == y.shape[:2] + (o,) * nd
        np.testing.assert_array_equal(u, f(y, i, 2, 3, 0, (o,) * nd))
    with pytest.raises(ValueError, match="output_size"):
        f(y, i, 2, 3, 0, 11)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_layouts_agree(nd, rng):
    x = make_input(SHAPES[nd], np.float32, rng)
    for cfg in window_configs(nd, count=5, dilation=False, seed=3):
        y, i, k, s, p = pooled(nd, x, cfg)
        i = i.copy()
        i.reshape(-1)[::5] = i.reshape(-1)[::-5]  # some cross-window duplicates
        i.reshape(-1)[::7] = -1
        osz = SHAPES[nd][2:]
        u = fwd(nd)(y, i, k, s, p, osz)
        ul = fwd(nd)(to_layout(y, True), to_layout(i, True), k, s, p, osz, channels_last=True)
        assert ul.shape == (x.shape[0],) + osz + (x.shape[1],)
        np.testing.assert_array_equal(np.moveaxis(ul, -1, 1), u)
        g = rng.standard_normal(u.shape).astype(np.float32)
        gx = bwd(nd)(g, i)
        gxl = bwd(nd)(to_layout(g, True), to_layout(i, True), channels_last=True)
        np.testing.assert_array_equal(np.moveaxis(gxl, -1, 1), gx)


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_batchless_equals_batched(nd, channels_last, rng):
    x = to_layout(make_input(SHAPES[nd], np.float64, rng, ties=False), channels_last)
    for cfg in window_configs(nd, count=4, dilation=False, seed=2):
        y, i, k, s, p = pooled(nd, x, cfg, channels_last)
        osz = SHAPES[nd][2:]
        ub = fwd(nd)(y, i, k, s, p, osz, channels_last=channels_last)
        u = fwd(nd)(y[0], i[0], k, s, p, osz, channels_last=channels_last)
        assert u.shape == ub.shape[1:]
        np.testing.assert_array_equal(u, ub[0])
        _check(nd, y[0], i[0], k, s, p, osz, channels_last)
        g = rng.standard_normal(u.shape)
        gx = bwd(nd)(g, i[0], channels_last=channels_last)
        assert gx.shape == y[0].shape
        np.testing.assert_array_equal(gx, rf.max_unpool_backward(g, i[0], nd, channels_last))


def test_strided_inputs_not_modified(rng):
    xb = rng.standard_normal((2, 3, 4, 10))
    ib = rng.integers(-1, 16, size=(2, 3, 4, 10))
    x, i = xb[..., ::2], ib[..., 1::2]
    keep = xb.copy(), ib.copy()
    u = cpool.max_unpool2d(x, i, (1, 3), (1, 1))
    np.testing.assert_array_equal(
        u, rf.max_unpool(np.ascontiguousarray(x), np.ascontiguousarray(i), 2, (1, 3), (1, 1)))
    np.testing.assert_array_equal(xb, keep[0])
    np.testing.assert_array_equal(ib, keep[1])


# ---- backward ----------------------------------------------------------------

@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_backward_matches_reference(nd, dtype, channels_last, rng):
    shape = SHAPES[nd]
    P = int(np.prod(shape[2:]))
    for trial in range(4):
        i = random_indices(shape, P if trial % 2 else P // 4, rng)
        g = rng.standard_normal(shape[:2] + tuple(v + 1 for v in shape[2:])).astype(dtype)
        gx = bwd(nd)(to_layout(g, channels_last), to_layout(i, channels_last),
                     channels_last=channels_last)
        assert gx.dtype == dtype and gx.shape == to_layout(i, channels_last).shape
        np.testing.assert_array_equal(
            gx, rf.max_unpool_backward(to_layout(g, channels_last), to_layout(i, channels_last),
                                       nd, channels_last))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_backward_finite_differences(nd, rng):
    """sum(w * unpool(x)) is linear in x; its gradient through duplicates and
    -1 is what the backward returns (0 for losers and skipped elements)."""
    shape = SHAPES[nd][:2] + tuple(max(2, v // 2) for v in SHAPES[nd][2:])
    k = (2,) * nd
    P = int(np.prod([2 * v for v in shape[2:]]))
    x = rng.standard_normal(shape)
    i = random_indices(shape, P // 2, rng)
    w = rng.standard_normal(shape[:2] + tuple(2 * v for v in shape[2:]))
    gx = bwd(nd)(w, i)
    eps = 1e-3
    flat = x.reshape(-1)
    for j in rng.choice(flat.size, min(40, flat.size), replace=False):
        old = flat[j]
        flat[j] = old + eps
        fp = (w * fwd(nd)(x, i, k)).sum()
        flat[j] = old - eps
        fm = (w * fwd(nd)(x, i, k)).sum()
        flat[j] = old
        assert abs((fp - fm) / (2 * eps) - gx.reshape(-1)[j]) < 1e-8
    assert np.count_nonzero(gx) > 0 and np.count_nonzero(gx == 0) > np.count_nonzero(i == -1)


# ---- threads -------------------------------------------------------------------

def test_thread_count_invariance(rng):
    shape = (2, 8, 64, 64)
    x = make_input(shape, np.float32, rng)
    y, i = cpool.max_pool2d(x, 3, 2, 1, return_indices=True)  # overlap: shared maxima
    dup = random_indices(shape, 4096 // 3, rng)  # many duplicates per plane
    g = rng.standard_normal((2, 8, 64, 64)).astype(np.float32)
    gd = rng.standard_normal((2, 8, 65, 65)).astype(np.float32)

    def run():
        return [cpool.max_unpool2d(y, i, 3, 2, 1, (64, 64)),
                cpool.max_unpool2d(to_layout(y, True), to_layout(i, True), 3, 2, 1, (64, 64),
                                   channels_last=True),
                cpool.max_unpool2d_backward(g, i),
                cpool.max_unpool2d(x, dup, 2, 1),
                cpool.max_unpool2d(to_layout(x, True), to_layout(dup, True), 2, 1,
                                   channels_last=True),
                cpool.max_unpool2d(x.astype(np.int16), dup, 2, 1),
                cpool.max_unpool2d_backward(gd, dup),
                cpool.max_unpool3d(x[:, :, None], dup[:, :, None], (1, 2, 2), 1)]

    one = same_at_every_thread_count(run)
    last = rf.max_unpool_last_wins_fast(x, dup, (65, 65))
    np.testing.assert_array_equal(one[3], last)
    np.testing.assert_array_equal(np.moveaxis(one[4], -1, 1), last)
    np.testing.assert_array_equal(one[7][:, :, 0], last)
    np.testing.assert_array_equal(
        one[0], rf.max_unpool_last_wins_fast(y, i, (64, 64)))


# ---- PyTorch ---------------------------------------------------------------------

def _torch_case(nd, r):
    """A random max-pool geometry (dilation 1, so every window holds an input
    element) and an output_size form that PyTorch accepts."""
    while True:
        S = tuple(r.randint(1, 12 if nd < 3 else 7) for _ in range(nd))
        k = tuple(r.randint(1, 4) for _ in range(nd))
        s = tuple(r.randint(1, 4) for _ in range(nd))
        p = tuple(r.randint(0, kk // 2) for kk in k)
        ceil = r.random() < 0.3
        O = [ref.out_size(*a, 1, ceil) for a in zip(S, k, s, p)]
        if min(O) >= 1:
            return S, k, s, p, ceil


@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_round_trip_matches_torch(nd, dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    tpool = getattr(F, f"max_pool{nd}d")
    tunpool = getattr(F, f"max_unpool{nd}d")
    r = random.Random(40 + nd)
    rng = np.random.default_rng(40 + nd)
    checked_bwd = 0
    for trial in range(60):
        S, k, s, p, ceil = _torch_case(nd, r)
        batched = trial % 4 != 0
        x = rng.standard_normal(((2,) if batched else ()) + (3,) + S).astype(dtype)
        ty, ti = tpool(torch.from_numpy(x), k, s, p, 1, ceil, return_indices=True)
        y, i = ty.numpy(), ti.numpy()
        form = trial % 3
        default = [rf.unpool_default_size(v, *a) for v, a in zip(y.shape[-nd:], zip(k, s, p))]
        if form == 0:
            osz = None  # the default; only when the indices fit in it
            if min(default) < 1 or i.max() >= np.prod(default):
                osz = S
        elif form == 1 or not batched:
            osz = S  # odd sizes: the pooled input's own size
        else:
            osz = x.shape  # d + 2 entries
        tyy = torch.from_numpy(y.copy()).requires_grad_(True)
        tu = tunpool(tyy, ti, k, s, p, output_size=osz)
        u = fwd(nd)(y, i, k, s, p, osz)
        np.testing.assert_array_equal(u, tu.detach().numpy())
        g = rng.standard_normal(u.shape).astype(dtype)
        gx = bwd(nd)(g, i)
        np.testing.assert_array_equal(gx, rf.max_unpool_backward(g, i, nd))
        planes = i.reshape(-1, int(np.prod(i.shape[-nd:])))
        if all(len(np.unique(row)) == row.size for row in planes):
            tu.backward(torch.from_numpy(g))
            np.testing.assert_array_equal(gx, tyy.grad.numpy())
            checked_bwd += 1
    assert checked_bwd >= 10


@pytest.mark.parametrize("nd", [2, 3])
def test_channels_last_matches_torch(nd):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    fmt = torch.channels_last if nd == 2 else torch.channels_last_3d
    r = random.Random(60 + nd)
    rng = np.random.default_rng(60 + nd)
    for _ in range(20):
        S, k, s, p, ceil = _torch_case(nd, r)
        x = rng.standard_normal((2, 3) + S).astype(np.float32)
        ty, ti = getattr(F, f"max_pool{nd}d")(torch.from_numpy(x), k, s, p, 1, ceil,
                                              return_indices=True)
        tu = getattr(F, f"max_unpool{nd}d")(ty.contiguous(memory_format=fmt),
                                            ti.contiguous(memory_format=fmt), k, s, p,
                                            output_size=S)
        u = fwd(nd)(to_layout(ty.numpy(), True), to_layout(ti.numpy(), True), k, s, p, S,
                    channels_last=True)
        np.testing.assert_array_equal(np.moveaxis(u, -1, 1), tu.numpy())


def test_duplicates_match_single_threaded_torch(rng):
    """PyTorch writes duplicates racily when threaded; with one thread it keeps
    the last element in scan order, as cpool does at every thread count."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 4, 32, 32)).astype(np.float32)
    i = random_indices(x.shape, 64 * 64 // 4, rng, minus_one=False)
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        tu = torch.nn.functional.max_unpool2d(torch.from_numpy(x), torch.from_numpy(i), 2)
    finally:
        torch.set_num_threads(old)
    for n in (1, 2):
        with cpool.num_threads(n):
            np.testing.assert_array_equal(cpool.max_unpool2d(x, i, 2), tu.numpy())


# ---- errors ----------------------------------------------------------------------

X2 = np.ones((1, 2, 2, 2), np.float32)  # pooled from 4x4 by 2
I2 = np.array([0, 3, 9, 15, 5, 6, 12, 10], np.int64).reshape(1, 2, 2, 2)
G2 = np.ones((1, 2, 4, 4), np.float32)
I5 = np.array([0, 3, 18, 12], np.int64).reshape(1, 1, 2, 2)  # pooled from 5x5 by 2

up1 = lambda *a, **k: cpool.max_unpool1d(*a, **k)  # noqa: E731
up2 = lambda *a, **k: cpool.max_unpool2d(*a, **k)  # noqa: E731
up3 = lambda *a, **k: cpool.max_unpool3d(*a, **k)  # noqa: E731
ub2 = lambda *a, **k: cpool.max_unpool2d_backward(*a, **k)  # noqa: E731


def _with(a, flat_pos, v):
    a = a.copy()
    a.reshape(-1)[flat_pos] = v
    return a


BAD_CALLS = [
    # (call, exception(s), the message must contain one of these words)
    (lambda: up2(X2, _with(I2, 5, 16), 2), ValueError, "indices"),
    (lambda: up2(X2, _with(I2, 0, -2), 2), ValueError, "indices"),
    (lambda: up2(X2, _with(I2, 7, 2 ** 62), 2), ValueError, "indices"),
    (lambda: up2(X2, _with(I2, 7, -2 ** 63), 2), ValueError, "indices"),
    (lambda: up2(X2[:, :1], I5, 2), ValueError, "indices"),  # needs output_size=(5, 5)
    (lambda: up2(X2, I2.astype(np.int32), 2), TypeError, "indices"),
    (lambda: up2(X2, I2.astype(np.uint64), 2), TypeError, "indices"),
    (lambda: up2(X2, I2.astype(np.float64), 2), TypeError, "indices"),
    (lambda: up2(X2, I2.reshape(1, 2, 1, 4), 2), ValueError, "indices"),
    (lambda: up2(X2, I2[:, :1], 2), ValueError, "indices"),
    (lambda: up2(X2, I2, 2, output_size=(6, 6)), ValueError, "output_size"),
    (lambda: up2(X2, I2, 2, output_size=(2, 4)), ValueError, "output_size"),
    (lambda: up2(X2, I2, 2, output_size=(4, 7)), ValueError, "output_size"),
    (lambda: up2(X2, I2, 2, output_size=(4,)), ValueError, "output_size"),
    (lambda: up2(X2, I2, 2, output_size=(1, 1, 2, 4, 4)), ValueError, "output_size"),
    (lambda: up2(X2, I2, 2, output_size=(4, 4.0)), TypeError, "output_size"),
    (lambda: up2(X2, I2, 0), ValueError, "kernel_size"),
    (lambda: up2(X2, I2, (2, 2, 2)), ValueError, "kernel_size"),
    (lambda: up2(X2, I2, 2.0), TypeError, "kernel_size"),
    (lambda: up2(X2, I2, 2, 0), ValueError, "stride"),
    (lambda: up2(X2, I2, 2, (2, -1)), ValueError, "stride"),
    (lambda: up2(X2, I2, 2, 2, -1), ValueError, "padding"),
    (lambda: up2(X2[:, :, :1, :1], I2[:, :, :1, :1] * 0, 1, 1, 1), ValueError,
     ("output_size", "padding", "kernel_size")),  # default size 1 - 2 = -1
    (lambda: up2(X2.astype(np.float16), I2, 2), TypeError, "float16"),
    (lambda: up2(X2.astype(bool), I2, 2), TypeError, "bool"),
    (lambda: up2(X2.tolist(), I2, 2), TypeError, "x"),
    (lambda: up2(X2[0, 0], I2[0, 0], 2), ValueError, "dimensions"),
    (lambda: up1(X2, I2, 2), ValueError, "dimensions"),
    (lambda: up2(X2, I2, 2, channels_last=1), TypeError, "channels_last"),
    # backward
    (lambda: ub2(G2, _with(I2, 3, 16)), ValueError, "indices"),
    (lambda: ub2(G2, _with(I2, 3, -5)), ValueError, "indices"),
    (lambda: ub2(G2, I2.astype(np.int32)), TypeError, "indices"),
    (lambda: ub2(G2.astype(np.int32), I2), TypeError, "grad_output"),
    (lambda: ub2(G2[:, :1], I2), ValueError, ("grad_output", "indices")),
    (lambda: ub2(G2[0], I2), ValueError, ("grad_output", "indices", "dimensions")),
]


@pytest.mark.parametrize("call,exc,words", BAD_CALLS,
                         ids=[f"{j}-{w if isinstance(w, str) else w[0]}"
                              for j, (_, _, w) in enumerate(BAD_CALLS)])
def test_bad_call_raises(call, exc, words):
    check_bad_call(call, exc, words, (X2, I2, G2, I5))


def test_odd_size_with_output_size_works():
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    u = cpool.max_unpool2d(x, I5, 2, output_size=(5, 5))
    expected = np.zeros((1, 1, 5, 5))
    expected.reshape(-1)[[0, 3, 18, 12]] = [1, 2, 3, 4]
    np.testing.assert_array_equal(u, expected)
