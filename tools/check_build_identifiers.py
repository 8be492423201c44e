"""Check the [tool.cibuildwheel] configuration without building anything.

`cibuildwheel --print-build-identifiers --platform P` lists the wheels the
configuration would build on P.  This asserts that list is the policy of the
wheels issue: CPython 3.10 and newer (no free-threaded builds yet, no PyPy),
64-bit only, and on each platform exactly these targets, every one of them for
every Python version:

    linux    manylinux x86_64 and aarch64, musllinux x86_64
    macos    x86_64 and arm64
    windows  AMD64

Run from the repository root: python tools/check_build_identifiers.py
(needs cibuildwheel installed; .ci/run installs it).
"""
import re
import subprocess
import sys

EXPECTED = {
    "linux": {"manylinux_x86_64", "manylinux_aarch64", "musllinux_x86_64"},
    "macos": {"macosx_x86_64", "macosx_arm64"},
    "windows": {"win_amd64"},
}
OLDEST = 10
IDENTIFIER = re.compile(r"cp3(\d+)-(\w+)")


def identifiers(platform):
    out = subprocess.run(
        [sys.executable, "-m", "cibuildwheel", "--print-build-identifiers",
         "--platform", platform, "."],
        check=True, capture_output=True, text=True).stdout
    return out.split()


def problems(platform, found):
    bad = []
    pairs = set()
    for ident in found:
        m = IDENTIFIER.fullmatch(ident)
        if not m:  # PyPy, free-threaded (cp314t-...), or anything unexpected
            bad.append(f"{ident}: not a CPython 3 build with the GIL")
            continue
        minor, target = int(m.group(1)), m.group(2)
        if minor < OLDEST:
            bad.append(f"{ident}: older than CPython 3.{OLDEST}")
        if target not in EXPECTED[platform]:
            bad.append(f"{ident}: target {target} is not one of {sorted(EXPECTED[platform])}")
        pairs.add((minor, target))
    minors = sorted({minor for minor, _ in pairs})
    if not minors or minors[0] != OLDEST:
        bad.append(f"the oldest CPython is not 3.{OLDEST} (versions: {minors})")
    for minor in minors:
        for target in sorted(EXPECTED[platform] - {t for m, t in pairs if m == minor}):
            bad.append(f"cp3{minor}: no {target} wheel")
    return bad


def main():
    failed = False
    for platform in EXPECTED:
        found = identifiers(platform)
        bad = problems(platform, found)
        status = "ok" if not bad else "WRONG"
        print(f"{platform:8} {status}: {len(found)} wheels: {' '.join(found)}")
        for line in bad:
            print(f"    {line}")
        failed = failed or bool(bad)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
