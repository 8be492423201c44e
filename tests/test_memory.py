"""Memory: repeated calls keep the process flat (nothing leaks, in Python or
in C), and out= never allocates a new result."""
import gc
import os
import tracemalloc

import numpy as np
import pytest

import cpool


def _rss_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096
    except OSError:
        pytest.skip("no /proc/self/statm (not Linux)")


def _every_family(x, xl, g):
    """One small call of each family, forward and backward, both layouts:
    the ones that build scratch tables or buffers in C included (adaptive,
    fractional, stochastic, SPP, the average backward)."""
    pos = np.abs(x)
    y, i = cpool.max_pool2d(x, 3, 2, 1, return_indices=True)
    cpool.max_pool2d_backward(g, i, x.shape)
    cpool.max_pool2d(xl, 2, channels_last=True)
    cpool.avg_pool2d_backward(g, x.shape, 3, 2, 1)
    cpool.avg_pool2d(xl, 3, 2, 1, channels_last=True)
    lp = cpool.lp_pool2d(pos, 2, 2)
    cpool.lp_pool2d_backward(np.ones_like(lp), pos, lp, 2, 2)
    a, ai = cpool.adaptive_max_pool2d(x, (3, 5), return_indices=True)
    cpool.adaptive_max_pool2d_backward(a, ai, x.shape)
    cpool.adaptive_avg_pool2d_backward(cpool.adaptive_avg_pool2d(x, 3), x.shape)
    cpool.global_avg_pool(xl, channels_last=True)
    cpool.global_max_pool(x)
    f, fi = cpool.fractional_max_pool2d(x, 2, output_ratio=0.6, return_indices=True, seed=1)
    cpool.fractional_max_pool2d_backward(f, fi, x.shape)
    s, si = cpool.stochastic_pool2d(pos, 3, 2, seed=3, return_indices=True)
    cpool.stochastic_pool2d_backward(s, si, x.shape)
    cpool.stochastic_pool2d(pos, 3, 2, training=False)
    p, pi = cpool.spatial_pyramid_pool(x, (1, 2, 3), return_indices=True)
    cpool.spatial_pyramid_pool_backward(p, x.shape, (1, 2, 3), indices=pi)
    u = cpool.max_unpool2d(y, i, 3, 2, 1, output_size=x.shape[-2:])
    cpool.max_unpool2d_backward(u, i)


@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="under AddressSanitizer freed memory stays in its quarantine, so "
                           "resident memory grows without a leak (tools/run_sanitized.sh)")
def test_repeated_calls_keep_memory_flat(rng):
    """Three rounds of 300 passes over every family (6,600 calls a round):
    after the first round (allocator warm-up), the process's resident memory
    grows by at most 64 KiB a round.  A leak of 16 bytes a call would add
    103 KiB a round; here, without one, it is 0-4 KiB."""
    x = rng.standard_normal((2, 3, 17, 19)).astype(np.float32)
    xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    g = rng.standard_normal((2, 3, 9, 10)).astype(np.float32)
    rounds = []
    for _ in range(3):
        for _ in range(300):
            _every_family(x, xl, g)
        gc.collect()
        rounds.append(_rss_bytes())
    growth = rounds[2] - rounds[1]
    assert growth <= 64 * 1024, f"resident memory per round: {rounds}"


@pytest.mark.parametrize("call", [
    lambda x, out: cpool.max_pool2d(x, 2, out=out),
    lambda x, out: cpool.avg_pool2d(x, 2, out=out),
    lambda x, out: cpool.lp_pool2d(x, 2, 2, out=out),
    lambda x, out: cpool.adaptive_avg_pool2d(x, (64, 64), out=out),
    lambda x, out: cpool.adaptive_max_pool2d(x, (64, 64), out=out),
    lambda x, out: cpool.stochastic_pool2d(x, 2, training=False, out=out),
], ids=["max", "avg", "lp", "adaptive_avg", "adaptive_max", "stochastic_eval"])
def test_out_never_allocates_a_result(call, rng):
    """NumPy reports its array allocations to tracemalloc: with out= the peak
    of new memory during a call stays far below the result's size (4 MiB),
    and the call returns out itself."""
    x = np.abs(rng.standard_normal((4, 64, 128, 128))).astype(np.float32)  # lp, stochastic
    out = np.empty((4, 64, 64, 64), np.float32)
    assert call(x, out) is out  # also warms the repeated-call cache
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        for _ in range(3):
            call(x, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < out.nbytes // 8, f"{peak} bytes allocated during calls with out="


def test_tracemalloc_sees_a_result_allocation(rng):
    """The check above can fail: without out= the same call shows the
    result's allocation."""
    x = rng.standard_normal((4, 64, 128, 128)).astype(np.float32)
    cpool.max_pool2d(x, 2)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        y = cpool.max_pool2d(x, 2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak >= y.nbytes
