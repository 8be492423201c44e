"""Side-by-side benchmark behind ``python -m cpool`` and ``python -m cpool bench``.

For each case: cpool's median time, a vectorised NumPy baseline (what a NumPy
user writes without cpool), PyTorch CPU when installed (``torch.from_numpy``,
same thread count, the aten kernels called directly so autograd costs
nothing), the ratios, and bandwidth: GB/s of the bytes the op must move (input
read + output and indices written), and that as a percentage of an
``np.copyto`` of the same number of bytes timed in the same run (the machines
are shared and noisy, so only ratios within one run mean much).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

import cpool


@dataclass(frozen=True)
class Case:
    name: str
    op: str  # a key of _OPS below
    shape: tuple = (32, 64, 112, 112)  # channels-first; the full run's size
    kernel: int = 2
    stride: int = 2
    padding: int = 0
    dtype: str = "float32"
    arg: object = None  # the op's own parameter (output size, levels)
    core: bool = False  # part of `python -m cpool`'s short run

    @property
    def nd(self) -> int:
        return len(self.shape) - 2

    def sized(self, quick: bool) -> tuple:
        """The quick run divides the batch by 4."""
        return ((max(1, self.shape[0] // 4),) + self.shape[1:]) if quick else self.shape


# The one table of cases: `python -m cpool bench` and the asv suite
# (benchmarks/asv_bench.py) both read it.
CASES = [
    Case("max k2s2", "max", core=True),
    Case("max k2s2 +idx", "max_idx"),
    Case("max k3s2p1", "max", kernel=3, padding=1, core=True),
    Case("max k3s2p1 +idx", "max_idx", kernel=3, padding=1, core=True),
    Case("max bwd k2s2", "max_bwd"),
    Case("max bwd k3s2p1", "max_bwd", kernel=3, padding=1, core=True),
    Case("avg k2s2", "avg", core=True),
    Case("avg k3s2p1", "avg", kernel=3, padding=1, core=True),
    Case("avg bwd k2s2", "avg_bwd"),
    Case("avg bwd k3s2p1", "avg_bwd", kernel=3, padding=1, core=True),
    Case("lp p=2 k2", "lp"),
    Case("adaptive avg ->7", "adaptive_avg", (32, 512, 14, 14), arg=7),
    Case("global avg", "global_avg", (32, 2048, 7, 7)),
    Case("adaptive max ->1", "adaptive_max", (32, 256, 13, 13), arg=1),
    Case("adaptive max ->2", "adaptive_max", (32, 256, 13, 13), arg=2),
    Case("adaptive max ->4", "adaptive_max", (32, 256, 13, 13), arg=4),
    Case("spp (1,2,4)", "spp", (32, 256, 13, 13), arg=(1, 2, 4)),
    Case("fractional r0.7", "fractional"),
    Case("max_unpool k2", "unpool"),
    Case("max k3s2 +idx", "max_idx", kernel=3),
    Case("stochastic k3s2", "stochastic", kernel=3),
    Case("stochastic eval k3s2", "stochastic_eval", kernel=3),
    Case("max1d k3s2", "max", (32, 64, 4096), kernel=3),
    Case("max3d k2s2", "max", (8, 32, 32, 56, 56)),
    Case("max k2s2 float64", "max", dtype="float64"),
    Case("max k2s2 uint8", "max", dtype="uint8"),
    Case("max k2s2 (1,16,8,8)", "max", (1, 16, 8, 8)),
]

def _median_time(fn: Callable[[], object], repeats: int) -> float:
    return _interleaved_medians({"fn": fn}, repeats)["fn"]


def _interleaved_medians(fns: dict, repeats: int) -> dict:
    """The median time of each callable, timed in turn within each repeat:
    on a shared machine whose speed drifts over seconds, a slow spell then
    falls on cpool, PyTorch and the copy alike instead of on whichever ran
    during it, and the ratios the benchmark reports stay steady.  A call
    shorter than _BATCH_S is timed in a batch of calls and divided: timed
    alone, right after the others, a 2 us call measured 10 us (the timer,
    and caches the other callables had just evicted)."""
    batched = {}
    for name, fn in fns.items():
        fn()  # warm-up: page faults, lazy init
        t0 = time.perf_counter()
        fn()
        n = int(min(_BATCH_MAX, _BATCH_S / max(time.perf_counter() - t0, 1e-9)))
        batched[name] = (fn, 1) if n <= 1 else (_repeated(fn, n), n)
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, (fn, n) in batched.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) / n)
    return {name: statistics.median(t) for name, t in times.items()}


_BATCH_S, _BATCH_MAX = 2e-3, 10000


def _repeated(fn: Callable[[], object], n: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(n):
            fn()
    return run


# ---- NumPy baselines: sliding windows, what one writes without cpool ---------

def _windows(x, k, s, p, fill, cl):
    axes = (1, 2) if cl else (2, 3)
    pad = [(0, 0)] * 4
    for a in axes:
        pad[a] = (p, p)
    xp = np.pad(x, pad, constant_values=fill) if p else x
    v = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=axes)
    return v[:, ::s, ::s] if cl else v[:, :, ::s, ::s]


def _numpy_max(x, c, cl):
    return _windows(x, c.kernel, c.stride, c.padding, -np.inf, cl).max(axis=(-2, -1))


def _numpy_avg(x, c, cl):
    return _windows(x, c.kernel, c.stride, c.padding, 0, cl).mean(axis=(-2, -1), dtype=x.dtype)


def _numpy_max_bwd(g, idx, x_shape, cl):
    if cl:  # move channels next to batch so each plane is contiguous
        g, idx = np.moveaxis(g, -1, 1), np.moveaxis(idx, -1, 1)
    n, c = g.shape[:2]
    planes = n * c
    plane = x_shape[1] * x_shape[2] if cl else x_shape[2] * x_shape[3]
    gx = np.zeros((planes, plane), g.dtype)
    np.add.at(gx, (np.arange(planes)[:, None], idx.reshape(planes, -1)), g.reshape(planes, -1))
    return gx


def _numpy_avg_bwd(g, x_shape, c, cl):
    k, s, p = c.kernel, c.stride, c.padding
    hw = x_shape[1:3] if cl else x_shape[2:4]
    shape = list(x_shape)
    hi, wi = (1, 2) if cl else (2, 3)
    shape[hi], shape[wi] = hw[0] + 2 * p, hw[1] + 2 * p
    gx = np.zeros(shape, g.dtype)
    scaled = g / g.dtype.type(k * k)
    oh, ow = (g.shape[1], g.shape[2]) if cl else (g.shape[2], g.shape[3])
    for a in range(k):
        for b in range(k):
            sl = [slice(None)] * 4
            sl[hi] = slice(a, a + s * (oh - 1) + 1, s)
            sl[wi] = slice(b, b + s * (ow - 1) + 1, s)
            gx[tuple(sl)] += scaled
    sl = [slice(None)] * 4
    sl[hi], sl[wi] = slice(p, p + hw[0]), slice(p, p + hw[1])
    return gx[tuple(sl)]


# ---- one case ----------------------------------------------------------------

def _torch():
    try:
        import torch
        return torch
    except ImportError:
        return None


class _Runner:
    """Callables for one (case, layout) on one input."""

    def __init__(self, c: Case, x: np.ndarray, cl: bool, torch):
        self.c, self.x, self.cl, self.torch, self.nd = c, x, cl, torch, c.nd
        k, s, p = c.kernel, c.stride, c.padding
        self.kw = dict(kernel_size=k, stride=s, padding=p, channels_last=cl)
        self.fwd = getattr(cpool, f"max_pool{self.nd}d")
        self.y, self.idx = self.fwd(x, k, s, p, return_indices=True, channels_last=cl)
        rng = np.random.default_rng(1)
        self.g = rng.standard_normal(self.y.shape).astype(np.float32 if x.dtype.kind != "f"
                                                          else x.dtype)
        self.xpos = (np.abs(x) + x.dtype.type(0.1)) if x.dtype.kind == "f" else x
        n, ch = (x.shape[0], x.shape[-1]) if cl else x.shape[:2]
        self.samples = rng.random((n, ch, 2)).astype(x.dtype if x.dtype.kind == "f"
                                                     else np.float64)
        self.out = _OPS[c.op][3](self) if len(_OPS[c.op]) > 3 else None
        if torch is not None:
            # a channels-last array seen by torch as NC* with channels-last strides
            self.perm = (0, self.nd + 1) + tuple(range(1, self.nd + 1))
            self.to_t = ((lambda a: torch.from_numpy(a).permute(*self.perm)) if cl
                         else torch.from_numpy)
            self.tx, self.tg, self.tidx = self.to_t(x), self.to_t(self.g), self.to_t(self.idx)
            self.ty, self.txpos = self.to_t(self.y), self.to_t(self.xpos)
            self.tsamples = torch.from_numpy(self.samples)

    def moved_bytes(self) -> int:
        """Input read + output (and indices) written, by the op's own shapes."""
        item = self.x.dtype.itemsize
        y = self.cpool()
        n_in, n_out = self.x.size, y.size
        op = self.c.op
        if op in ("max_bwd", "avg_bwd"):  # reads grad (and indices), writes grad_x
            return (n_in + n_out) * item + (8 * n_out if op == "max_bwd" else 0)
        extra = 8 * n_out if op in ("max_idx", "stochastic", "unpool") else 0
        return (n_in + n_out) * item + extra

    def cpool(self):
        return _OPS[self.c.op][0](self)

    def cpool_out(self):
        """The same call writing into a preallocated result (out=)."""
        return _OPS[self.c.op][0](self, self.out)

    def numpy(self):
        f = _OPS[self.c.op][1]
        return f(self) if f else None

    def has_torch(self):
        return (self.torch is not None and _OPS[self.c.op][2] is not None
                and not (self.c.dtype == "uint8" and self.cl))  # PyTorch fails there

    def torch_fn(self):
        return _OPS[self.c.op][2](self)

    def torch_numpy(self):
        r = self.torch_fn()
        r = r[0] if isinstance(r, tuple) else r
        if r.ndim == self.nd + 2 and self.cl:
            r = r.permute(0, *range(2, self.nd + 2), 1)
        return r.contiguous().numpy()

    def check(self):
        """cpool must agree with PyTorch before anything is timed."""
        mine = self.cpool()
        if self.has_torch():
            theirs = self.torch_numpy()
            if self.c.op in ("max", "max_idx", "max_bwd", "adaptive_max", "fractional",
                             "unpool"):
                np.testing.assert_array_equal(mine, theirs)
            else:
                np.testing.assert_allclose(mine, np.reshape(theirs, mine.shape), rtol=1e-5,
                                           atol=1e-5)


def _t(r, name):
    return getattr(r.torch.nn.functional, name)


def _tk(r):
    c = r.c
    return dict(kernel_size=c.kernel, stride=c.stride, padding=c.padding)


def _f(r, name):
    return getattr(cpool, f"{name}{r.nd}d")


def _empty_like_result(r):
    return np.empty_like(r.cpool())


# op: (cpool(r, out=None), numpy baseline or None, torch or None[, out maker])
_OPS = {
    "max": (lambda r, out=None: r.fwd(r.x, **r.kw, out=out),
            lambda r: _numpy_max(r.x, r.c, r.cl) if r.nd == 2 else None,
            lambda r: _t(r, f"max_pool{r.nd}d")(r.tx, **_tk(r)), _empty_like_result),
    "max_idx": (lambda r, out=None: r.fwd(r.x, return_indices=True, **r.kw, out=out)[0],
                lambda r: _numpy_max(r.x, r.c, r.cl),
                lambda r: _t(r, f"max_pool{r.nd}d")(r.tx, **_tk(r), return_indices=True)[0],
                _empty_like_result),
    "max_bwd": (lambda r, out=None: cpool.max_pool2d_backward(r.g, r.idx, r.x.shape,
                                                              channels_last=r.cl),
                lambda r: _numpy_max_bwd(r.g, r.idx, r.x.shape, r.cl),
                lambda r: r.torch.ops.aten.max_pool2d_with_indices_backward(
                    r.tg, r.tx, [r.c.kernel] * 2, [r.c.stride] * 2, [r.c.padding] * 2, [1, 1],
                    False, r.tidx)),
    "avg": (lambda r, out=None: cpool.avg_pool2d(r.x, **r.kw, out=out),
            lambda r: _numpy_avg(r.x, r.c, r.cl),
            lambda r: _t(r, "avg_pool2d")(r.tx, **_tk(r)), _empty_like_result),
    "avg_bwd": (lambda r, out=None: cpool.avg_pool2d_backward(r.g, r.x.shape, **r.kw),
                lambda r: _numpy_avg_bwd(r.g, r.x.shape, r.c, r.cl),
                lambda r: r.torch.ops.aten.avg_pool2d_backward(
                    r.tg, r.tx, [r.c.kernel] * 2, [r.c.stride] * 2, [r.c.padding] * 2, False,
                    True, None)),
    "lp": (lambda r, out=None: cpool.lp_pool2d(r.xpos, 2, r.c.kernel, channels_last=r.cl,
                                               out=out),
           lambda r: np.sqrt(_numpy_avg(r.xpos * r.xpos, r.c, r.cl) * 4),
           lambda r: _t(r, "lp_pool2d")(r.txpos, 2, r.c.kernel), _empty_like_result),
    "adaptive_avg": (lambda r, out=None: cpool.adaptive_avg_pool2d(r.x, r.c.arg,
                                                                   channels_last=r.cl, out=out),
                     lambda r: _numpy_block_reduce(r.x, r.c.arg, r.cl, np.mean),
                     lambda r: _t(r, "adaptive_avg_pool2d")(r.tx, r.c.arg),
                     _empty_like_result),
    "adaptive_max": (lambda r, out=None: cpool.adaptive_max_pool2d(r.x, r.c.arg,
                                                                   channels_last=r.cl, out=out),
                     None, lambda r: _t(r, "adaptive_max_pool2d")(r.tx, r.c.arg),
                     _empty_like_result),
    "global_avg": (lambda r, out=None: cpool.global_avg_pool(r.x, channels_last=r.cl),
                   lambda r: r.x.mean(axis=(1, 2) if r.cl else (2, 3)),
                   lambda r: _t(r, "adaptive_avg_pool2d")(r.tx, 1).flatten(1)),
    # what a PyTorch user writes for SPP: one adaptive pool per level, concatenated
    "spp": (lambda r, out=None: cpool.spatial_pyramid_pool(r.x, r.c.arg, channels_last=r.cl),
            None,
            lambda r: r.torch.cat([_t(r, "adaptive_max_pool2d")(r.tx, l).flatten(1)
                                   for l in r.c.arg], 1)),
    "fractional": (lambda r, out=None: cpool.fractional_max_pool2d(
                       r.x, 2, output_ratio=0.7, random_samples=r.samples, channels_last=r.cl),
                   None,
                   lambda r: _t(r, "fractional_max_pool2d")(
                       r.tx, 2, output_ratio=(0.7, 0.7), _random_samples=r.tsamples)),
    "stochastic": (lambda r, out=None: cpool.stochastic_pool2d(r.xpos, **r.kw, seed=7,
                                                               return_indices=True,
                                                               out=out)[0], None, None,
                   _empty_like_result),
    "stochastic_eval": (lambda r, out=None: cpool.stochastic_pool2d(r.xpos, **r.kw,
                                                                    training=False, out=out),
                        lambda r: (_windows(r.xpos * r.xpos, r.c.kernel, r.c.stride, 0, 0,
                                            r.cl).sum(axis=(-2, -1))
                                   / _windows(r.xpos, r.c.kernel, r.c.stride, 0, 0, r.cl)
                                   .sum(axis=(-2, -1))), None, _empty_like_result),
    "unpool": (lambda r, out=None: cpool.max_unpool2d(r.y, r.idx, 2, channels_last=r.cl),
               lambda r: _numpy_unpool(r.y, r.idx, r.x.shape, r.cl),
               lambda r: _t(r, "max_unpool2d")(r.ty, r.tidx, 2)),
}


def _numpy_block_reduce(x, n, cl, reduce):
    """Adaptive pooling where n divides the extent: a reshape and a reduction."""
    if cl:
        N, H, W, C = x.shape
        return reduce(x.reshape(N, n, H // n, n, W // n, C), axis=(2, 4))
    N, C, H, W = x.shape
    return reduce(x.reshape(N, C, n, H // n, n, W // n), axis=(3, 5))


def _numpy_unpool(y, idx, x_shape, cl):
    if cl:
        y, idx = np.moveaxis(y, -1, 1), np.moveaxis(idx, -1, 1)
    n, c = y.shape[:2]
    hw = x_shape[1:3] if cl else x_shape[2:4]
    out = np.zeros((n * c, hw[0] * hw[1]), y.dtype)
    np.put_along_axis(out, idx.reshape(n * c, -1), y.reshape(n * c, -1), axis=1)
    out = out.reshape(n, c, *hw)
    return np.moveaxis(out, 1, -1) if cl else out


def _copy_fn(nbytes: int) -> Callable[[], object]:
    """np.copyto moving nbytes in total (half read, half written)."""
    src = np.ones(nbytes // 2 // 4, np.float32)
    dst = np.empty_like(src)
    return lambda: np.copyto(dst, src)


def _input(c: Case, quick: bool) -> np.ndarray:
    rng = np.random.default_rng(0)
    shape = c.sized(quick)
    if c.dtype == "uint8":
        return rng.integers(0, 256, size=shape, dtype=np.uint8)
    return rng.standard_normal(shape).astype(c.dtype)


def run(threads, repeats, quick=True, with_numpy=True, with_torch=True, cases=CASES, log=print):
    torch = _torch() if with_torch else None
    rows = []
    for c in cases:
        x_cf = _input(c, quick)
        x_cl = np.ascontiguousarray(np.moveaxis(x_cf, 1, -1))
        for cl, x in ((False, x_cf), (True, x_cl)):
            r = _Runner(c, x, cl, torch)
            r.check()
            nbytes = r.moved_bytes()
            t_np = (_median_time(r.numpy, max(1, repeats // 3))
                    if with_numpy and _OPS[c.op][1] and r.numpy() is not None else None)
            copy = _copy_fn(nbytes)
            for nt in threads:
                fns = {"cpool": r.cpool, "copy": copy}
                if r.out is not None:
                    fns["out"] = r.cpool_out
                if r.has_torch():
                    fns["torch"] = r.torch_fn
                old = torch.get_num_threads() if torch is not None else None
                try:
                    if torch is not None:
                        torch.set_num_threads(nt)
                    with cpool.num_threads(nt):
                        t = _interleaved_medians(fns, repeats)
                finally:
                    if torch is not None:
                        torch.set_num_threads(old)
                t_cp, t_copy, t_out, t_t = (t["cpool"], t["copy"], t.get("out"),
                                            t.get("torch"))
                row = dict(case=c.name, layout="NHWC" if cl else "NCHW", threads=nt,
                           shape=list(x.shape), dtype=c.dtype, cpool_ms=t_cp * 1e3,
                           out_ms=t_out * 1e3 if t_out else None,
                           numpy_ms=t_np * 1e3 if t_np else None,
                           torch_ms=t_t * 1e3 if t_t else None,
                           vs_numpy=t_np / t_cp if t_np else None,
                           vs_torch=t_t / t_cp if t_t else None,
                           gbps=nbytes / t_cp / 1e9, copy_pct=100 * t_copy / t_cp)
                rows.append(row)
                log(_format_row(row))
    return rows


HEADER = (f"{'case':<21} {'layout':<6} {'thr':>3} {'cpool ms':>9} {'out= ms':>8} {'numpy ms':>9} "
          f"{'torch ms':>9} {'x numpy':>8} {'x torch':>8} {'GB/s':>6} {'% copy':>7}")


def _fmt(v, spec):
    return format(v, spec) if v is not None else format("-", spec.split(".")[0].rstrip("f") + "s")


def _format_row(r):
    return (f"{r['case']:<21} {r['layout']:<6} {r['threads']:>3} {r['cpool_ms']:>9.2f} "
            f"{_fmt(r['out_ms'], '>8.2f')} "
            f"{_fmt(r['numpy_ms'], '>9.2f')} {_fmt(r['torch_ms'], '>9.2f')} "
            f"{_fmt(r['vs_numpy'], '>8.1f')} {_fmt(r['vs_torch'], '>8.2f')} "
            f"{r['gbps']:>6.1f} {r['copy_pct']:>6.0f}%")


def _print_ratio(rows, name, base):
    """The stochastic pooling budget: its training pass against max pooling
    with indices on the same input, per layout and thread count."""
    times = {(r["case"], r["layout"], r["threads"]): r["cpool_ms"] for r in rows}
    parts = [f"{lay} {thr}T {times[(name, lay, thr)] / times[(base, lay, thr)]:.2f}x"
             for (case, lay, thr) in times if case == name and (base, lay, thr) in times]
    if parts:
        print(f"{name} (training, with indices) / {base}: " + ", ".join(parts))


def stochastic_budget(threads, repeats, quick=True, cases=CASES):
    """Issue #4's budget measured against drift: per layout and thread count,
    the median over `repeats` back-to-back pairs of (stochastic training pass
    with indices) / (max pooling with indices), plain calls on the same
    non-negative input.  Timing the two alternately keeps the shared
    machine's drift, which moves either case's median by 30% between runs,
    out of the ratio.  {} when the stochastic case is not selected."""
    c = next((c for c in cases if c.op == "stochastic"), None)
    if c is None:
        return {}
    x_cf = np.abs(_input(c, quick)) + np.float32(0.1)
    win = dict(kernel_size=c.kernel, stride=c.stride, padding=c.padding)
    out = {}
    for cl, x in ((False, x_cf), (True, np.ascontiguousarray(np.moveaxis(x_cf, 1, -1)))):
        def stochastic():
            cpool.stochastic_pool2d(x, **win, seed=7, return_indices=True, channels_last=cl)

        def max_idx():
            cpool.max_pool2d(x, **win, return_indices=True, channels_last=cl)

        for nt in threads:
            ratios = []
            with cpool.num_threads(nt):
                stochastic()
                max_idx()
                for _ in range(max(repeats, 3)):
                    t0 = time.perf_counter()
                    stochastic()
                    t1 = time.perf_counter()
                    max_idx()
                    ratios.append((t1 - t0) / (time.perf_counter() - t1))
            out[f"{'NHWC' if cl else 'NCHW'} {nt}T"] = statistics.median(ratios)
    return out


def _threads_arg(text: str):
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads takes a comma-separated list of ints, "
                                         f"got {text!r}")
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"--threads values must be >= 1, got {text!r}")
    return vals


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m cpool bench",
        description="Time cpool against a vectorised NumPy baseline and PyTorch CPU (when "
                    "installed) on one table of cases, each in both layouts, with bandwidth "
                    "against np.copyto in the same run. Results are checked against PyTorch "
                    "before timing.")
    p.add_argument("--quick", action="store_true",
                   help="each case's batch divided by 4 and fewer repeats (well under a "
                        "minute for the core cases); the default is the full sizes, e.g. "
                        "(32, 64, 112, 112)")
    p.add_argument("--core", action="store_true",
                   help="only the max/avg forward and backward cases (python -m cpool runs "
                        "these with --quick)")
    p.add_argument("--threads", type=_threads_arg, default=None,
                   help="comma-separated thread counts, e.g. 1,2 (default: 1 and all cores)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed calls per measurement; the median is reported (default 7, "
                        "quick 5)")
    p.add_argument("--no-numpy", action="store_true", help="skip the NumPy baseline")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    p.add_argument("--cases", default=None,
                   help="comma-separated substrings; run only the cases whose name holds one "
                        f"(cases: {', '.join(c.name for c in CASES)})")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    p.add_argument("--plot", metavar="FILE",
                   help="also draw the PyTorch ratios as a bar chart (PNG; needs matplotlib)")
    return p


def plot(rows, path, title):
    """Bar chart of PyTorch time / cpool time per case, layout and thread count."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r["vs_torch"]]
    labels = sorted({r["case"] for r in rows}, key=[c.name for c in CASES].index)
    series = sorted({(r["layout"], r["threads"]) for r in rows})
    fig, ax = plt.subplots(figsize=(11, 0.32 * len(labels) * len(series) / 2 + 1.5), dpi=110)
    height = 0.8 / len(series)
    for k, (lay, thr) in enumerate(series):
        vals = {r["case"]: r["vs_torch"] for r in rows
                if r["layout"] == lay and r["threads"] == thr}
        ys = [i + k * height for i in range(len(labels))]
        ax.barh(ys, [vals.get(lab, 0) for lab in labels], height, label=f"{lay}, {thr} thread"
                + ("s" if thr > 1 else ""))
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(labels))], labels)
    ax.invert_yaxis()
    ax.set_xlabel("PyTorch time / cpool time (log scale; right of 1 = cpool faster)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path)


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    repeats = args.repeats or (5 if args.quick else 7)
    ncpu = os.cpu_count() or 1
    threads = args.threads or sorted({1, cpool.get_num_threads(), ncpu})
    torch = None if args.no_torch else _torch()
    cases = [c for c in CASES if c.core] if args.core else CASES
    if args.cases:
        keys = [k.strip() for k in args.cases.split(",") if k.strip()]
        cases = [c for c in cases if any(k in c.name for k in keys)]
    machine = f"{platform.machine()}, {ncpu} cores"
    print(f"{'quick' if args.quick else 'full'} sizes (batch / 4 when quick), each case in "
          f"NCHW and its NHWC transpose; median of {repeats}; threads {threads}")
    print(f"PyTorch: {torch.__version__ if torch else 'not installed (pip install torch)'}; "
          f"NumPy {np.__version__}; {machine}")
    print("x numpy / x torch: their time / cpool's time (higher is better). out=: cpool "
          "writing into a preallocated result. % copy: np.copyto of the same bytes / "
          "cpool's time.")
    print(HEADER)
    rows = run(threads, repeats, quick=args.quick, with_numpy=not args.no_numpy,
               with_torch=torch is not None, cases=cases)
    _print_ratio(rows, "stochastic k3s2", "max k3s2 +idx")
    budget = stochastic_budget(threads, repeats, quick=args.quick, cases=cases)
    if budget:
        print("stochastic k3s2 (training, with indices) / max k3s2 +idx, timed alternately "
              "(median of per-pair ratios): " +
              ", ".join(f"{k} {v:.2f}x" for k, v in budget.items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"build": cpool.build_info(), "numpy": np.__version__,
                       "torch": torch.__version__ if torch else None,
                       "python": sys.version, "machine": machine, "quick": args.quick,
                       "repeats": repeats, "rows": rows, "stochastic_budget": budget}, f,
                      indent=1)
        print(f"wrote {args.json}")
    if args.plot:
        plot(rows, args.plot, f"cpool {cpool.__version__} vs PyTorch "
             f"{torch.__version__ if torch else '-'}, float32 unless named, "
             f"{'quick' if args.quick else 'full'} sizes; {machine}")
        print(f"wrote {args.plot}")
    return 0
