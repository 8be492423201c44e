#!/usr/bin/env bash
# The whole test suite against a sanitizer build of the extension
# (CPOOL_SANITIZE=1: AddressSanitizer + UndefinedBehaviorSanitizer, every
# report fatal), in a venv of its own.  Linux with GCC or Clang.
#
# Usage: tools/run_sanitized.sh [pytest arguments]    e.g. -x -q tests/test_max.py
# Environment: PYTHON (default python3); CPOOL_SANITIZE_VENV to reuse a venv;
# CPOOL_SANITIZE_EXTRA, extra packages for the venv (e.g. torch==2.13.0).
#
# Python itself is not instrumented, so the ASan runtime is preloaded.  Leak
# checking is off here: CPython keeps memory at exit by design, which LSan
# would report; tests/test_memory.py checks that repeated calls do not grow
# the process, and the C driver runs with LeakSanitizer on in test_c_core.py.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
venv="${CPOOL_SANITIZE_VENV:-$(mktemp -d)/venv}"
cc="${CC:-gcc}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
# shellcheck disable=SC2086  # CPOOL_SANITIZE_EXTRA is a list of requirements
"$venv/bin/python" -m pip install --quiet "numpy>=2.0" pytest hypothesis threadpoolctl \
    "setuptools>=77" "Cython>=3.0" ${CPOOL_SANITIZE_EXTRA:-}
CPOOL_SANITIZE=1 CPOOL_OPENMP=1 "$venv/bin/python" -m pip install --quiet \
    --no-build-isolation --force-reinstall --no-deps "$root"

asan="$("$cc" -print-file-name=libasan.so)"
ubsan="$("$cc" -print-file-name=libubsan.so)"
[ -f "$asan" ] || { echo "no libasan.so for $cc" >&2; exit 1; }
export LD_PRELOAD="$asan${ubsan:+:$ubsan}"
# allocations over 6 GiB fail as NULL (MemoryError): the fuzz harness's cap
# (the suite's largest array, int64 indices in test_api.py, is 4 GiB)
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:allocator_may_return_null=1:max_allocation_size_mb=6144"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export CPOOL_REQUIRE_OPENMP=1
(cd / && "$venv/bin/python" -c "import cpool; assert cpool.build_info()['openmp']")
# from the repo root, like the README's command: `pytest` (not python -m
# pytest, which would put the source tree first) imports the installed,
# sanitized package
cd "$root"
exec "$venv/bin/pytest" -p no:cacheprovider "$@"
