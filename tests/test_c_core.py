"""Build and run the C core's own test driver, tests/c/test_core.c.

The driver links src/*.c directly (no Python, no Cython) and exercises the
public C API in src/cpool.h: known answers, padding-only windows, the index
scatter's error codes, cpool_geom_check, dtype dispatch, and a sweep over
1d/2d/3d geometries against naive references with exactly-sized buffers.

Two builds with the system C compiler, both warning-free (-Werror):
  sanitize  -O0 -g, OpenMP and the AVX2 variants, AddressSanitizer +
            UndefinedBehaviorSanitizer (LeakSanitizer on), any report fatal
            (-O0: the four max files took 83-116 s each to compile at -O1 on
            a 2-core CI machine, 20 s at -O0; the driver runs in 8 s);
  valgrind  -O2 -g without -fopenmp and without the runtime SIMD dispatch:
            the portable code paths as the compiler vectorises them, with the
            OpenMP pragmas compiled out, under valgrind memcheck: any error,
            and any lost block, fails.
Between them every code path runs under a memory checker with exactly-sized
buffers.  A third build, valgrind-openmp (-O2, OpenMP and AVX2 under
valgrind: uninitialised reads in the AVX2 and threaded paths, which ASan
does not see), is opt-in with `pytest -m slow`: it took 86 s to compile and
41 s to run on a 2-core machine, and CI has a 20-minute budget.  (libgomp's
thread stacks show as "possibly lost" there, which is libgomp's, so that
kind is not counted in that build.)
Skipped when there is no `cc`/`gcc` (or no valgrind for those builds), when
src/ or the driver is not next to tests/ (e.g. tests run from an installed
copy), or when the compiler cannot build even a trivial program with a
build's flags (no OpenMP or sanitizer runtime) -- a failure in cpool's own
code is never turned into a skip.  The sources compile in parallel, one
object each, as in setup.py.
"""
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
DRIVER = ROOT / "tests" / "c" / "test_core.c"

# -ffp-contract=off as in setup.py: the same roundings where the target has FMA
STRICT = ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-ffp-contract=off"]
BUILDS = {
    # short chunks in the whole-plane max scan, so that they are merged
    "sanitize": STRICT + ["-O0", "-g", "-fopenmp", "-fsanitize=address,undefined",
                          "-fno-omit-frame-pointer", "-fno-sanitize-recover=all",
                          "-DCPOOL_RUN_CHUNK=40"],
    # without the runtime dispatch: the portable code paths (Philox in C)
    "valgrind": STRICT + ["-O2", "-g", "-DCPOOL_NO_CLONES"],
    "valgrind-openmp": STRICT + ["-O2", "-g", "-fopenmp"],
}
VALGRIND_ERROR = 99
VALGRIND_LEAKS = {"valgrind": "definite,indirect,possible",
                  "valgrind-openmp": "definite,indirect"}

COMPILE_TIMEOUT = 300
RUN_TIMEOUT = 180

# LeakSanitizer works in this sandbox (checked: it reports a deliberate leak,
# and none from libgomp), so leaks are checked.  Where LSan cannot run at all
# (it needs ptrace-like access; some containers and CI runners forbid it) it
# dies with a "fatal error" of its own; _run() then retries with
# detect_leaks=0 rather than failing for a reason that is not cpool's.
ASAN_OPTIONS = "detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1"
UBSAN_OPTIONS = "print_stacktrace=1:halt_on_error=1"
LSAN_UNAVAILABLE = ("LeakSanitizer has encountered a fatal error",
                    "LeakSanitizer does not work under ptrace")

PROBE = r"""
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    int n = 0;
    char *p = (char *)malloc(4);
#if defined(_OPENMP)
#pragma omp parallel reduction(+ : n)
#endif
    n += 1;
    p[0] = (char)n;
    printf("%d\n", p[0] > 0);
    free(p);
    return 0;
}
"""


def _compiler():
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler (`cc` or `gcc`) on PATH")
    return cc


def _tail(text, n=8000):
    return text if len(text) <= n else "...\n" + text[-n:]


def _env(leaks=True):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)  # ASan's runtime must come first
    env["ASAN_OPTIONS"] = ASAN_OPTIONS if leaks else ASAN_OPTIONS.replace(
        "detect_leaks=1", "detect_leaks=0")
    env["UBSAN_OPTIONS"] = UBSAN_OPTIONS
    return env


def _compile(cc, flags, sources, exe):
    """Compile each source to its own object in parallel, then link."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)  # under tools/run_sanitized.sh: not into the compiler

    def run(cmd):
        try:
            return cmd, subprocess.run(cmd, capture_output=True, text=True, env=env,
                                       timeout=COMPILE_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"compile timed out after {COMPILE_TIMEOUT} s: {' '.join(cmd)}")

    objs = [exe.parent / f"{exe.name}-{src.stem}.o" for src in sources]
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        done = list(pool.map(run, [[cc, *flags, "-I", str(SRC), "-c", str(src), "-o", str(obj)]
                                   for src, obj in zip(sources, objs)]))
    for cmd, proc in done:
        if proc.returncode != 0:
            return cmd, proc
    return run([cc, *flags, *map(str, objs), "-o", str(exe), "-lm"])


def _run(exe, prefix=()):
    def once(leaks):
        try:
            return subprocess.run([*prefix, str(exe)], capture_output=True, text=True,
                                  timeout=RUN_TIMEOUT, env=_env(leaks))
        except subprocess.TimeoutExpired as e:
            out = e.stdout or ""
            if isinstance(out, bytes):
                out = out.decode(errors="replace")
            pytest.fail(f"{exe.name} timed out after {RUN_TIMEOUT} s\n{_tail(out)}")

    proc = once(True)
    if proc.returncode != 0 and any(s in proc.stderr for s in LSAN_UNAVAILABLE):
        proc = once(False)  # see ASAN_OPTIONS above
    return proc


@pytest.mark.parametrize("build", [
    "sanitize", "valgrind", pytest.param("valgrind-openmp", marks=pytest.mark.slow)])
def test_c_core(build, tmp_path):
    if not SRC.is_dir() or not (SRC / "cpool.h").is_file():
        pytest.skip(f"C sources not found at {SRC} (tests running outside a source checkout)")
    if not DRIVER.is_file():
        pytest.skip(f"C test driver not found at {DRIVER}")
    cc = _compiler()
    flags = BUILDS[build]
    prefix = ()
    if build in VALGRIND_LEAKS:
        valgrind = shutil.which("valgrind")
        if valgrind is None:
            if os.environ.get("CPOOL_REQUIRE_VALGRIND") == "1":  # .ci/run
                pytest.fail("CPOOL_REQUIRE_VALGRIND=1 but valgrind is not installed")
            pytest.skip("valgrind is not installed")
        kinds = VALGRIND_LEAKS[build]
        prefix = (valgrind, "--quiet", f"--error-exitcode={VALGRIND_ERROR}",
                  "--leak-check=full", f"--errors-for-leak-kinds={kinds}",
                  f"--show-leak-kinds={kinds}")

    # Can this compiler build and run anything with these flags at all?
    probe_c = tmp_path / "probe.c"
    probe_c.write_text(PROBE)
    cmd, proc = _compile(cc, flags, [probe_c], tmp_path / "probe")
    if proc.returncode != 0:
        pytest.skip(f"{cc} cannot build a trivial program with {' '.join(flags)} "
                    f"(no OpenMP or sanitizer support?):\n{_tail(proc.stderr, 2000)}")
    proc = _run(tmp_path / "probe")
    if proc.returncode != 0:
        pytest.skip(f"a trivial program built with {' '.join(flags)} does not run here:\n"
                    f"{_tail(proc.stdout + proc.stderr, 2000)}")

    sources = sorted(SRC.glob("*.c")) + [DRIVER]
    exe = tmp_path / f"test_core_{build}"
    cmd, proc = _compile(cc, flags, sources, exe)
    if proc.returncode != 0:
        pytest.fail(f"compile failed ({build}):\n{' '.join(cmd)}\n{_tail(proc.stderr)}")

    proc = _run(exe, prefix)
    output = proc.stdout + proc.stderr
    print(output)  # shown by pytest on failure (and with -s)
    assert proc.returncode == 0, (
        f"{exe.name} exited with {proc.returncode}\n{_tail(output)}")
    assert "0 failures" in proc.stdout and "OK" in proc.stdout, _tail(output)
