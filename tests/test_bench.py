"""The main job's benchmark runs, checks results against PyTorch/NumPy
before timing, and writes its JSON (timings themselves are not asserted)."""
import json
import subprocess
import sys
import tempfile
import time

import pytest

import cpool


def test_bench_cli_runs_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, "-m", "cpool", "bench", "--quick", "--threads", "1",
           "--repeats", "1", "--cases", "max k2s2,stochastic k3s2,adaptive avg", "--json",
           str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=tempfile.gettempdir(),
                         timeout=300)
    assert res.returncode == 0, res.stderr
    data = json.loads(out.read_text())
    cases = {(r["case"], r["layout"]) for r in data["rows"]}
    assert ("max k2s2", "NCHW") in cases and ("adaptive avg ->7", "NHWC") in cases
    assert all(r["cpool_ms"] > 0 and r["gbps"] > 0 for r in data["rows"])
    assert data["build"]["version"] == cpool.__version__
    assert "case" in res.stdout and "% copy" in res.stdout
    # the stochastic budget, timed alternately, per layout at the one thread count
    assert set(data["stochastic_budget"]) == {"NCHW 1T", "NHWC 1T"}
    assert all(v > 0 for v in data["stochastic_budget"].values())
    assert "timed alternately" in res.stdout


def test_short_calls_are_timed_in_batches():
    """A call far under the timer's resolution of interest is timed in a
    batch and divided; a long one once a repeat."""
    from cpool import _bench
    calls = {"fast": 0, "slow": 0}

    def fast():
        calls["fast"] += 1

    def slow():
        calls["slow"] += 1
        time.sleep(0.003)

    t = _bench._interleaved_medians({"fast": fast, "slow": slow}, 3)
    assert calls["slow"] == 2 + 3  # warm-up and probe, then one a repeat
    assert calls["fast"] > 2 + 3 * 100
    assert t["slow"] >= 0.003 and 0 < t["fast"] < 1e-4


def test_bench_help_documents_options():
    res = subprocess.run([sys.executable, "-m", "cpool", "bench", "--help"],
                         capture_output=True, text=True, cwd=tempfile.gettempdir())
    assert res.returncode == 0
    for opt in ("--quick", "--threads", "--json", "--cases"):
        assert opt in res.stdout


def test_bench_rejects_bad_threads():
    res = subprocess.run([sys.executable, "-m", "cpool", "bench", "--threads", "0"],
                         capture_output=True, text=True, cwd=tempfile.gettempdir())
    assert res.returncode != 0 and "--threads" in res.stderr


@pytest.mark.parametrize("case", ["max", "avg_bwd", "lp", "unpool", "stochastic_eval"])
def test_numpy_baselines_agree_with_cpool(case):
    """The NumPy baselines the benchmark times compute the same thing."""
    import numpy as np
    from cpool import _bench
    c = next(c for c in _bench.CASES if c.op == case)
    x = np.random.default_rng(0).standard_normal((2, 4, 16, 16)).astype(np.float32)
    for cl in (False, True):
        xi = np.ascontiguousarray(np.moveaxis(x, 1, -1)) if cl else x
        r = _bench._Runner(c, xi, cl, None)
        mine, theirs = r.cpool(), r.numpy()
        np.testing.assert_allclose(mine, np.reshape(theirs, mine.shape), rtol=1e-5, atol=1e-5)
