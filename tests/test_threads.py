import os
import subprocess
import sys
import tempfile
import threading

import numpy as np
import pytest

import cpool
from conftest import make_input, same_at_every_thread_count

# Large enough to cross the C core's parallel threshold.
SHAPE = (2, 5, 67, 71)


def _all_ops(x, xl, g, gl):
    y, i = cpool.max_pool2d(x, 3, 2, 1, return_indices=True)
    yl, il = cpool.max_pool2d(xl, 3, 2, 1, return_indices=True, channels_last=True)
    return [
        y, i, yl, il,
        cpool.max_pool2d(x, 2),
        cpool.max_pool2d_backward(g, i, x.shape),
        cpool.max_pool2d_backward(gl, il, xl.shape, channels_last=True),
        cpool.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
        cpool.avg_pool2d(xl, 3, 2, 1, channels_last=True),
        cpool.avg_pool2d_backward(g, x.shape, 3, 2, 1),
        cpool.avg_pool2d_backward(gl, xl.shape, 3, 2, 1, channels_last=True),
        cpool.max_pool3d(x[None], (1, 3, 3), 1),
        cpool.max_pool1d(x.reshape(2, 5, -1), 5, 3),
        # unpadded rows of full windows, forward, and tiling windows backward
        cpool.avg_pool2d(x, 2),
        cpool.avg_pool2d(x, 3, 2, divisor_override=5),
        cpool.lp_pool2d(x, 2, 3, 2),
        cpool.avg_pool2d_backward(cpool.avg_pool2d(x, 2), x.shape, 2),
        cpool.avg_pool2d_backward(cpool.avg_pool2d(x, 3), x.shape, 3),
    ]


def _inputs(rng):
    x = make_input(SHAPE, np.float32, rng)
    xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    g = rng.standard_normal((2, 5, 34, 36)).astype(np.float32)
    return x, xl, g, np.ascontiguousarray(np.moveaxis(g, 1, -1))


def test_thread_count_api():
    serial = not cpool.build_info()["openmp"]  # a serial build always reports 1
    n0 = cpool.get_num_threads()
    assert n0 >= 1
    with cpool.num_threads(1):
        assert cpool.get_num_threads() == 1
        with cpool.num_threads(3):
            assert cpool.get_num_threads() == (1 if serial else 3)
        assert cpool.get_num_threads() == 1
    assert cpool.get_num_threads() == n0
    cpool.set_num_threads(2)
    assert cpool.get_num_threads() == (1 if serial else 2)
    cpool.set_num_threads(n0)


def test_absurd_thread_counts_are_capped(rng):
    """A team of 65536 threads would crash the OpenMP runtime: cpool caps it."""
    x = rng.standard_normal((1, 64, 128, 128)).astype(np.float32)
    expected = cpool.max_pool2d(x, 2)
    with cpool.num_threads(65536):
        n = cpool.get_num_threads()
        assert 1 <= n <= 4 * (os.cpu_count() or 1)
        np.testing.assert_array_equal(cpool.max_pool2d(x, 2), expected)


def test_results_identical_at_every_thread_count(rng):
    args = _inputs(rng)
    same_at_every_thread_count(lambda: _all_ops(*args), counts=(2, 3, 4))


def test_omp_num_threads_is_honoured():
    code = "import cpool; print(cpool.get_num_threads())"
    env = dict(os.environ, OMP_NUM_THREADS="3")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, cwd=tempfile.gettempdir())
    expected = 3 if cpool.build_info()["openmp"] else 1
    assert int(out.stdout.strip()) == expected


def test_python_threads_at_once(rng):
    """4 Python threads call at once (the GIL is released) and all get the
    single-threaded answer."""
    args = _inputs(rng)
    with cpool.num_threads(1):
        expected = _all_ops(*args)
    results, errors = [None] * 4, []
    barrier = threading.Barrier(4)

    def work(j):
        try:
            barrier.wait()
            for _ in range(5):
                results[j] = _all_ops(*args)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(j,)) for j in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for res in results:
        for a, b in zip(expected, res):
            np.testing.assert_array_equal(a, b)


def test_gil_is_released_during_a_kernel():
    """A second Python thread keeps running while a long kernel runs."""
    x = np.random.default_rng(0).standard_normal((8, 64, 256, 256)).astype(np.float32)
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(1)
            done.wait(0.0005)

    t = threading.Thread(target=ticker)
    with cpool.num_threads(1):
        t.start()
        for _ in range(3):
            cpool.avg_pool2d(x, 5, 1, 2)
        done.set()
    t.join()
    assert len(ticks) > 5


def _mixed_ops(x, xl, g, gl):
    """_all_ops and one call of every other family, each deterministic."""
    pos = np.abs(x)
    y, i = cpool.max_pool2d(x, 2, return_indices=True)
    samples = np.linspace(0.05, 0.95, x.shape[0] * x.shape[1] * 2).reshape(
        x.shape[0], x.shape[1], 2)
    return _all_ops(x, xl, g, gl) + [
        cpool.lp_pool2d(pos, 2, 3, 2),
        cpool.adaptive_avg_pool2d(xl, (5, 7), channels_last=True),
        cpool.adaptive_max_pool2d(x, 4, return_indices=True)[1],
        cpool.global_avg_pool(x),
        cpool.global_max_pool(xl, channels_last=True),
        cpool.fractional_max_pool2d(x, 2, output_ratio=0.7, random_samples=samples),
        cpool.stochastic_pool2d(pos, 3, 2, seed=7, return_indices=True)[1],
        cpool.spatial_pyramid_pool(x, (1, 2, 4)),
        cpool.max_unpool2d(y, i, 2, output_size=x.shape[-2:]),
    ]


def test_eight_python_threads_while_the_thread_count_changes(rng):
    """8 Python threads run mixed operations at once while a ninth keeps
    changing set_num_threads: every call gives the single-threaded answer
    (a kernel reads the thread count once; no state is shared between
    calls)."""
    args = _inputs(rng)
    old = cpool.get_num_threads()
    with cpool.num_threads(1):
        expected = _mixed_ops(*args)
    errors, calls = [], [0] * 8
    stop = threading.Event()
    barrier = threading.Barrier(9)

    def work(j):
        try:
            barrier.wait()
            for _ in range(6):
                for a, b in zip(expected, _mixed_ops(*args)):
                    np.testing.assert_array_equal(a, b)
                calls[j] += len(expected)
        except Exception as exc:  # reported below, with the thread
            errors.append((j, exc))

    def changer():
        barrier.wait()
        n = 0
        while not stop.is_set():
            cpool.set_num_threads(1 + n % 4)
            n += 1
            stop.wait(0.0002)

    threads = [threading.Thread(target=work, args=(j,)) for j in range(8)]
    side = threading.Thread(target=changer)
    try:
        for t in threads + [side]:
            t.start()
        for t in threads:
            t.join()
    finally:
        stop.set()
        side.join()
        cpool.set_num_threads(old)
    assert not errors, errors[:3]
    assert sum(calls) == 8 * 6 * len(expected)
