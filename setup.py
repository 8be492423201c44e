"""Build of cpool's one extension module, cpool._core, from cpool/_core.pyx
and every C file in src/.

OpenMP is probed by compiling, linking and *running* a tiny program with the
compiler setuptools will really use.  CPOOL_OPENMP selects what happens:
  auto (default)  use OpenMP if the probe passes, else build serial and warn loudly
  1               OpenMP required: fail the build without it (CI, wheels)
  0               serial build
On macOS with Apple clang, OpenMP comes from libomp: CPOOL_LIBOMP_PREFIX, or
Homebrew's prefix.  pip hides this output; cpool.show_config() tells afterwards.

The C files compile in parallel, one per core (CPOOL_BUILD_JOBS to set the
count): the max kernels alone take minutes in one file, so they are split.

CPOOL_SANITIZE=1 builds with AddressSanitizer and UndefinedBehaviorSanitizer
(GCC or Clang; any report is fatal): tools/run_sanitized.sh builds it and runs
the test suite under it.
"""
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from concurrent.futures import ThreadPoolExecutor

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

PROBE = textwrap.dedent(
    """
    #include <omp.h>
    #include <stdio.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        printf("%d %d\\n", n, (int)_OPENMP);
        return n >= 1 ? 0 : 1;
    }
    """
)


def _libomp_prefix():
    prefix = os.environ.get("CPOOL_LIBOMP_PREFIX")
    if prefix:
        return prefix
    if shutil.which("brew"):
        try:
            out = subprocess.run(["brew", "--prefix", "libomp"], capture_output=True,
                                 text=True, check=True)
            return out.stdout.strip() or None
        except (OSError, subprocess.CalledProcessError):
            return None
    return None


def _openmp_flags(compiler_type):
    """(compile args, link args) to try for OpenMP with this compiler."""
    if compiler_type == "msvc":
        return ["/openmp"], []
    if sys.platform == "darwin":
        prefix = _libomp_prefix()
        if prefix:
            return (["-Xpreprocessor", "-fopenmp", f"-I{prefix}/include"],
                    [f"-L{prefix}/lib", "-lomp", f"-Wl,-rpath,{prefix}/lib"])
        return ["-fopenmp"], ["-fopenmp"]
    return ["-fopenmp"], ["-fopenmp"]


def _warn_box(lines):
    width = max(len(s) for s in lines) + 4
    bar = "*" * width
    msg = "\n".join([bar] + [f"* {s.ljust(width - 4)} *" for s in lines] + [bar])
    print(msg, file=sys.stderr)


def _compile_in_parallel(compiler, jobs):
    """Make compiler.compile build its sources `jobs` at a time.  Each source
    still goes through the compiler's own compile(); only the loop over the
    list is spread over threads, each waiting on its compiler process."""
    serial = compiler.compile

    def compile(sources, *args, **kwargs):
        if jobs <= 1 or len(sources) <= 1:
            return serial(sources, *args, **kwargs)
        with ThreadPoolExecutor(jobs) as pool:
            parts = list(pool.map(lambda src: serial([src], *args, **kwargs), sources))
        return [obj for part in parts for obj in part]

    compiler.compile = compile


class BuildExt(build_ext):
    def _probe_openmp(self, cflags, ldflags):
        """Compile, link and run PROBE; True when it printed a team size."""
        cc = self.compiler
        old = os.getcwd()
        tmp = tempfile.mkdtemp(prefix="cpool-omp-")
        try:
            os.chdir(tmp)
            with open("probe.c", "w") as f:
                f.write(PROBE)
            objs = cc.compile(["probe.c"], extra_postargs=cflags)
            exe = "probe" + (".exe" if sys.platform == "win32" else "")
            cc.link_executable(objs, "probe", extra_postargs=ldflags)
            if os.environ.get("CPOOL_CROSS_COMPILING") or os.environ.get("_PYTHON_HOST_PLATFORM"):
                return True, "cross-compiling: probe linked, not run"
            out = subprocess.run([os.path.abspath(exe)], capture_output=True, text=True,
                                 timeout=60)
            return out.returncode == 0, out.stdout.strip()
        except Exception as exc:  # any compile/link/run failure means "no OpenMP"
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return False, text if len(text) < 160 else text[:157] + "..."
        finally:
            os.chdir(old)
            shutil.rmtree(tmp, ignore_errors=True)

    def _rebuild_if_flags_changed(self, flags):
        """pip builds a local checkout in place, and build_ext skips an
        extension whose library is newer than its sources, so a sanitizer
        build followed by a plain one would ship the sanitized library: force
        a rebuild when the flags differ from the last build's."""
        stamp = os.path.join(self.build_temp, "cpool-flags.txt")
        text = " ".join(flags)
        try:
            with open(stamp) as f:
                same = f.read() == text
        except OSError:
            same = False
        if not same:
            self.force = True
            os.makedirs(self.build_temp, exist_ok=True)
            with open(stamp, "w") as f:
                f.write(text)

    def build_extensions(self):
        mode = os.environ.get("CPOOL_OPENMP", "auto").strip().lower()
        if mode not in ("auto", "1", "0"):
            raise SystemExit(f"CPOOL_OPENMP must be auto, 1 or 0, got {mode!r}")
        ctype = self.compiler.compiler_type
        cflags, ldflags = _openmp_flags(ctype)
        use_omp = False
        if mode != "0":
            ok, detail = self._probe_openmp(cflags, ldflags)
            print(f"cpool: OpenMP probe with {ctype} {' '.join(cflags)}: "
                  f"{'ok' if ok else 'failed'} ({detail})")
            if ok:
                use_omp = True
            elif mode == "1":
                raise SystemExit("cpool: CPOOL_OPENMP=1 but the OpenMP probe failed "
                                 f"({detail}). Install OpenMP (libgomp / libomp) or set "
                                 "CPOOL_OPENMP=0 for a serial build.")
            else:
                _warn_box([
                    "cpool: OpenMP NOT available - building a SERIAL extension.",
                    f"probe: {detail[:60]}",
                    "Every kernel will run on one core. Install OpenMP (libgomp,",
                    "or libomp on macOS) and rebuild, or set CPOOL_OPENMP=1 to",
                    "make this an error. cpool.show_config() reports the result.",
                ])
        # -g0: Python's own CFLAGS carry -g, which quadruples the wheel;
        # hidden symbols: the module exports its init function and no more
        # -fno-math-errno: sqrt then vectorises (Lp's finish) instead of a
        # scalar sqrt and a branch to set errno per element; nothing reads errno.
        # -ffp-contract=off: a * b + c stays two roundings where the target has
        # FMA (arm64, -march=...), so results keep PyTorch's bits (0 + g / 4 is
        # +0 for a g that underflows; a fused g * 0.25 + 0 would give -0)
        fp = ["-fno-math-errno", "-ffp-contract=off"]
        opt = ["/O2"] if ctype == "msvc" else ["-O3", "-g0", "-fvisibility=hidden"] + fp
        link = []
        if os.environ.get("CPOOL_SANITIZE", "0").strip() == "1":
            if ctype == "msvc":
                raise SystemExit("cpool: CPOOL_SANITIZE=1 needs GCC or Clang")
            # -O2 rather than -O3 -g0: still the vectorised and cloned paths,
            # with line numbers in the reports
            sanitize = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                        "-fno-omit-frame-pointer"]
            opt = ["-O2", "-g", "-fvisibility=hidden"] + fp + sanitize
            link = sanitize
            print("cpool: sanitizer build (AddressSanitizer + UBSan)")
        for ext in self.extensions:
            ext.extra_compile_args = opt + (cflags if use_omp else [])
            ext.extra_link_args = (ldflags if use_omp else []) + link
        self._rebuild_if_flags_changed(opt + (cflags if use_omp else []) + link)
        if ctype != "msvc":  # MSVC sets itself up on its first compile: keep it serial
            jobs = int(os.environ.get("CPOOL_BUILD_JOBS") or os.cpu_count() or 1)
            _compile_in_parallel(self.compiler, jobs)
        super().build_extensions()


def extensions():
    import numpy
    from Cython.Build import cythonize

    ext = Extension(
        "cpool._core",
        sources=["cpool/_core.pyx"] + sorted(glob.glob("src/*.c")),
        # NumPy's C API in the bridge (cpool/_core.pyx) only: an array's data
        # pointer and a fresh result without a Py_buffer, for tiny calls.
        # Built against NumPy 2, it runs on every NumPy the package accepts.
        include_dirs=["src", numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_23_API_VERSION"),
                       ("NPY_TARGET_VERSION", "NPY_1_23_API_VERSION")],
        depends=sorted(glob.glob("src/*.h") + glob.glob("src/*.inc")),
    )
    return cythonize([ext], compiler_directives={"language_level": 3},
                     include_path=["cpool"])


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
