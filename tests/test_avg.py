import numpy as np
import pytest

import cpool
import reference as ref
from conftest import (FLOATS, SHAPES, make_input, same_at_every_thread_count, to_layout,
                      window_configs)

FWD = {1: cpool.avg_pool1d, 2: cpool.avg_pool2d, 3: cpool.avg_pool3d}
BWD = {1: cpool.avg_pool1d_backward, 2: cpool.avg_pool2d_backward,
       3: cpool.avg_pool3d_backward}


def avg_cases(nd, count, seed):
    """(kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)."""
    out = []
    for j, (k, s, p, _, ceil) in enumerate(window_configs(nd, count, dilation=False,
                                                          seed=seed)):
        cip = j % 2 == 0
        div = (None, None, 3)[j % 3] if nd > 1 else None
        out.append((k, s, p, ceil, cip, div))
    return out


def _kw(case):
    k, s, p, ceil, cip, div = case
    kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil, count_include_pad=cip)
    if div is not None:
        kw["divisor_override"] = div
    return kw


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("case_id", range(18))
def test_forward_matches_reference_bitwise(nd, dtype, case_id, channels_last, rng):
    case = avg_cases(nd, 18, seed=0)[case_id]
    x = to_layout(make_input(SHAPES[nd], dtype, rng, ties=False), channels_last)
    y = FWD[nd](x, **_kw(case), channels_last=channels_last)
    r = ref.avg_pool(x, nd, **_kw(case), channels_last=channels_last)
    assert y.dtype == dtype and y.shape == r.shape
    # same summation order as PyTorch and the reference: equal to the bit
    np.testing.assert_array_equal(y, r)


# Rows of 8 and more interior outputs take the AVX2 sums (float32, stride 1
# or 2, up to 16 taps, where the CPU has AVX2): the same order from the same
# 0, so the same bits, signed zeros included.
WIDE = {1: (2, 3, 41), 2: (2, 3, 6, 37), 3: (1, 2, 4, 5, 37)}
WIDE_CASES = {1: [(3, 2, 1, False, True, None), (4, 1, 2, True, False, None),
                  (16, 1, 0, False, True, None)],
              2: [(3, 2, 1, False, True, None), (3, 2, 1, True, False, None),
                  (2, 2, 0, False, True, None), ((3, 2), (1, 2), (1, 0), False, True, 5),
                  # unpadded: whole rows from the row loop, the divisor a
                  # division (9, 3) or a reciprocal's product (8, 4)
                  (3, 2, 0, False, True, None), (2, 2, 0, False, True, 3),
                  ((2, 4), (1, 2), 0, False, False, None), ((3, 2), (3, 1), 0, False, True, 8)],
              3: [(2, 2, 0, False, True, None), (2, 1, 1, False, False, None)]}


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_wide_rows_match_reference_to_the_bit(nd, dtype, channels_last, rng):
    x = make_input(WIDE[nd], dtype, rng, ties=False)
    x[..., :2, :] = -0.0  # windows of negative zeros only: their sum is +0
    bits = np.uint32 if dtype == np.float32 else np.uint64
    for case in WIDE_CASES[nd]:
        xl = to_layout(x, channels_last)
        y = FWD[nd](xl, **_kw(case), channels_last=channels_last)
        r = ref.avg_pool(xl, nd, **_kw(case), channels_last=channels_last)
        np.testing.assert_array_equal(y.view(bits), r.view(bits))


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
def test_windows_of_negative_zeros_average_to_positive_zero(dtype, channels_last):
    """PyTorch sums from +0, and 0 + -0 is +0: every window of a (-0)-only
    input averages to +0, whether its taps form a whole 3 x 3 or 2 x 2
    block (channels-last sums those per pixel in registers), a clipped
    border block, or a wide row."""
    x = to_layout(np.full((2, 3, 9, 40), -0.0, dtype), channels_last)
    for k, s, p in [(3, 2, 1), (3, 2, 0), (3, 1, 1), (2, 2, 0), (2, 1, 1)]:
        for include_pad in (True, False):
            y = cpool.avg_pool2d(x, k, s, p, count_include_pad=include_pad,
                                 channels_last=channels_last)
            assert y.size and not np.signbit(y).any(), (k, s, p, include_pad)


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_backward_matches_reference(nd, dtype, channels_last, rng):
    for case in avg_cases(nd, 10, seed=1):
        x = to_layout(make_input(SHAPES[nd], dtype, rng), channels_last)
        y = FWD[nd](x, **_kw(case), channels_last=channels_last)
        gy = rng.standard_normal(y.shape).astype(dtype)
        gx = BWD[nd](gy, x.shape, **_kw(case), channels_last=channels_last)
        r = ref.avg_pool_backward(gy, x.shape, nd, **_kw(case), channels_last=channels_last)
        assert gx.dtype == dtype and gx.shape == x.shape
        np.testing.assert_array_equal(gx, r)


def test_pytorch_divisor_examples():
    # ones(6), k4 s3 p1 ceil: the ceil-mode overhang past the padding is not counted
    x = np.ones((1, 1, 6), np.float32)
    np.testing.assert_allclose(cpool.avg_pool1d(x, 4, 3, 1, True)[0, 0], [0.75, 1.0, 0.5])
    np.testing.assert_allclose(cpool.avg_pool1d(x, 4, 3, 1, True, False)[0, 0], [1, 1, 1])
    x2 = np.ones((1, 1, 1, 6), np.float32)
    np.testing.assert_allclose(
        cpool.avg_pool2d(x2, (1, 4), (1, 3), (0, 1), True, divisor_override=4)[0, 0, 0],
        [0.75, 1.0, 0.25])
    np.testing.assert_allclose(cpool.avg_pool1d(np.ones((1, 1, 5), np.float32), 3, 2, 1,
                                                True)[0, 0], [2 / 3, 1, 2 / 3], rtol=1e-6)


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_batchless_and_layouts(nd, channels_last, rng):
    x = make_input(SHAPES[nd], np.float64, rng, ties=False)
    xl = to_layout(x, channels_last)
    for case in avg_cases(nd, 5, seed=2):
        y = FWD[nd](xl, **_kw(case), channels_last=channels_last)
        y0 = FWD[nd](xl[0], **_kw(case), channels_last=channels_last)
        np.testing.assert_array_equal(y0, y[0])
        ycf = FWD[nd](x, **_kw(case))
        np.testing.assert_array_equal(to_layout(ycf, channels_last), y)
        gy = rng.standard_normal(y0.shape)
        g0 = BWD[nd](gy, xl[0].shape, **_kw(case), channels_last=channels_last)
        gb = BWD[nd](gy[None], (1,) + xl.shape[1:], **_kw(case),
                     channels_last=channels_last)
        np.testing.assert_array_equal(g0, gb[0])


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_backward_finite_differences(nd, rng):
    shape = SHAPES[nd]
    for case in avg_cases(nd, 4, seed=3):
        x = rng.standard_normal(shape)
        y = FWD[nd](x, **_kw(case))
        w = rng.standard_normal(y.shape)
        gx = BWD[nd](w, x.shape, **_kw(case))
        eps = 1e-6
        flat = x.reshape(-1)
        for j in rng.choice(flat.size, 30, replace=False):
            old = flat[j]
            flat[j] = old + eps
            fp = (w * FWD[nd](x, **_kw(case))).sum()
            flat[j] = old - eps
            fm = (w * FWD[nd](x, **_kw(case))).sum()
            flat[j] = old
            assert abs((fp - fm) / (2 * eps) - gx.reshape(-1)[j]) < 1e-7


@pytest.mark.parametrize("W", [7, 8, 13, 40])
@pytest.mark.parametrize("p,ceil", [(0, False), (1, False), (0, True), (1, True)])
@pytest.mark.parametrize("cip", [True, False])
def test_backward_k2s2_rows_bit_exact(W, p, ceil, cip):
    """The channels-first k2s2 backward adds both taps of an output in one
    loop over the row's inner outputs and tap by tap at the borders: every
    element must still get the reference's sum, bit for bit."""
    rng = np.random.default_rng(W + 10 * p)
    x_shape = (2, 3, 6, W)
    y = cpool.avg_pool2d(np.zeros(x_shape, np.float32), 2, 2, p, ceil, cip)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    gx = cpool.avg_pool2d_backward(gy, x_shape, 2, 2, p, ceil, cip)
    ref_gx = ref.avg_pool_backward(gy, x_shape, 2, 2, 2, p, ceil, cip)
    np.testing.assert_array_equal(gx, ref_gx)


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
def test_backward_disjoint_windows_bit_exact(dtype, channels_last, rng):
    """Windows that tile the input (kernel = stride, no padding) give each
    element one share or none, written once without a zero fill: the
    reference's bits (0 + -0 is +0, also for a share that underflows to
    -0), 0 past the last window's rows and
    columns, divisors that divide (9, 6, override 3) and that multiply by a
    reciprocal (4, 16, override 8), at every thread count, in both layouts
    (channels-last with 1, 3 and 70 channels)."""
    bits = np.uint32 if dtype == np.float32 else np.uint64
    for x_shape, k, div in (((2, 3, 7, 13), 2, None), ((1, 2, 9, 20), 3, None),
                            ((2, 2, 8, 21), (2, 3), None), ((1, 3, 9, 17), 4, None),
                            ((2, 3, 7, 13), 2, 3), ((1, 2, 12, 40), (3, 2), 8),
                            ((1, 1, 2, 2), 2, None), ((1, 70, 5, 9), (2, 3), None)):
        kw = dict(divisor_override=div) if div else {}
        shape = to_layout(np.zeros(x_shape, dtype), channels_last).shape
        y = cpool.avg_pool2d(np.zeros(shape, dtype), k, channels_last=channels_last, **kw)
        gy = rng.standard_normal(y.shape).astype(dtype)
        gy[0, 0, 0, :3] = -0.0
        # shares that underflow to -0: 0 + share is +0, also where the
        # target could fuse the multiply and the add (built without)
        gy[-1, -1, -1, -2:] = -np.finfo(dtype).smallest_subnormal
        want = ref.avg_pool_backward(gy, shape, 2, k, channels_last=channels_last, **kw)
        got = same_at_every_thread_count(lambda: [cpool.avg_pool2d_backward(
            gy, shape, k, channels_last=channels_last, **kw)])[0]
        np.testing.assert_array_equal(got.view(bits), want.view(bits))


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("W", [1, 2, 3, 4, 5, 8, 9, 37])
def test_backward_width3_stride2_pad1_rows_bit_exact(W, channels_last, dtype, rng):
    """Rows under width-3, stride-2, padding-1 windows are summed in one
    pass (column 2m from output m, 2m + 1 from m and m + 1; channels-last
    over 1 or 5 channels at a time):
    the reference's bits, its addition order included, for rows covered by
    one output row or two (or none), short rows, ceil mode, both padding
    counts, a divisor override, and signed zero shares; 3d windows whose
    depth overlaps take the general loop."""
    bits = np.uint32 if dtype == np.float32 else np.uint64
    for H, (kh, sh, ph), ceil, cip, div in (
            (7, (3, 2, 1), False, True, None), (8, (3, 2, 1), True, False, None),
            (6, (1, 1, 0), False, True, None), (9, (2, 3, 0), True, True, 5),
            (5, (3, 2, 1), True, True, None), (3, (5, 4, 2), True, False, None)):
        C = 1 if H % 2 else 5
        shape = (2, H, W, C) if channels_last else (2, C, H, W)
        args = ((kh, 3), (sh, 2), (ph, 1), ceil, cip, div)
        y = cpool.avg_pool2d(np.zeros(shape, dtype), *args, channels_last=channels_last)
        gy = rng.standard_normal(y.shape).astype(dtype)
        gy[0, :, ::2] = -0.0
        want = ref.avg_pool_backward(gy, shape, 2, *args, channels_last=channels_last)
        got = same_at_every_thread_count(lambda: [cpool.avg_pool2d_backward(
            gy, shape, *args, channels_last=channels_last)])[0]
        np.testing.assert_array_equal(got.view(bits), want.view(bits))
    shape = (1, 5, 6, W, 2) if channels_last else (1, 2, 5, 6, W)
    args = (3, 2, 1)
    gy = rng.standard_normal(cpool.avg_pool3d(np.zeros(shape), *args,
                                              channels_last=channels_last).shape)
    np.testing.assert_array_equal(
        cpool.avg_pool3d_backward(gy, shape, *args, channels_last=channels_last),
        ref.avg_pool_backward(gy, shape, 3, *args, channels_last=channels_last))


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
def test_power_of_two_divisors_round_subnormals_like_division(dtype, channels_last, rng):
    # divisors 4, 8 and per-axis 2 / 2 are applied as multiplications by
    # their reciprocals: the same correctly rounded results as dividing, down
    # to the subnormal range.  Divisors 9 and per-axis 3 / 4 must still
    # divide: multiplying normal values by 1/9 or 1/3 rounds differently.
    tiny = np.finfo(dtype).smallest_subnormal
    x = (rng.integers(0, 64, (2, 3, 8, 12)) * tiny).astype(dtype)
    x[1] = rng.uniform(0.5, 2, x[1].shape)  # normal values
    x[0, 0, 0, 0] = np.finfo(dtype).max / 2  # and the top of the range
    xl = to_layout(x, channels_last)
    for k in (2, (2, 4), 3):
        y = cpool.avg_pool2d(xl, k, channels_last=channels_last)
        np.testing.assert_array_equal(y, ref.avg_pool(xl, 2, k, channels_last=channels_last))
    for size in ((4, 6), (3, 4)):
        y = cpool.adaptive_avg_pool2d(xl, size, channels_last=channels_last)
        np.testing.assert_array_equal(
            y, ref.adaptive_avg_pool(xl, 2, size, channels_last=channels_last))


@pytest.mark.parametrize("W", range(2, 18))
def test_k2s2_short_rows_exact_and_in_bounds(W, rng):
    """Channels-first 2 x 2 stride-2 windows whose output rows are shorter
    than a vector (float32) sum each row pair in AVX2 registers and store
    whole vectors that spill into the next rows' outputs: results must be
    the reference's bit for bit (regular windows with and without a divisor
    override, adaptive bins of 2), and nothing past the output may be
    written, at any thread count, with blocks of planes that end
    mid-vector."""
    # (16, 150): blocks of 4096 // out_plane planes, so with W < 16 a block
    # ends mid-vector between planes that other threads write
    for H, planes in ((2, 1), (7, 5), (6, 130), (16, 67), (16, 150)):
        x = rng.standard_normal((1, planes, H, W)).astype(np.float32)
        x[0, 0, 0, :2] = [-0.0, -0.0]  # 0 + -0 + -0 ... is +0, as in PyTorch
        O = (H // 2, W // 2)
        calls = [
            (lambda out: cpool.avg_pool2d(x, 2, out=out),
             ref.avg_pool(x, 2, 2)),
            (lambda out: cpool.avg_pool2d(x, 2, divisor_override=3, out=out),
             ref.avg_pool(x, 2, 2, divisor_override=3)),
            (lambda out: cpool.adaptive_avg_pool2d(x, O, out=out),
             ref.adaptive_avg_pool(x, 2, O)),
        ]
        for call, want in calls:
            def run():
                buf = np.full(want.size + 16, 7.0, np.float32)
                y = call(buf[:want.size].reshape(want.shape))
                assert np.shares_memory(y, buf)
                return y, buf[want.size:]

            y, tail = same_at_every_thread_count(run, counts=(2, 3))
            assert want.dtype == np.float32
            np.testing.assert_array_equal(y.view(np.uint32), want.view(np.uint32))
            np.testing.assert_array_equal(tail, 7.0)


@pytest.mark.parametrize("W", [15, 16, 17, 18, 24, 33, 40])
def test_stride2_left_padded_rows_exact(W, rng):
    """Channels-first float32 averages at stride 2 with a column of left
    padding (k3s2p1; k2s2p1 on odd widths) and one divisor for every window
    (count_include_pad, or a divisor override) take whole rows through the
    AVX2 sums, whose first block skips the taps left of the row; rows whose
    windows cross the top, the bottom or the right end, and
    count_include_pad=False, take the per-row path.  Bit for bit but for
    NaNs' signs, with NaN, infinities and negative zeros (a clipped window
    of -0 still averages to +0)."""
    for k, p in (((3, 3), 1), ((2, 2), 1), ((2, 3), (1, 1)), ((3, 2), (0, 1)),
                 ((2, 5), (1, 2)), ((4, 4), 2)):
        x = rng.standard_normal((2, 3, 9, W)).astype(np.float32)
        special = rng.choice(np.array([np.nan, -0.0, np.inf, -np.inf], np.float32),
                             size=x.shape)
        x = np.where(rng.random(x.shape) < 0.1, special, x)
        x[0, 1, :, :8] = -0.0
        for kw in (dict(), dict(count_include_pad=False), dict(divisor_override=3),
                   dict(ceil_mode=True)):
            with np.errstate(invalid="ignore"):  # inf - inf in the reference
                want = ref.avg_pool(x, 2, k, 2, p, **kw)
            y = same_at_every_thread_count(lambda: [cpool.avg_pool2d(x, k, 2, p, **kw)],
                                           counts=(2,))[0]
            # a NaN's sign and payload depend on the order an adder takes
            # its operands in, which neither side fixes
            nan = np.isnan(want)
            np.testing.assert_array_equal(np.isnan(y), nan)
            np.testing.assert_array_equal(y.view(np.uint32)[~nan], want.view(np.uint32)[~nan])
