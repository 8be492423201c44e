import numpy as np
import pytest

import cpool
import reference as ref


def test_public_names():
    for name in cpool.__all__:
        assert callable(getattr(cpool, name)), name


def test_build_info():
    info = cpool.build_info()
    for key in ("version", "compiler", "openmp", "openmp_version", "simd", "num_threads"):
        assert key in info
    assert info["version"] == cpool.__version__
    assert isinstance(info["openmp"], bool) and isinstance(info["simd"], list)
    assert (info["openmp_version"] is not None) == info["openmp"]


def test_show_config_prints(capsys):
    cpool.show_config()
    out = capsys.readouterr().out
    assert "openmp" in out and cpool.__version__ in out


def test_openmp_required_when_asked():
    """CI and wheel builds set CPOOL_REQUIRE_OPENMP=1: a serial build fails here."""
    import os
    if os.environ.get("CPOOL_REQUIRE_OPENMP") == "1":
        assert cpool.build_info()["openmp"]


def _strided_views(rng):
    base = rng.standard_normal((3, 4, 18, 20)).astype(np.float32)
    yield base[:, ::2, 1::2, ::-1]            # every stride odd, one negative
    yield np.asfortranarray(base)
    yield base.transpose(0, 1, 3, 2)
    yield base.astype(base.dtype.newbyteorder(">"))
    ro = base.copy()
    ro.flags.writeable = False
    yield ro


def test_any_strides_and_inputs_never_modified(rng):
    for x in _strided_views(rng):
        before = x.copy()
        xc = np.ascontiguousarray(x, dtype=np.float32)
        y, i = cpool.max_pool2d(x, 3, 2, 1, return_indices=True)
        ry, ri = ref.max_pool(xc, 2, 3, 2, 1)
        np.testing.assert_array_equal(y, ry)
        np.testing.assert_array_equal(i, ri)
        np.testing.assert_array_equal(cpool.avg_pool2d(x, 3, 2, 1), ref.avg_pool(xc, 2, 3, 2, 1))
        g = cpool.max_pool2d_backward(y[..., ::-1].copy()[..., ::-1], i, x.shape)
        np.testing.assert_array_equal(g, ref.max_pool_backward(y, i, x.shape, 2))
        np.testing.assert_array_equal(x, before)
        assert y.dtype == np.float32 and y.dtype.isnative


def test_strided_grad_and_indices(rng):
    x = rng.standard_normal((2, 3, 9, 9))
    y, i = cpool.max_pool2d(x, 3, 2, return_indices=True)
    g = rng.standard_normal((2, 3, 4, 8))[..., ::2]
    ib = np.empty((2, 3, 4, 8), np.int64)[..., ::2]
    ib[...] = i
    np.testing.assert_array_equal(cpool.max_pool2d_backward(g, ib, x.shape),
                                  ref.max_pool_backward(np.ascontiguousarray(g), i, x.shape, 2))
    np.testing.assert_array_equal(cpool.avg_pool2d_backward(g, x.shape, 3, 2),
                                  ref.avg_pool_backward(np.ascontiguousarray(g), x.shape, 2, 3, 2))


@pytest.mark.parametrize("channels_last", [False, True])
def test_out_is_filled_and_returned(channels_last, rng):
    x = rng.standard_normal((2, 7, 9, 3) if channels_last else (2, 3, 7, 9)).astype(np.float32)
    expected = cpool.max_pool2d(x, 2, channels_last=channels_last)
    out = np.full(expected.shape, 7.0, np.float32)
    y = cpool.max_pool2d(x, 2, channels_last=channels_last, out=out)
    assert y is out
    np.testing.assert_array_equal(out, expected)
    y2, i2 = cpool.max_pool2d(x, 2, return_indices=True, channels_last=channels_last,
                              out=np.empty_like(expected))
    np.testing.assert_array_equal(y2, expected)
    out = np.empty_like(expected)
    assert cpool.avg_pool2d(x, 2, channels_last=channels_last, out=out) is out
    np.testing.assert_array_equal(out, cpool.avg_pool2d(x, 2, channels_last=channels_last))


def test_empty_batch():
    x = np.zeros((0, 3, 8, 8), np.float32)
    y, i = cpool.max_pool2d(x, 2, return_indices=True)
    assert y.shape == (0, 3, 4, 4) and i.shape == (0, 3, 4, 4)
    assert cpool.avg_pool2d(x, 2).shape == (0, 3, 4, 4)
    assert cpool.max_pool2d_backward(y, i, x.shape).shape == x.shape
    assert cpool.avg_pool2d_backward(y, x.shape, 2).shape == x.shape


def test_ceil_mode_output_sizes_follow_pytorch():
    # L=5, k=3, s=3, p=1, ceil: 2 (the naive ceil formula gives 3)
    assert cpool.max_pool1d(np.zeros((1, 1, 5)), 3, 3, 1, ceil_mode=True).shape[-1] == 2
    # L=32, k=8, s=4, ceil: 7, the window starting at 28 is not produced
    assert cpool.max_pool1d(np.zeros((1, 1, 32)), 8, 4, ceil_mode=True).shape[-1] == 7
    for L in range(1, 12):
        for k in range(1, 5):
            for s in range(1, 5):
                for p in range(0, k // 2 + 1):
                    for ceil in (False, True):
                        o = ref.out_size(L, k, s, p, 1, ceil)
                        if o < 1:
                            with pytest.raises(ValueError):
                                cpool.max_pool1d(np.zeros((1, 1, L)), k, s, p, 1, ceil)
                        else:
                            assert cpool.avg_pool1d(np.zeros((1, 1, L)), k, s, p,
                                                    ceil).shape[-1] == o


@pytest.mark.skipif(np.intp(0).itemsize < 8, reason="needs a 64-bit address space")
def test_plane_past_2_pow_31_elements():
    """Offsets past int32 range: a uint8 row of 2**31 + 70 elements."""
    L = 2 ** 31 + 70
    x = np.zeros((1, 1, L), np.uint8)
    x[0, 0, -10] = 9
    x[0, 0, -1] = 7  # in the two trailing elements no window covers
    x[0, 0, 3] = 4
    with cpool.num_threads(2):
        y, i = cpool.max_pool1d(x, 4, return_indices=True)
    assert y.shape == (1, 1, L // 4)
    assert y[0, 0, 0] == 4 and y[0, 0, (L - 10) // 4] == 9
    assert int(y.sum(dtype=np.int64)) == 13
    assert i[0, 0, (L - 10) // 4] == L - 10 and i[0, 0, -1] == L - 6
    del y, i
    y, i = cpool.max_pool1d(x[:, :, -1000:], 4, return_indices=True)
    assert i[0, 0, (1000 - 10) // 4] == 1000 - 10  # relative to the view passed in


def test_windows_far_larger_than_typical_are_accepted():
    """PyTorch accepts kernels and strides past 2**20; so does cpool (up to 2**40)."""
    x = np.arange(2 ** 21 + 5, dtype=np.float32).reshape(1, 1, -1)
    y, i = cpool.max_pool1d(x, 2 ** 21, return_indices=True)
    assert y.shape == (1, 1, 1) and i.item() == 2 ** 21 - 1
    assert cpool.avg_pool1d(x, 4, 2 ** 21).shape == (1, 1, 2)
    np.testing.assert_array_equal(cpool.max_pool1d(x, 1, 2 ** 40), x[..., :1])


def test_byte_swapped_indices_are_accepted(rng):
    x = rng.standard_normal((2, 3, 6, 6))
    y, i = cpool.max_pool2d(x, 2, return_indices=True)
    g = cpool.max_pool2d_backward(np.ones_like(y), i.astype(">i8"), x.shape)
    np.testing.assert_array_equal(g, cpool.max_pool2d_backward(np.ones_like(y), i, x.shape))


def test_repeated_calls_reuse_checks_without_skipping_them(rng):
    """The repeated-call fast path keys on exact argument types: a cached
    geometry never lets a bad argument through or mixes up inputs."""
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    for _ in range(3):
        y = cpool.max_pool2d(x, 2)
        a = cpool.avg_pool2d(x, 2)
    with pytest.raises(TypeError, match="kernel_size"):
        cpool.max_pool2d(x, True)
    with pytest.raises(TypeError, match="kernel_size"):
        cpool.avg_pool2d(x, (2, True))
    with pytest.raises(TypeError, match="ceil_mode"):
        cpool.max_pool2d(x, 2, ceil_mode=0)
    with pytest.raises(TypeError, match="count_include_pad"):
        cpool.avg_pool2d(x, 2, count_include_pad=1)
    x64 = x.astype(np.float64)
    np.testing.assert_array_equal(cpool.max_pool2d(x64, 2), y.astype(np.float64))
    view = np.ascontiguousarray(x[:, :, ::-1])[:, :, ::-1]  # same shape, not contiguous
    np.testing.assert_array_equal(cpool.max_pool2d(view, 2), y)
    np.testing.assert_array_equal(cpool.avg_pool2d(x, 2), a)
    xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(cpool.max_pool2d(xl, 2, channels_last=True),
                                  y.transpose(0, 2, 3, 1))


def test_repeated_calls_tell_apart_what_their_plans_depend_on(rng):
    """The plan found last is tried first by comparing fields: calls that
    alternate shapes, ranks, dtypes, layouts, windows and flags must each
    get their own plan's result, and a value of another type (a NumPy
    integer, a bool for an int) must never match a plan."""
    xs = [rng.standard_normal(s).astype(t) for s, t in
          (((2, 3, 8, 8), np.float32), ((2, 3, 8, 9), np.float32), ((2, 3, 8, 8), np.float64),
           ((3, 8, 8), np.float32), ((2, 3, 4, 8, 8), np.float32))]
    calls = [(0, 2, {}), (1, 2, {}), (2, 2, {}), (3, 2, {}), (0, 3, {}), (0, (2, 1), {}),
             (0, 2, dict(stride=1)), (0, 2, dict(padding=1)), (0, 2, dict(ceil_mode=True)),
             (1, 2, dict(ceil_mode=True)), (0, 2, dict(channels_last=True)),
             (0, 2, dict(return_indices=True)), (0, 2, dict(dilation=2))]
    for _ in range(3):
        for j, k, kw in calls:
            x = xs[j]
            got = cpool.max_pool2d(x, k, **kw)
            wantkw = {a: v for a, v in kw.items() if a not in ("channels_last", "return_indices")}
            want = ref.max_pool(x, 2, k, channels_last=kw.get("channels_last", False), **wantkw)
            if kw.get("return_indices"):
                np.testing.assert_array_equal(got[1], want[1])
                got = got[0]
            np.testing.assert_array_equal(got, want[0])
            if "dilation" not in kw and "return_indices" not in kw:
                np.testing.assert_array_equal(
                    cpool.avg_pool2d(x, k, **wantkw, channels_last=kw.get("channels_last", False)),
                    ref.avg_pool(x, 2, k, channels_last=kw.get("channels_last", False), **wantkw))
        x = xs[0]
        np.testing.assert_array_equal(cpool.max_pool3d(xs[4], 2), ref.max_pool(xs[4], 3, 2)[0])
        np.testing.assert_array_equal(cpool.max_pool2d(x, np.int64(2)),
                                      ref.max_pool(x, 2, 2)[0])
        with pytest.raises(TypeError, match="kernel_size"):
            cpool.max_pool2d(x, (2, True))
        with pytest.raises(TypeError, match="return_indices"):
            cpool.max_pool2d(x, 2, return_indices=np.int8(1))


def test_repeated_calls_keep_the_input_dtype_after_an_aliased_out(rng):
    """A first call whose out= has an equal dtype of another type number
    (int64 as 'l' and 'q' on Linux, int32 as 'i' and 'l' on Windows) must
    not hand that type to the later calls' results: they keep x's."""
    pairs = [(a, b) for a, b in (("l", "q"), ("i", "l"), ("q", "l"), ("l", "i"))
             if np.dtype(a) == np.dtype(b) and np.dtype(a).num != np.dtype(b).num]
    a, b = pairs[0] if pairs else ("q", "q")
    x = rng.integers(-100, 100, (2, 3, 8, 8)).astype(a)
    xf = rng.standard_normal((2, 3, 8, 8))
    out = np.empty((2, 3, 4, 4), b)
    assert cpool.max_pool2d(x, 2, out=out) is out
    for _ in range(2):
        assert cpool.max_pool2d(x, 2).dtype.char == a
    assert cpool.avg_pool2d(xf, 2, out=np.empty((2, 3, 4, 4), "d")).dtype.char == "d"
    assert cpool.avg_pool2d(xf, 2).dtype.char == "d"


@pytest.mark.parametrize("fn", [cpool.max_pool2d, cpool.avg_pool2d])
def test_repeated_calls_write_out_next_to_their_input(rng, fn):
    """out= beside x in one buffer, touching it but not overlapping, is
    accepted on the repeated path as on the first call."""
    buf = np.zeros(2 * 3 * 8 * 8 + 2 * 3 * 4 * 4, np.float32)
    x = buf[:2 * 3 * 8 * 8].reshape(2, 3, 8, 8)
    x[...] = rng.standard_normal(x.shape)
    out = buf[x.size:].reshape(2, 3, 4, 4)
    want = fn(x.copy(), 2)
    for _ in range(3):
        assert fn(x, 2, out=out) is out
        np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("fn", [cpool.max_pool2d, cpool.avg_pool2d])
def test_repeated_calls_still_check_out(rng, fn):
    """out= takes the repeated-call fast path too, and is checked there."""
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    y = fn(x, 2)
    out = np.full_like(y, np.nan)
    for _ in range(2):
        assert fn(x, 2, out=out) is out
        np.testing.assert_array_equal(out, y)
    bad = [(np.empty((2, 3, 4, 5), np.float32), ValueError, "shape"),
           (np.empty(y.shape, np.float64), ValueError, "dtype"),
           (np.empty((2, 3, 4, 8), np.float32)[..., ::2], ValueError, "contiguous"),
           (y.tolist(), TypeError, "numpy.ndarray"),
           (x[:, :, :4, :4], ValueError, None)]
    ro = np.empty_like(y)
    ro.flags.writeable = False
    bad.append((ro, ValueError, "writeable"))
    for o, err, msg in bad:
        with pytest.raises(err, match=msg):
            fn(x, 2, out=o)
    xx = np.zeros((2, 3, 8, 8), np.float32)
    with pytest.raises(ValueError, match="overlap"):
        fn(xx, 2, out=xx.reshape(-1)[: y.size].reshape(y.shape))


def test_unaligned_arrays_are_copied_never_read_misaligned():
    """A float array at an odd address (a view into bytes) is C-contiguous
    but unaligned: the C core gets an aligned copy (UBSan flagged the
    misaligned loads, found by the fuzz harness), the result is the aligned
    one, and an unaligned out= is refused."""
    x0 = np.arange(4 * 8 * 8, dtype=np.float32).reshape(1, 4, 8, 8) % 7
    buf = np.zeros(x0.nbytes + 1, np.uint8)
    x = buf[1:].view(np.float32).reshape(x0.shape)
    x[...] = x0
    assert x.flags.c_contiguous and not x.flags.aligned
    for f in (lambda a: cpool.max_pool2d(a, 3, 2, 1), lambda a: cpool.avg_pool2d(a, 2),
              lambda a: cpool.lp_pool2d(a, 2, 2), lambda a: cpool.adaptive_max_pool2d(a, 3)):
        np.testing.assert_array_equal(f(x), f(x0))
    out = np.zeros(4 * 4 * 4 * 4 + 1, np.uint8)[1:].view(np.float32).reshape(1, 4, 4, 4)
    with pytest.raises(ValueError, match="aligned"):
        cpool.max_pool2d(x0, 2, out=out)
