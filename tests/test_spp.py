"""spatial_pyramid_pool and its backward (He et al. 2014): adaptive bins against
the concatenated adaptive_{max,avg}_pool2d results and PyTorch (forward and
autograd), paper bins against the NumPy reference (reference.py, spatial
pyramid pooling section; itself checked against PyTorch here), the 13x13 map
with a 6x6 level where Caffe's padding recipe fails, the conv5 example, layouts,
batch-less input, levels forms, dtypes, NaN/ties, finite differences, thread
invariance and the error table.  cpool.spatial_pyramid_pool* are looked up at
call time, so the module collects before the functions exist."""
import math

import numpy as np
import pytest

import cpool
import reference as ref
from conftest import (FLOATS, INTS, check_bad_call, make_input, to_layout,
                      same_at_every_thread_count)


def spp(*args, **kw):
    return cpool.spatial_pyramid_pool(*args, **kw)


def spp_b(*args, **kw):
    return cpool.spatial_pyramid_pool_backward(*args, **kw)


dtype_id = lambda t: np.dtype(t).name  # noqa: E731
MODES = ["max", "avg"]
BINS = ["adaptive", "paper"]
LEVELS = [(1, 2, 4), (6, 3, 2, 1)]
# (H, W) maps: the paper's 13x13 conv5 map, 14x14 (paper bins leave the last
# row/column out at l = 4), anisotropic and odd sizes
MAPS = [(13, 13), (14, 14), (7, 9), (9, 6)]


def int_grads(shape, dtype, rng):
    """Small integer-valued gradients: every sum of them is exact, so a
    scatter-add gives the same bits in any accumulation order."""
    return rng.integers(-4, 5, size=shape).astype(dtype)


def fits(levels, H, W):
    return max(levels) <= min(H, W)


def torch_levels(torch, tx, levels, mode, bins="adaptive"):
    """PyTorch's pyramid: the concatenated, flattened per-level poolings.
    Paper bins are max/avg_pool2d with kernel ceil(a/l), stride floor(a/l),
    cropped to the first l x l windows."""
    F = torch.nn.functional
    H, W = tx.shape[-2:]
    out = []
    for l in levels:
        if bins == "adaptive":
            o = F.adaptive_max_pool2d(tx, l) if mode == "max" else F.adaptive_avg_pool2d(tx, l)
        else:
            k, s = (-(-H // l), -(-W // l)), (H // l, W // l)
            o = (F.max_pool2d if mode == "max" else F.avg_pool2d)(tx, k, s)[..., :l, :l]
        out.append(o.flatten(-3))
    return torch.cat(out, -1)


# ---- the reference itself --------------------------------------------------------

def test_reference_paper_bins_formula():
    assert ref.spp_bins(14, 4, "paper") == [(0, 4), (3, 7), (6, 10), (9, 13)]
    assert ref.spp_uncovered(14, 4) == 1
    assert ref.spp_bins(13, 6, "paper") == [(0, 3), (2, 5), (4, 7), (6, 9), (8, 11), (10, 13)]
    assert ref.spp_bins(13, 4, "adaptive") == [(0, 4), (3, 7), (6, 10), (9, 13)]
    for a in range(1, 40):
        for l in range(1, a + 1):
            b = ref.spp_bins(a, l, "paper")
            k, s = math.ceil(a / l), a // l
            assert len(b) == l and b[0][0] == 0 and b[-1][1] <= a
            assert all(hi - lo == k for lo, hi in b)
            assert all(b[i + 1][0] - b[i][0] == s for i in range(l - 1))
            assert ref.spp_uncovered(a, l) == max(a % l - 1, 0)
        with pytest.raises(ValueError):
            ref.spp_bins(a, a + 1, "paper")


def test_reference_matches_torch():
    """Adaptive levels against adaptive_*_pool2d; paper levels against cropped
    max/avg_pool2d; both backward passes against autograd."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    for H, W in [(13, 13), (14, 14), (5, 3), (2, 7), (1, 1)]:
        for levels in [(1, 2, 4), (6, 3, 2, 1)]:
            for bins in BINS if fits(levels, H, W) else ["adaptive"]:
                for mode in MODES:
                    x = rng.integers(-5, 5, (2, 2, H, W)).astype(np.float64)
                    tx = torch.from_numpy(x.copy()).requires_grad_(True)
                    ty = torch_levels(torch, tx, levels, mode, bins)
                    y, i = ref.spatial_pyramid_pool(x, levels, mode, bins)
                    g = int_grads(y.shape, np.float64, rng)
                    ty.backward(torch.from_numpy(g))
                    gx = ref.spatial_pyramid_pool_backward(g, x.shape, levels, mode, bins, i)
                    if mode == "max":
                        np.testing.assert_array_equal(y, ty.detach().numpy())
                        np.testing.assert_array_equal(gx, tx.grad.numpy())
                    else:
                        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-13)
                        np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-13)


# ---- adaptive bins ---------------------------------------------------------------

@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("mode", MODES)
def test_adaptive_equals_concatenated_adaptive_pools(mode, dtype, channels_last, rng):
    """Each level's block is adaptive_{max,avg}_pool2d(x, l) flattened, exactly,
    indices included; maps smaller than a level (bins repeat elements) too."""
    for (H, W), levels in [((13, 13), (1, 2, 4)), ((10, 17), (6, 3, 2, 1)),
                           ((3, 2), (4, 1, 5)), ((1, 1), (2, 1)), ((8, 8), (3, 3))]:
        x = make_input((2, 3, H, W), dtype, rng, ties=(mode == "max"))
        xl = to_layout(x, channels_last)
        kw = dict(levels=levels, mode=mode, channels_last=channels_last)
        if mode == "max":
            y, i = spp(xl, return_indices=True, **kw)
            parts = [cpool.adaptive_max_pool2d(x, l, return_indices=True) for l in levels]
            np.testing.assert_array_equal(i, np.concatenate([p[1].reshape(2, -1)
                                                             for p in parts], 1))
            want = np.concatenate([p[0].reshape(2, -1) for p in parts], 1)
            assert i.dtype == np.int64
        else:
            y = spp(xl, **kw)
            want = np.concatenate([cpool.adaptive_avg_pool2d(x, l).reshape(2, -1)
                                   for l in levels], 1)
        assert y.dtype == dtype and y.shape == (2, 3 * sum(l * l for l in levels))
        np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("mode", MODES)
def test_adaptive_matches_torch_forward_and_autograd(mode, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    tol = dict(rtol=2e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-14)
    for (H, W), levels in [((13, 13), (1, 2, 4)), ((14, 14), (6, 3, 2, 1)),
                           ((10, 17), (4, 2, 1)), ((3, 5), (4, 2))]:
        x = (rng.integers(-6, 6, (2, 4, H, W)) if mode == "max"
             else rng.standard_normal((2, 4, H, W))).astype(dtype)
        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        ty = torch_levels(torch, tx, levels, mode)
        g = int_grads(tuple(ty.shape), dtype, rng)
        ty.backward(torch.from_numpy(g))
        if mode == "max":
            y, i = spp(x, levels, "max", return_indices=True)
            ti = torch.cat([torch.nn.functional.adaptive_max_pool2d(
                torch.from_numpy(x), l, return_indices=True)[1].flatten(1) for l in levels], 1)
            np.testing.assert_array_equal(y, ty.detach().numpy())
            np.testing.assert_array_equal(i, ti.numpy())
            np.testing.assert_array_equal(spp_b(g, x.shape, levels, "max", indices=i),
                                          tx.grad.numpy())
        else:
            y = spp(x, levels, "avg")
            np.testing.assert_allclose(y, ty.detach().numpy(), **tol)
            np.testing.assert_allclose(spp_b(g, x.shape, levels, "avg"), tx.grad.numpy(),
                                       **tol)


def test_conv5_example_fixed_length_for_any_map_size(rng):
    """The paper's conv5 map (2, 256, 13, 13) with levels (4, 2, 1) gives a
    (2, 5376) feature; other map sizes give the same length."""
    levels = (4, 2, 1)
    x = rng.standard_normal((2, 256, 13, 13)).astype(np.float32)
    y = spp(x, levels)
    assert ref.spp_length(256, levels) == 256 * (16 + 4 + 1) == 5376
    assert isinstance(y, np.ndarray) and y.shape == (2, 5376) and y.dtype == np.float32
    parts = [cpool.adaptive_max_pool2d(x, l).reshape(2, -1) for l in levels]
    np.testing.assert_array_equal(y, np.concatenate(parts, 1))
    # level 4's block comes first, then level 2's, then level 1's (the global max)
    np.testing.assert_array_equal(y[:, 256 * 20:], x.max(axis=(2, 3)))
    np.testing.assert_array_equal(y[:, :256 * 16].reshape(2, 256, 4, 4)[:, :, 0, 0],
                                  x[:, :, :4, :4].max(axis=(2, 3)))
    for H, W in [(10, 17), (21, 21), (13, 13), (4, 4), (2, 3)]:
        z = rng.standard_normal((2, 256, H, W)).astype(np.float32)
        for mode in MODES:
            f = spp(z, levels, mode)
            assert f.shape == (2, 5376), (H, W, mode)
        f, i = spp(z, levels, return_indices=True)
        assert i.shape == (2, 5376) and i.dtype == np.int64
        assert i.min() >= 0 and i.max() < H * W
    np.testing.assert_array_equal(spp(x, levels, bins="paper").shape, (2, 5376))


# ---- paper bins against the reference --------------------------------------------

def _check_against_reference(x, levels, mode, bins, channels_last, rng):
    dtype = x.dtype
    if mode == "max":
        y, i = spp(x, levels, mode, bins, True, channels_last=channels_last)
    else:
        y, i = spp(x, levels, mode, bins, channels_last=channels_last), None
    ry, ri = ref.spatial_pyramid_pool(x, levels, mode, bins, channels_last=channels_last)
    assert y.dtype == dtype and y.shape == ry.shape
    np.testing.assert_array_equal(y, ry)  # avg: sum / kh / kw, to the bit
    if mode == "max":
        np.testing.assert_array_equal(i, ri)
    if not np.issubdtype(dtype, np.floating):
        return
    g = int_grads(y.shape, dtype, rng)
    gx = spp_b(g, x.shape, levels, mode, bins, i, channels_last=channels_last)
    rg = ref.spatial_pyramid_pool_backward(g, x.shape, levels, mode, bins, ri,
                                           channels_last=channels_last)
    assert gx.dtype == dtype and gx.shape == x.shape
    if mode == "max":
        np.testing.assert_array_equal(gx, rg)
    else:
        np.testing.assert_allclose(gx, rg, rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   atol=1e-5 if dtype == np.float32 else 1e-12)
    g = rng.standard_normal(y.shape).astype(dtype)
    gx = spp_b(g, x.shape, levels, mode, bins, i, channels_last=channels_last)
    rg = ref.spatial_pyramid_pool_backward(g, x.shape, levels, mode, bins, ri,
                                           channels_last=channels_last)
    np.testing.assert_allclose(gx, rg, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bins", BINS)
def test_matches_reference(bins, mode, dtype, rng):
    for H, W in MAPS:
        for levels in LEVELS:
            if bins == "paper" and not fits(levels, H, W):
                continue
            x = make_input((1, 2, H, W), dtype, rng, ties=(mode == "max"))
            _check_against_reference(x, levels, mode, bins, False, rng)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bins", BINS)
def test_matches_reference_channels_last_and_batchless(bins, mode, rng):
    x = make_input((2, 3, 14, 11), np.float32, rng, ties=(mode == "max"))
    _check_against_reference(to_layout(x, True), (1, 2, 4), mode, bins, True, rng)
    _check_against_reference(x[1], (4, 1), mode, bins, False, rng)
    _check_against_reference(to_layout(x, True)[0], (3, 2), mode, bins, True, rng)


def test_paper_bins_equal_cropped_window_pooling(rng):
    """Paper level l = max/avg_pool2d with kernel ceil(a/l), stride floor(a/l),
    its first l x l windows (cpool's own pooling, exactly for max)."""
    for H, W in [(13, 13), (14, 14), (14, 9), (6, 13)]:
        x = rng.standard_normal((2, 3, H, W))
        for levels in [(1, 2, 4), (6, 3, 2, 1)]:
            if not fits(levels, H, W):
                continue
            y, i = spp(x, levels, "max", "paper", return_indices=True)
            a = spp(x, levels, "avg", "paper")
            off = 0
            for l in levels:
                k, s = (-(-H // l), -(-W // l)), (H // l, W // l)
                my, mi = cpool.max_pool2d(x, k, s, return_indices=True)
                n = 3 * l * l
                np.testing.assert_array_equal(y[:, off:off + n],
                                              my[..., :l, :l].reshape(2, -1))
                np.testing.assert_array_equal(i[:, off:off + n],
                                              mi[..., :l, :l].reshape(2, -1))
                np.testing.assert_allclose(a[:, off:off + n],
                                           cpool.avg_pool2d(x, k, s)[..., :l, :l].reshape(2, -1),
                                           rtol=1e-13)
                off += n


def test_paper_bins_leave_trailing_rows_uncovered():
    """a = 14, l = 4: windows [0,4) [3,7) [6,10) [9,13); row and column 13 are in
    no window, so a huge value there is never seen and gets no gradient.
    Adaptive bins cover it."""
    x = np.zeros((1, 1, 14, 14))
    x[0, 0, 13, :] = 100.0
    x[0, 0, :, 13] = 100.0
    x[0, 0, 12, 12] = 5.0
    y, i = spp(x, (4,), "max", "paper", return_indices=True)
    assert y.max() == 5.0 and y[0, -1] == 5.0 and i[0, -1] == 12 * 14 + 12
    a = spp(x, (4,), "avg", "paper")
    np.testing.assert_array_equal(a[0, -1], 5.0 / 16)
    ga = spp_b(np.ones((1, 16)), x.shape, (4,), "avg", "paper")
    assert (ga[0, 0, 13, :] == 0).all() and (ga[0, 0, :, 13] == 0).all()
    assert (ga[0, 0, :13, :13] > 0).all()
    ya = spp(x, (4,), "max", "adaptive")
    assert ya[0, -1] == 100.0
    # l = 6 on a 13x13 map: window 3, stride 2 ends exactly at 13
    assert ref.spp_uncovered(13, 6) == 0
    g6 = spp_b(np.ones((1, 36)), (1, 1, 13, 13), (6,), "avg", "paper")
    assert (g6 > 0).all()


def test_13x13_with_a_6x6_level_where_caffe_padding_fails(rng):
    """Caffe's SPP layer (and its PyTorch ports) pool each level with kernel
    ceil(a/l), stride ceil(a/l) and pad (kernel*l - a + 1) // 2.  On 13x13 with
    l = 6 that is kernel 3, pad 3: more than half the kernel, which max pooling
    rejects.  spatial_pyramid_pool handles the level under both bin rules."""
    a, l = 13, 6
    k = -(-a // l)
    pad = (k * l - a + 1) // 2
    assert (k, pad) == (3, 3) and pad > k // 2
    x = make_input((2, 4, a, a), np.float32, rng)
    with pytest.raises(ValueError, match="padding"):
        cpool.max_pool2d(x, k, k, pad)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.nn.functional.max_pool2d(torch.from_numpy(x), k, k, pad)
    for bins in BINS:
        for mode in MODES:
            _check_against_reference(x, (6, 3, 2, 1), mode, bins, False, rng)
        assert spp(x, (6,), bins=bins).shape == (2, 4 * 36)


def test_paper_level_larger_than_map_raises_adaptive_works(rng):
    for shape, levels in [((1, 2, 3, 9), (1, 4)), ((1, 2, 9, 3), (4,)),
                          ((1, 2, 5, 5), (6, 3, 2, 1)), ((2, 1, 1), (2,))]:
        x = make_input(shape, np.float64, rng)
        with pytest.raises(ValueError, match="level"):
            spp(x, levels, bins="paper")
        with pytest.raises(ValueError, match="level"):
            spp(x, levels, "avg", bins="paper")
        n = shape[-3] * sum(l * l for l in levels)
        g = np.ones((1, n) if len(shape) == 4 else (n,))
        with pytest.raises(ValueError, match="level"):
            spp_b(g, shape, levels, "avg", "paper")
        for mode in MODES:
            _check_against_reference(x, levels, mode, "adaptive", False, rng)


# ---- layouts, batch-less, levels forms --------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bins", BINS)
def test_channels_last_equals_channels_first(bins, mode, rng):
    x = make_input((3, 5, 13, 10), np.float32, rng, ties=False)
    xl = to_layout(x, True)
    levels = (1, 2, 4) if bins == "paper" else (6, 3, 2, 1)
    kw = dict(return_indices=True) if mode == "max" else {}
    r = spp(x, levels, mode, bins, **kw)
    rl = spp(xl, levels, mode, bins, channels_last=True, **kw)
    y, i = r if mode == "max" else (r, None)
    yl, il = rl if mode == "max" else (rl, None)
    assert yl.shape == y.shape == (3, 5 * sum(l * l for l in levels))
    np.testing.assert_array_equal(yl, y)
    if mode == "max":
        np.testing.assert_array_equal(il, i)
    g = rng.standard_normal(y.shape).astype(np.float32)
    gx = spp_b(g, x.shape, levels, mode, bins, i)
    gl = spp_b(g, xl.shape, levels, mode, bins, il, channels_last=True)
    assert gl.shape == xl.shape
    np.testing.assert_array_equal(np.moveaxis(gl, -1, 1), gx)


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("bins", BINS)
def test_batchless_gives_1d(bins, channels_last, rng):
    x = to_layout(make_input((2, 3, 9, 8), np.float64, rng, ties=False), channels_last)
    kw = dict(bins=bins, channels_last=channels_last)
    y, i = spp(x[1], (1, 2, 4), return_indices=True, **kw)
    yb, ib = spp(x, (1, 2, 4), return_indices=True, **kw)
    assert y.shape == (3 * 21,) and i.shape == (3 * 21,)
    np.testing.assert_array_equal(y, yb[1])
    np.testing.assert_array_equal(i, ib[1])
    a = spp(x[1], (1, 2, 4), "avg", **kw)
    assert a.shape == (63,)
    np.testing.assert_array_equal(a, spp(x, (1, 2, 4), "avg", **kw)[1])
    g = rng.standard_normal(yb.shape)
    gx = spp_b(g[1], x[1].shape, (1, 2, 4), "max", indices=i, **kw)
    assert gx.shape == x[1].shape
    np.testing.assert_array_equal(gx, spp_b(g, x.shape, (1, 2, 4), "max", indices=ib, **kw)[1])
    ga = spp_b(g[1], x[1].shape, (1, 2, 4), "avg", **kw)
    np.testing.assert_array_equal(ga, spp_b(g, x.shape, (1, 2, 4), "avg", **kw)[1])


def test_levels_forms(rng):
    """A list equals the tuple; numpy ints are ints; duplicates repeat the
    block; the order of the levels is the order of the blocks."""
    x = make_input((2, 3, 11, 12), np.float64, rng, ties=False)
    blocks = {l: spp(x, (l,)) for l in (1, 2, 4)}
    assert blocks[2].shape == (2, 12)
    np.testing.assert_array_equal(spp(x, [1, 2, 4]), spp(x, (1, 2, 4)))
    np.testing.assert_array_equal(spp(x, (np.int64(1), np.int32(2), 4)), spp(x, (1, 2, 4)))
    np.testing.assert_array_equal(spp(x, (4, 1, 2)),
                                  np.concatenate([blocks[4], blocks[1], blocks[2]], 1))
    np.testing.assert_array_equal(spp(x, (2, 2, 1)),
                                  np.concatenate([blocks[2], blocks[2], blocks[1]], 1))
    # duplicated levels add their gradients
    y, i = spp(x, (2, 2), return_indices=True)
    g = int_grads(y.shape, np.float64, rng)
    gx = spp_b(g, x.shape, (2, 2), indices=i)
    g1 = spp_b(g[:, :12], x.shape, (2,), indices=i[:, :12])
    g2 = spp_b(g[:, 12:], x.shape, (2,), indices=i[:, 12:])
    np.testing.assert_array_equal(gx, g1 + g2)
    ga = spp_b(g, x.shape, (2, 2), "avg")
    np.testing.assert_allclose(ga, 2 * spp_b((g[:, :12] + g[:, 12:]) / 2, x.shape, (2,), "avg"),
                               rtol=1e-13)


def test_defaults_are_levels_1_2_4_max_adaptive(rng):
    x = make_input((2, 3, 9, 7), np.float32, rng)
    y = spp(x)
    np.testing.assert_array_equal(y, spp(x, (1, 2, 4), "max", "adaptive"))
    _, i = spp(x, return_indices=True)
    g = np.ones_like(y)
    np.testing.assert_array_equal(spp_b(g, x.shape, indices=i),
                                  spp_b(g, x.shape, (1, 2, 4), "max", "adaptive", i))


# ---- dtypes, NaN, ties ------------------------------------------------------------

@pytest.mark.parametrize("dtype", INTS, ids=dtype_id)
def test_int_dtypes_max(dtype, rng):
    info = np.iinfo(dtype)
    x = make_input((2, 2, 13, 13), dtype, rng)
    x[0, 0, 0, 0], x[0, 0, 12, 12], x[1, 1, 5, 5] = info.max, info.min, info.max
    for bins in BINS:
        _check_against_reference(x, (6, 3, 2, 1), "max", bins, False, rng)
        y, i = spp(to_layout(x, True), (1, 2), "max", bins, True, channels_last=True)
        np.testing.assert_array_equal(y, spp(x, (1, 2), "max", bins))
        assert y.dtype == dtype and y[0, 0] == info.max and i[0, 0] == 0
    with pytest.raises(TypeError, match=np.dtype(dtype).name):
        spp(x, mode="avg")


@pytest.mark.parametrize("bins", BINS)
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
def test_nan_and_ties(dtype, bins):
    x = np.zeros((1, 1, 6, 6), dtype=dtype)
    x[0, 0, 1, 1] = x[0, 0, 1, 4] = 3  # tie in level 1: the first in scan order wins
    x[0, 0, 4, 0] = np.nan
    x[0, 0, 5, 2] = np.nan  # two NaNs in one bin: the last one's index
    y, i = spp(x, (1, 2), "max", bins, True)
    ry, ri = ref.spatial_pyramid_pool(x, (1, 2), "max", bins)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(i, ri)
    assert np.isnan(y[0, 0]) and i[0, 0] == 5 * 6 + 2
    assert y[0, 1] == 3 and i[0, 1] == 1 * 6 + 1  # top-left 3x3 bin
    assert y[0, 2] == 3 and i[0, 2] == 1 * 6 + 4
    assert np.isnan(y[0, 3]) and i[0, 3] == 5 * 6 + 2
    a = spp(x, (1, 2), "avg", bins)
    # dtype(9): NumPy 1.x would compute float32(3) / 9 in float64
    assert np.isnan(a[0, 0]) and np.isnan(a[0, 3]) and a[0, 1] == dtype(3) / dtype(9)


# ---- gradients --------------------------------------------------------------------

@pytest.mark.parametrize("bins", BINS)
def test_backward_finite_differences(bins, rng):
    shape = (2, 2, 9, 11)
    eps = 1e-4  # values are 0.1 apart, so no argmax moves
    for levels in [(1, 2, 4), (6, 3, 2, 1), (3, 5)]:
        x = rng.permutation(np.prod(shape)).reshape(shape).astype(np.float64) * 0.1
        y, i = spp(x, levels, "max", bins, True)
        w = rng.standard_normal(y.shape)
        gmax = spp_b(w, x.shape, levels, "max", bins, i)
        gavg = spp_b(w, x.shape, levels, "avg", bins)
        flat = x.reshape(-1)
        for j in rng.choice(flat.size, 25, replace=False):
            old = flat[j]
            vals = []
            for v in (old + eps, old - eps):
                flat[j] = v
                vals.append(((w * spp(x, levels, "max", bins)).sum(),
                             (w * spp(x, levels, "avg", bins)).sum()))
            flat[j] = old
            assert abs((vals[0][0] - vals[1][0]) / (2 * eps) - gmax.reshape(-1)[j]) < 1e-6
            assert abs((vals[0][1] - vals[1][1]) / (2 * eps) - gavg.reshape(-1)[j]) < 1e-6


@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
def test_avg_gradient_is_conserved(dtype, rng):
    """Every bin spreads its gradient with weights summing to 1."""
    x = make_input((2, 3, 13, 10), dtype, rng)
    for bins in BINS:
        g = rng.uniform(0.5, 1.5, (2, 3 * 21)).astype(dtype)
        gx = spp_b(g, x.shape, (1, 2, 4), "avg", bins)
        np.testing.assert_allclose(gx.sum(axis=(1, 2, 3)), g.sum(axis=1),
                                   rtol=1e-5 if dtype == np.float32 else 1e-12)


# ---- inputs ------------------------------------------------------------------------

def test_strided_input_and_input_unchanged(rng):
    base = make_input((2, 3, 20, 26), np.float64, rng, ties=False)
    x = base[:, :, 1::2, ::2]  # (2, 3, 10, 13), non-contiguous
    xc = np.ascontiguousarray(x)
    before = base.copy()
    for bins in BINS:
        for mode in MODES:
            np.testing.assert_array_equal(spp(x, (1, 2, 4), mode, bins),
                                          spp(xc, (1, 2, 4), mode, bins))
    xl = np.moveaxis(base, 1, -1)[:, ::2, 1::2, :]  # channels-last, non-contiguous
    np.testing.assert_array_equal(spp(xl, (1, 3), channels_last=True),
                                  spp(np.ascontiguousarray(np.moveaxis(xl, -1, 1)), (1, 3)))
    np.testing.assert_array_equal(base, before)


def test_empty_batch(rng):
    x = np.zeros((0, 3, 7, 7), np.float32)
    y, i = spp(x, (1, 2, 4), return_indices=True)
    assert y.shape == (0, 63) and i.shape == (0, 63) and y.dtype == np.float32
    assert spp(x, (1, 2), "avg", "paper").shape == (0, 15)
    gx = spp_b(np.zeros((0, 63), np.float32), x.shape, indices=i)
    assert gx.shape == x.shape and gx.dtype == np.float32


# ---- threads ------------------------------------------------------------------------

def _all_ops(x, xl):
    out = []
    for bins in BINS:
        for levels in [(1, 2, 4), (6, 3, 2, 1)]:
            y, i = spp(x, levels, "max", bins, True)
            yl, il = spp(xl, levels, "max", bins, True, channels_last=True)
            a = spp(x, levels, "avg", bins)
            al = spp(xl, levels, "avg", bins, channels_last=True)
            g = np.linspace(-1, 1, a.size, dtype=x.dtype).reshape(a.shape)
            out += [y, i, yl, il, a, al,
                    spp_b(g, x.shape, levels, "max", bins, i),
                    spp_b(g, xl.shape, levels, "max", bins, il, channels_last=True),
                    spp_b(g, x.shape, levels, "avg", bins),
                    spp_b(g, xl.shape, levels, "avg", bins, channels_last=True)]
    return out


def test_results_identical_at_every_thread_count(rng):
    x = rng.standard_normal((4, 24, 45, 38)).astype(np.float32)
    xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    same_at_every_thread_count(lambda: _all_ops(x, xl))


# ---- errors --------------------------------------------------------------------------

X = np.arange(72, dtype=np.float32).reshape(1, 2, 6, 6)
G = np.ones((1, 2 * 21), np.float32)
I = np.zeros((1, 2 * 21), np.int64)  # index 0 is valid in every plane
G7 = np.ones((1, 2 * 49), np.float32)

BAD_CALLS = [
    (lambda: spp(X, ()), ValueError, "levels"),
    (lambda: spp(X, []), ValueError, "levels"),
    (lambda: spp(X, (1, 0)), ValueError, "levels"),
    (lambda: spp(X, (2, -1)), ValueError, "levels"),
    (lambda: spp(X, (2.0,)), TypeError, "levels"),
    (lambda: spp(X, (1, 2.5)), TypeError, "levels"),
    (lambda: spp(X, (1, True)), TypeError, "levels"),
    (lambda: spp(X, (1, "2")), TypeError, "levels"),
    (lambda: spp(X, None), (TypeError, ValueError), "levels"),
    (lambda: spp(X, 4), (TypeError, ValueError), "levels"),
    (lambda: spp(X, mode="min"), ValueError, "mode"),
    (lambda: spp(X, mode=None), ValueError, "mode"),
    (lambda: spp(X, bins="caffe"), ValueError, "bins"),
    (lambda: spp(X, bins=None), ValueError, "bins"),
    (lambda: spp(X, (7,), bins="paper"), ValueError, "level"),
    (lambda: spp(X[:, :, :3], (1, 4), bins="paper"), ValueError, "level"),
    (lambda: spp(X[..., :3], (4,), "avg", "paper"), ValueError, "level"),
    (lambda: spp(X.astype(np.float16)), TypeError, "float16"),
    (lambda: spp(X.astype(np.int32), mode="avg"), TypeError, "int32"),
    (lambda: spp(X.astype(np.uint8), mode="avg"), TypeError, "uint8"),
    (lambda: spp(X.astype(bool)), TypeError, "bool"),
    (lambda: spp(X.astype(np.complex64)), TypeError, "complex64"),
    (lambda: spp(X.tolist()), TypeError, "numpy.ndarray"),
    (lambda: spp(X[0, 0]), ValueError, "dimensions"),
    (lambda: spp(X[None]), ValueError, "dimensions"),
    (lambda: spp(np.zeros((1, 2, 0, 4), np.float32)), ValueError, "shape"),
    (lambda: spp(X, channels_last=1), TypeError, "channels_last"),
    (lambda: spp(X, return_indices="yes"), TypeError, "return_indices"),
    (lambda: spp(X, mode="avg", return_indices=True), ValueError, "return_indices"),
    # backward
    (lambda: spp_b(G, X.shape), ValueError, "indices"),
    (lambda: spp_b(G, X.shape, indices=None), ValueError, "indices"),
    (lambda: spp_b(G[:, :-1], X.shape, indices=I[:, :-1]), ValueError, "grad_output"),
    (lambda: spp_b(G, (1, 3, 6, 6), indices=I), ValueError, "grad_output"),
    (lambda: spp_b(G[0], X.shape, indices=I[0]), ValueError, "grad_output"),
    (lambda: spp_b(G, X.shape, (1, 2), "avg"), ValueError, "grad_output"),
    (lambda: spp_b(G.astype(np.int32), X.shape, indices=I), TypeError, "grad_output"),
    (lambda: spp_b(G.astype(np.float16), X.shape, mode="avg"), TypeError, "grad_output"),
    (lambda: spp_b(G, X.shape, indices=I[:, :-1]), ValueError, "indices"),
    (lambda: spp_b(G, X.shape, indices=I.astype(np.int32)), TypeError, "indices"),
    (lambda: spp_b(G, X.shape, indices=I + 36), ValueError, "indices"),
    (lambda: spp_b(G, X.shape, indices=I - 2), ValueError, "indices"),
    (lambda: spp_b(G, (2, 6), mode="avg"), ValueError, "input_shape"),
    (lambda: spp_b(G, "shape", mode="avg"), TypeError, "input_shape"),
    (lambda: spp_b(G7, X.shape, (7,), "avg", "paper"), ValueError, "level"),
    (lambda: spp_b(G, X.shape, mode="sum"), ValueError, "mode"),
    (lambda: spp_b(G, X.shape, bins="x", indices=I), ValueError, "bins"),
    (lambda: spp_b(G, X.shape, (), indices=I), ValueError, "levels"),
    (lambda: spp_b(G, X.shape, (1, 2.0, 4), indices=I), TypeError, "levels"),
    (lambda: spp_b(G, X.shape, indices=I, channels_last="no"), TypeError, "channels_last"),
]


@pytest.mark.parametrize("call,exc,words", BAD_CALLS,
                         ids=[f"{j}-{w}" for j, (_, _, w) in enumerate(BAD_CALLS)])
def test_bad_call_raises(call, exc, words):
    check_bad_call(call, exc, words, (X, G, I, G7))
