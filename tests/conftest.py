import itertools
import random

import numpy as np
import pytest

import cpool

SHAPES = {1: (2, 3, 11), 2: (2, 3, 7, 8), 3: (2, 2, 5, 6, 5)}
FLOATS = [np.float32, np.float64]
INTS = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.int64]


def _valid(nd, k, s, p, d, ceil_mode):
    from reference import out_size
    shape = SHAPES[nd][2:]
    return all(pi <= ki // 2 for pi, ki in zip(p, k)) and all(
        out_size(L, ki, si, pi, di, ceil_mode) >= 1
        for L, ki, si, pi, di in zip(shape, k, s, p, d))


def window_configs(nd, count=24, dilation=True, seed=0):
    """A fixed, varied sample of (kernel, stride, padding, dilation, ceil_mode)
    valid for SHAPES[nd], including anisotropic tuples, overlapping windows
    (kernel > stride) and strides larger than the kernel."""
    rng = random.Random(seed * 10 + nd)
    fixed = [((2,) * nd, (2,) * nd, (0,) * nd, (1,) * nd, False),
             ((3,) * nd, (2,) * nd, (1,) * nd, (1,) * nd, False),
             ((3,) * nd, (2,) * nd, (1,) * nd, (1,) * nd, True),
             ((3,) * nd, (1,) * nd, (0,) * nd, (1,) * nd, False)]
    out = [c for c in fixed if _valid(nd, *c)]
    while len(out) < count:
        k = tuple(rng.randint(1, 4) for _ in range(nd))
        s = tuple(rng.randint(1, 3) for _ in range(nd))
        p = tuple(rng.randint(0, ki // 2) for ki in k)
        d = tuple(rng.randint(1, 2) for _ in range(nd)) if dilation else (1,) * nd
        c = (k, s, p, d, rng.random() < 0.5)
        if _valid(nd, *c) and c not in out:
            out.append(c)
    return out


def make_input(shape, dtype, rng, ties=True):
    """Values from a small integer range, so windows often hold ties."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        lo, hi = max(info.min, -100), min(info.max, 100)
        return rng.integers(lo, hi, size=shape, endpoint=True).astype(dtype)
    if ties:
        return rng.integers(-6, 6, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def to_layout(x_cf, channels_last):
    """A channels-first batched array in the requested layout (contiguous)."""
    return np.ascontiguousarray(np.moveaxis(x_cf, 1, -1)) if channels_last else x_cf


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def check_bad_call(call, exc, words, arrays):
    """call() raises exc with one of `words` (a string or a tuple of them) in
    its message, and leaves every array in `arrays` unchanged."""
    before = [a.copy() for a in arrays]
    with pytest.raises(exc) as info:
        call()
    words = (words,) if isinstance(words, str) else words
    assert any(w in str(info.value) for w in words), str(info.value)
    for a, b in zip(before, arrays):
        np.testing.assert_array_equal(a, b)


def same_at_every_thread_count(run, counts=(2, 3)):
    """run() at one thread, then at each of `counts`: every returned array
    must be identical.  Returns the one-thread results."""
    with cpool.num_threads(1):
        base = run()
    for n in counts:
        with cpool.num_threads(n):
            for a, b in zip(base, run()):
                np.testing.assert_array_equal(a, b)
    return base
