"""Fuzzing every public function with hostile arguments (hypothesis).

Each call is handed wide combinations of arguments: sizes that are zero,
negative, or at the int32/int64/2**40 boundaries; bools, floats, None,
strings and tuples of the wrong length where ints belong; indices that are
out of range, of the wrong dtype or shape; input_shape that disagrees with
grad_output; NaN and inf ratios, samples and norms; seeds of every type;
out= arrays that are wrong or overlap the input; inputs that are read-only,
Fortran-ordered, negatively strided, strided, unaligned, byte-swapped,
broadcast, empty, of unsupported dtypes, or not arrays at all.  Backward
passes and max_unpool also get the genuine indices and shapes of a forward
pass, then corrupted one piece at a time.

The property checked for every call: it returns an ndarray (or a pair of
them) of a sane shape and dtype, or raises ValueError or TypeError with a
non-empty message -- never another exception, a crash, a hang or a huge
allocation -- and every array handed in is bit-for-bit unchanged afterwards
(an ``out=`` array may change only when the call returns, and then it is
what the call returns).  Returned indices lie in the input's plane or are -1,
and a gradient has the shape its input_shape asked for.

CPOOL_FUZZ_EXAMPLES sets the examples per test (default 100, about a minute on
two cores).  A reliability run:

    CPOOL_FUZZ_EXAMPLES=20000 python -m pytest -q tests/test_fuzz.py \\
        -p no:cacheprovider --hypothesis-show-statistics

Runs are derandomized (the same examples every time) and keep no database.
The module prints how many calls it made and how they ended."""
import collections
import contextlib
import io
import math
import os
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import cpool

EXAMPLES = int(os.environ.get("CPOOL_FUZZ_EXAMPLES", "100"))

# API.md ("Errors") documents these two for bad arguments; sizes past what
# an int64 offset or the 2**40 window bound allows are among them.  A legal
# size whose result does not fit in memory (output_size=2**31 asks for
# gigabytes, and the guard below allows 256 MiB) gets NumPy's MemoryError
# from the allocation, as np.empty would: the docs say so, and it must carry
# NumPy's message, like the others.
DOCUMENTED = (ValueError, TypeError, MemoryError)

# Every legitimate call here works on a few hundred elements and takes
# microseconds; a call slower than this is a finding, not a slow machine.
DEADLINE = timedelta(seconds=5)
if "libasan" in os.environ.get("LD_PRELOAD", ""):
    DEADLINE *= 6  # instrumented code, and allocations up to ASan's cap, run slower
# A call still running after this long is hung in C, where nothing can
# interrupt it: the process ends, naming the call, rather than never ending.
HANG_SECONDS = 60
HANG_EXIT_CODE = 124
# During a call the address space may grow this much: a call that tries to
# allocate more (gigabytes for a huge output_size or input_shape) fails at
# once with MemoryError, which is reported, instead of swapping the machine
# or being computed for minutes.  Legitimate calls here need kilobytes.
HEADROOM = 256 << 20
# Shrinking a failure to a minimal example can take minutes per test, and
# the failure message already spells out the failing call.
SHRINK = os.environ.get("CPOOL_FUZZ_SHRINK", "") not in ("", "0")

FUZZ = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=DEADLINE,
                print_blob=False,
                phases=[p for p in Phase if SHRINK or p not in (Phase.shrink, Phase.explain)],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much,
                                       HealthCheck.large_base_example])

if not sys.platform.startswith("linux"):
    # Elsewhere the address-space cap below is not enforced, and a huge
    # allocation the fuzzer provokes would really be made.
    pytest.skip("the fuzz harness caps memory with RLIMIT_AS, which needs Linux",
                allow_module_level=True)
import resource  # noqa: E402  (Linux only, after the skip)


def _family(pattern, dims=(1, 2, 3)):
    return {nd: getattr(cpool, pattern.format(nd)) for nd in dims}


MAX, MAXB = _family("max_pool{}d"), _family("max_pool{}d_backward")
AVG, AVGB = _family("avg_pool{}d"), _family("avg_pool{}d_backward")
LP, LPB = _family("lp_pool{}d"), _family("lp_pool{}d_backward")
AMAX, AMAXB = _family("adaptive_max_pool{}d"), _family("adaptive_max_pool{}d_backward")
AAVG, AAVGB = _family("adaptive_avg_pool{}d"), _family("adaptive_avg_pool{}d_backward")
FRAC = _family("fractional_max_pool{}d", (2, 3))
FRACB = _family("fractional_max_pool{}d_backward", (2, 3))
STOCH, STOCHB = _family("stochastic_pool{}d"), _family("stochastic_pool{}d_backward")
UNPOOL, UNPOOLB = _family("max_unpool{}d"), _family("max_unpool{}d_backward")
MISC = (cpool.global_max_pool, cpool.global_avg_pool, cpool.spatial_pyramid_pool,
        cpool.spatial_pyramid_pool_backward, cpool.get_num_threads, cpool.set_num_threads,
        cpool.num_threads, cpool.build_info, cpool.show_config)
FAMILIES = (MAX, MAXB, AVG, AVGB, LP, LPB, AMAX, AMAXB, AAVG, AAVGB, FRAC, FRACB, STOCH,
            STOCHB, UNPOOL, UNPOOLB)


# ---- the property ----------------------------------------------------------

OMIT = type("Omit", (), {"__repr__": lambda self: "OMIT"})()  # leave the argument out

STATS = collections.Counter()  # (function, outcome) -> calls
FOREIGN = {}  # exception messages that do not come from cpool's own checks


class _Watchdog:
    """Ends the process when one call runs past HANG_SECONDS, after printing
    the call.  The kernels release the GIL (and a Python loop yields it), so
    this thread gets to run while a call hangs."""

    def __init__(self):
        self.current = None  # (describe thunk, start time), swapped atomically
        self.config = None  # pytest's, to get past output capture
        threading.Thread(target=self._watch, name="cpool-fuzz-watchdog", daemon=True).start()

    def _watch(self):
        while True:
            time.sleep(0.5)
            current = self.current
            if current is not None and time.monotonic() - current[1] > HANG_SECONDS:
                self._die(current[0]())

    def _die(self, what):
        capman = self.config and self.config.pluginmanager.getplugin("capturemanager")
        if capman is not None:
            capman.suspend_global_capture(in_=False)
        sys.stderr.write(f"\ncpool fuzz: HANG: still running after {HANG_SECONDS} s: "
                         f"{what}\n" + "\n".join(_summary(self.config, 0)) + "\n")
        sys.stderr.flush()
        os._exit(HANG_EXIT_CODE)


WATCHDOG = _Watchdog()


def _vm_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


# AddressSanitizer reserves terabytes of address space for its shadow, so
# RLIMIT_AS cannot cap a call there; tools/run_sanitized.sh caps each
# allocation through ASAN_OPTIONS instead (max_allocation_size_mb).
UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")


@contextlib.contextmanager
def memory_cap():
    """The address space capped HEADROOM above its size now, for one call
    (pytest and hypothesis run uncapped in between)."""
    if UNDER_ASAN:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _vm_bytes() + HEADROOM
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    capped = soft == resource.RLIM_INFINITY or soft > cap
    if capped:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        if capped:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _start_threads():
    """Runs kernels on every OpenMP thread a fuzzed call may ask for, before
    any memory cap: libgomp ends the process when it cannot create a thread
    (and its first allocations), which a capped call could provoke."""
    x = np.random.default_rng(0).random((2, 16, 64, 64)).astype(np.float32)
    with cpool.num_threads(1 << 16):
        for cl in (False, True):
            y, ind = cpool.max_pool2d(x, 2, return_indices=True, channels_last=cl)
            cpool.max_pool2d_backward(y, ind, x.shape, channels_last=cl)
            cpool.avg_pool2d_backward(cpool.avg_pool2d(x, 3, 1, 1, channels_last=cl),
                                      x.shape, 3, 1, 1, channels_last=cl)
            cpool.stochastic_pool2d(x, 3, seed=0, channels_last=cl)
            cpool.adaptive_avg_pool2d(x, 5, channels_last=cl)
            cpool.global_avg_pool(x, channels_last=cl)
            cpool.lp_pool2d(x, 3, 2, channels_last=cl)


@pytest.fixture(scope="module", autouse=True)
def _report_calls(request):
    """Starts the kernels' threads; prints the call counts when the module
    is done."""
    WATCHDOG.config = request.config
    _start_threads()
    start = time.monotonic()
    yield
    _report(request.config, time.monotonic() - start)


def _report(config, seconds):
    capman = config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
        sys.stdout.write("\n" + "\n".join(_summary(config, seconds)) + "\n")
        sys.stdout.flush()


def _summary(config, seconds):
    """How many calls were made and how they ended (with -v: per function,
    and the messages that did not come from cpool's own checks)."""
    outcomes = collections.Counter()
    for (_, outcome), n in STATS.items():
        outcomes[outcome] += n
    total = sum(outcomes.values())
    lines = [f"cpool fuzz: {total} calls" + (f" in {seconds:.0f} s" if seconds else "") +
             " over "
             f"{len({f for f, _ in STATS})} functions ("
             + ", ".join(f"{n} {k}" for k, n in outcomes.most_common()) + ")"]
    if config.getoption("verbose") > 0:
        for fn in sorted({f for f, _ in STATS}):
            lines.append(f"  {fn}: " + ", ".join(
                f"{n} {k}" for (f, k), n in sorted(STATS.items()) if f == fn))
        for msg, fn in list(FOREIGN.items())[:20]:
            lines.append(f"  message not from cpool's checks, {fn}: {msg}")
    return lines


def _show(v):
    """A short Python-like spelling of an argument, for reproducers."""
    if isinstance(v, np.ndarray):
        notes = [] if v.flags.c_contiguous else [f"strides={v.strides}"]
        if not v.flags.writeable:
            notes.append("read-only")
        if not v.flags.aligned:
            notes.append("unaligned")
        if type(v) is not np.ndarray:
            notes.append(type(v).__name__)
        if v.size <= 12 and v.dtype != object:
            body = f"np.array({v.tolist()!r}, {str(v.dtype)!r})"
            if v.shape != np.array(v.tolist()).shape:
                body += f".reshape({v.shape})"
        else:
            body = f"np.zeros({v.shape}, {str(v.dtype)!r})"
        return body + (f"  # {', '.join(notes)}" if notes else "")
    if isinstance(v, (tuple, list)) and len(v) <= 8:
        inner = ", ".join(_show(e) for e in v)
        return f"({inner},)" if isinstance(v, tuple) and len(v) == 1 else \
            (f"({inner})" if isinstance(v, tuple) else f"[{inner}]")
    if type(v) is int and abs(v) > 2 ** 30:
        for k in range(31, max(abs(v).bit_length() + 1, 32)):
            for form, value in ((f"2 ** {k}", 2 ** k), (f"2 ** {k} - 1", 2 ** k - 1),
                                (f"2 ** {k} + 1", 2 ** k + 1)):
                if abs(v) == value:
                    return form if v > 0 else f"-({form})"
    return repr(v)  # NumPy 2 spells scalars as np.int64(5)


def _name(fn):
    """fn as a user would spell it: cpool.max_pool2d, cpool.nn.MaxPool2d,
    MaxPool2d.forward."""
    if hasattr(fn, "__self__") and not isinstance(fn.__self__, type(cpool)):
        return f"{type(fn.__self__).__name__}.{fn.__name__}"
    name = getattr(fn, "__qualname__", repr(fn))
    if isinstance(fn, type):
        return f"{fn.__module__}.{name}"
    return f"cpool.{name}" if getattr(fn, "__module__", "").startswith("cpool") else name


def describe(fn, args, kwargs):
    name = _name(fn)
    if hasattr(fn, "__self__") and not isinstance(fn.__self__, type(cpool)):
        name = f"cpool.nn.{fn.__self__!r}.{fn.__name__}"  # the layer, as constructed
    parts = [_show(a) for a in args] + [f"{k}={_show(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _root(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _snapshot(a):
    """Everything about a that a call must not change, contents to the bit."""
    return (a, a.shape, a.strides, a.dtype, a.flags.writeable, a.tobytes())


def _unchanged(snap):
    a = snap[0]
    return _snapshot(a)[1:] == snap[1:]


def _arrays_in(values):
    found = []
    for v in values:
        if isinstance(v, np.ndarray):
            found.append(v)
        elif isinstance(v, (tuple, list)):
            found.extend(_arrays_in(v))
    return found


def sane_arrays(result):
    """An ndarray or a pair of them, of int or float dtype and a shape of
    non-negative extents (its size was checked by the memory cap)."""
    arrays = result if isinstance(result, tuple) else (result,)
    assert 1 <= len(arrays) <= 2, f"returned {len(arrays)} values"
    for a in arrays:
        assert type(a) is np.ndarray, f"returned a {type(a).__name__}, not an ndarray"
        assert a.ndim >= 1 and all(s >= 0 for s in a.shape), f"returned shape {a.shape}"
        assert a.dtype.kind in "fiu", f"returned dtype {a.dtype}"


def attempt(fn, args, kwargs, check_result=sane_arrays):
    """Calls fn(*args, **kwargs) once and checks the fuzz property.  Returns
    the result, or None when fn raised a documented exception.  OMIT
    arguments are left out."""
    while args and args[-1] is OMIT:
        args = args[:-1]
    assert not any(a is OMIT for a in args), "OMIT may only end the positional arguments"
    kwargs = {k: v for k, v in kwargs.items() if v is not OMIT}
    out = kwargs.get("out")
    out = out if isinstance(out, np.ndarray) else None
    handed = _arrays_in(list(args) + [v for k, v in kwargs.items() if k != "out"])
    out_roots = () if out is None else (out, _root(out))
    # an input's owner too (a write into the gaps of a strided view shows
    # only there), unless it also owns out=, which a call may fill
    watched = {id(a): a for a in handed}
    watched.update({id(_root(a)): _root(a) for a in handed
                    if not any(_root(a) is r for r in out_roots)})
    before = [_snapshot(a) for a in watched.values()]
    before_out = [_snapshot(a) for a in {id(r): r for r in out_roots}.values()]
    name = _name(fn)
    WATCHDOG.current = (lambda: describe(fn, args, kwargs), time.monotonic())
    try:
        with memory_cap():
            result = fn(*args, **kwargs)
    except DOCUMENTED as e:
        result, error = None, e
    except Exception as e:
        STATS[name, type(e).__name__] += 1
        raise AssertionError(f"undocumented {type(e).__name__}: {e}\n  reproducer: "
                             f"{describe(fn, args, kwargs)}") from e
    else:
        error = None
    finally:
        WATCHDOG.current = None
    STATS[name, "returned" if error is None else type(error).__name__] += 1
    ending = "returned" if error is None else f"raised {type(error).__name__}"
    if error is not None:
        message = str(error)
        assert message.strip(), f"{ending} with an empty message: {describe(fn, args, kwargs)}"
        if "()" not in message.split(":")[0]:
            FOREIGN.setdefault(message[:120], name)
    for snap in before + (before_out if error is not None else []):
        assert _unchanged(snap), \
            f"an array passed in changed ({ending}): {describe(fn, args, kwargs)}"
    problem = None if error is not None else _problem(check_result, result)
    if problem:
        # a failing example's frames outlive it (hypothesis keeps them while
        # it shrinks): drop what may be a huge result
        result = None
        raise AssertionError(f"{problem}: {describe(fn, args, kwargs)}")
    return result


def _problem(check_result, result):
    """check_result's complaint about result, or None."""
    try:
        check_result(result)
    except AssertionError as e:
        return str(e) or "result check failed"
    return None


def call(fn, *args, **kwargs):
    return attempt(fn, args, kwargs)


def spatial_plane(shape, nd, channels_last):
    """Elements in one (n, c) plane of an input of this shape and layout."""
    body = shape[:-1] if channels_last else shape[1:]
    return int(np.prod(body[-nd:])) if len(body) >= nd else 0


def check_indices(result, plane, what):
    """Returned indices: int64, shaped like the values, each -1 or in the plane."""
    if not isinstance(result, tuple):
        return
    y, ind = result
    assert ind.dtype == np.int64 and ind.shape == y.shape, (ind.dtype, ind.shape, y.shape,
                                                            what)
    if ind.size:
        assert ind.min() >= -1 and ind.max() < plane, (int(ind.min()), int(ind.max()), plane,
                                                       what)


# ---- strategies -------------------------------------------------------------

EDGE_INTS = (0, -1, 1, 2, 2 ** 30, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 39,
             2 ** 40 - 1, 2 ** 40, 2 ** 40 + 1, 2 ** 62, 2 ** 63 - 1, 2 ** 63, 2 ** 64,
             -2 ** 31, -2 ** 63, -2 ** 64 - 1, 10 ** 30)
NP_INT_TYPES = (np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint64)


def _numpy_int(v):
    fits = [t(v) for t in NP_INT_TYPES if np.iinfo(t).min <= v <= np.iinfo(t).max]
    return st.sampled_from(fits) if fits else st.just(v)


SMALL = st.integers(1, 3)
INTS = st.one_of(st.integers(-2, 6), st.sampled_from(EDGE_INTS))
# an int argument: small, at a boundary, sometimes a NumPy scalar
ANY_INT = st.one_of(INTS, INTS.flatmap(_numpy_int), st.integers(-2 ** 70, 2 ** 70))
JUNK = st.sampled_from((None, True, False, np.True_, 2.0, 1.5, math.nan, math.inf, -0.0, "2",
                        b"2", "", 2 + 0j, Decimal(2), Fraction(2, 1), np.float32(2),
                        np.array(2), np.array([2, 2]), [], (), {}, slice(2), object()))
FLAGS = st.one_of(st.booleans(), st.booleans(),
                  st.sampled_from((np.True_, np.False_, 0, 1, None, "yes", 1.0)))
SEEDS = st.one_of(
    st.none(), st.integers(0, 2 ** 32),
    st.sampled_from((0, 2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1, 2 ** 64, -1, -2 ** 63, 2 ** 100,
                     np.uint64(2 ** 64 - 1), np.int64(-1), np.int8(5), True, 1.5, "1", b"1",
                     math.nan, [1, 2], (1,))),
    st.integers(0, 99).map(np.random.default_rng),
    st.integers(0, 99).map(np.random.RandomState),
    st.integers(0, 99).map(np.random.SeedSequence),
    st.integers(0, 99).map(np.random.PCG64))
NORMS = st.one_of(
    st.sampled_from((1, 2, 3, 1.5, 4.0, -1, -2.5, math.inf, -math.inf)),
    st.sampled_from((0, 0.0, -0.0, math.nan, 1e308, -1e308, 5e-324, -5e-324, 2 ** 1024,
                     -10 ** 400, Fraction(1, 3), Decimal("2"), np.float32(2), np.float16(3),
                     np.int64(2), np.float64(math.nan), True, "2", None, 2 + 0j)),
    st.floats(allow_nan=True, allow_infinity=True))


def window(nd):
    """kernel_size/stride/padding/dilation: an int, an nd-tuple or list, a
    tuple of another length, or junk."""
    one = st.one_of(SMALL, SMALL, ANY_INT)
    return st.one_of(
        SMALL, SMALL, ANY_INT,
        st.tuples(*[one] * nd), st.tuples(*[SMALL] * nd),
        st.lists(one, min_size=nd, max_size=nd),
        st.lists(one, max_size=4).map(tuple),
        st.tuples(*[st.one_of(one, JUNK)] * nd),
        JUNK)


def maybe(strategy):
    """A keyword argument left out, None, or drawn."""
    return st.one_of(st.just(OMIT), st.none(), strategy)


def opt(strategy):
    """A positional argument: None or drawn."""
    return st.one_of(st.none(), strategy)


@st.composite
def windows(draw, nd, dilation=True, padding=True):
    """(kernel_size, stride, padding, dilation): small and valid, huge but
    valid (padding at half the kernel, so the output stays tiny -- it must be
    refused or computed quickly), or anything."""
    how = draw(st.sampled_from(("small", "small", "huge", "any")))
    if how == "small":
        k = draw(st.tuples(*[SMALL] * nd))
        s = draw(st.one_of(st.just(OMIT), st.none(), st.tuples(*[SMALL] * nd), SMALL))
        p = tuple(draw(st.integers(0, ki // 2)) for ki in k) if padding else OMIT
        d = draw(st.one_of(st.just(OMIT), st.integers(1, 2))) if dilation else OMIT
    elif how == "huge":
        big = st.sampled_from(tuple(v for v in EDGE_INTS if v > 2))
        k = tuple(draw(st.one_of(big, SMALL)) for _ in range(nd))
        s = draw(st.one_of(st.just(OMIT), SMALL, big))
        p = tuple(max(ki // 2 - draw(st.integers(0, 1)), 0) for ki in k) if padding else OMIT
        d = draw(st.one_of(st.just(OMIT), st.just(1), big)) if dilation else OMIT
    else:
        k, s = draw(window(nd)), draw(maybe(window(nd)))
        p = draw(st.one_of(st.just(OMIT), window(nd))) if padding else OMIT
        d = draw(st.one_of(st.just(OMIT), window(nd))) if dilation else OMIT
    return k, s, p, d


MAX_DTYPES = (np.float32, np.float64, np.int8, np.uint8, np.int16, np.uint16, np.int32,
              np.int64)
FLOAT_DTYPES = (np.float32, np.float64)
ODD_DTYPES = (np.float16, np.bool_, np.complex64, np.complex128, object, np.uint32,
              np.uint64, np.longdouble, ">f4", ">f8", ">i8", ">u2", "M8[s]", "U3")


def dtypes(supported):
    return st.one_of(st.sampled_from(supported), st.sampled_from(supported),
                     st.sampled_from(MAX_DTYPES + ODD_DTYPES))


KINDS = ("nonneg", "ties", "normal", "special", "zeros")
SPECIALS = (np.nan, np.inf, -np.inf, -0.0, 0.0, 1e38, -1e38, 1e-45, 3.0, -3.0)


def fill(shape, dtype, kind, seed):
    """An array of these values; "special" mixes in NaN, infinities, -0.0,
    huge and denormal values (or an integer dtype's extremes)."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    if kind == "nonneg":
        v = rng.integers(0, 5, n) * (rng.random(n) < 0.7)
    elif kind == "ties":
        v = rng.integers(-3, 4, n).astype(np.float64)
    elif kind == "normal":
        v = rng.standard_normal(n)
    elif kind == "special":
        v = np.where(rng.random(n) < 0.4, rng.choice(SPECIALS, n), rng.standard_normal(n))
    else:
        v = np.zeros(n)
    v = np.asarray(v, np.float64)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        ints = np.clip(np.nan_to_num(v, posinf=info.max, neginf=info.min), info.min, info.max)
        with np.errstate(all="ignore"):  # float(info.max) may round past it
            return ints.astype(dtype).reshape(shape)
    with np.errstate(all="ignore"):
        if dtype.kind == "M":
            return np.nan_to_num(v).astype(np.int64).astype(dtype).reshape(shape)
        return v.astype(dtype).reshape(shape)


# How an array is handed over; contiguous ones are the most common.
VIEWS = ("c", "c", "c", "c", "fortran", "reversed", "strided", "readonly", "broadcast",
         "unaligned", "byteswapped", "subclass", "masked", "list", "scalar")


class _Sub(np.ndarray):
    pass


def present(a, how):
    """a's values (mostly) in an array of the memory kind `how`, or in
    something that is not an ndarray."""
    if how == "c":
        return a
    if how == "fortran":
        return np.asfortranarray(a)
    if how == "reversed" and a.ndim:
        ax = a.ndim - 1
        return np.flip(np.ascontiguousarray(np.flip(a, ax)), ax)
    if how == "strided" and a.ndim:
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1] + 1,), a.dtype)
        big[..., 1::2] = a
        return big[..., 1::2]
    if how == "readonly":
        b = a.copy()
        b.flags.writeable = False
        return b
    if how == "broadcast" and a.ndim and a.size:
        return np.broadcast_to(a[..., :1], a.shape)
    if how == "unaligned" and a.dtype.itemsize > 1 and a.dtype != object:
        buf = np.zeros(a.nbytes + 1, np.uint8)
        b = buf[1:].view(a.dtype).reshape(a.shape)
        b[...] = a
        return b
    if how == "byteswapped" and a.dtype.kind in "fiu":
        return a.astype(a.dtype.newbyteorder())
    if how == "subclass":
        return a.view(_Sub)
    if how == "masked":
        return np.ma.masked_array(a, mask=np.zeros(a.shape, bool))
    if how == "list":
        return a.tolist()
    if how == "scalar":
        return (a.reshape(-1) if a.size else np.zeros(1, a.dtype))[0]
    return a


DIM = st.one_of(st.integers(1, 5), st.just(1), st.just(0))


@st.composite
def arrays(draw, nd, supported=MAX_DTYPES, kinds=KINDS):
    """Any array an nd function may be handed: mostly of a valid rank and a
    supported dtype, often in an awkward memory layout, sometimes of another
    rank or dtype, empty, or not an ndarray at all."""
    rank = draw(st.one_of(st.sampled_from((nd + 1, nd + 2)), st.integers(0, 6)))
    shape = tuple(draw(st.lists(DIM, min_size=rank, max_size=rank)))
    a = fill(shape, draw(dtypes(supported)), draw(st.sampled_from(kinds)),
             draw(st.integers(0, 2 ** 16)))
    return present(a, draw(st.sampled_from(VIEWS)))


@st.composite
def inputs(draw, nd, supported=FLOAT_DTYPES, kinds=KINDS, batch=(0, 2)):
    """(x, channels_last): a small valid input, C-contiguous."""
    channels_last = draw(st.booleans())
    batched = draw(st.booleans())
    n, c = draw(st.integers(*batch)), draw(st.integers(1, 3))
    spatial = tuple(draw(st.lists(st.integers(1, 6), min_size=nd, max_size=nd)))
    shape = ((n,) if batched else ()) + ((*spatial, c) if channels_last else (c, *spatial))
    x = fill(shape, draw(st.sampled_from(supported)), draw(st.sampled_from(kinds)),
             draw(st.integers(0, 2 ** 16)))
    return x, channels_last


@st.composite
def like(draw, a, supported=FLOAT_DTYPES):
    """An array standing in for `a` (grad_output, output, x...): the same
    values, or in another layout, dtype or shape, or something else."""
    if a is None:
        return draw(arrays(draw(st.integers(1, 3)), supported))
    how = draw(st.sampled_from(("same", "same", "same", "view", "dtype", "shape", "other")))
    if how == "same":
        return a
    if how == "view":
        return present(a, draw(st.sampled_from(VIEWS)))
    if how == "dtype":
        return fill(a.shape, draw(dtypes(supported)), draw(st.sampled_from(KINDS)), 0)
    if how == "shape":
        s = _safe_shape(draw(shapes_like(a.shape)))
        return fill(s, a.dtype, "ties", 1) if s is not None else a.reshape(-1)
    return draw(arrays(max(a.ndim - 2, 1), supported))


@st.composite
def shapes_like(draw, shape):
    """A shape for input_shape or an array: `shape` itself, or one entry
    changed (by one, to zero, negative, huge), one dropped or added, junk in
    it, or another type altogether."""
    shape = tuple(int(s) for s in shape)
    how = draw(st.sampled_from(("same", "same", "list", "npints", "bump", "zero", "negative",
                                "huge", "drop", "add", "junk", "ndarray", "random")))
    i = draw(st.integers(0, max(len(shape) - 1, 0)))
    if how == "random" or not shape:
        return tuple(draw(st.lists(st.one_of(st.integers(0, 4), ANY_INT), max_size=6)))
    if how == "list":
        return list(shape)
    if how == "npints":
        return tuple(np.int64(s) for s in shape)
    if how == "ndarray":
        return np.array(shape)
    if how == "drop":
        return shape[:i] + shape[i + 1:]
    if how == "add":
        return shape[:i] + (draw(st.integers(1, 3)),) + shape[i:]
    new = {"same": shape[i], "bump": shape[i] + draw(st.sampled_from((-1, 1, 2))), "zero": 0,
           "negative": draw(st.sampled_from((-1, -2 ** 63, -2 ** 31))),
           "huge": draw(st.sampled_from(tuple(v for v in EDGE_INTS if v > 2 ** 20))),
           "junk": draw(JUNK)}[how]
    return shape[:i] + (new,) + shape[i + 1:]


@st.composite
def indices_like(draw, ind, plane):
    """Indices standing in for the genuine `ind` of a plane of `plane`
    elements: the same, or with entries out of range (negative, == plane,
    huge), of another dtype or shape, in another layout, or random."""
    if ind is None:
        ind = np.zeros((1, 1, 2), np.int64)
    how = draw(st.sampled_from(("same", "same", "poke", "poke", "shift", "dtype", "shape",
                                "view", "random", "minus1")))
    if how == "same":
        return ind
    if how == "poke" and ind.size:
        with np.errstate(all="ignore"):
            bad = ind.astype(np.int64)
        at = draw(st.integers(0, ind.size - 1))
        bad.reshape(-1)[at] = draw(st.sampled_from(
            (plane, plane + 1, plane - 1, -2, -1, 0, 2 ** 31, 2 ** 32, 2 ** 62, 2 ** 63 - 1,
             -2 ** 63, -2 ** 31)))
        return bad
    if how == "shift":
        return ind + draw(st.sampled_from((plane, -plane - 1, 1)))
    if how == "dtype":
        t = draw(st.sampled_from((np.int32, np.uint64, np.float64, np.int16, ">i8", np.intp,
                                  np.float32, object)))
        return ind.astype(t)
    if how == "shape":
        s = _safe_shape(draw(shapes_like(ind.shape)))
        return np.zeros(s if s is not None else (1,) + ind.shape, np.int64)
    if how == "view":
        return present(ind, draw(st.sampled_from(VIEWS)))
    if how == "minus1":
        return np.full(ind.shape, -1, np.int64)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    return rng.integers(-3, plane + 3, ind.shape).astype(np.int64)


def _safe_shape(shape):
    """shape, if it is a small plain shape an array can have; else None."""
    try:
        t = tuple(int(s) for s in shape)
    except (TypeError, ValueError, OverflowError):
        return None
    if len(t) > 6 or any(not 0 <= s <= 4096 for s in t) or math.prod(t) > 4096:
        return None
    return t


@st.composite
def outs(draw, x, result):
    """An out= for a call whose plain result was `result` (None if it
    raised): usually a fitting array, else a wrong one -- wrong shape or
    dtype, not C-contiguous, read-only, or sharing memory with x."""
    y = result[0] if isinstance(result, tuple) else result
    if y is None:
        return draw(st.one_of(arrays(2), st.just(x)))
    how = draw(st.sampled_from(("fits", "fits", "dtype", "shape", "fortran", "strided",
                                "readonly", "overlap", "input", "list", "zero-d")))
    if how == "dtype":
        return np.zeros(y.shape, draw(st.sampled_from(MAX_DTYPES + ODD_DTYPES)))
    if how == "shape":
        s = _safe_shape(draw(shapes_like(y.shape)))
        return np.zeros(s if s is not None else (3,), y.dtype)
    if how in ("fortran", "strided", "readonly"):
        return present(np.zeros(y.shape, y.dtype), how)
    if how == "overlap" and isinstance(x, np.ndarray) and x.dtype == y.dtype \
            and x.flags.c_contiguous and x.size >= y.size:
        return x.reshape(-1)[x.size - y.size:].reshape(y.shape)
    if how == "input":
        return x
    if how == "list":
        return y.tolist()
    if how == "zero-d":
        return np.zeros((), y.dtype)
    return np.full(y.shape, 7, y.dtype)


def forward_with_out(data, fn, x, args, kwargs, plane=None):
    """fn(x, *args, **kwargs), then again with an out= drawn for its result:
    a fitting out= is filled and returned."""
    first = attempt(fn, (x,) + args, kwargs)
    if first is not None:
        y = first[0] if isinstance(first, tuple) else first
        assert y.dtype == x.dtype.newbyteorder("="), (fn.__name__, x.dtype, y.dtype)
    if plane is not None:
        check_indices(first, plane, fn.__name__)
    out = data.draw(outs(x, first), label="out")
    second = attempt(fn, (x,) + args, dict(kwargs, out=out))
    if second is not None:
        got = second[0] if isinstance(second, tuple) else second
        assert got is out, f"{fn.__name__}: out= accepted but not returned"
    return first


def shaped_as(result, shape):
    """A gradient that returned has the shape the call was asked for."""
    if result is not None:
        assert result.shape == tuple(int(s) for s in shape), (result.shape, shape)


def _x_plane(x, nd, channels_last):
    """x's plane size, as the call read channels_last (when it accepted it)."""
    return spatial_plane(np.shape(x), nd, isinstance(channels_last, (bool, np.bool_))
                         and bool(channels_last))


# ---- forward passes -----------------------------------------------------------

@pytest.mark.parametrize("nd", (1, 2, 3))
@FUZZ
@given(data=st.data())
def test_max_pool(nd, data):
    """max_pool{1,2,3}d: any arguments, any input, any out=."""
    x = data.draw(arrays(nd, MAX_DTYPES), label="x")
    k, s, p, d = data.draw(windows(nd), label="window")
    cl = data.draw(FLAGS, label="channels_last")
    forward_with_out(data, MAX[nd], x, (k,),
                     dict(stride=s, padding=p, dilation=d,
                          ceil_mode=data.draw(maybe(FLAGS), label="ceil_mode"),
                          return_indices=data.draw(maybe(FLAGS), label="return_indices"),
                          channels_last=cl), _x_plane(x, nd, cl))


@pytest.mark.parametrize("nd", (1, 2, 3))
@FUZZ
@given(data=st.data())
def test_avg_pool(nd, data):
    """avg_pool{1,2,3}d, divisor_override included (1d has none: TypeError)."""
    x = data.draw(arrays(nd, FLOAT_DTYPES), label="x")
    k, s, p, _ = data.draw(windows(nd, dilation=False), label="window")
    kwargs = dict(stride=s, padding=p, ceil_mode=data.draw(maybe(FLAGS), label="ceil_mode"),
                  count_include_pad=data.draw(maybe(FLAGS), label="count_include_pad"),
                  channels_last=data.draw(FLAGS, label="channels_last"))
    if nd > 1 or data.draw(st.integers(0, 9), label="1d divisor") == 0:
        kwargs["divisor_override"] = data.draw(maybe(ANY_INT), label="divisor_override")
    forward_with_out(data, AVG[nd], x, (k,), kwargs)


@pytest.mark.parametrize("nd", (1, 2, 3))
@FUZZ
@given(data=st.data())
def test_lp_pool(nd, data):
    """lp_pool{1,2,3}d: norm_type zero, negative, NaN, infinite, huge, not a number."""
    x = data.draw(arrays(nd, FLOAT_DTYPES), label="x")
    k, s, _, _ = data.draw(windows(nd, dilation=False, padding=False), label="window")
    forward_with_out(data, LP[nd], x, (data.draw(NORMS, label="norm_type"), k),
                     dict(stride=s, ceil_mode=data.draw(maybe(FLAGS), label="ceil_mode"),
                          channels_last=data.draw(FLAGS, label="channels_last")))


@pytest.mark.parametrize("nd", (1, 2, 3))
@FUZZ
@given(data=st.data())
def test_stochastic_pool(nd, data):
    """stochastic_pool{1,2,3}d: negative/NaN/inf activations, every seed type."""
    x = data.draw(arrays(nd, FLOAT_DTYPES, kinds=KINDS + ("nonneg",) * 3), label="x")
    k, s, p, _ = data.draw(windows(nd, dilation=False), label="window")
    cl = data.draw(FLAGS, label="channels_last")
    forward_with_out(data, STOCH[nd], x, (k,),
                     dict(stride=s, padding=p,
                          training=data.draw(maybe(FLAGS), label="training"),
                          seed=data.draw(maybe(SEEDS), label="seed"),
                          return_indices=data.draw(maybe(FLAGS), label="return_indices"),
                          channels_last=cl), _x_plane(x, nd, cl))


def output_sizes(nd):
    """Adaptive output_size: ints (0 included), tuples with None entries,
    None, wrong lengths, junk."""
    entry = st.one_of(st.integers(0, 4), st.none(), ANY_INT)
    return st.one_of(st.integers(0, 4), ANY_INT, st.none(), st.tuples(*[entry] * nd),
                     st.tuples(*[st.integers(1, 4)] * nd), st.lists(entry, max_size=4),
                     JUNK)


@pytest.mark.parametrize("kind,nd", [(k, nd) for k in ("max", "avg") for nd in (1, 2, 3)])
@FUZZ
@given(data=st.data())
def test_adaptive_pool(kind, nd, data):
    """adaptive_{max,avg}_pool{1,2,3}d: output_size 0, None, huge, junk."""
    fn = (AMAX if kind == "max" else AAVG)[nd]
    x = data.draw(arrays(nd, MAX_DTYPES if kind == "max" else FLOAT_DTYPES), label="x")
    cl = data.draw(FLAGS, label="channels_last")
    args = (data.draw(output_sizes(nd), label="output_size"),)
    if kind == "max":
        args += (data.draw(maybe(FLAGS), label="return_indices"),)
    forward_with_out(data, fn, x, args, dict(channels_last=cl), _x_plane(x, nd, cl))


RATIOS = st.one_of(st.floats(0.05, 0.95), st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from((0, 0.0, 1, 1.0, -0.5, 1.5, math.nan, math.inf, 5e-324,
                                    1 - 1e-16, True, "0.5", Fraction(1, 2), Decimal("0.5"),
                                    np.float32(0.5), np.float16(0.5), np.array(0.5),
                                    2 + 0j)))


@st.composite
def random_samples(draw, x, nd):
    """None, or samples shaped (N, C, nd) from x's shape (or not) with values
    in [0, 1) or outside it (1, negative, NaN, inf), of any dtype."""
    how = draw(st.sampled_from(("none", "none", "valid", "valid", "bad value", "shape",
                                "dtype", "any")))
    if how == "none":
        return None
    shape = np.shape(x)
    lead = tuple(shape[:2]) if len(shape) == nd + 2 else tuple(shape[:1])
    s = np.random.default_rng(draw(st.integers(0, 99))).random(lead + (nd,))
    if how == "bad value" and s.size:
        s.reshape(-1)[draw(st.integers(0, s.size - 1))] = draw(st.sampled_from(
            (1.0, -1e-300, -0.0, np.nan, np.inf, -np.inf, 2.0,
             np.nextafter(1.0, 0.0))))  # the last is valid, but 1.0 in float32
    elif how == "shape":
        s = s.reshape(-1) if draw(st.booleans()) else s[..., :1]
    elif how == "dtype":
        s = s.astype(draw(st.sampled_from((np.float16, np.float32, ">f8", np.longdouble,
                                           np.int64, np.complex128, object, np.bool_))))
    elif how == "any":
        return draw(st.one_of(arrays(1, FLOAT_DTYPES), JUNK))
    return present(s, draw(st.sampled_from(VIEWS)))


@pytest.mark.parametrize("nd", (2, 3))
@FUZZ
@given(data=st.data())
def test_fractional_max_pool(nd, data):
    """fractional_max_pool{2,3}d: output_size/output_ratio out of range,
    NaN, inf; random_samples out of [0, 1) or misshapen; every seed type."""
    x = data.draw(arrays(nd, MAX_DTYPES), label="x")
    cl = data.draw(FLAGS, label="channels_last")
    res = call(FRAC[nd], x, data.draw(st.one_of(SMALL, window(nd)), label="kernel_size"),
               output_size=data.draw(maybe(st.one_of(SMALL, window(nd))), label="output_size"),
               output_ratio=data.draw(maybe(st.one_of(RATIOS, st.tuples(*[RATIOS] * nd),
                                                      st.lists(RATIOS, max_size=4))),
                                      label="output_ratio"),
               return_indices=data.draw(maybe(FLAGS), label="return_indices"),
               random_samples=data.draw(random_samples(x, nd), label="random_samples"),
               seed=data.draw(maybe(SEEDS), label="seed"), channels_last=cl)
    check_indices(res, _x_plane(x, nd, cl), "fractional")


@pytest.mark.parametrize("fn", (cpool.global_max_pool, cpool.global_avg_pool),
                         ids=("max", "avg"))
@FUZZ
@given(data=st.data())
def test_global_pool(fn, data):
    """global_{max,avg}_pool: any rank (only 3 to 5 are valid), any input."""
    x = data.draw(arrays(data.draw(st.integers(1, 3)), MAX_DTYPES), label="x")
    res = call(fn, x, channels_last=data.draw(maybe(FLAGS), label="channels_last"))
    if res is not None:
        assert res.ndim == 2, res.shape


LEVELS = st.one_of(
    st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple),
    st.lists(st.one_of(st.integers(1, 5), ANY_INT), max_size=4).map(tuple),
    st.lists(st.integers(1, 4), min_size=1, max_size=3),
    st.sampled_from(((), [], (0,), (-1,), (1, 0), (2 ** 20,), (2 ** 31,), (2 ** 61,),
                     (2 ** 63,), (True,), (1.0,), ("1",), (None,), "12", 5, None,
                     np.array([1, 2]), (np.int64(2),), range(1, 3))))
MODES = st.sampled_from(("max", "max", "avg", "avg", "MAX", "", None, 1, b"max", ("max",)))
BINS = st.sampled_from(("adaptive", "adaptive", "paper", "paper", "Paper", "", None, 0))


@FUZZ
@given(data=st.data())
def test_spatial_pyramid_pool(data):
    """spatial_pyramid_pool: levels empty, zero, negative, huge, not ints;
    unknown modes and bin rules."""
    x = data.draw(arrays(2, MAX_DTYPES), label="x")
    cl = data.draw(FLAGS, label="channels_last")
    res = call(cpool.spatial_pyramid_pool, x, levels=data.draw(maybe(LEVELS), label="levels"),
               mode=data.draw(maybe(MODES), label="mode"),
               bins=data.draw(maybe(BINS), label="bins"),
               return_indices=data.draw(maybe(FLAGS), label="return_indices"),
               channels_last=cl)
    check_indices(res, _x_plane(x, 2, cl), "spp")


# ---- backward passes and unpooling: genuine arguments, then corrupted ----------

INDEX_FAMILIES = [("max_pool", nd) for nd in (1, 2, 3)] + \
    [("adaptive_max_pool", nd) for nd in (1, 2, 3)] + \
    [("fractional_max_pool", nd) for nd in (2, 3)] + \
    [("stochastic_pool", nd) for nd in (1, 2, 3)]


def _index_forward(data, family, nd):
    """A genuine forward of `family` with indices: (x, channels_last, y, ind),
    y and ind None when the drawn arguments were refused."""
    supported = FLOAT_DTYPES if family == "stochastic_pool" else MAX_DTYPES
    x, cl = data.draw(inputs(nd, supported, kinds=("nonneg",)
                             if family == "stochastic_pool" else KINDS), label="x")
    fwd = getattr(cpool, f"{family}{nd}d")
    if family == "max_pool":
        k, s, p, d = data.draw(windows(nd), label="window")
        res = call(fwd, x, k, stride=s, padding=p, dilation=d,
                   ceil_mode=data.draw(st.booleans(), label="ceil_mode"), return_indices=True,
                   channels_last=cl)
    elif family == "adaptive_max_pool":
        res = call(fwd, x, data.draw(st.one_of(st.integers(1, 4), output_sizes(nd)),
                                     label="output_size"), True, channels_last=cl)
    elif family == "fractional_max_pool":
        res = call(fwd, x, data.draw(SMALL, label="kernel_size"),
                   output_size=data.draw(st.one_of(SMALL, st.tuples(*[SMALL] * nd)),
                                         label="output_size"),
                   return_indices=True, seed=data.draw(st.integers(0, 9), label="seed"),
                   channels_last=cl)
    else:
        k, s, p, _ = data.draw(windows(nd, dilation=False), label="window")
        res = call(fwd, x, k, stride=s, padding=p, seed=data.draw(SEEDS, label="seed"),
                   return_indices=True, channels_last=cl)
    check_indices(res, spatial_plane(x.shape, nd, cl), family)
    y, ind = res if res is not None else (None, None)
    return x, cl, y, ind


@pytest.mark.parametrize("family,nd", INDEX_FAMILIES,
                         ids=[f"{f}{nd}d" for f, nd in INDEX_FAMILIES])
@FUZZ
@given(data=st.data())
def test_index_backward(family, nd, data):
    """{max,adaptive_max,fractional_max,stochastic}_pool{d}d_backward: the
    genuine grad_output, indices and input_shape of a forward, with any of
    them corrupted (indices out of range, of another dtype or shape;
    input_shape of another rank, negative, zero, inconsistent, huge)."""
    bwd = getattr(cpool, f"{family}{nd}d_backward")
    x, cl, y, ind = _index_forward(data, family, nd)
    grad = data.draw(like(None if y is None else y.astype(
        data.draw(st.sampled_from(FLOAT_DTYPES), label="grad dtype"))), label="grad_output")
    plane = spatial_plane(x.shape, nd, cl)
    shape = data.draw(shapes_like(x.shape), label="input_shape")
    res = call(bwd, grad, data.draw(indices_like(ind, plane), label="indices"), shape,
               channels_last=data.draw(st.one_of(st.just(cl), FLAGS), label="channels_last"))
    shaped_as(res, shape)


@pytest.mark.parametrize("nd", (1, 2, 3))
@FUZZ
@given(data=st.data())
def test_avg_pool_backward(nd, data):
    """avg_pool{1,2,3}d_backward: a forward's grad shape and input_shape,
    corrupted, with any window arguments (huge but valid ones included)."""
    x, cl = data.draw(inputs(nd), label="x")
    k, s, p, _ = data.draw(windows(nd, dilation=False), label="window")
    ceil = data.draw(FLAGS, label="ceil_mode")
    cip = data.draw(FLAGS, label="count_include_pad")
    extra = {}
    if nd > 1:
        extra["divisor_override"] = data.draw(maybe(ANY_INT), label="divisor_override")
    y = call(AVG[nd], x, k, stride=s, padding=p, ceil_mode=ceil, count_include_pad=cip,
             channels_last=cl, **extra)
    if data.draw(st.booleans(), label="other window"):
        k, s, p, _ = data.draw(windows(nd, dilation=False), label="backward window")
    shape = data.draw(shapes_like(x.shape), label="input_shape")
    shaped_as(call(AVGB[nd], data.draw(like(y), label="grad_output"), shape, k, stride=s,
                   padding=p, ceil_mode=ceil, count_include_pad=cip,
                   channels_last=data.draw(st.one_of(st.just(cl), FLAGS),
                                           label="channels_last"), **extra), shape)


@pytest.mark.parametrize("nd", (1, 2, 3))
@FUZZ
@given(data=st.data())
def test_adaptive_avg_pool_backward(nd, data):
    """adaptive_avg_pool{1,2,3}d_backward: grad_output and input_shape that
    disagree, are empty, negative or huge."""
    x, cl = data.draw(inputs(nd), label="x")
    y = call(AAVG[nd], x, data.draw(st.one_of(st.integers(0, 4), output_sizes(nd)),
                                    label="output_size"), channels_last=cl)
    shape = data.draw(shapes_like(x.shape), label="input_shape")
    shaped_as(call(AAVGB[nd], data.draw(like(y), label="grad_output"), shape,
                   channels_last=data.draw(st.one_of(st.just(cl), FLAGS),
                                           label="channels_last")), shape)


@pytest.mark.parametrize("nd", (1, 2, 3))
@FUZZ
@given(data=st.data())
def test_lp_pool_backward(nd, data):
    """lp_pool{1,2,3}d_backward: grad_output, x and output from a forward,
    any of them swapped for a misfit, with any norm_type and window."""
    x, cl = data.draw(inputs(nd), label="x")
    norm = data.draw(NORMS, label="norm_type")
    k, s, _, _ = data.draw(windows(nd, dilation=False, padding=False), label="window")
    ceil = data.draw(FLAGS, label="ceil_mode")
    y = call(LP[nd], x, norm, k, stride=s, ceil_mode=ceil, channels_last=cl)
    xb = data.draw(like(x), label="x")
    shaped_as(call(LPB[nd], data.draw(like(y), label="grad_output"), xb,
                   data.draw(like(y), label="output"),
                   data.draw(st.one_of(st.just(norm), NORMS), label="backward norm_type"),
                   k, stride=s, ceil_mode=ceil,
                   channels_last=data.draw(st.one_of(st.just(cl), FLAGS),
                                           label="channels_last")), np.shape(xb))


@FUZZ
@given(data=st.data())
def test_spatial_pyramid_pool_backward(data):
    """spatial_pyramid_pool_backward: a forward's gradient and indices,
    corrupted, with levels/mode/bins that may differ from the forward's."""
    x, cl = data.draw(inputs(2, MAX_DTYPES), label="x")
    levels, mode = data.draw(LEVELS, label="levels"), data.draw(MODES, label="mode")
    bins = data.draw(BINS, label="bins")
    res = call(cpool.spatial_pyramid_pool, x, levels, mode, bins, mode == "max",
               channels_last=cl)
    y, ind = res if isinstance(res, tuple) else (res, None)
    check_indices(res, spatial_plane(x.shape, 2, cl), "spp")
    if data.draw(st.booleans(), label="other arguments"):
        levels, mode = data.draw(LEVELS, label="levels"), data.draw(MODES, label="mode")
        bins = data.draw(BINS, label="bins")
    plane = spatial_plane(x.shape, 2, cl)
    shape = data.draw(shapes_like(x.shape), label="input_shape")
    shaped_as(call(cpool.spatial_pyramid_pool_backward,
                   data.draw(like(None if y is None else y.astype(np.float64)),
                             label="grad_output"), shape, levels, mode, bins,
                   data.draw(st.one_of(st.none(), indices_like(ind, plane)), label="indices"),
                   channels_last=data.draw(st.one_of(st.just(cl), FLAGS),
                                           label="channels_last")), shape)


def unpool_sizes(nd, spatial):
    """max_unpool's output_size: None, the input's own extents (valid when
    the pooling was the inverse), those +-1, a full shape, huge, junk."""
    spatial = tuple(spatial)
    return st.one_of(
        st.none(), st.just(spatial), st.just(list(spatial)),
        st.tuples(*[st.integers(-1, 8)] * nd),
        st.just(tuple(s + 1 for s in spatial)), st.just((1, 1) + spatial),
        st.tuples(*[ANY_INT] * nd), ANY_INT, JUNK)


@pytest.mark.parametrize("nd", (1, 2, 3))
@FUZZ
@given(data=st.data())
def test_max_unpool(nd, data):
    """max_unpool{1,2,3}d: a max_pool's values and indices, with the indices
    corrupted, the geometry changed (huge kernel or stride included) or
    output_size misfitting -- an index out of range must be a ValueError."""
    x, cl = data.draw(inputs(nd, MAX_DTYPES), label="x")
    k, s, p, d = data.draw(windows(nd), label="window")
    res = call(MAX[nd], x, k, stride=s, padding=p, dilation=d, return_indices=True,
               channels_last=cl)
    y, ind = res if res is not None else (None, None)
    if data.draw(st.booleans(), label="other window"):
        k, s, p, _ = data.draw(windows(nd, dilation=False), label="unpool window")
    spatial = x.shape[-nd - 1:-1] if cl else x.shape[-nd:]
    plane = spatial_plane(x.shape, nd, cl)
    values = data.draw(like(y, MAX_DTYPES), label="x")
    indices = data.draw(indices_like(ind, plane), label="indices")
    size = data.draw(maybe(unpool_sizes(nd, spatial)), label="output_size")
    u = call(UNPOOL[nd], values, indices, k, stride=s, padding=p, output_size=size,
             channels_last=data.draw(st.one_of(st.just(cl), FLAGS), label="channels_last"))
    # and its backward, through the same indices
    back_indices = data.draw(indices_like(indices if isinstance(indices, np.ndarray)
                                          else None, plane), label="backward indices")
    shaped_as(call(UNPOOLB[nd], data.draw(like(None if u is None else u.astype(np.float32)),
                                          label="grad_output"), back_indices,
                   channels_last=data.draw(st.one_of(st.just(cl), FLAGS),
                                           label="backward cl")), np.shape(back_indices))


@pytest.mark.parametrize("nd", (1, 2, 3))
@FUZZ
@given(data=st.data())
def test_any_backward_any_arrays(nd, data):
    """Every backward of rank nd on arrays that come from no forward at all."""
    a = arrays(nd, FLOAT_DTYPES)
    shape = data.draw(st.one_of(st.lists(DIM, max_size=6).map(tuple), shapes_like((2, 2) +
                                                                                  (3,) * nd)),
                      label="input_shape")
    cl = data.draw(FLAGS, label="channels_last")
    fns = [MAXB[nd], AMAXB[nd], STOCHB[nd]] + ([FRACB[nd]] if nd > 1 else [])
    fn = data.draw(st.sampled_from(fns), label="fn")
    call(fn, data.draw(a, label="grad_output"), data.draw(arrays(nd, (np.int64,)),
                                                          label="indices"),
         shape, channels_last=cl)
    k, s, p, _ = data.draw(windows(nd, dilation=False), label="window")
    call(AVGB[nd], data.draw(a, label="grad_output"), shape, k, stride=s, padding=p,
         channels_last=cl)
    call(AAVGB[nd], data.draw(a, label="grad_output"), shape, channels_last=cl)
    call(LPB[nd], data.draw(a, label="grad_output"), data.draw(a, label="x"),
         data.draw(a, label="output"), data.draw(NORMS, label="norm_type"),
         data.draw(window(nd), label="kernel_size"), channels_last=cl)
    call(UNPOOLB[nd], data.draw(a, label="grad_output"),
         data.draw(arrays(nd, (np.int64,)), label="indices"), channels_last=cl)
    call(UNPOOL[nd], data.draw(arrays(nd), label="x"),
         data.draw(arrays(nd, (np.int64,)), label="indices"), data.draw(window(nd)),
         channels_last=cl)
    if nd == 2:
        call(cpool.spatial_pyramid_pool_backward, data.draw(a, label="grad_output"), shape,
             levels=data.draw(maybe(LEVELS), label="levels"),
             mode=data.draw(maybe(MODES), label="mode"),
             bins=data.draw(maybe(BINS), label="bins"),
             indices=data.draw(maybe(arrays(nd, (np.int64,))), label="indices"),
             channels_last=cl)


# ---- threads, build facts, layers ----------------------------------------------

def _is(kind):
    def check(result):
        assert isinstance(result, kind), f"returned a {type(result).__name__}"
    return check


@FUZZ
@given(n=st.one_of(ANY_INT, JUNK))
def test_threads(n):
    """set_num_threads and num_threads take any int >= 1 (capped) and refuse
    the rest; the count is restored either way."""
    old = cpool.get_num_threads()
    try:
        attempt(cpool.set_num_threads, (n,), {}, _is(type(None)))
        attempt(cpool.get_num_threads, (), {}, _is(int))
        assert cpool.get_num_threads() >= 1
    finally:
        cpool.set_num_threads(old)

    def run_with(n):
        with cpool.num_threads(n):
            return cpool.max_pool1d(np.ones((1, 1, 4), np.float32), 2)

    attempt(run_with, (n,), {})
    assert cpool.get_num_threads() == old


def test_build_facts():
    """build_info() returns a dict and show_config() prints it."""
    attempt(cpool.build_info, (), {}, _is(dict))
    with contextlib.redirect_stdout(io.StringIO()) as text:
        attempt(cpool.show_config, (), {}, _is(type(None)))
    assert text.getvalue().strip()


LAYERS = {
    **{f"MaxPool{d}d": ("window", d) for d in (1, 2, 3)},
    **{f"AvgPool{d}d": ("avg", d) for d in (1, 2, 3)},
    **{f"LPPool{d}d": ("lp", d) for d in (1, 2, 3)},
    **{f"AdaptiveMaxPool{d}d": ("adaptive", d) for d in (1, 2, 3)},
    **{f"AdaptiveAvgPool{d}d": ("adaptive", d) for d in (1, 2, 3)},
    **{f"FractionalMaxPool{d}d": ("fractional", d) for d in (2, 3)},
    **{f"MaxUnpool{d}d": ("unpool", d) for d in (1, 2, 3)},
    **{f"StochasticPool{d}d": ("stochastic", d) for d in (1, 2, 3)},
    "SpatialPyramidPool": ("spp", 2),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
@FUZZ
@given(data=st.data())
def test_layer(name, data):
    """cpool.nn layers: any constructor arguments, then forward and (after a
    forward that returned) backward, with a fitting or misfitting gradient."""
    kind, nd = LAYERS[name]
    cls = getattr(cpool.nn, name)
    k, s, p, d = data.draw(windows(nd), label="window")
    args, kwargs = (k,), dict(stride=s, padding=p)
    if kind == "window":
        kwargs["dilation"] = d
    elif kind == "lp":
        args, kwargs = (data.draw(NORMS, label="norm_type"), k), dict(stride=s)
    elif kind == "adaptive":
        args, kwargs = (data.draw(output_sizes(nd), label="output_size"),), {}
    elif kind == "fractional":
        kwargs = dict(output_size=data.draw(maybe(window(nd)), label="output_size"),
                      output_ratio=data.draw(maybe(RATIOS), label="output_ratio"),
                      seed=data.draw(maybe(SEEDS), label="seed"))
    elif kind == "stochastic":
        kwargs["seed"] = data.draw(maybe(SEEDS), label="seed")
    elif kind == "spp":
        args, kwargs = (), dict(levels=data.draw(maybe(LEVELS), label="levels"),
                                mode=data.draw(maybe(MODES), label="mode"),
                                bins=data.draw(maybe(BINS), label="bins"))
    kwargs["channels_last"] = data.draw(FLAGS, label="channels_last")
    layer = attempt(cls, args, kwargs, _is(cls))
    if layer is None:
        return
    training = data.draw(st.booleans(), label="training")
    layer.train(training)
    x = data.draw(st.one_of(inputs(nd, MAX_DTYPES, kinds=("nonneg",)).map(lambda t: t[0]),
                            arrays(nd)), label="x")
    if kind == "unpool":
        ind = data.draw(indices_like(np.zeros(np.shape(x), np.int64), 4), label="indices")
        y = attempt(layer.forward, (x, ind, data.draw(opt(window(nd)))), {})
    else:
        y = attempt(layer.forward, (x,), {})
    if y is None or (kind == "stochastic" and not training):
        # backward needs a forward in training mode: without one a layer raises
        # RuntimeError by design (cpool.nn's docstrings), which is not fuzzed
        return
    attempt(layer.backward, (data.draw(like(y.astype(np.float64)), label="grad_output"),), {})


def test_every_public_function_is_fuzzed():
    """The tables above name every function cpool exports, so a new one
    cannot go unfuzzed."""
    fuzzed = {f.__name__ for fam in FAMILIES for f in fam.values()} | \
        {f.__name__ for f in MISC}
    assert fuzzed == set(cpool.__all__), set(cpool.__all__) ^ fuzzed
    assert set(LAYERS) == set(cpool.nn.__all__), set(cpool.nn.__all__) ^ set(LAYERS)
