"""Argument normalisation and checking: the one place for PyTorch's window
rules (output size, ceil_mode, padding), layouts, dtypes, ``out=`` and the
error messages.  The public modules call these and hand the C core a
geometry tuple it can trust."""
from __future__ import annotations

import functools
import math
import numbers
import operator
from dataclasses import dataclass

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
INT_DTYPES = tuple(np.dtype(t) for t in (np.int8, np.uint8, np.int16, np.uint16,
                                         np.int32, np.int64))
MAX_DTYPES = FLOAT_DTYPES + INT_DTYPES

# Codes of the C core's cpool_dtype enum (src/cpool.h).
_DTYPE_CODE = {dt: code for code, dt in enumerate(FLOAT_DTYPES + INT_DTYPES)}

# Beyond this, windows and strides are certainly a mistake; it keeps every
# offset computation in the C core far from int64 overflow.
_WINDOW_MAX = 1 << 40
# An array's element count, and so every offset into it, stays an int64.
_ELEMENTS_MAX = 1 << 62


def window_bounded(vals, fn: str, name: str, shown=None) -> None:
    """The one upper bound of every window-like argument (kernel, stride,
    padding, dilation, adaptive output_size, SPP levels): _WINDOW_MAX."""
    if max(vals) > _WINDOW_MAX:
        raise ValueError(f"{fn}(): {name} must be at most {_WINDOW_MAX}, "
                         f"got {vals if shown is None else shown!r}")


def _names(dtypes):
    return ", ".join(str(d) for d in dtypes)


def array(x, fn: str, name: str = "x") -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{fn}(): {name} must be a numpy.ndarray, got {type(x).__name__}")
    return x


def dtype_code(x: np.ndarray, allowed, fn: str, name: str = "x") -> int:
    dt = x.dtype
    if not dt.isnative and dt.newbyteorder("=") in allowed:
        dt = dt.newbyteorder("=")
    if dt not in allowed:
        raise TypeError(f"{fn}(): {name} has dtype {x.dtype}, supported: {_names(allowed)}")
    return _DTYPE_CODE[dt]


def contiguous(x: np.ndarray) -> np.ndarray:
    """The C-contiguous, aligned, native-byte-order array the C core reads: x
    itself when it already is one, otherwise one copy (the caller's array is
    never written).  Alignment matters: a float array at an odd address (a
    view into bytes) is C-contiguous, but loading from it is undefined in C
    and faults where vector loads assume alignment."""
    if not x.dtype.isnative:
        return np.ascontiguousarray(x, dtype=x.dtype.newbyteorder("="))
    if x.flags.c_contiguous and x.flags.aligned:
        return x
    return np.array(x, order="C")  # a fresh array is aligned


def _int(v, fn, name, what="an int or a tuple of ints"):
    if type(v) is int:  # the common case, without the slow ABC checks below
        return v
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{fn}(): {name} must be {what}, got {v!r}")
    return operator.index(v)


def ntuple(value, nd: int, fn: str, name: str) -> tuple:
    """int -> nd-tuple; a sequence must have exactly nd ints."""
    if type(value) is int:
        return (value,) * nd
    if isinstance(value, (tuple, list)):
        if len(value) != nd:
            raise ValueError(f"{fn}(): {name} must be an int or a tuple of {nd} ints, "
                             f"got {value!r}")
        return tuple(_int(v, fn, name) for v in value)
    return (_int(value, fn, name),) * nd


_STATUS = {-2: MemoryError, -3: ValueError, -4: TypeError}


def check_status(rc: int, fn: str, plane: int = 0) -> None:
    """Raises for a nonzero status code of the C core."""
    if rc == 0:
        return
    if rc == -3:
        raise ValueError(f"{fn}(): indices holds a value outside its plane: valid values "
                         f"are -1 and 0 <= index < {plane}")
    if rc == -2:
        raise MemoryError(f"{fn}(): out of memory")
    if rc == -4:
        raise TypeError(f"{fn}(): no kernel for this dtype")
    if rc == -5:
        raise ValueError(f"{fn}(): the input holds a value outside the operation's domain")
    raise ValueError(f"{fn}(): inconsistent pooling geometry (C core status {rc})")


def flag(value, fn: str, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{fn}(): {name} must be a bool, got {value!r}")
    return bool(value)


def positive_int_or_none(value, fn: str, name: str):
    if value is None:
        return None
    v = _int(value, fn, name, "a positive int or None")
    if not 0 < v < 2 ** 62:
        raise ValueError(f"{fn}(): {name} must be a positive int below 2**62 or None, "
                         f"got {value!r}")
    return v


@dataclass(slots=True)
class Layout:
    """Where batch, channels and the nd spatial axes sit in an array."""
    nd: int
    channels_last: bool
    batched: bool
    n: int
    c: int
    spatial: tuple

    def shape(self, spatial) -> tuple:
        """Array shape in this layout for the given spatial extents."""
        lead = (self.n,) if self.batched else ()
        if self.channels_last:
            return lead + tuple(spatial) + (self.c,)
        return lead + (self.c,) + tuple(spatial)

    def geom(self, win: "Window") -> tuple:
        """The tuple cpool._core turns into the C core's cpool_geom."""
        pad3 = (1,) * (3 - self.nd)
        zero3 = (0,) * (3 - self.nd)
        return (self.n, self.c, pad3 + self.spatial, pad3 + win.out,
                pad3 + win.kernel, pad3 + win.stride, zero3 + win.padding,
                pad3 + win.dilation, int(self.channels_last))

    def bins_geom(self, out: tuple, bins: tuple, per_plane: bool = False,
                  width: tuple | None = None) -> tuple:
        """Geometry whose windows come from bin tables (one per spatial axis,
        [start, end) pairs; per_plane: one table per (n, c) plane).  `width`:
        the one width of every bin per axis, where it has one (the C core
        checks it and vectorises such rows)."""
        lead = 3 - self.nd
        out3 = (1,) * lead + tuple(out)
        one3 = (1, 1, 1)
        kernel3 = one3 if width is None else (1,) * lead + tuple(width)
        strides = (0,) * lead + tuple(2 * o if per_plane else 0 for o in out)
        return (self.n, self.c, (1,) * lead + self.spatial, out3, kernel3, one3, (0, 0, 0),
                one3, int(self.channels_last), (None,) * lead + tuple(bins), strides)


def layout_of_shape(shape, nd: int, channels_last, fn: str, name: str = "x") -> Layout:
    channels_last = flag(channels_last, fn, "channels_last")
    shape = tuple(shape)
    if len(shape) not in (nd + 1, nd + 2):
        form = "(N, *S, C) or (*S, C)" if channels_last else "(N, C, *S) or (C, *S)"
        raise ValueError(f"{fn}(): {name} must have {nd + 1} or {nd + 2} dimensions "
                         f"{form}, got shape {shape}")
    batched = len(shape) == nd + 2
    n = shape[0] if batched else 1
    rest = shape[1:] if batched else shape
    c, spatial = (rest[-1], rest[:-1]) if channels_last else (rest[0], rest[1:])
    if c == 0 or any(s == 0 for s in spatial):
        raise ValueError(f"{fn}(): {name} has shape {shape}: only the batch axis may be empty")
    return Layout(nd, channels_last, batched, n, c, tuple(spatial))


def layout(x: np.ndarray, nd: int, channels_last, fn: str, name: str = "x") -> Layout:
    return layout_of_shape(x.shape, nd, channels_last, fn, name)


def input_shape(value, nd: int, channels_last, fn: str) -> Layout:
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{fn}(): input_shape must be a tuple of ints, got {value!r}")
    shape = tuple(_int(v, fn, "input_shape") for v in value)
    if any(s < 0 for s in shape):
        raise ValueError(f"{fn}(): input_shape must not be negative, got {shape}")
    if math.prod(shape) >= _ELEMENTS_MAX:
        raise ValueError(f"{fn}(): input_shape {shape} has more than 2**62 elements")
    return layout_of_shape(shape, nd, channels_last, fn, "input_shape")


def pool_out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape (aten/src/ATen/native/Pool.h)."""
    num = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


@dataclass(slots=True)
class Window:
    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    ceil_mode: bool
    out: tuple


def summed_window(win: Window, fn: str) -> Window:
    """For the window sums (average, Lp): the divisor is the window's area,
    a 64-bit product, so the area must fit in one."""
    if math.prod(win.kernel) >= _ELEMENTS_MAX:
        raise ValueError(f"{fn}(): kernel_size {win.kernel} spans more than 2**62 elements")
    return win


def window(lay: Layout, kernel_size, stride, padding, dilation, ceil_mode, fn: str) -> Window:
    nd = lay.nd
    k = ntuple(kernel_size, nd, fn, "kernel_size")
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) \
        else ntuple(stride, nd, fn, "stride")
    return _checked_window(lay.spatial, k, s, ntuple(padding, nd, fn, "padding"),
                           ntuple(dilation, nd, fn, "dilation"),
                           flag(ceil_mode, fn, "ceil_mode"), fn)


@functools.lru_cache(maxsize=512)
def _checked_window(spatial, k, s, p, d, ceil_mode, fn) -> Window:
    """The value checks and output size of a window; cached, since a network
    calls the same few geometries over and over.  Arguments are int tuples
    (types already checked), so the cache key is exact."""
    nd = len(k)
    for name, vals, low in (("kernel_size", k, 1), ("stride", s, 1), ("dilation", d, 1),
                            ("padding", p, 0)):
        if min(vals) < low:
            what = "positive" if low else "non-negative"
            raise ValueError(f"{fn}(): {name} must be {what}, got {vals if nd > 1 else vals[0]}")
        window_bounded(vals, fn, name)
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ValueError(f"{fn}(): padding must be at most half of kernel_size "
                         f"(padding <= kernel_size // 2), got padding={p}, kernel_size={k}")
    out = tuple(pool_out_size(a, ki, si, pi, di, ceil_mode)
                for a, ki, si, pi, di in zip(spatial, k, s, p, d))
    if min(out) < 1:
        raise ValueError(f"{fn}(): input spatial size {spatial} is too small for "
                         f"kernel_size={k}, stride={s}, padding={p}, dilation={d}: "
                         f"output size would be {out}")
    return Window(k, s, p, d, ceil_mode, out)


def output(out, shape: tuple, dtype: np.dtype, fn: str, inputs=()) -> np.ndarray:
    """A fresh result array, or the caller's `out=` after checking it fits."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{fn}(): out must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != tuple(shape) or out.dtype != dtype:
        raise ValueError(f"{fn}(): out must have shape {tuple(shape)} and dtype {dtype}, "
                         f"got shape {out.shape} and dtype {out.dtype}")
    if not out.flags.c_contiguous or not out.flags.writeable or not out.flags.aligned:
        raise ValueError(f"{fn}(): out must be a writeable, aligned C-contiguous array")
    for a in inputs:
        if np.may_share_memory(out, a):
            raise ValueError(f"{fn}(): out must not overlap an input array")
    return out


def grad_output(g, expected_shape: tuple, fn: str) -> tuple:
    """Checks grad_output; returns (contiguous array, dtype code)."""
    g = array(g, fn, "grad_output")
    code = dtype_code(g, FLOAT_DTYPES, fn, "grad_output")
    if g.shape != tuple(expected_shape):
        raise ValueError(f"{fn}(): grad_output must have shape {tuple(expected_shape)}, "
                         f"got {g.shape}")
    return contiguous(g), code


def indices(ind, expected_shape: tuple, fn: str) -> np.ndarray:
    ind = array(ind, fn, "indices")
    if ind.dtype.newbyteorder("=") != np.int64:
        raise TypeError(f"{fn}(): indices must have dtype int64, got {ind.dtype}")
    if ind.shape != tuple(expected_shape):
        raise ValueError(f"{fn}(): indices must have shape {tuple(expected_shape)} "
                         f"(the shape of grad_output), got {ind.shape}")
    return contiguous(ind)


def extents_geom(lay: Layout, in_spatial: tuple, out_spatial: tuple) -> tuple:
    """A geometry of extents only, no window: the index scatter and gather
    (`in` is the destination plane, `out` the source's) and global pooling."""
    pad3 = (1,) * (3 - lay.nd)
    one3 = (1, 1, 1)
    return (lay.n, lay.c, pad3 + tuple(in_spatial), pad3 + tuple(out_spatial),
            one3, one3, (0, 0, 0), one3, int(lay.channels_last))


def spatial_of(shape: tuple, lay: Layout) -> tuple:
    """The spatial extents of an array shaped like `lay` (batch/channels kept)."""
    shape = tuple(shape)
    body = shape[1:] if lay.batched else shape
    return body[:-1] if lay.channels_last else body[1:]


def adaptive_output_size(value, lay: Layout, fn: str) -> tuple:
    """An int or d-tuple of ints >= 0 or None (None keeps that input extent)."""
    nd = lay.nd
    if value is None or isinstance(value, (tuple, list)):
        vals = (value,) * nd if value is None else tuple(value)
        if len(vals) != nd:
            raise ValueError(f"{fn}(): output_size must be an int or a tuple of {nd} ints "
                             f"(or None), got {value!r}")
        vals = tuple(a if v is None else _int(v, fn, "output_size")
                     for v, a in zip(vals, lay.spatial))
    else:
        vals = (_int(value, fn, "output_size"),) * nd
    if min(vals) < 0:
        raise ValueError(f"{fn}(): output_size must be >= 0, got {value!r}")
    window_bounded(vals, fn, "output_size", value)
    return vals


@functools.lru_cache(maxsize=256)
def adaptive_bins(size: int, n: int) -> np.ndarray:
    """Bins [floor(i*size/n), ceil((i+1)*size/n)) as [start, end) pairs, in exact
    integer arithmetic (Python ints: no rounding, no overflow)."""
    if size * n < 2 ** 62:
        i = np.arange(n, dtype=np.int64)
        start = (i * size) // n
        end = -((-(i + 1) * size) // n)
    else:
        start = np.array([(i * size) // n for i in range(n)], dtype=np.int64)
        end = np.array([-((-(i + 1) * size) // n) for i in range(n)], dtype=np.int64)
    bins = np.stack([start, end], axis=1).reshape(-1)
    bins.flags.writeable = False
    return bins


def generator(seed, fn: str) -> np.random.Generator:
    """seed: an int, a numpy.random.Generator (used as is) or None (fresh entropy)."""
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{fn}(): seed must be an int, a numpy.random.Generator or None, "
                        f"got {seed!r}")
    if seed < 0:
        raise ValueError(f"{fn}(): seed must be non-negative, got {seed}")
    return np.random.default_rng(int(seed))


def to_channels_first(a: np.ndarray, lay: Layout) -> np.ndarray:
    """A contiguous channels-first copy of a channels-last array (same batch form)."""
    return np.ascontiguousarray(np.moveaxis(a, -1, 1 if lay.batched else 0))


def to_channels_last(a: np.ndarray, lay: Layout) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(a, 1 if lay.batched else 0, -1))


def channels_first(lay: Layout) -> Layout:
    return Layout(lay.nd, False, lay.batched, lay.n, lay.c, lay.spatial)


def norm_type(value, fn: str) -> float:
    """Lp pooling's p: a real number, nonzero and not NaN (inf allowed)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}(): norm_type must be a real number, got {value!r}")
    try:
        p = float(value)
    except OverflowError:
        raise ValueError(f"{fn}(): norm_type must fit in a float, got {value!r}") from None
    if p == 0 or p != p:
        raise ValueError(f"{fn}(): norm_type must be nonzero and not NaN, got {value!r}")
    return p


def planes(a: np.ndarray, lay: Layout) -> np.ndarray:
    """View as (planes, elements) channels-first or (images, pixels, C)
    channels-last: the per-plane axis is 1 either way."""
    if lay.channels_last:
        return a.reshape(lay.n, -1, lay.c)
    return a.reshape(lay.n * lay.c, -1)


def seed64(seed, fn: str) -> int:
    """A 64-bit key: an int in [0, 2**64), one draw from a numpy Generator, or
    fresh entropy for None."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2 ** 64, dtype=np.uint64))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{fn}(): seed must be an int, a numpy.random.Generator or None, "
                        f"got {seed!r}")
    if not 0 <= seed < 2 ** 64:
        raise ValueError(f"{fn}(): seed must lie in [0, 2**64), got {seed}")
    return int(seed)
