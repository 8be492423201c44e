"""Arrays past 2**31 elements: a uint8 plane of 46341 x 46341 (2**31 + 4633
elements) through max_pool2d with indices, max_unpool2d and the backward.

Opt-in (`pytest -m large`; the default run deselects it): it needs about
17 GiB of memory and half a minute.  It is skipped, saying why, when the
machine has less memory available.

One plane, so the in-plane indices themselves pass 2**31 (ceil_mode puts the
last windows on row 46340), not only the offsets between planes.  The input
is built so that every result is known without a reference implementation:
each 2 x 2 window holds one nonzero value at a position that varies from
window to window, so the argmax of window (oh, ow) is that position, the
unpooled plane is the input again, and so is the gradient of y.sum().
"""
import hashlib

import numpy as np
import pytest

import cpool

pytestmark = pytest.mark.large

SIDE = 46341              # SIDE**2 = 2**31 + 4633
OUT = (SIDE + 1) // 2     # ceil_mode: 23171 windows per axis, the last one clipped
NEED_GIB = 19             # x, int64 indices, float32 grad in and out, and slack
BLOCK = 2048              # rows compared at a time, to keep temporaries small


def _available_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def _offsets(o):
    """The (row, col) of the nonzero element inside window o = (oh, ow),
    clipped into the plane for the last, one-row/one-column windows."""
    oh, ow = o
    pick = (oh * 3 + ow) % 4
    r = np.minimum(2 * oh + pick // 2, SIDE - 1)
    c = np.minimum(2 * ow + pick % 2, SIDE - 1)
    return r, c


def _window_values(oh, ow):
    return (1 + (oh * 7 + ow * 13) % 255).astype(np.uint8)


@pytest.fixture(scope="module")
def plane():
    avail = _available_gib()
    if avail is None or avail < NEED_GIB:
        pytest.skip(f"needs {NEED_GIB} GiB of available memory, have {avail}")
    x = np.zeros((1, 1, SIDE, SIDE), np.uint8)
    ow = np.arange(OUT)
    for oh in range(OUT):  # row by row: small temporaries
        r, c = _offsets((np.full(OUT, oh), ow))
        x[0, 0, r, c] = _window_values(np.full(OUT, oh), ow)
    assert x.size > 2**31
    return x


def _expected_block(h0, h1):
    oh, ow = np.meshgrid(np.arange(h0, h1), np.arange(OUT), indexing="ij")
    r, c = _offsets((oh, ow))
    return _window_values(oh, ow), r.astype(np.int64) * SIDE + c


def test_max_pool_unpool_and_backward_past_2_31(plane):
    x = plane
    digest = hashlib.blake2b(x.data).hexdigest()  # a copy would cost 2 GiB
    y, idx = cpool.max_pool2d(x, 2, ceil_mode=True, return_indices=True)
    assert y.shape == idx.shape == (1, 1, OUT, OUT)
    assert idx.dtype == np.int64
    assert int(idx.max()) > 2**31  # the point of the test
    for h0 in range(0, OUT, BLOCK):
        h1 = min(OUT, h0 + BLOCK)
        values, flat = _expected_block(h0, h1)
        np.testing.assert_array_equal(y[0, 0, h0:h1], values)
        np.testing.assert_array_equal(idx[0, 0, h0:h1], flat)

    u = cpool.max_unpool2d(y, idx, 2, output_size=(SIDE, SIDE))
    assert u.shape == x.shape
    assert np.array_equal(u, x)
    del u

    gy = y.astype(np.float32)
    del y
    gx = cpool.max_pool2d_backward(gy, idx, x.shape)
    assert gx.shape == x.shape and gx.dtype == np.float32
    for h0 in range(0, SIDE, BLOCK):
        assert np.array_equal(gx[0, 0, h0:h0 + BLOCK], x[0, 0, h0:h0 + BLOCK]), h0
    assert hashlib.blake2b(x.data).hexdigest() == digest  # the input is never written
