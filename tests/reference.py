"""Slow, obviously correct NumPy versions of cpool's ops, written from the
PyTorch semantics in API.md, independent of the library.  Everything works on
batched channels-first arrays one output element at a time; the wrappers at
the bottom handle layouts and batch-less inputs."""
import itertools
import math

import numpy as np


def out_size(L, k, s, p, d, ceil_mode):
    """PyTorch's pooling output size (aten Pool.h)."""
    eff = d * (k - 1) + 1
    if ceil_mode:
        o = -(-(L + 2 * p - eff) // s) + 1
        if (o - 1) * s >= L + p:  # last window must start inside input or left padding
            o -= 1
    else:
        o = (L + 2 * p - eff) // s + 1
    return o


def _lowest(dtype):
    return -np.inf if np.issubdtype(dtype, np.floating) else np.iinfo(dtype).min


def window_max(plane, positions):
    """PyTorch's max over one window's positions, given in row-major scan
    order: (value, flat index in the plane).  The first position's index
    starts; a later value replaces the maximum if it is larger or NaN, so ties
    keep the first maximum and a NaN window ends on its last NaN.  No
    positions: (lowest value, -1)."""
    best, best_i = plane.dtype.type(_lowest(plane.dtype)), -1
    for j, pos in enumerate(positions):
        v = plane[pos]
        if j == 0:
            best_i = int(np.ravel_multi_index(pos, plane.shape))
        if v > best or v != v:
            best, best_i = v, int(np.ravel_multi_index(pos, plane.shape))
    return best, best_i


def _max_cf(x, k, s, p, d, ceil_mode):
    nd = len(k)
    N, C, *S = x.shape
    O = [out_size(S[a], k[a], s[a], p[a], d[a], ceil_mode) for a in range(nd)]
    y = np.empty((N, C, *O), dtype=x.dtype)
    idx = np.empty((N, C, *O), dtype=np.int64)
    for n, c in itertools.product(range(N), range(C)):
        plane = x[n, c]
        for o in itertools.product(*[range(v) for v in O]):
            taps = [[o[a] * s[a] - p[a] + j * d[a] for j in range(k[a])] for a in range(nd)]
            taps = [[t for t in ax if 0 <= t < S[a]] for a, ax in enumerate(taps)]
            y[(n, c) + o], idx[(n, c) + o] = window_max(plane, itertools.product(*taps))
    return y, idx


def _avg_cf(x, k, s, p, ceil_mode, count_include_pad, divisor_override):
    nd = len(k)
    N, C, *S = x.shape
    O = [out_size(S[a], k[a], s[a], p[a], 1, ceil_mode) for a in range(nd)]
    y = np.empty((N, C, *O), dtype=x.dtype)
    for n, c in itertools.product(range(N), range(C)):
        for o in itertools.product(*[range(v) for v in O]):
            y[(n, c) + o] = _avg_one(x[n, c], S, o, k, s, p, count_include_pad,
                                     divisor_override)[0]
    return y


def _avg_window(o, L, k, s, p):
    start = o * s - p
    end = min(start + k, L + p)  # clipped to the padded input: ceil overhang not counted
    return max(start, 0), min(end, L), end - start


def _avg_one(plane, S, o, k, s, p, cip, override):
    """(value, list of taps, divisor) of one average-pooling window."""
    wins = [_avg_window(o[a], S[a], k[a], s[a], p[a]) for a in range(len(k))]
    taps = list(itertools.product(*[range(lo, hi) for lo, hi, _ in wins]))
    dt = plane.dtype.type
    if not taps:
        return dt(0), taps, 0
    acc = dt(0)
    for pos in taps:  # row-major, accumulated in the input dtype as PyTorch does
        acc = dt(acc + plane[pos])
    if override:
        div = override
    elif cip:
        div = int(np.prod([w[2] for w in wins]))
    else:
        div = len(taps)
    return dt(acc / dt(div)), taps, div


def _avg_bwd_cf(gy, in_shape, k, s, p, ceil_mode, cip, override):
    N, C, *S = in_shape
    gx = np.zeros(in_shape, dtype=gy.dtype)
    dt = gy.dtype.type
    dummy = np.zeros(S, dtype=gy.dtype)
    for n, c in itertools.product(range(N), range(C)):
        for o in itertools.product(*[range(v) for v in gy.shape[2:]]):
            _, taps, div = _avg_one(dummy, S, o, k, s, p, cip, override)
            for pos in taps:
                gx[(n, c) + pos] = dt(gx[(n, c) + pos] + dt(gy[(n, c) + o] / dt(div)))
    return gx


def _max_bwd_cf(gy, idx, in_shape):
    N, C, *S = in_shape
    gx = np.zeros((N, C, int(np.prod(S))), dtype=gy.dtype)
    g2 = gy.reshape(N, C, -1)
    i2 = idx.reshape(N, C, -1)
    dt = gy.dtype.type
    for n, c in itertools.product(range(N), range(C)):
        for o in range(g2.shape[2]):  # in output order, as PyTorch's scatter
            i = i2[n, c, o]
            if i != -1:
                gx[n, c, i] = dt(gx[n, c, i] + g2[n, c, o])
    return gx.reshape(in_shape)


# ---- layout wrappers -----------------------------------------------------

def _tup(v, nd):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd


def _to_cf(a, nd, channels_last):
    """Batched channels-first view of a user-layout array; and how to undo it."""
    batched = a.ndim == nd + 2
    if not batched:
        a = a[None]
    if channels_last:
        a = np.moveaxis(a, -1, 1)

    def back(b):
        if channels_last:
            b = np.moveaxis(b, 1, -1)
        return np.ascontiguousarray(b if batched else b[0])
    return np.ascontiguousarray(a), back


def _cf_shape(shape, nd, channels_last):
    shape = tuple(shape)
    if len(shape) == nd + 1:
        shape = (1,) + shape
    if channels_last:
        shape = (shape[0], shape[-1]) + shape[1:-1]
    return shape


def max_pool(x, nd, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
             channels_last=False):
    k = _tup(kernel_size, nd)
    s = k if stride is None else _tup(stride, nd)
    xc, back = _to_cf(x, nd, channels_last)
    y, i = _max_cf(xc, k, s, _tup(padding, nd), _tup(dilation, nd), ceil_mode)
    return back(y), back(i)


def max_pool_backward(gy, idx, input_shape, nd, channels_last=False):
    g, _ = _to_cf(gy, nd, channels_last)
    i, _ = _to_cf(idx, nd, channels_last)
    gx = _max_bwd_cf(g, i, _cf_shape(input_shape, nd, channels_last))
    _, back = _to_cf(np.empty(input_shape), nd, channels_last)
    return back(gx)


def avg_pool(x, nd, kernel_size, stride=None, padding=0, ceil_mode=False,
             count_include_pad=True, divisor_override=None, channels_last=False):
    k = _tup(kernel_size, nd)
    s = k if stride is None else _tup(stride, nd)
    xc, back = _to_cf(x, nd, channels_last)
    return back(_avg_cf(xc, k, s, _tup(padding, nd), ceil_mode, count_include_pad,
                        divisor_override))


def avg_pool_backward(gy, input_shape, nd, kernel_size, stride=None, padding=0,
                      ceil_mode=False, count_include_pad=True, divisor_override=None,
                      channels_last=False):
    k = _tup(kernel_size, nd)
    s = k if stride is None else _tup(stride, nd)
    g, _ = _to_cf(gy, nd, channels_last)
    gx = _avg_bwd_cf(g, _cf_shape(input_shape, nd, channels_last), k, s, _tup(padding, nd),
                     ceil_mode, count_include_pad, divisor_override)
    _, back = _to_cf(np.empty(input_shape), nd, channels_last)
    return back(gx)


# ---- Lp, adaptive and global pooling ------------------------------------
# Slow, obviously correct NumPy versions of cpool's power-average (lp),
# adaptive and global pooling, written from API.md and independent of the
# library.  As in reference.py, the kernels work on batched channels-first
# arrays one output element at a time; the wrappers at the bottom take the
# user's layout (batch-less and/or channels-last) like reference.py's do.

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
            y[(n, c) + o], idx[(n, c) + o] = window_max(plane, taps)
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


# ---- fractional max pooling and max unpooling ---------------------------
# Slow, obviously correct NumPy versions of fractional max pooling and
# max_unpool, written from the PyTorch semantics in API.md, independent of the
# library.  Same conventions as reference.py: the *_cf functions work on batched
# channels-first arrays one element at a time; the wrappers at the bottom accept
# batch-less inputs and channels_last.

# ---- fractional max pooling ------------------------------------------------


def interval_dtype(x_dtype):
    """PyTorch computes the intervals in the input's float type; cpool uses
    float64 for integer inputs."""
    x_dtype = np.dtype(x_dtype)
    return x_dtype.type if np.issubdtype(x_dtype, np.floating) else np.float64


def fractional_starts(u, I, O, k, dt):
    """Window starts along one axis (ATen FractionalMaxPooling.h,
    generate_intervals): every operation rounds to the scalar type `dt`, and
    int() truncates like C++'s static_cast<int>."""
    u = dt(u)
    seq = [0] * O
    if O > 1:
        alpha = dt(I - k) / dt(O - 1)
        for i in range(O - 1):
            seq[i] = int(dt(dt(i) + u) * alpha) - int(dt(u * alpha))
    seq[O - 1] = I - k
    return seq


def fractional_out_shape(S, output_size=None, output_ratio=None):
    """output_size wins over output_ratio; ratio -> int(in * ratio) per axis."""
    nd = len(S)
    if output_size is not None:
        return _tup(output_size, nd)
    r = _tup(output_ratio, nd)
    return tuple(int(S[a] * r[a]) for a in range(nd))


def sample_axis(nd, a):
    """Which entry of random_samples[n, c] drives spatial axis a (0 = first
    spatial axis): 2d (H, W) use entries (1, 0); 3d (D, H, W) use (0, 1, 2)."""
    return (1 - a) if nd == 2 else a


def pool_plane(plane, k, starts):
    """Max over the windows [starts[a][o_a], starts[a][o_a] + k_a) of one
    spatial plane: (values, flat indices in the plane)."""
    nd, S = len(k), plane.shape
    O = [len(st) for st in starts]
    y = np.empty(O, dtype=plane.dtype)
    idx = np.empty(O, dtype=np.int64)
    for o in itertools.product(*[range(v) for v in O]):
        taps = [range(starts[a][o[a]], starts[a][o[a]] + k[a]) for a in range(nd)]
        assert all(0 <= t[0] and t[-1] < S[a] for a, t in enumerate(taps))
        y[o], idx[o] = window_max(plane, itertools.product(*taps))
    return y, idx


def _fractional_cf(x, k, O, samples):
    nd = len(k)
    N, C, *S = x.shape
    dt = interval_dtype(x.dtype)
    y = np.empty((N, C, *O), dtype=x.dtype)
    idx = np.empty((N, C, *O), dtype=np.int64)
    for n, c in itertools.product(range(N), range(C)):
        starts = [fractional_starts(samples[n, c, sample_axis(nd, a)], S[a], O[a], k[a], dt)
                  for a in range(nd)]
        y[n, c], idx[n, c] = pool_plane(x[n, c], k, starts)
    return y, idx


def fractional_max_pool(x, nd, kernel_size, output_size=None, output_ratio=None,
                        random_samples=None, channels_last=False):
    """(y, indices).  random_samples is required here: (N, C, nd), or
    (1, C, nd) / (C, nd) for a batch-less input."""
    k = _tup(kernel_size, nd)
    xc, back = _to_cf(x, nd, channels_last)
    u = np.asarray(random_samples)
    u = u.reshape(xc.shape[0], xc.shape[1], nd)
    O = fractional_out_shape(xc.shape[2:], output_size, output_ratio)
    y, i = _fractional_cf(xc, k, O, u)
    return back(y), back(i)


def fractional_max_pool_backward(gy, idx, input_shape, nd, channels_last=False):
    """Scatter-add of grad_output through the indices (as max_pool's)."""
    return max_pool_backward(gy, idx, input_shape, nd, channels_last=channels_last)


def possible_starts(I, O, k, dt):
    """Every window-start sequence fractional_starts can give for some u in
    [0, 1) (the sequence is piecewise constant in u; try each breakpoint, its
    float neighbours and the midpoints between breakpoints)."""
    if O <= 1:
        return {tuple(fractional_starts(0.0, I, O, k, dt))}
    alpha = float(I - k) / (O - 1)
    cand = {0.0}
    if alpha > 0:
        for i in range(O):
            for m in range(int((i + 1) * alpha) + 2):
                b = m / alpha - i
                if 0 <= b < 1:
                    cand.add(b)
    pts = sorted(cand) + [1.0]
    trial = set(pts[:-1])
    for lo, hi in zip(pts[:-1], pts[1:]):
        trial.add((lo + hi) / 2)
    for b in list(trial):
        for t in (np.float32, np.float64):
            trial.add(float(np.nextafter(t(b), t(0))))
            trial.add(float(np.nextafter(t(b), t(1))))
    return {tuple(fractional_starts(u, I, O, k, dt)) for u in trial if 0 <= u < 1}


# ---- max_unpool ------------------------------------------------------------


def unpool_default_size(L, k, s, p):
    return (L - 1) * s + k - 2 * p


def unpool_out_shape(S, k, s, p, output_size=None):
    """The default size, or the last len(S) entries of output_size (checked
    against PyTorch's open interval default - s < o < default + s)."""
    nd = len(S)
    default = tuple(unpool_default_size(S[a], k[a], s[a], p[a]) for a in range(nd))
    if output_size is None:
        return default
    o = tuple(output_size)[-nd:]
    assert all(default[a] - s[a] < o[a] < default[a] + s[a] for a in range(nd)), (o, default)
    return o


def _unpool_cf(x, idx, O):
    N, C, *S = x.shape
    P = int(np.prod(O))
    out = np.zeros((N, C, P), dtype=x.dtype)
    xf = x.reshape(N, C, -1)
    jf = idx.reshape(N, C, -1)
    for n, c in itertools.product(range(N), range(C)):
        for j in range(xf.shape[2]):  # row-major scan of the input plane: last write wins
            t = int(jf[n, c, j])
            if t == -1:
                continue
            assert 0 <= t < P, t
            out[n, c, t] = xf[n, c, j]
    return out.reshape((N, C) + tuple(O))


def _unpool_bwd_cf(gy, idx):
    N, C = gy.shape[:2]
    gf = gy.reshape(N, C, -1)
    jf = idx.reshape(N, C, -1)
    gx = np.zeros(jf.shape, dtype=gy.dtype)
    for n, c in itertools.product(range(N), range(C)):
        winner = {}
        for j in range(jf.shape[2]):  # the last element that writes a position owns it
            t = int(jf[n, c, j])
            if t != -1:
                winner[t] = j
        for t, j in winner.items():
            gx[n, c, j] = gf[n, c, t]
    return gx.reshape(idx.shape)


def max_unpool(x, idx, nd, kernel_size, stride=None, padding=0, output_size=None,
               channels_last=False):
    k = _tup(kernel_size, nd)
    s = k if stride is None else _tup(stride, nd)
    p = _tup(padding, nd)
    xc, back = _to_cf(x, nd, channels_last)
    ic, _ = _to_cf(idx, nd, channels_last)
    O = unpool_out_shape(xc.shape[2:], k, s, p, output_size)
    return back(_unpool_cf(xc, ic, O))


def max_unpool_backward(gy, idx, nd, channels_last=False):
    g, _ = _to_cf(gy, nd, channels_last)
    i, back = _to_cf(idx, nd, channels_last)
    return back(_unpool_bwd_cf(g, i))


def max_unpool_last_wins_fast(x_cf, idx_cf, O):
    """A vectorised twin of _unpool_cf for large arrays (thread tests): for
    each plane, the last occurrence of each index in scan order."""
    N, C = x_cf.shape[:2]
    P = int(np.prod(O))
    xf = x_cf.reshape(N * C, -1)
    jf = idx_cf.reshape(N * C, -1)
    out = np.zeros((N * C, P), dtype=x_cf.dtype)
    L = jf.shape[1]
    for r in range(N * C):
        rev = jf[r, ::-1]
        u, first_rev = np.unique(rev, return_index=True)
        last = L - 1 - first_rev
        keep = u != -1
        out[r, u[keep]] = xf[r, last[keep]]
    return out.reshape((N, C) + tuple(O))


__all__ = ["interval_dtype", "fractional_starts", "fractional_out_shape", "sample_axis",
           "pool_plane", "fractional_max_pool", "fractional_max_pool_backward",
           "possible_starts",
           "unpool_default_size", "unpool_out_shape", "max_unpool", "max_unpool_backward",
           "max_unpool_last_wins_fast"]


# ---- stochastic pooling --------------------------------------------------------
# Slow, obviously correct NumPy pieces for stochastic pooling (Zeiler & Fergus
# 2013), written from API.md, independent of the library.  The training
# pass is checked through stochastic_windows (which taps each output may
# draw), by frequencies in the tests, and exactly by stochastic_pool2d_train,
# which draws with its own Philox; the eval pass and the backward have exact
# references.  Window geometry is avg_pool's without ceil_mode: output size
# out_size(L, k, s, p, 1, False), taps [o*s - p, o*s - p + k) clipped to the
# input (padding is never part of a window).

def _stochastic_geometry(x_cf, nd, kernel_size, stride, padding):
    k = _tup(kernel_size, nd)
    s = k if stride is None else _tup(stride, nd)
    p = _tup(padding, nd)
    S = x_cf.shape[2:]
    O = tuple(out_size(S[a], k[a], s[a], p[a], 1, False) for a in range(nd))
    return k, s, p, S, O


def _stochastic_taps(S, o, k, s, p):
    """In-bounds positions of window o, in row-major scan order."""
    rng = [range(max(o[a] * s[a] - p[a], 0), min(o[a] * s[a] - p[a] + k[a], S[a]))
           for a in range(len(S))]
    return list(itertools.product(*rng))


def stochastic_windows(x, nd, kernel_size, stride=None, padding=0, channels_last=False):
    """For every output, in channels-first batched C order (the order of
    _to_cf(y, nd, channels_last)[0].ravel()), the list of (flat in-plane
    index, value) of its in-bounds taps in row-major scan order.  The value
    has x's dtype."""
    xc, _ = _to_cf(x, nd, channels_last)
    k, s, p, S, O = _stochastic_geometry(xc, nd, kernel_size, stride, padding)
    N, C = xc.shape[:2]
    out = []
    for n, c in itertools.product(range(N), range(C)):
        plane = xc[n, c]
        for o in itertools.product(*[range(v) for v in O]):
            out.append([(int(np.ravel_multi_index(t, S)), plane[t])
                        for t in _stochastic_taps(S, o, k, s, p)])
    return out


def stochastic_pool_eval(x, nd, kernel_size, stride=None, padding=0, channels_last=False):
    """training=False: sum(a_i**2) / sum(a_i) over each window's in-bounds
    activations, both sums in float64 in row-major scan order, then cast to
    x's dtype; 0 for an all-zero window."""
    xc, back = _to_cf(x, nd, channels_last)
    k, s, p, S, O = _stochastic_geometry(xc, nd, kernel_size, stride, padding)
    N, C = xc.shape[:2]
    y = np.empty((N, C) + O, dtype=x.dtype)
    for n, c in itertools.product(range(N), range(C)):
        plane = xc[n, c]
        for o in itertools.product(*[range(v) for v in O]):
            s1 = s2 = np.float64(0)
            for t in _stochastic_taps(S, o, k, s, p):
                a = np.float64(plane[t])
                s1 += a
                s2 += a * a
            y[(n, c) + o] = x.dtype.type(s2 / s1) if s1 > 0 else x.dtype.type(0)
    return back(y)


def stochastic_pool_backward(gy, idx, input_shape, nd, channels_last=False):
    """The training pass's gradient: scatter-add through the sampled indices,
    exactly max_pool's backward."""
    return max_pool_backward(gy, idx, input_shape, nd, channels_last=channels_last)


_M32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(ctr, key):
    """Philox4x32-10 (Salmon et al., SC 2011) on uint64 arrays holding 32-bit
    words: ctr = (c0, c1, c2, c3), key = (k0, k1); returns the four output
    words."""
    c0, c1, c2, c3 = (np.asarray(v, dtype=np.uint64) & _M32 for v in ctr)
    k0, k1 = (np.uint64(int(v) & 0xFFFFFFFF) for v in key)
    for _ in range(10):
        p0 = np.uint64(0xD2511F53) * c0  # 32 x 32 bits: exact in 64
        p1 = np.uint64(0xCD9E8D57) * c2
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & _M32,
                          (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & _M32)
        k0 = (k0 + np.uint64(0x9E3779B9)) & _M32
        k1 = (k1 + np.uint64(0xBB67AE85)) & _M32
    return c0, c1, c2, c3


def stochastic_uniforms(q, seed):
    """API.md's uniform of output q (its channels-first batched index): word
    q % 4 of Philox on counter (q // 4 as two 32-bit words, 0, 0), keyed by the
    seed's low and high 32 bits, over 2**32."""
    q = np.asarray(q, dtype=np.uint64)
    ctr = q >> np.uint64(2)
    zero = np.zeros_like(ctr)
    words = np.stack(philox4x32_10((ctr, ctr >> np.uint64(32), zero, zero),
                                   (seed & 0xFFFFFFFF, seed >> 32)))
    pick = np.take_along_axis(words, (q & np.uint64(3)).astype(np.int64)[None], 0)[0]
    return pick.astype(np.float64) / 2.0 ** 32


def stochastic_pool2d_train(x, kernel_size, stride, seed, channels_last=False):
    """The training pass of stochastic_pool2d without padding, exactly as
    API.md specifies it: per output, S = the float64 sum of its taps in scan
    order, t = u * S, and the drawn tap is the number of running float64
    sums <= t (the first tap for an all-zero window; where t rounds up to S,
    which takes a subnormal S, the last tap with a > 0).  Returns (y, indices)
    in x's layout."""
    xc, back = _to_cf(x, 2, channels_last)
    k, s = _tup(kernel_size, 2), _tup(stride, 2)
    N, C, H, W = xc.shape
    OH, OW = (H - k[0]) // s[0] + 1, (W - k[1]) // s[1] + 1
    oh, ow = np.meshgrid(np.arange(OH), np.arange(OW), indexing="ij")
    taps = [((oh * s[0] + a) * W + ow * s[1] + b).ravel() for a in range(k[0])
            for b in range(k[1])]
    pos = np.stack(taps, axis=-1)  # (OH*OW, taps): in-plane index, scan order
    planes = xc.reshape(N * C, H * W)
    win = planes[:, pos].astype(np.float64)  # (N*C, OH*OW, taps)
    run = np.cumsum(win, axis=-1)  # left to right, one add at a time
    u = stochastic_uniforms(np.arange(N * C * OH * OW), seed).reshape(run.shape[:2])
    total = run[..., -1]
    below = (run <= (u * total)[..., None]).sum(axis=-1)
    # u * S rounds up to S only for subnormal S: then the last tap with a > 0
    last_positive = (run < total[..., None]).sum(axis=-1)
    below = np.where(below == run.shape[-1], last_positive, below)
    below[total <= 0] = 0
    idx = np.take_along_axis(np.broadcast_to(pos, win.shape), below[..., None], -1)[..., 0]
    y = np.take_along_axis(planes, idx.reshape(N * C, -1), 1)
    return back(y.reshape(N, C, OH, OW)), back(idx.reshape(N, C, OH, OW).astype(np.int64))


def first_bad_activation(x):
    """The index tuple, in C order of x as passed, of the first negative, NaN
    or infinite element, or None."""
    bad = np.argwhere(~(np.isfinite(x) & (x >= 0)))
    return tuple(int(v) for v in bad[0]) if len(bad) else None


__all__ += ["stochastic_windows", "stochastic_pool_eval", "stochastic_pool_backward",
            "first_bad_activation"]


# ---- spatial pyramid pooling -----------------------------------------------------
# Slow, obviously correct NumPy spatial pyramid pooling (He et al. 2014),
# written from API.md, independent of the library.  Each level l pools the
# (H, W) map to an l x l grid; the result is (N, C * sum(l*l)): level by level
# in the order given, each level's (C, l, l) block flattened in C order, the
# same order for either input layout.  Max windows use window_max (PyTorch's
# rule: first maximum on ties, NaN wins with its last position); an average is
# the row-major sum in the input dtype from 0, then / kh, then / kw.

def spp_bins(a, l, bins):
    """[start, end) of the l bins along an axis of extent a.
    "adaptive": [floor(i*a/l), ceil((i+1)*a/l)), every element covered.
    "paper": window ceil(a/l), stride floor(a/l), the first l windows; the
    last max((a mod l) - 1, 0) elements are left uncovered; l > a is an error."""
    a, l = int(a), int(l)
    if bins == "adaptive":
        return [adaptive_bin(i, a, l) for i in range(l)]
    if bins == "paper":
        if l > a:
            raise ValueError(f"level {l} is larger than the extent {a}")
        k, s = -(-a // l), a // l
        return [(i * s, i * s + k) for i in range(l)]
    raise ValueError(f"unknown bins {bins!r}")


def spp_uncovered(a, l):
    """Trailing elements of an axis of extent a that paper bins of level l skip."""
    lo, hi = spp_bins(a, l, "paper")[-1]
    return a - hi


def spp_length(C, levels):
    """Length of one image's feature vector."""
    return C * sum(int(l) * int(l) for l in levels)


def _spp_level_taps(H, W, l, bins):
    """For each (i, j) of the l x l grid in C order: (row-major taps, kh, kw)."""
    rb, cb = spp_bins(H, l, bins), spp_bins(W, l, bins)
    out = []
    for i, j in itertools.product(range(l), range(l)):
        rows, cols = range(*rb[i]), range(*cb[j])
        out.append((list(itertools.product(rows, cols)), len(rows), len(cols)))
    return out


def _spp_cf(x, levels, mode, bins):
    N, C, H, W = x.shape
    dt = x.dtype.type
    ys, idxs = [], []
    for l in levels:
        taps = _spp_level_taps(H, W, l, bins)
        y = np.empty((N, C, len(taps)), dtype=x.dtype)
        idx = np.full((N, C, len(taps)), -1, dtype=np.int64)
        for n, c in itertools.product(range(N), range(C)):
            plane = x[n, c]
            for o, (t, kh, kw) in enumerate(taps):
                if mode == "max":
                    y[n, c, o], idx[n, c, o] = window_max(plane, t)
                else:
                    acc = dt(0)
                    for pos in t:  # row-major, in the input dtype
                        acc = dt(acc + plane[pos])
                    y[n, c, o] = dt(dt(acc / dt(kh)) / dt(kw))
        ys.append(y.reshape(N, -1))
        idxs.append(idx.reshape(N, -1))
    return np.concatenate(ys, axis=1), np.concatenate(idxs, axis=1)


def _spp_bwd_cf(gy, in_shape, levels, mode, bins, idx):
    """Scatter of each output's gradient, in output order (level by level,
    then C order): max -> onto its index; avg -> g / kh / kw onto every tap."""
    N, C, H, W = in_shape
    gx = np.zeros((N, C, H * W), dtype=gy.dtype)
    dt = gy.dtype.type
    off = 0
    for l in levels:
        taps = _spp_level_taps(H, W, l, bins)
        for n, c in itertools.product(range(N), range(C)):
            for o, (t, kh, kw) in enumerate(taps):
                f = off + c * len(taps) + o
                g = gy[n, f]
                if mode == "max":
                    i = int(idx[n, f])
                    if i != -1:
                        gx[n, c, i] = dt(gx[n, c, i] + g)
                else:
                    g = dt(dt(g / dt(kh)) / dt(kw))
                    for r, s in t:
                        gx[n, c, r * W + s] = dt(gx[n, c, r * W + s] + g)
        off += C * len(taps)
    return gx.reshape(in_shape)


def spatial_pyramid_pool(x, levels=(1, 2, 4), mode="max", bins="adaptive",
                         channels_last=False):
    """(features, indices): (N, C*sum l^2), or 1-d for a batch-less input
    (C, H, W) / (H, W, C); indices (int64, flat h*W+w in the (n, c) plane)
    are None for mode="avg"."""
    xc, _ = _to_cf(x, 2, channels_last)
    y, idx = _spp_cf(xc, tuple(levels), mode, bins)
    if x.ndim == 3:
        y, idx = y[0], idx[0]
    return y, (idx if mode == "max" else None)


def spatial_pyramid_pool_backward(gy, input_shape, levels=(1, 2, 4), mode="max",
                                  bins="adaptive", indices=None, channels_last=False):
    """Gradient w.r.t. x in the input's layout (see _spp_bwd_cf)."""
    batched = len(input_shape) == 4
    g = gy if batched else gy[None]
    i = None
    if mode == "max":
        i = indices if batched else indices[None]
    gx = _spp_bwd_cf(g, _cf_shape(input_shape, 2, channels_last), tuple(levels), mode,
                     bins, i)
    return _back_for(input_shape, 2, channels_last)(gx)


__all__ += ["spp_bins", "spp_uncovered", "spp_length", "spatial_pyramid_pool",
            "spatial_pyramid_pool_backward"]
# ---- end of spatial pyramid pooling ----------------------------------------------
