"""Slow, obviously correct NumPy versions of cpool's power-average (lp),
adaptive and global pooling, written from API.md and independent of the
library.  As in reference.py, the kernels work on batched channels-first
arrays one output element at a time; the wrappers at the bottom take the
user's layout (batch-less and/or channels-last) like reference.py's do."""
import itertools
import math

import numpy as np

from reference import _cf_shape, _lowest, _max_bwd_cf, _to_cf, _tup, out_size


# ---- power-average (Lp) pooling -------------------------------------------

def lp_windows(L, k, s, ceil_mode):
    """[start, end) of every window along one axis: no padding, no dilation,
    PyTorch's output size; a ceil-mode window is clipped to the input."""
    n = out_size(L, k, s, 0, 1, ceil_mode)
    return [(o * s, min(o * s + k, L)) for o in range(n)]


def _lp_taps(S, wins, o):
    return list(itertools.product(*[range(*wins[a][o[a]]) for a in range(len(S))]))


def _lp_one(plane, taps, p):
    """One window's value, in the input dtype."""
    dt = plane.dtype.type
    vals = [plane[t] for t in taps]
    if p == math.inf:
        return dt(max(abs(v) for v in vals))
    if p == -math.inf:
        return dt(min(abs(v) for v in vals))
    acc = dt(0)
    with np.errstate(all="ignore"):
        for v in vals:  # row-major scan, accumulated in the input dtype
            acc = dt(acc + np.power(v, dt(p)))
        # negative sum with a non-integer 1/p -> NaN, as np.power (and PyTorch)
        return dt(np.power(acc, dt(1.0 / p)))


def _lp_cf(x, p, k, s, ceil_mode):
    nd = len(k)
    N, C, *S = x.shape
    wins = [lp_windows(S[a], k[a], s[a], ceil_mode) for a in range(nd)]
    O = [len(w) for w in wins]
    y = np.empty((N, C, *O), dtype=x.dtype)
    for n, c in itertools.product(range(N), range(C)):
        for o in itertools.product(*[range(v) for v in O]):
            y[(n, c) + o] = _lp_one(x[n, c], _lp_taps(S, wins, o), p)
    return y


def _lp_bwd_cf(gy, x, y, p, k, s, ceil_mode):
    """grad_x_i = sum over windows o holding i of gy[o] * x_i**(p-1) * y_o**(1-p)
    (0 where y_o == 0); for p = +-inf the window's first max/min of |x| gets
    gy[o] * sign(x_i)."""
    nd = len(k)
    N, C, *S = x.shape
    wins = [lp_windows(S[a], k[a], s[a], ceil_mode) for a in range(nd)]
    O = [len(w) for w in wins]
    gx = np.zeros(x.shape, dtype=x.dtype)
    dt = x.dtype.type
    for n, c in itertools.product(range(N), range(C)):
        plane = x[n, c]
        for o in itertools.product(*[range(v) for v in O]):
            taps = _lp_taps(S, wins, o)
            g = gy[(n, c) + o]
            if abs(p) == math.inf:
                a = [abs(plane[t]) for t in taps]
                best = 0
                for j in range(1, len(a)):  # first max (min) in scan order
                    if (a[j] > a[best]) if p > 0 else (a[j] < a[best]):
                        best = j
                t = taps[best]
                gx[(n, c) + t] = dt(gx[(n, c) + t] + g * np.sign(plane[t]))
                continue
            yo = y[(n, c) + o]
            if yo == 0:
                continue
            with np.errstate(all="ignore"):
                scale = dt(g * np.power(yo, dt(1 - p)))
                for t in taps:
                    gx[(n, c) + t] = dt(gx[(n, c) + t] + scale * np.power(plane[t], dt(p - 1)))
    return gx


# ---- adaptive pooling ---------------------------------------------------------

def adaptive_bin(i, a, n):
    """[floor(i*a/n), ceil((i+1)*a/n)) in exact integer arithmetic."""
    i, a, n = int(i), int(a), int(n)
    return (i * a) // n, -((-(i + 1) * a) // n)


def adaptive_out_shape(output_size, S):
    """Resolve an int / tuple-with-None output_size against spatial input S."""
    o = _tup(output_size, len(S))
    return tuple(S[a] if v is None else int(v) for a, v in enumerate(o))


def _adaptive_taps(S, O, o):
    rng = [range(*adaptive_bin(o[a], S[a], O[a])) for a in range(len(S))]
    return list(itertools.product(*rng)), [len(r) for r in rng]


def _adaptive_max_cf(x, O):
    N, C, *S = x.shape
    y = np.empty((N, C, *O), dtype=x.dtype)
    idx = np.empty((N, C, *O), dtype=np.int64)
    for n, c in itertools.product(range(N), range(C)):
        plane = x[n, c]
        for o in itertools.product(*[range(v) for v in O]):
            taps, _ = _adaptive_taps(S, O, o)
            best, best_i = x.dtype.type(_lowest(x.dtype)), -1
            for j, pos in enumerate(taps):  # row-major scan
                v = plane[pos]
                if j == 0 or v > best or v != v:  # first max wins; the last NaN wins
                    best, best_i = v, int(np.ravel_multi_index(pos, S))
            y[(n, c) + o] = best
            idx[(n, c) + o] = best_i
    return y, idx


def _adaptive_avg_cf(x, O):
    N, C, *S = x.shape
    y = np.empty((N, C, *O), dtype=x.dtype)
    dt = x.dtype.type
    for n, c in itertools.product(range(N), range(C)):
        plane = x[n, c]
        for o in itertools.product(*[range(v) for v in O]):
            taps, ks = _adaptive_taps(S, O, o)
            acc = dt(0)
            for pos in taps:  # row-major, accumulated in the input dtype
                acc = dt(acc + plane[pos])
            for kk in ks:  # sum / kd / kh / kw, one division at a time
                acc = dt(acc / dt(kk))
            y[(n, c) + o] = acc
    return y


def _adaptive_avg_bwd_cf(gy, in_shape):
    N, C, *S = in_shape
    O = gy.shape[2:]
    gx = np.zeros(in_shape, dtype=gy.dtype)
    dt = gy.dtype.type
    for n, c in itertools.product(range(N), range(C)):
        for o in itertools.product(*[range(v) for v in O]):  # outputs in increasing order
            taps, ks = _adaptive_taps(S, O, o)
            g = gy[(n, c) + o]
            for kk in ks:
                g = dt(g / dt(kk))
            for pos in taps:
                gx[(n, c) + pos] = dt(gx[(n, c) + pos] + g)
    return gx


# ---- layout wrappers -----------------------------------------------------

def _back_for(input_shape, nd, channels_last):
    _, back = _to_cf(np.empty(input_shape), nd, channels_last)
    return back


def lp_pool(x, nd, norm_type, kernel_size, stride=None, ceil_mode=False,
            channels_last=False):
    k = _tup(kernel_size, nd)
    s = k if stride is None else _tup(stride, nd)
    xc, back = _to_cf(x, nd, channels_last)
    return back(_lp_cf(xc, float(norm_type), k, s, ceil_mode))


def lp_pool_backward(gy, x, y, nd, norm_type, kernel_size, stride=None, ceil_mode=False,
                     channels_last=False):
    k = _tup(kernel_size, nd)
    s = k if stride is None else _tup(stride, nd)
    xc, back = _to_cf(x, nd, channels_last)
    yc, _ = _to_cf(y, nd, channels_last)
    gc, _ = _to_cf(gy, nd, channels_last)
    return back(_lp_bwd_cf(gc, xc, yc, float(norm_type), k, s, ceil_mode))


def adaptive_max_pool(x, nd, output_size, channels_last=False):
    xc, back = _to_cf(x, nd, channels_last)
    y, i = _adaptive_max_cf(xc, adaptive_out_shape(output_size, xc.shape[2:]))
    return back(y), back(i)


def adaptive_max_pool_backward(gy, idx, input_shape, nd, channels_last=False):
    g, _ = _to_cf(gy, nd, channels_last)
    i, _ = _to_cf(idx, nd, channels_last)
    gx = _max_bwd_cf(g, i, _cf_shape(input_shape, nd, channels_last))
    return _back_for(input_shape, nd, channels_last)(gx)


def adaptive_avg_pool(x, nd, output_size, channels_last=False):
    xc, back = _to_cf(x, nd, channels_last)
    return back(_adaptive_avg_cf(xc, adaptive_out_shape(output_size, xc.shape[2:])))


def adaptive_avg_pool_backward(gy, input_shape, nd, channels_last=False):
    g, _ = _to_cf(gy, nd, channels_last)
    gx = _adaptive_avg_bwd_cf(g, _cf_shape(input_shape, nd, channels_last))
    return _back_for(input_shape, nd, channels_last)(gx)


def _global_cf(x, channels_last):
    if channels_last:
        x = np.moveaxis(x, -1, 1)
    return np.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], int(np.prod(x.shape[2:])))


def global_max_pool(x, channels_last=False):
    """(N, C): the max over all spatial positions; NaN if the plane has one."""
    f = _global_cf(x, channels_last)
    out = np.empty(f.shape[:2], dtype=x.dtype)
    for n, c in itertools.product(*map(range, f.shape[:2])):
        v = f[n, c]
        out[n, c] = v[np.isnan(v)][0] if v.dtype.kind == "f" and np.isnan(v).any() else v.max()
    return out


def global_avg_pool(x, channels_last=False):
    """(N, C): the mean from the correctly rounded float64 sum (math.fsum)."""
    f = _global_cf(x, channels_last)
    out = np.empty(f.shape[:2], dtype=x.dtype)
    for n, c in itertools.product(*map(range, f.shape[:2])):
        out[n, c] = math.fsum(f[n, c].astype(np.float64).tolist()) / f.shape[2]
    return out
