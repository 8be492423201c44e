"""Slow, obviously correct NumPy versions of cpool's ops, written from the
PyTorch semantics in API.md, independent of the library.  Everything works on
batched channels-first arrays one output element at a time; the wrappers at
the bottom handle layouts and batch-less inputs."""
import itertools

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
            best, best_i = x.dtype.type(_lowest(x.dtype)), -1
            first = True
            for pos in itertools.product(*taps):  # row-major scan
                v = plane[pos]
                flat = int(np.ravel_multi_index(pos, S))
                if first:
                    best_i, first = flat, False
                if v > best or v != v:  # NaN replaces, so the last NaN wins
                    best, best_i = v, flat
            y[(n, c) + o] = best
            idx[(n, c) + o] = best_i
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
