"""Slow, obviously correct NumPy versions of fractional max pooling and
max_unpool, written from the PyTorch semantics in API.md, independent of the
library.  Same conventions as reference.py: the *_cf functions work on batched
channels-first arrays one element at a time; the wrappers at the bottom accept
batch-less inputs and channels_last."""
import itertools

import numpy as np

from reference import _lowest, _to_cf, _tup, max_pool_backward

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
        best, best_i, first = plane.dtype.type(_lowest(plane.dtype)), -1, True
        for pos in itertools.product(*taps):  # row-major scan
            assert all(0 <= pos[a] < S[a] for a in range(nd))
            v = plane[pos]
            flat = int(np.ravel_multi_index(pos, S))
            if first:
                best_i, first = flat, False
            if v > best or v != v:  # NaN replaces, so the last NaN wins
                best, best_i = v, flat
        y[o] = best
        idx[o] = best_i
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
