"""fractional_max_pool{2,3}d and their backward: against the NumPy reference
(reference_fractional_unpool.py), against PyTorch fed the same
`_random_samples`, and the seed, layout, thread and error contracts."""
import itertools
import random

import numpy as np
import pytest

import cpool
import reference as ref
import reference as rf
from conftest import (check_bad_call, FLOATS, INTS, make_input, to_layout,
                      same_at_every_thread_count)


def fwd(nd):
    return getattr(cpool, f"fractional_max_pool{nd}d")


def bwd(nd):
    return getattr(cpool, f"fractional_max_pool{nd}d_backward")


SHAPES = {2: (2, 3, 11, 9), 3: (2, 2, 7, 6, 8)}
ALL_DTYPES = FLOATS + INTS
dtype_id = lambda t: np.dtype(t).name  # noqa: E731


def frac_configs(nd, count, seed, S=None, strict=False):
    """(kernel_size, sizing kwargs) valid for spatial size S, drawn with a fixed
    seed: overlapping and disjoint windows, anisotropic kernels, and every
    sizing form (int or tuple output_size, tuple or scalar output_ratio).
    strict=True keeps O + k - 1 < I on every axis (PyTorch's 3d check)."""
    S = S or SHAPES[nd][2:]
    r = random.Random(1000 * nd + seed)
    out = []
    while len(out) < count:
        form = r.choice(["size", "size", "ratio", "int", "scalar_ratio"])
        if form in ("int", "scalar_ratio"):
            kk = r.randint(1, 4)
            k = kk if r.random() < 0.5 else (kk,) * nd
            if form == "int":
                o = r.randint(1, max(1, min(S) - kk + 1))
                kw, O = dict(output_size=o), (o,) * nd
            else:
                q = r.choice([0.3, 0.45, 0.5, 0.6, 0.75, 0.9])
                kw, O = dict(output_ratio=q), tuple(int(v * q) for v in S)
        else:
            k = tuple(r.randint(1, 4) for _ in S)
            O = tuple(r.randint(1, max(1, v - kk + 1)) for v, kk in zip(S, k))
            kw = (dict(output_size=O) if form == "size" else
                  dict(output_ratio=tuple((o + 0.5) / v for o, v in zip(O, S))))
            if form == "ratio" and max(kw["output_ratio"]) >= 1:
                continue
        kt = ref._tup(k, nd)
        if all(o >= 1 and o + kk - 1 <= v - strict for o, kk, v in zip(O, kt, S)):
            out.append((k, kw))
    return out


def samples_for(x_cf_shape, nd, rng, dtype=np.float64):
    return rng.random((x_cf_shape[0], x_cf_shape[1], nd)).astype(dtype)


def _check(nd, x, k, kw, u, channels_last=False):
    f = fwd(nd)
    y, i = f(x, k, **kw, return_indices=True, random_samples=u, channels_last=channels_last)
    ry, ri = rf.fractional_max_pool(x, nd, k, **kw, random_samples=u,
                                    channels_last=channels_last)
    assert y.dtype == x.dtype and i.dtype == np.int64
    assert y.shape == ry.shape and i.shape == ry.shape
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(i, ri)
    y2 = f(x, k, **kw, random_samples=u, channels_last=channels_last)
    assert isinstance(y2, np.ndarray)
    np.testing.assert_array_equal(y2, ry)
    return y, i


# ---- against the reference -------------------------------------------------

@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=dtype_id)
@pytest.mark.parametrize("nd", [2, 3])
def test_forward_matches_reference(nd, dtype, channels_last, rng):
    for k, kw in frac_configs(nd, 4, seed=ALL_DTYPES.index(dtype)):
        x = make_input(SHAPES[nd], dtype, rng)  # small integer range: many ties
        u = samples_for(x.shape, nd, rng)
        if np.issubdtype(dtype, np.floating):
            u = u.astype(dtype)
        _check(nd, to_layout(x, channels_last), k, kw, u, channels_last)


@pytest.mark.parametrize("nd", [2, 3])
def test_window_extremes(nd, rng):
    """O = I - k + 1 is max pooling with stride 1 for any samples; O = 1 is one
    window flush with the end; k = 1 with O = I is the identity."""
    S = SHAPES[nd][2:]
    x = rng.standard_normal(SHAPES[nd])
    u = samples_for(x.shape, nd, rng)
    k = (2,) * nd
    y, i = fwd(nd)(x, k, tuple(s - 1 for s in S), return_indices=True, random_samples=u)
    my, mi = ref.max_pool(x, nd, k, 1)
    np.testing.assert_array_equal(y, my)
    np.testing.assert_array_equal(i, mi)
    y, i = fwd(nd)(x, 3, 1, return_indices=True, random_samples=u)
    tail = x[(Ellipsis,) + tuple(slice(s - 3, s) for s in S)]
    np.testing.assert_array_equal(y.reshape(x.shape[:2]),
                                  tail.reshape(x.shape[:2] + (-1,)).max(-1))
    y, i = fwd(nd)(x, 1, S, return_indices=True, random_samples=u)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(i, np.broadcast_to(np.arange(np.prod(S)).reshape(S), x.shape))


def test_ties_first_and_nan_last():
    # one 3x3 window (I = 3, k = 3, O = 1): ties -> first, NaN -> last NaN
    u = np.full((1, 1, 2), 0.3)
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 0, 2] = x[0, 0, 2, 0] = 5
    y, i = cpool.fractional_max_pool2d(x, 3, 1, return_indices=True, random_samples=u)
    assert y.item() == 5 and i.item() == 2
    x[0, 0, 1, 1] = x[0, 0, 2, 2] = np.nan
    y, i = cpool.fractional_max_pool2d(x, 3, 1, return_indices=True, random_samples=u)
    assert np.isnan(y.item()) and i.item() == 8
    x = np.full((1, 1, 2, 2, 2), -np.inf, np.float32)
    y, i = cpool.fractional_max_pool3d(x, 2, 1, return_indices=True,
                                       random_samples=np.zeros((1, 1, 3)))
    assert y.item() == -np.inf and i.item() == 0


@pytest.mark.parametrize("dtype", INTS, ids=dtype_id)
def test_integer_extremes(dtype):
    info = np.iinfo(dtype)
    x = np.array([[[[info.min, info.min], [info.max, info.max]]]], dtype=dtype)
    y, i = cpool.fractional_max_pool2d(x, (1, 2), (2, 1), return_indices=True,
                                       random_samples=np.zeros((1, 1, 2)))
    assert y.dtype == dtype
    np.testing.assert_array_equal(y[0, 0, :, 0], [info.min, info.max])
    np.testing.assert_array_equal(i[0, 0, :, 0], [0, 2])


@pytest.mark.parametrize("nd", [2, 3])
def test_sizing_forms_agree(nd, rng):
    """int == tuple output_size; scalar ratio == tuple ratio == the size it
    gives; output_size wins over output_ratio."""
    S = SHAPES[nd][2:]
    x = rng.standard_normal(SHAPES[nd]).astype(np.float32)
    u = samples_for(x.shape, nd, rng, np.float32)
    f = fwd(nd)
    base = f(x, 2, (3,) * nd, return_indices=True, random_samples=u)
    for kw in (dict(output_size=3), dict(output_size=[3] * nd),
               dict(output_size=(3,) * nd, output_ratio=(0.9,) * nd),
               dict(output_size=3, output_ratio=0.9)):
        got = f(x, (2,) * nd, **kw, return_indices=True, random_samples=u)
        for a, b in zip(got, base):
            np.testing.assert_array_equal(a, b)
    ratio = 0.55
    O = tuple(int(s * ratio) for s in S)
    by_size = f(x, 2, O, return_indices=True, random_samples=u)
    assert by_size[0].shape == x.shape[:2] + O
    for kw in (dict(output_ratio=ratio), dict(output_ratio=(ratio,) * nd),
               dict(output_ratio=[ratio] * nd)):
        got = f(x, 2, **kw, return_indices=True, random_samples=u)
        for a, b in zip(got, by_size):
            np.testing.assert_array_equal(a, b)
    # anisotropic ratio tuple
    r = (0.4, 0.75, 0.6)[-nd:]
    O = tuple(int(s * q) for s, q in zip(S, r))
    y = f(x, 2, output_ratio=r, random_samples=u)
    np.testing.assert_array_equal(y, f(x, 2, O, random_samples=u))


@pytest.mark.parametrize("nd", [2, 3])
def test_layouts_agree(nd, rng):
    x = make_input(SHAPES[nd], np.float32, rng)
    xl = to_layout(x, True)
    for k, kw in frac_configs(nd, 6, seed=3):
        u = samples_for(x.shape, nd, rng)
        y, i = fwd(nd)(x, k, **kw, return_indices=True, random_samples=u)
        yl, il = fwd(nd)(xl, k, **kw, return_indices=True, random_samples=u,
                         channels_last=True)
        assert yl.shape == (x.shape[0],) + y.shape[2:] + (x.shape[1],)
        np.testing.assert_array_equal(np.moveaxis(yl, -1, 1), y)
        np.testing.assert_array_equal(np.moveaxis(il, -1, 1), i)
        # the same seed picks the same regions in either layout
        ys, is_ = fwd(nd)(x, k, **kw, return_indices=True, seed=11)
        ysl, isl = fwd(nd)(xl, k, **kw, return_indices=True, seed=11, channels_last=True)
        np.testing.assert_array_equal(np.moveaxis(ysl, -1, 1), ys)
        np.testing.assert_array_equal(np.moveaxis(isl, -1, 1), is_)


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("nd", [2, 3])
def test_batchless_equals_batched(nd, channels_last, rng):
    x = to_layout(make_input(SHAPES[nd], np.float64, rng, ties=False), channels_last)
    u = samples_for(SHAPES[nd], nd, rng)
    for k, kw in frac_configs(nd, 4, seed=4):
        yb, ib = fwd(nd)(x[:1], k, **kw, return_indices=True, random_samples=u[:1],
                         channels_last=channels_last)
        for us in (u[:1], u[0]):  # (1, C, d) and (C, d)
            y, i = fwd(nd)(x[0], k, **kw, return_indices=True, random_samples=us,
                           channels_last=channels_last)
            assert y.shape == yb.shape[1:]
            np.testing.assert_array_equal(y, yb[0])
            np.testing.assert_array_equal(i, ib[0])
        _check(nd, x[0], k, kw, u[0], channels_last)
        g = np.ones_like(y)
        gx = bwd(nd)(g, i, x[0].shape, channels_last=channels_last)
        assert gx.shape == x[0].shape
        np.testing.assert_array_equal(
            gx, rf.fractional_max_pool_backward(g, i, x[0].shape, nd, channels_last))


def test_strided_input_not_modified(rng):
    base = rng.standard_normal((2, 3, 12, 20))
    x = base[:, :, ::1, ::2]  # non-contiguous view
    keep = base.copy()
    u = samples_for(x.shape, 2, rng)
    y, i = cpool.fractional_max_pool2d(x, 2, (5, 4), return_indices=True, random_samples=u)
    ry, ri = rf.fractional_max_pool(np.ascontiguousarray(x), 2, 2, (5, 4), random_samples=u)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(i, ri)
    np.testing.assert_array_equal(base, keep)


# ---- sample precision --------------------------------------------------------

# Two cases where the arithmetic's precision decides a window:
# - I = 14, k = 3, O = 5 and U_EDGE (a float64 just below a breakpoint): starts
#   [0, 2, 5, 8, 11] from float32(U_EDGE) in float32, [0, 3, 6, 9, 11] from
#   U_EDGE in float64 (also with float32 alpha and the uncast U_EDGE);
# - I = 19, k = 3, O = 4 and U32 (a float32 value): [0, 6, 11, 16] in float32
#   arithmetic, [0, 5, 11, 16] in float64 arithmetic on the same value.
U_EDGE = 0.7272727214159238
U32 = float(np.float32(0.87499994))


def test_intervals_follow_input_dtype():
    assert rf.fractional_starts(np.float32(U_EDGE), 14, 5, 3, np.float32) == [0, 2, 5, 8, 11]
    assert rf.fractional_starts(U_EDGE, 14, 5, 3, np.float64) == [0, 3, 6, 9, 11]
    assert rf.fractional_starts(U32, 19, 4, 3, np.float32) == [0, 6, 11, 16]
    assert rf.fractional_starts(U32, 19, 4, 3, np.float64) == [0, 5, 11, 16]
    x = np.arange(14 * 4, dtype=np.float64).reshape(1, 1, 14, 4)  # max = last row
    u = np.array([[[0.25, U_EDGE]]])  # [..., 1] drives H
    rows = lambda i: (i[0, 0, :, 0] // 4).tolist()  # noqa: E731
    _, i32 = cpool.fractional_max_pool2d(x.astype(np.float32), 3, (5, 2),
                                         return_indices=True, random_samples=u)
    assert rows(i32) == [2, 4, 7, 10, 13]  # u cast to float32, float32 arithmetic
    _, i32b = cpool.fractional_max_pool2d(x.astype(np.float32), 3, (5, 2), return_indices=True,
                                          random_samples=u.astype(np.float32))
    np.testing.assert_array_equal(i32b, i32)
    _, i64 = cpool.fractional_max_pool2d(x, 3, (5, 2), return_indices=True, random_samples=u)
    assert rows(i64) == [2, 5, 8, 11, 13]
    for dt in INTS:  # integer inputs: float64 intervals
        yi, ii = cpool.fractional_max_pool2d(x.astype(dt), 3, (5, 2), return_indices=True,
                                             random_samples=u)
        np.testing.assert_array_equal(ii, i64)
        assert yi.dtype == dt
    # float32 arithmetic, not float64 arithmetic on the float32 sample
    x = np.arange(19 * 4, dtype=np.float64).reshape(1, 1, 19, 4)
    u = np.array([[[0.25, U32]]], np.float32)
    _, i32 = cpool.fractional_max_pool2d(x.astype(np.float32), 3, (4, 2), return_indices=True,
                                         random_samples=u)
    assert rows(i32) == [2, 8, 13, 18]
    _, i64 = cpool.fractional_max_pool2d(x, 3, (4, 2), return_indices=True, random_samples=u)
    assert rows(i64) == [2, 7, 13, 18]
    for dt in INTS:
        ii = cpool.fractional_max_pool2d(x.astype(dt), 3, (4, 2), return_indices=True,
                                         random_samples=u)[1]
        np.testing.assert_array_equal(ii, i64)
    # float16 samples are accepted and used after the cast to the input dtype
    uh = np.array([[[0.25, 0.7]]], np.float16)
    np.testing.assert_array_equal(
        cpool.fractional_max_pool2d(x, 3, (5, 2), return_indices=True, random_samples=uh)[1],
        cpool.fractional_max_pool2d(x, 3, (5, 2), return_indices=True,
                                    random_samples=uh.astype(np.float64))[1])


# ---- seeds ---------------------------------------------------------------------

def _is_valid_fractional(x, y, i, k, O):
    """Each (n, c) plane equals the pooling of x with one of the window-start
    sequences some sample in [0, 1) gives (indices and values)."""
    nd = len(k)
    S = x.shape[2:]
    dt = rf.interval_dtype(x.dtype)
    seqs = [sorted(rf.possible_starts(S[a], O[a], k[a], dt)) for a in range(nd)]
    for n, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
        for starts in itertools.product(*seqs):
            py, pi = rf.pool_plane(x[n, c], k, [list(s) for s in starts])
            if np.array_equal(pi, i[n, c]) and np.array_equal(py, y[n, c]):
                break
        else:
            return False
    return True


@pytest.mark.parametrize("nd", [2, 3])
def test_seed_reproducible_and_valid(nd, rng):
    S = (11, 10) if nd == 2 else (7, 6, 8)
    x = rng.permutation(2 * 3 * np.prod(S)).reshape((2, 3) + S).astype(np.float32)
    k, O = (2,) * nd, (5, 4, 3)[:nd]
    f = fwd(nd)
    a = f(x, k, O, return_indices=True, seed=123)
    b = f(x, k, O, return_indices=True, seed=123)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(f(x, k, O, seed=123), a[0])
    assert _is_valid_fractional(x, *a, k, O)
    g1 = f(x, k, O, return_indices=True, seed=np.random.default_rng(5))
    g2 = f(x, k, O, return_indices=True, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(g1[1], g2[1])
    assert _is_valid_fractional(x, *g1, k, O)
    y0, i0 = f(x, k, O, return_indices=True)  # seed=None: fresh entropy, still valid
    assert _is_valid_fractional(x, y0, i0, k, O)
    # different seeds give different regions (8 seeds all alike: ~impossible)
    outs = {f(x, k, O, return_indices=True, seed=s)[1].tobytes() for s in range(8)}
    assert len(outs) > 1
    # each (n, c) gets its own samples: 16 identical planes are not all pooled alike
    xs = np.broadcast_to(x[:1, :1], (1, 16) + S).copy()
    _, ii = f(xs, k, O, return_indices=True, seed=3)
    assert len({ii[0, c].tobytes() for c in range(16)}) > 1


# ---- threads -------------------------------------------------------------------

@pytest.mark.parametrize("nd", [2, 3])
def test_thread_count_invariance(nd, rng):
    shape = (2, 8, 64, 64) if nd == 2 else (2, 4, 16, 32, 32)
    x = make_input(shape, np.float32, rng)
    xl = to_layout(x, True)
    u = samples_for(shape, nd, rng, np.float32)
    k, O = (3,) * nd, tuple(s // 2 for s in shape[2:])
    f, fb = fwd(nd), bwd(nd)

    def run():
        y, i = f(x, k, O, return_indices=True, random_samples=u)
        yl, il = f(xl, k, O, return_indices=True, random_samples=u, channels_last=True)
        ys, is_ = f(x, k, O, return_indices=True, seed=99)
        g = np.ones_like(y)
        return [y, i, yl, il, ys, is_, fb(g, i, x.shape),
                fb(to_layout(g, True), il, xl.shape, channels_last=True),
                f(x.astype(np.int16), k, O, random_samples=u)]

    one = same_at_every_thread_count(run, counts=(2,))
    np.testing.assert_array_equal(np.moveaxis(one[2], -1, 1), one[0])
    # overlapping windows (k = 3, O = I/2) make the backward accumulate
    assert one[6].max() > 1


# ---- backward ------------------------------------------------------------------

@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("nd", [2, 3])
def test_backward_matches_reference(nd, dtype, channels_last, rng):
    for k, kw in frac_configs(nd, 5, seed=6):
        x = to_layout(make_input(SHAPES[nd], dtype, rng), channels_last)
        u = samples_for(SHAPES[nd], nd, rng)
        y, i = fwd(nd)(x, k, **kw, return_indices=True, random_samples=u,
                       channels_last=channels_last)
        gy = rng.standard_normal(y.shape).astype(dtype)
        gx = bwd(nd)(gy, i, x.shape, channels_last=channels_last)
        assert gx.dtype == dtype and gx.shape == x.shape
        np.testing.assert_array_equal(
            gx, rf.fractional_max_pool_backward(gy, i, x.shape, nd, channels_last))


@pytest.mark.parametrize("nd", [2, 3])
def test_backward_finite_differences(nd, rng):
    """d(sum(w * y))/dx against central differences, float64, distinct values."""
    shape = SHAPES[nd]
    for k, kw in frac_configs(nd, 3, seed=7):
        x = rng.permutation(np.prod(shape)).reshape(shape).astype(np.float64) * 0.1
        u = samples_for(shape, nd, rng)
        f = lambda: fwd(nd)(x, k, **kw, random_samples=u)  # noqa: E731
        y, i = fwd(nd)(x, k, **kw, return_indices=True, random_samples=u)
        w = rng.standard_normal(y.shape)
        gx = bwd(nd)(w, i, x.shape)
        eps = 1e-4
        flat = x.reshape(-1)
        for j in rng.choice(flat.size, 30, replace=False):
            old = flat[j]
            flat[j] = old + eps
            fp = (w * f()).sum()
            flat[j] = old - eps
            fm = (w * f()).sum()
            flat[j] = old
            assert abs((fp - fm) / (2 * eps) - gx.reshape(-1)[j]) < 1e-6
        assert np.count_nonzero(gx) > 0


# ---- PyTorch ---------------------------------------------------------------------

def _torch_case(nd, r):
    S = tuple(r.randint(2, 13 if nd == 2 else 7) for _ in range(nd))
    k, kw = frac_configs(nd, 1, seed=r.randint(0, 10 ** 6), S=S, strict=nd == 3)[0]
    if "output_ratio" in kw and not isinstance(kw["output_ratio"], tuple):
        kw = dict(output_ratio=(kw["output_ratio"],) * nd)  # torch 2.13: 2d scalar fails
    return S, k, kw


@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("nd", [2, 3])
def test_matches_torch(nd, dtype):
    torch = pytest.importorskip("torch")
    tf = getattr(torch.nn.functional, f"fractional_max_pool{nd}d")
    r = random.Random(50 + nd)
    rng = np.random.default_rng(nd)
    for trial in range(60):
        S, k, kw = _torch_case(nd, r)
        batched = trial % 4 != 0
        shape = ((2,) if batched else ()) + (3,) + S
        x = (rng.integers(-4, 5, size=shape) if trial % 2 else
             rng.standard_normal(shape)).astype(dtype)
        if trial % 7 == 0:
            x.reshape(-1)[rng.integers(x.size, size=2)] = np.nan
        u = rng.random(((2,) if batched else (1,)) + (3, nd)).astype(dtype)
        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        ty, ti = tf(tx, k, **kw, return_indices=True, _random_samples=torch.from_numpy(u))
        y, i = fwd(nd)(x, k, **kw, return_indices=True, random_samples=u)
        np.testing.assert_array_equal(y, ty.detach().numpy())
        np.testing.assert_array_equal(i, ti.numpy())
        gy = rng.standard_normal(y.shape).astype(dtype)
        ty.backward(torch.from_numpy(gy))
        np.testing.assert_array_equal(bwd(nd)(gy, i, x.shape), tx.grad.numpy())


@pytest.mark.parametrize("nd", [2, 3])
def test_channels_last_matches_torch(nd):
    torch = pytest.importorskip("torch")
    tf = getattr(torch.nn.functional, f"fractional_max_pool{nd}d")
    fmt = torch.channels_last if nd == 2 else torch.channels_last_3d
    r = random.Random(70 + nd)
    rng = np.random.default_rng(70 + nd)
    for trial in range(30):
        S, k, kw = _torch_case(nd, r)
        x = rng.integers(-4, 5, size=(2, 3) + S).astype(np.float32)
        u = rng.random((2, 3, nd)).astype(np.float32)
        ty, ti = tf(torch.from_numpy(x).contiguous(memory_format=fmt), k, **kw,
                    return_indices=True, _random_samples=torch.from_numpy(u))
        y, i = fwd(nd)(to_layout(x, True), k, **kw, return_indices=True, random_samples=u,
                       channels_last=True)
        np.testing.assert_array_equal(np.moveaxis(y, -1, 1), ty.numpy())
        np.testing.assert_array_equal(np.moveaxis(i, -1, 1), ti.numpy())


def test_torch_sample_order_and_precision():
    """2d: samples[..., 0] drives W, [..., 1] drives H; 3d: (D, H, W); the
    float32 edge case of test_intervals_follow_input_dtype as PyTorch has it."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = np.arange(14 * 14, dtype=np.float64).reshape(1, 1, 14, 14)
    u = np.array([[[0.1, U_EDGE]]])
    for dt in FLOATS:
        ty, ti = F.fractional_max_pool2d(torch.from_numpy(x.astype(dt)), 3, (5, 5),
                                         return_indices=True,
                                         _random_samples=torch.from_numpy(u.astype(dt)))
        y, i = cpool.fractional_max_pool2d(x.astype(dt), 3, (5, 5), return_indices=True,
                                           random_samples=u)
        np.testing.assert_array_equal(i, ti.numpy())
        np.testing.assert_array_equal(y, ty.numpy())
    _, t32 = F.fractional_max_pool2d(torch.from_numpy(x.astype(np.float32)), 3, (5, 5),
                                     return_indices=True,
                                     _random_samples=torch.from_numpy(u.astype(np.float32)))
    _, t64 = F.fractional_max_pool2d(torch.from_numpy(x), 3, (5, 5), return_indices=True,
                                     _random_samples=torch.from_numpy(u))
    assert not np.array_equal(t32.numpy(), t64.numpy())  # the case does depend on dtype
    x = np.arange(19 * 19, dtype=np.float64).reshape(1, 1, 19, 19)
    u = np.array([[[0.6, U32]]])
    for dt in FLOATS:
        ty, ti = F.fractional_max_pool2d(torch.from_numpy(x.astype(dt)), 3, (4, 6),
                                         return_indices=True,
                                         _random_samples=torch.from_numpy(u.astype(dt)))
        y, i = cpool.fractional_max_pool2d(x.astype(dt), 3, (4, 6), return_indices=True,
                                           random_samples=u.astype(dt))
        np.testing.assert_array_equal(i, ti.numpy())
        assert (ti.numpy()[0, 0, 1, 0] // 19 == 8) == (dt == np.float32)
    x3 = np.arange(9 * 10 * 11, dtype=np.float32).reshape(1, 1, 9, 10, 11)
    u3 = np.array([[[0.9, 0.1, 0.5]]], np.float32)
    ty, ti = F.fractional_max_pool3d(torch.from_numpy(x3), 2, (4, 5, 6), return_indices=True,
                                     _random_samples=torch.from_numpy(u3))
    y, i = cpool.fractional_max_pool3d(x3, 2, (4, 5, 6), return_indices=True, random_samples=u3)
    np.testing.assert_array_equal(i, ti.numpy())


def test_scalar_ratio_equals_torch_tuple():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 13, 10)).astype(np.float32)
    u = rng.random((2, 3, 2)).astype(np.float32)
    ty, ti = F.fractional_max_pool2d(torch.from_numpy(x), 2, output_ratio=(0.6, 0.6),
                                     return_indices=True, _random_samples=torch.from_numpy(u))
    y, i = cpool.fractional_max_pool2d(x, 2, output_ratio=0.6, return_indices=True,
                                       random_samples=u)
    assert y.shape == (2, 3, 7, 6)
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(i, ti.numpy())


@pytest.mark.parametrize("dtype", INTS, ids=dtype_id)
def test_integers_match_torch_float64(dtype):
    """PyTorch has no integer fractional pooling; an integer input must pool
    as its float64 copy does (same regions: float64 intervals)."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(9)
    r = random.Random(9)
    for _ in range(15):
        S, k, kw = _torch_case(2, r)
        x = rng.integers(0, 100, size=(2, 3) + S).astype(dtype)
        u = rng.random((2, 3, 2))
        ty, ti = F.fractional_max_pool2d(torch.from_numpy(x.astype(np.float64)), k, **kw,
                                         return_indices=True,
                                         _random_samples=torch.from_numpy(u))
        y, i = cpool.fractional_max_pool2d(x, k, **kw, return_indices=True, random_samples=u)
        assert y.dtype == dtype
        np.testing.assert_array_equal(y, ty.numpy().astype(dtype))
        np.testing.assert_array_equal(i, ti.numpy())


def test_3d_output_at_the_bound(rng):
    """O + k - 1 == I is accepted in 3d too (PyTorch 2.13's 3d check is strict
    and refuses it; its 2d check accepts it)."""
    x = rng.standard_normal((1, 2, 5, 6, 7))
    u = rng.random((1, 2, 3))
    _check(3, x, 3, dict(output_size=(3, 4, 5)), u)


# ---- errors ----------------------------------------------------------------------

X2 = np.zeros((2, 3, 8, 8), np.float32)
X3 = np.zeros((2, 3, 6, 6, 6), np.float32)
U2 = np.full((2, 3, 2), 0.5)
U3 = np.full((2, 3, 3), 0.5)
G2 = np.zeros((2, 3, 4, 4), np.float32)
I2 = np.zeros((2, 3, 4, 4), np.int64)


def _u(v):
    u = U2.copy()
    u[1, 2, 0] = v
    return u


fmp2 = lambda *a, **k: cpool.fractional_max_pool2d(*a, **k)  # noqa: E731
fmp3 = lambda *a, **k: cpool.fractional_max_pool3d(*a, **k)  # noqa: E731
fmb2 = lambda *a, **k: cpool.fractional_max_pool2d_backward(*a, **k)  # noqa: E731

BAD_CALLS = [
    # (call, exception(s), the message must contain one of these words)
    (lambda: fmp2(X2, 2, random_samples=U2), ValueError, ("output_size", "output_ratio")),
    (lambda: fmp2(X2, 2, output_ratio=0.0, random_samples=U2), ValueError, "output_ratio"),
    (lambda: fmp2(X2, 2, output_ratio=1.0, random_samples=U2), ValueError, "output_ratio"),
    (lambda: fmp2(X2, 2, output_ratio=1.5, random_samples=U2), ValueError, "output_ratio"),
    (lambda: fmp2(X2, 2, output_ratio=-0.5, random_samples=U2), ValueError, "output_ratio"),
    (lambda: fmp2(X2, 2, output_ratio=float("nan"), random_samples=U2), ValueError,
     "output_ratio"),
    (lambda: fmp2(X2, 2, output_ratio=(0.5, 1.0), random_samples=U2), ValueError,
     "output_ratio"),
    (lambda: fmp2(X2, 2, output_ratio=(0.5, 0.5, 0.5), random_samples=U2), ValueError,
     "output_ratio"),
    (lambda: fmp2(X2, 2, output_ratio=0.1, random_samples=U2), ValueError,
     ("output_ratio", "output_size")),  # int(8 * 0.1) == 0
    (lambda: fmp2(X2, 2, 0, random_samples=U2), ValueError, "output_size"),
    (lambda: fmp2(X2, 2, (4, 0), random_samples=U2), ValueError, "output_size"),
    (lambda: fmp2(X2, 2, -1, random_samples=U2), ValueError, "output_size"),
    (lambda: fmp2(X2, 2, (4, 4, 4), random_samples=U2), ValueError, "output_size"),
    (lambda: fmp2(X2, 2, 2.5, random_samples=U2), TypeError, "output_size"),
    (lambda: fmp2(X2, 2, 8, random_samples=U2), ValueError, ("output_size", "kernel_size")),
    (lambda: fmp2(X2, (2, 3), (7, 7), random_samples=U2), ValueError,
     ("output_size", "kernel_size")),
    (lambda: fmp2(X2, 9, 1, random_samples=U2), ValueError, ("output_size", "kernel_size")),
    (lambda: fmp2(X2, 0, 4, random_samples=U2), ValueError, "kernel_size"),
    (lambda: fmp2(X2, -1, 4, random_samples=U2), ValueError, "kernel_size"),
    (lambda: fmp2(X2, (2, 2, 2), 4, random_samples=U2), ValueError, "kernel_size"),
    (lambda: fmp2(X2, 2.0, 4, random_samples=U2), TypeError, "kernel_size"),
    (lambda: fmp2(X2, 2, 4, random_samples=_u(1.0)), ValueError, "random_samples"),
    (lambda: fmp2(X2, 2, 4, random_samples=_u(-0.1)), ValueError, "random_samples"),
    (lambda: fmp2(X2, 2, 4, random_samples=_u(1.5)), ValueError, "random_samples"),
    (lambda: fmp2(X2, 2, 4, random_samples=_u(np.nan)), ValueError, "random_samples"),
    (lambda: fmp2(X2, 2, 4, random_samples=_u(np.inf)), ValueError, "random_samples"),
    (lambda: fmp2(X2, 2, 4, random_samples=U3), ValueError, "random_samples"),
    (lambda: fmp2(X2, 2, 4, random_samples=U2[:, :2]), ValueError, "random_samples"),
    (lambda: fmp2(X2, 2, 4, random_samples=U2[:1]), ValueError, "random_samples"),
    (lambda: fmp2(X2, 2, 4, random_samples=np.concatenate([U2, U2])), ValueError,
     "random_samples"),
    (lambda: fmp2(X2, 2, 4, random_samples=U2[0]), ValueError, "random_samples"),
    (lambda: fmp2(X2, 2, 4, random_samples=U2[..., None]), ValueError, "random_samples"),
    (lambda: fmp2(X2[0], 2, 4, random_samples=U2[:, 0]), ValueError, "random_samples"),
    (lambda: fmp3(X3, 2, 3, random_samples=U2), ValueError, "random_samples"),
    (lambda: fmp3(X3, (2, 2), 3, random_samples=U3), ValueError, "kernel_size"),
    (lambda: fmp3(X3, 2, (3, 3), random_samples=U3), ValueError, "output_size"),
    (lambda: fmp3(X3, 2, 6, random_samples=U3), ValueError, ("output_size", "kernel_size")),
    (lambda: fmp2(X2.astype(np.float16), 2, 4, random_samples=U2), TypeError, "float16"),
    (lambda: fmp2(X2.astype(bool), 2, 4, random_samples=U2), TypeError, "bool"),
    (lambda: fmp2(X2[0, 0], 2, 4, random_samples=U2), ValueError, "dimensions"),
    (lambda: fmp3(X2[0], 2, 4, random_samples=U3), ValueError, "dimensions"),
    (lambda: fmp2(X2, 2, 4, seed="abc"), (TypeError, ValueError), "seed"),
    # backward
    (lambda: fmb2(G2, I2 + 64, X2.shape), ValueError, "indices"),
    (lambda: fmb2(G2, I2 - 2, X2.shape), ValueError, "indices"),
    (lambda: fmb2(G2, I2.astype(np.int32), X2.shape), TypeError, "indices"),
    (lambda: fmb2(G2, I2[..., :3], X2.shape), ValueError, ("indices", "grad_output")),
    (lambda: fmb2(G2.astype(np.int32), I2, X2.shape), TypeError, "grad_output"),
    (lambda: fmb2(G2, I2, (2, 3, 8)), ValueError, "input_shape"),
    (lambda: fmb2(G2, I2, (2, 4, 8, 8)), ValueError, ("input_shape", "grad_output")),
]


@pytest.mark.parametrize("call,exc,words", BAD_CALLS,
                         ids=[f"{j}-{w if isinstance(w, str) else w[0]}"
                              for j, (_, _, w) in enumerate(BAD_CALLS)])
def test_bad_call_raises(call, exc, words):
    check_bad_call(call, exc, words, (X2, X3, U2, U3, G2, I2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,shape,k,out", [
    (2, (2, 3, 17, 29), 2, (11, 19)),
    (2, (1, 2, 9, 33), (3, 2), (5, 20)),
    (3, (1, 2, 6, 7, 23), 2, (3, 4, 15)),
])
def test_bit_exact_on_zero_and_nan_ties(dtype, nd, shape, k, out):
    """Windows are reduced columns first; -0/+0 ties and NaN payloads must
    still come out as the scan-order pick, bit for bit."""
    rng = np.random.default_rng(7)
    pool = np.array([0.0, -0.0, 1.0, -np.inf, np.nan], dtype)
    fn = getattr(cpool, f"fractional_max_pool{nd}d")
    for _ in range(3):
        x = pool[rng.integers(len(pool), size=shape)]
        bits = x.view(f"u{x.itemsize}")
        nan = np.isnan(x)
        bits[nan] |= rng.integers(1, 1 << 20, size=int(nan.sum())).astype(bits.dtype)
        u = rng.random(shape[:2] + (nd,))
        with np.errstate(invalid="ignore"):
            y, i = fn(x, k, out, return_indices=True, random_samples=u)
            ry, ri = ref.fractional_max_pool(x, nd, k, out, random_samples=u)
        np.testing.assert_array_equal(i, ri)
        np.testing.assert_array_equal(y.view(bits.dtype), ry.view(bits.dtype))
