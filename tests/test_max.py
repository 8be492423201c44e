import numpy as np
import pytest

import cpool
import reference as ref
from conftest import (FLOATS, INTS, SHAPES, make_input, same_at_every_thread_count, to_layout,
                      window_configs)

FWD = {1: cpool.max_pool1d, 2: cpool.max_pool2d, 3: cpool.max_pool3d}
BWD = {1: cpool.max_pool1d_backward, 2: cpool.max_pool2d_backward,
       3: cpool.max_pool3d_backward}


def _check(nd, x, cfg, channels_last):
    k, s, p, d, ceil = cfg
    y, i = FWD[nd](x, k, s, p, d, ceil, return_indices=True, channels_last=channels_last)
    ry, ri = ref.max_pool(x, nd, k, s, p, d, ceil, channels_last=channels_last)
    assert y.dtype == x.dtype and i.dtype == np.int64
    assert y.shape == ry.shape
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(i, ri)
    # the no-index path gives the same values
    np.testing.assert_array_equal(
        FWD[nd](x, k, s, p, d, ceil, channels_last=channels_last), ry)
    return y, i


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("cfg_id", range(24))
def test_forward_matches_reference(nd, cfg_id, channels_last, rng):
    cfg = window_configs(nd)[cfg_id]
    x = to_layout(make_input(SHAPES[nd], np.float32, rng), channels_last)
    _check(nd, x, cfg, channels_last)


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS + INTS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_dtypes(nd, dtype, channels_last, rng):
    for cfg in window_configs(nd, count=6, seed=1):
        x = to_layout(make_input(SHAPES[nd], dtype, rng), channels_last)
        _check(nd, x, cfg, channels_last)


@pytest.mark.parametrize("dtype", INTS, ids=lambda t: np.dtype(t).name)
def test_integer_extremes(dtype):
    info = np.iinfo(dtype)
    x = np.array([[[info.min, info.min, info.max, info.max, info.min]]], dtype=dtype)
    y, i = cpool.max_pool1d(x, 2, 1, return_indices=True)
    np.testing.assert_array_equal(y[0, 0], [info.min, info.max, info.max, info.max])
    np.testing.assert_array_equal(i[0, 0], [0, 2, 2, 3])


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_batchless_equals_batched(nd, channels_last, rng):
    x = to_layout(make_input(SHAPES[nd], np.float64, rng, ties=False), channels_last)
    for cfg in window_configs(nd, count=5, seed=2):
        y, i = FWD[nd](x[0], *cfg, return_indices=True, channels_last=channels_last)
        yb, ib = FWD[nd](x, *cfg, return_indices=True, channels_last=channels_last)
        assert y.shape == yb.shape[1:]
        np.testing.assert_array_equal(y, yb[0])
        np.testing.assert_array_equal(i, ib[0])
        _check(nd, x[0], cfg, channels_last)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_layouts_agree(nd, rng):
    x = make_input(SHAPES[nd], np.float32, rng)
    for cfg in window_configs(nd, count=8, seed=3):
        y, i = FWD[nd](x, *cfg, return_indices=True)
        yl, il = FWD[nd](to_layout(x, True), *cfg, return_indices=True, channels_last=True)
        np.testing.assert_array_equal(np.moveaxis(yl, -1, 1), y)
        np.testing.assert_array_equal(np.moveaxis(il, -1, 1), i)


def test_ties_keep_first_maximum():
    x = np.array([[[[1, 3], [3, 3]]]], dtype=np.float32)
    _, i = cpool.max_pool2d(x, 2, return_indices=True)
    assert i.item() == 1
    _, i = cpool.max_pool2d(np.zeros((1, 1, 2, 2), np.float32), 2, return_indices=True)
    assert i.item() == 0


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
def test_nan_gives_nan_and_last_nan_index(channels_last):
    x = np.array([[[[1, np.nan], [np.nan, 5]]]], dtype=np.float32)
    x = to_layout(x, channels_last)
    y, i = cpool.max_pool2d(x, 2, return_indices=True, channels_last=channels_last)
    assert np.isnan(y.item()) and i.item() == 2
    # 3x3 window with NaNs at scan positions 1 and 7, a larger value elsewhere
    x = np.zeros((1, 1, 3, 3), np.float64)
    x[0, 0, 0, 1] = x[0, 0, 2, 1] = np.nan
    x[0, 0, 1, 1] = 100
    y, i = cpool.max_pool2d(to_layout(x, channels_last), 3, return_indices=True,
                            channels_last=channels_last)
    assert np.isnan(y.item()) and i.item() == 7


# Rows of 8 and more interior outputs take the AVX2 lanes (float32, stride 1
# or 2, up to 16 taps, where the CPU has AVX2); NaN, signed zeros and
# infinities must follow the scan-order rule there too, to the bit.
WIDE = {1: (2, 3, 41), 2: (2, 3, 5, 37), 3: (1, 2, 4, 5, 37)}
WIDE_CFGS = {1: [(3, 2, 0, 1), (3, 1, 1, 1), (2, 2, 0, 1), (3, 1, 0, 2), (16, 1, 0, 1)],
             2: [(3, 2, 0, 1), (3, 2, 1, 1), (2, 2, 0, 1), (3, 1, 0, 1), ((2, 3), (1, 2), 0, 2)],
             3: [(2, 2, 0, 1), (2, 1, 0, 1), ((1, 3, 3), (1, 1, 2), 0, 1)]}


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_wide_rows_with_nan_signed_zeros_and_inf_match_reference(nd, dtype, channels_last, rng):
    x = make_input(WIDE[nd], dtype, rng)
    special = rng.choice([np.nan, -0.0, 0.0, np.inf, -np.inf], size=x.shape)
    x = np.where(rng.random(x.shape) < 0.15, special, x).astype(dtype)
    bits = np.uint32 if dtype == np.float32 else np.uint64
    for k, s, p, d in WIDE_CFGS[nd]:
        xl = to_layout(x, channels_last)
        y, i = FWD[nd](xl, k, s, p, d, return_indices=True, channels_last=channels_last)
        ry, ri = ref.max_pool(xl, nd, k, s, p, d, channels_last=channels_last)
        np.testing.assert_array_equal(i, ri)
        np.testing.assert_array_equal(y.view(bits), ry.view(bits))
        np.testing.assert_array_equal(
            FWD[nd](xl, k, s, p, d, channels_last=channels_last).view(bits), ry.view(bits))


def test_all_minus_inf_window_indexes_first_tap():
    x = np.full((1, 1, 4), -np.inf, np.float32)
    y, i = cpool.max_pool1d(x, 3, 1, padding=1, return_indices=True)
    np.testing.assert_array_equal(y[0, 0], [-np.inf] * 4)
    np.testing.assert_array_equal(i[0, 0], [0, 0, 1, 2])


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
def test_window_of_only_padding(channels_last):
    # k=2, s=1, p=1, d=3 on 2x2: PyTorch's only window has taps -1 and 2 in each
    # axis, both outside; it returns index 6 and corrupts memory in backward.
    x = np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2)
    x = to_layout(x, channels_last)
    y, i = cpool.max_pool2d(x, 2, 1, 1, 3, return_indices=True, channels_last=channels_last)
    assert y.shape == (1, 1, 1, 1) and y.item() == -np.inf and i.item() == -1
    gx = cpool.max_pool2d_backward(np.ones_like(y), i, x.shape, channels_last=channels_last)
    np.testing.assert_array_equal(gx, np.zeros_like(x))
    yi, _ = cpool.max_pool2d(x.astype(np.int16), 2, 1, 1, 3, return_indices=True,
                             channels_last=channels_last)
    assert yi.item() == np.iinfo(np.int16).min
    y1, i1 = cpool.max_pool1d(np.arange(4.0).reshape(1, 1, 4), 2, 1, 1, 5,
                              return_indices=True)
    # 1d: L=4, k=2, d=5, p=1: windows start at -1, 0: taps (-1, 4) out, (0, 5) -> 0 only
    np.testing.assert_array_equal(i1[0, 0], ref.max_pool(np.arange(4.0).reshape(1, 1, 4),
                                                         1, 2, 1, 1, 5)[1][0, 0])


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_backward_matches_reference(nd, dtype, channels_last, rng):
    for cfg in window_configs(nd, count=10, seed=4):
        x = to_layout(make_input(SHAPES[nd], dtype, rng), channels_last)
        y, i = FWD[nd](x, *cfg, return_indices=True, channels_last=channels_last)
        gy = rng.standard_normal(y.shape).astype(dtype)
        gx = BWD[nd](gy, i, x.shape, channels_last=channels_last)
        assert gx.dtype == dtype and gx.shape == x.shape
        np.testing.assert_array_equal(
            gx, ref.max_pool_backward(gy, i, x.shape, nd, channels_last=channels_last))


def test_backward_overlapping_windows_accumulate():
    x = np.zeros((1, 1, 3, 3), np.float64)
    x[0, 0, 1, 1] = 1.0
    y, i = cpool.max_pool2d(x, 2, 1, return_indices=True)
    gx = cpool.max_pool2d_backward(np.ones_like(y), i, x.shape)
    assert gx[0, 0, 1, 1] == 4.0 and gx.sum() == 4.0


def _bits(a):
    return a.view(f"u{a.dtype.itemsize}")


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("shape", [(2, 8, 8, 3), (1, 9, 11, 64), (3, 7, 6, 300), (1, 2, 3, 1)])
def test_backward_disjoint_blocks_channels_last(shape, dtype, rng):
    """Channels-last, every index in its own output's 2 x 2 block (kernel 2,
    stride 2): grad_x is written row by row instead of scattered.  Bit for
    bit the scatter's sums, signed zeros included (0 + -0 is +0), with rows
    and columns past the last window zero, at every thread count; an index
    outside its block, anywhere, gives the scatter's result."""
    x = rng.standard_normal(shape).astype(dtype)
    y, i = cpool.max_pool2d(x, 2, 2, return_indices=True, channels_last=True)
    gy = rng.standard_normal(y.shape).astype(dtype)
    gy.reshape(-1)[::3] = -0.0
    gy.reshape(-1)[1::7] = 0.0

    def check(idx):
        want = ref.max_pool_backward(gy, idx, x.shape, 2, channels_last=True)
        for threads in (1, 2, 3):
            with cpool.num_threads(threads):
                np.testing.assert_array_equal(_bits(cpool.max_pool2d_backward(
                    gy, idx, x.shape, channels_last=True)), _bits(want))

    check(i)
    H, W = shape[1:3]
    last = i.copy()  # the last output's index moves to its left neighbour block's
    last[-1, -1, -1, -1] = last[-1, -1, -2, -1] if last.shape[2] > 1 else -1
    check(last)
    OH = i.shape[1]
    moved = i.copy()  # the last row's index moves below its block, or to the first
    moved[-1, -1, 0, 0] = 2 * OH * W if H > 2 * OH else 0
    check(moved)
    if shape[3] > 256:  # a pixel's second chunk of channels is checked too
        late = i.copy()
        late[-1, -1, -1, 280] = late[-1, -1, -2, 280]
        check(late)
    for wrong in (H * W, -2, -2 ** 63):  # outside the plane: an error, after a partial write
        bad = i.copy()
        bad[-1, -1, -1, -1] = wrong
        with pytest.raises(ValueError, match="outside its plane"):
            cpool.max_pool2d_backward(gy, bad, x.shape, channels_last=True)
    # kernel 3, stride 2, padding 1 has the same extents: its windows overlap
    if H % 2 == 0 and W % 2 == 0:
        _, i3 = cpool.max_pool2d(x, 3, 2, 1, return_indices=True, channels_last=True)
        assert i3.shape == i.shape
        check(i3)


@pytest.mark.parametrize("order", ["random", "descending", "ascending"])
def test_backward_any_index_order_channels_last(order, rng):
    """Channels-last, the scatter zero-fills just ahead of the highest pixel
    each output writes: indices in any order (and -1, and repeats) still see
    every pixel zeroed once, before its first write, at every thread count."""
    shape, out = (2, 6, 7, 20), (2, 3, 4, 20)
    P = shape[1] * shape[2]
    idx = rng.integers(-1, P, size=out).astype(np.int64)
    if order != "random":
        flat = np.sort(idx.reshape(out[0], -1, out[3]), axis=1)
        idx = (flat[:, ::-1] if order == "descending" else flat).reshape(out).copy()
    idx[0, 0, 0, :3] = [P - 1, 0, -1]
    gy = rng.standard_normal(out)
    want = ref.max_pool_backward(gy, idx, shape, 2, channels_last=True)
    for threads in (1, 2, 3):
        with cpool.num_threads(threads):
            np.testing.assert_array_equal(
                cpool.max_pool2d_backward(gy, idx, shape, channels_last=True), want)
    idx[1, 1, 2, 5] = P  # counted, never written
    with pytest.raises(ValueError, match="outside its plane"):
        cpool.max_pool2d_backward(gy, idx, shape, channels_last=True)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_backward_finite_differences(nd, rng):
    """d(sum(w * y))/dx against central differences, float64, distinct values."""
    shape = SHAPES[nd]
    for cfg in window_configs(nd, count=4, seed=5):
        x = rng.permutation(np.prod(shape)).reshape(shape).astype(np.float64) * 0.1
        y, i = FWD[nd](x, *cfg, return_indices=True)
        w = rng.standard_normal(y.shape)
        gx = BWD[nd](w, i, x.shape)
        eps = 1e-4  # values are 0.1 apart, so the argmax does not move
        num = np.zeros_like(x)
        flat = x.reshape(-1)
        for j in rng.choice(flat.size, 40, replace=False):
            old = flat[j]
            flat[j] = old + eps
            fp = (w * FWD[nd](x, *cfg)).sum()
            flat[j] = old - eps
            fm = (w * FWD[nd](x, *cfg)).sum()
            flat[j] = old
            num.reshape(-1)[j] = (fp - fm) / (2 * eps)
            assert abs(num.reshape(-1)[j] - gx.reshape(-1)[j]) < 1e-6


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.uint16])
@pytest.mark.parametrize("W", [9, 40, 61, 64, 65, 75, 112, 129, 160])
def test_narrow_ints_long_rows(dtype, W):
    """Narrow integer rows run their last vector past the row's end (into the
    next row, never past the array): results and indices stay exact, up to
    the last row of the last plane.  8-bit 2 x 2 stride-2 rows of 32 outputs
    or more, without indices, take an AVX2 kernel whose last block overlaps
    the one before (W 64-160, padded or ceil-mode: the interior starts at
    column 1 or ends before an unpaired last column)."""
    rng = np.random.default_rng(W)
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max, size=(2, 3, 7, W), endpoint=True).astype(dtype)
    x[0, 0, 0, ::5] = info.max
    x[0, 1] = info.min
    x[1, 2, 3:5, -4:] = info.max  # the last window of a row
    for k, s, p in [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0), (5, 3, 2), (2, 2, 1)]:
        y, i = cpool.max_pool2d(x, k, s, p, return_indices=True)
        ry, ri = ref.max_pool(x, 2, k, s, p)
        np.testing.assert_array_equal(y, ry)
        np.testing.assert_array_equal(i, ri)
        for threads in (1, 2, 3):
            with cpool.num_threads(threads):
                np.testing.assert_array_equal(cpool.max_pool2d(x, k, s, p), ry)
    ry, _ = ref.max_pool(x, 2, 2, 2, 0, ceil_mode=True)
    np.testing.assert_array_equal(cpool.max_pool2d(x, 2, 2, 0, ceil_mode=True), ry)


@pytest.mark.parametrize("W", range(2, 18))
def test_k2s2_short_rows_exact_and_in_bounds(W, rng):
    """Channels-first 2 x 2 stride-2 windows whose output rows are shorter
    than a vector (float32) take a row in one block of lanes (4 lanes for
    rows of up to 4 outputs, 8 up to 8) and store whole blocks that spill
    into the next rows' results: values (NaN, signed zeros and infinities
    included, bit for bit) and indices must be the reference's, and nothing
    past the result may be written, at any thread count, with blocks of
    planes that end mid-vector and input rows that end at the array's end."""
    for H, planes in ((2, 1), (7, 5), (5, 3), (6, 130), (16, 67), (16, 150)):
        x = rng.standard_normal((1, planes, H, W)).astype(np.float32)
        special = rng.choice(np.array([np.nan, -0.0, 0.0, np.inf, -np.inf], np.float32),
                             size=x.shape)
        x = np.where(rng.random(x.shape) < 0.2, special, x)
        x[0, 0, :2, :2] = [[-0.0, 0.0], [0.0, -0.0]]  # a tie of zeros keeps the first
        want, want_i = ref.max_pool(x, 2, 2, 2)

        def run():
            buf = np.full(want.size + 16, 7.0, np.float32)
            y, i = cpool.max_pool2d(x, 2, return_indices=True,
                                    out=buf[:want.size].reshape(want.shape))
            y2 = cpool.max_pool2d(x, 2)
            return y.copy(), i, y2, buf[want.size:]

        y, i, y2, tail = same_at_every_thread_count(run, counts=(2, 3))
        np.testing.assert_array_equal(y.view(np.uint32), want.view(np.uint32))
        np.testing.assert_array_equal(y2.view(np.uint32), want.view(np.uint32))
        np.testing.assert_array_equal(i, want_i)
        np.testing.assert_array_equal(tail, 7.0)


@pytest.mark.parametrize("W", [15, 16, 17, 18, 19, 24, 33, 40])
def test_stride2_left_padded_rows_exact(W, rng):
    """Channels-first float32 rows at stride 2 with a column of left
    padding (k3s2p1; k2s2p1 on odd widths) take the AVX2 lanes whole, their
    first block clipping the taps left of the row (never loaded, never
    picked; a lane's pick starts at its first tap inside the row), while
    rows whose windows cross the top or the bottom, or the right end, take
    the per-row path: values bit for bit and indices, with NaN, signed
    zeros, infinities and whole rows of -inf (where the pick is the first
    tap inside the input), with and without indices."""
    for k, p in (((3, 3), 1), ((2, 2), 1), ((2, 3), (1, 1)), ((3, 2), (0, 1)),
                 ((2, 5), (1, 2)), ((4, 4), 2)):
        x = rng.standard_normal((2, 3, 9, W)).astype(np.float32)
        special = rng.choice(np.array([np.nan, -0.0, 0.0, np.inf, -np.inf], np.float32),
                             size=x.shape)
        x = np.where(rng.random(x.shape) < 0.15, special, x)
        x[0, 1, 2:5, :] = -np.inf
        x[1, 2, :, :6] = -np.inf
        for ceil_mode in (False, True):
            want, want_i = ref.max_pool(x, 2, k, 2, p, ceil_mode=ceil_mode)

            def run():
                y, i = cpool.max_pool2d(x, k, 2, p, ceil_mode=ceil_mode, return_indices=True)
                return y, i, cpool.max_pool2d(x, k, 2, p, ceil_mode=ceil_mode)

            y, i, y2 = same_at_every_thread_count(run, counts=(2,))
            np.testing.assert_array_equal(y.view(np.uint32), want.view(np.uint32))
            np.testing.assert_array_equal(y2.view(np.uint32), want.view(np.uint32))
            np.testing.assert_array_equal(i, want_i)
