"""Channels-first calls on many small planes are pooled as channels-last tiles
of 16 to 256 planes (src/tile.inc; the size depends on the plane size and
the thread count): adaptive and SPP bins, and regular windows whose output
rows are shorter than a vector.  Against the reference and the
channels-last path, bit for bit, with partial tiles (plane counts that are
not multiples of the tile size), overlapping and upsampling bins, padding,
dilation, ceil mode and indices."""
import numpy as np
import pytest

import cpool
import reference as ref
from conftest import FLOATS, make_input, same_at_every_thread_count, to_layout

PLANES = [(1, 16), (2, 9), (3, 13), (1, 40)]  # (N, C): 16, 18, 39, 40 planes


@pytest.mark.parametrize("dtype", FLOATS + [np.int16, np.uint8], ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nc", PLANES, ids=str)
def test_adaptive_max_tiles(nc, dtype, rng):
    for S, O in (((13, 13), 4), ((13, 13), 2), ((14, 14), 7), ((4, 5), (7, 9)), ((9, 31), (3, 5))):
        x = make_input(nc + S, dtype, rng)
        y, i = cpool.adaptive_max_pool2d(x, O, return_indices=True)
        yr, ir = ref.adaptive_max_pool(x, 2, O)
        np.testing.assert_array_equal(y, yr)
        np.testing.assert_array_equal(i, ir)
        yl, il = cpool.adaptive_max_pool2d(to_layout(x, True), O, return_indices=True,
                                           channels_last=True)
        np.testing.assert_array_equal(np.moveaxis(yl, -1, 1), y)
        np.testing.assert_array_equal(np.moveaxis(il, -1, 1), i)


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("nc", PLANES, ids=str)
def test_adaptive_avg_tiles(nc, dtype, rng):
    for S, O in (((14, 14), 7), ((13, 13), 4), ((4, 5), (7, 9)), ((6, 6, 6), (3, 2, 4))):
        x = make_input(nc + S, dtype, rng, ties=False)
        f = cpool.adaptive_avg_pool2d if len(S) == 2 else cpool.adaptive_avg_pool3d
        y = f(x, O)
        np.testing.assert_array_equal(y, ref.adaptive_avg_pool(x, len(S), O))
        yl = f(to_layout(x, True), O, channels_last=True)
        np.testing.assert_array_equal(np.moveaxis(yl, -1, 1), y)


@pytest.mark.parametrize("nc", PLANES, ids=str)
def test_spp_tiles(nc, rng):
    x = make_input(nc + (13, 13), np.float32, rng)
    for mode in ("max", "avg"):
        y, i = cpool.spatial_pyramid_pool(x, (1, 2, 4), mode=mode, return_indices=True) \
            if mode == "max" else (cpool.spatial_pyramid_pool(x, (1, 2, 4), mode=mode), None)
        yr, ir = ref.spatial_pyramid_pool(x, (1, 2, 4), mode=mode)
        np.testing.assert_array_equal(y, yr)
        if mode == "max":
            np.testing.assert_array_equal(i, ir)


@pytest.mark.parametrize("nc", PLANES, ids=str)
def test_short_rows_of_regular_windows(nc, rng):
    # output rows of 3-6 columns: the tile path, with padding, dilation and ceil mode
    x = make_input(nc + (9, 11), np.float32, rng)
    for kw in (dict(kernel_size=3, stride=2, padding=1),
               dict(kernel_size=2, stride=2, ceil_mode=True),
               dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True),
               dict(kernel_size=(2, 3), stride=(1, 3))):
        y, i = cpool.max_pool2d(x, **kw, return_indices=True)
        yr, ir = ref.max_pool(x, 2, **kw)
        np.testing.assert_array_equal(y, yr)
        np.testing.assert_array_equal(i, ir)
        kwa = {k: v for k, v in kw.items() if k != "dilation"}
        np.testing.assert_array_equal(cpool.avg_pool2d(x, **kwa), ref.avg_pool(x, 2, **kwa))


def test_large_tiles_at_every_thread_count(rng):
    # 1034 planes: tiles of up to 256 planes (fewer with more threads), the
    # last one partial; the same bits at every thread count
    x = make_input((2, 517, 13, 13), np.float32, rng)
    xa = make_input((2, 517, 14, 14), np.float32, rng, ties=False)
    xs = make_input((2, 517, 9, 11), np.float32, rng)

    def run():
        out = []
        for O in (4, 2):
            out += cpool.adaptive_max_pool2d(x, O, return_indices=True)
        out.append(cpool.adaptive_avg_pool2d(xa, 7))
        out += cpool.max_pool2d(xs, 3, 2, 1, return_indices=True)
        out.append(cpool.avg_pool2d(xs, 3, 2, 1))
        out += cpool.spatial_pyramid_pool(x, (1, 2, 4), return_indices=True)
        return out

    am4, i4, am2, i2, aa, mp, mi, ap, spp, si = same_at_every_thread_count(run, (2, 3))
    for O, y, i in ((4, am4, i4), (2, am2, i2)):
        yr, ir = ref.adaptive_max_pool(x, 2, O)
        np.testing.assert_array_equal(y, yr)
        np.testing.assert_array_equal(i, ir)
    np.testing.assert_array_equal(aa, ref.adaptive_avg_pool(xa, 2, 7))
    yr, ir = ref.max_pool(xs, 2, 3, 2, 1)
    np.testing.assert_array_equal(mp, yr)
    np.testing.assert_array_equal(mi, ir)
    np.testing.assert_array_equal(ap, ref.avg_pool(xs, 2, 3, 2, 1))
    yr, ir = ref.spatial_pyramid_pool(x, (1, 2, 4))
    np.testing.assert_array_equal(spp, yr)
    np.testing.assert_array_equal(si, ir)
