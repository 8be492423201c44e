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
    kernel: int = 2
    stride: int = 2
    padding: int = 0


CASES = [
    Case("max k2s2", "max", 2, 2, 0),
    Case("max k3s2p1", "max", 3, 2, 1),
    Case("max k3s2p1 +idx", "max_idx", 3, 2, 1),
    Case("max bwd k3s2p1", "max_bwd", 3, 2, 1),
    Case("avg k2s2", "avg", 2, 2, 0),
    Case("avg k3s2p1", "avg", 3, 2, 1),
    Case("avg bwd k3s2p1", "avg_bwd", 3, 2, 1),
    Case("lp p=2 k2", "lp", 2, 2, 0),
    Case("adaptive avg ->7", "adaptive_avg"),
    Case("adaptive max ->7", "adaptive_max"),
    Case("global avg", "global_avg"),
    Case("fractional r0.7", "fractional"),
    Case("max_unpool k2", "unpool"),
    Case("max k3s2 +idx", "max_idx", 3, 2, 0),
    Case("stochastic k3s2", "stochastic", 3, 2, 0),
    Case("stochastic eval k3s2", "stochastic_eval", 3, 2, 0),
]

def _median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: page faults, lazy init
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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
        self.c, self.x, self.cl, self.torch = c, x, cl, torch
        k, s, p = c.kernel, c.stride, c.padding
        self.kw = dict(kernel_size=k, stride=s, padding=p, channels_last=cl)
        self.y, self.idx = cpool.max_pool2d(x, k, s, p, return_indices=True, channels_last=cl)
        rng = np.random.default_rng(1)
        self.g = rng.standard_normal(self.y.shape).astype(x.dtype)
        self.xpos = np.abs(x) + x.dtype.type(0.1)   # Lp of a positive input: no NaN
        n, ch = (x.shape[0], x.shape[-1]) if cl else x.shape[:2]
        self.samples = rng.random((n, ch, 2)).astype(x.dtype)
        self.tx = self.tg = self.tidx = None
        if torch is not None:
            self.to_t = ((lambda a: torch.from_numpy(a).permute(0, 3, 1, 2)) if cl
                         else torch.from_numpy)
            self.tx, self.tg, self.tidx = self.to_t(x), self.to_t(self.g), self.to_t(self.idx)
            self.ty, self.txpos = self.to_t(self.y), self.to_t(self.xpos)
            self.tsamples = torch.from_numpy(self.samples)

    def moved_bytes(self) -> int:
        item = self.x.dtype.itemsize
        n_in, n_out = self.x.size, self.y.size
        op = self.c.op
        if op in ("adaptive_avg", "adaptive_max"):
            n_out = n_in // 256
        elif op == "global_avg":
            n_out = n_in // (self.x.shape[2] * self.x.shape[3 if not self.cl else 1])
        elif op == "fractional":
            n_out = int(n_in * 0.49)
        extra = {"max_idx": 8 * n_out, "max_bwd": 8 * n_out, "unpool": 8 * n_out,
                 "adaptive_max": 8 * n_out, "stochastic": 8 * n_out}.get(op, 0)
        return (n_in + n_out) * item + extra

    # each op: (cpool, numpy baseline or None, torch or None)
    def cpool(self):
        return _OPS[self.c.op][0](self)

    def numpy(self):
        f = _OPS[self.c.op][1]
        return f(self) if f else None

    def has_torch(self):
        return self.torch is not None and _OPS[self.c.op][2] is not None

    def torch_fn(self):
        return _OPS[self.c.op][2](self)

    def torch_numpy(self):
        r = self.torch_fn()
        r = r[0] if isinstance(r, tuple) else r
        if r.ndim == 4 and self.cl:
            r = r.permute(0, 2, 3, 1)
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
                np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def _t_pool_args(r):
    c = r.c
    return [c.kernel] * 2, [c.stride] * 2, [c.padding] * 2


_OPS = {
    "max": (lambda r: cpool.max_pool2d(r.x, **r.kw),
            lambda r: _numpy_max(r.x, r.c, r.cl),
            # PyTorch's max_pool2d computes indices either way (its no-index
            # path is 1d only)
            lambda r: r.torch.ops.aten.max_pool2d_with_indices(r.tx, *_t_pool_args(r), [1, 1],
                                                               False)[0]),
    "max_idx": (lambda r: cpool.max_pool2d(r.x, return_indices=True, **r.kw)[0],
                lambda r: _numpy_max(r.x, r.c, r.cl),
                lambda r: r.torch.ops.aten.max_pool2d_with_indices(r.tx, *_t_pool_args(r),
                                                                   [1, 1], False)[0]),
    "max_bwd": (lambda r: cpool.max_pool2d_backward(r.g, r.idx, r.x.shape, channels_last=r.cl),
                lambda r: _numpy_max_bwd(r.g, r.idx, r.x.shape, r.cl),
                lambda r: r.torch.ops.aten.max_pool2d_with_indices_backward(
                    r.tg, r.tx, *_t_pool_args(r), [1, 1], False, r.tidx)),
    "avg": (lambda r: cpool.avg_pool2d(r.x, **r.kw),
            lambda r: _numpy_avg(r.x, r.c, r.cl),
            lambda r: r.torch.ops.aten.avg_pool2d(r.tx, *_t_pool_args(r), False, True, None)),
    "avg_bwd": (lambda r: cpool.avg_pool2d_backward(r.g, r.x.shape, **r.kw),
                lambda r: _numpy_avg_bwd(r.g, r.x.shape, r.c, r.cl),
                lambda r: r.torch.ops.aten.avg_pool2d_backward(r.tg, r.tx, *_t_pool_args(r),
                                                               False, True, None)),
    "lp": (lambda r: cpool.lp_pool2d(r.xpos, 2, r.c.kernel, channels_last=r.cl),
           lambda r: np.sqrt(_numpy_avg(r.xpos * r.xpos, r.c, r.cl) * 4),
           lambda r: r.torch.nn.functional.lp_pool2d(r.txpos, 2, r.c.kernel)),
    "adaptive_avg": (lambda r: cpool.adaptive_avg_pool2d(r.x, 7, channels_last=r.cl),
                     lambda r: _numpy_block_reduce(r.x, 7, r.cl, np.mean),
                     lambda r: r.torch.nn.functional.adaptive_avg_pool2d(r.tx, 7)),
    "adaptive_max": (lambda r: cpool.adaptive_max_pool2d(r.x, 7, channels_last=r.cl),
                     lambda r: _numpy_block_reduce(r.x, 7, r.cl, np.max),
                     lambda r: r.torch.nn.functional.adaptive_max_pool2d(r.tx, 7)),
    "global_avg": (lambda r: cpool.global_avg_pool(r.x, channels_last=r.cl),
                   lambda r: r.x.mean(axis=(1, 2) if r.cl else (2, 3)),
                   lambda r: r.torch.nn.functional.adaptive_avg_pool2d(r.tx, 1).flatten(1)),
    "fractional": (lambda r: cpool.fractional_max_pool2d(r.x, 2, output_ratio=0.7,
                                                         random_samples=r.samples,
                                                         channels_last=r.cl),
                   None,
                   lambda r: r.torch.nn.functional.fractional_max_pool2d(
                       r.tx, 2, output_ratio=(0.7, 0.7), _random_samples=r.tsamples)),
    "stochastic": (lambda r: cpool.stochastic_pool2d(r.xpos, **r.kw, seed=7,
                                                     return_indices=True)[0], None, None),
    "stochastic_eval": (lambda r: cpool.stochastic_pool2d(r.xpos, **r.kw, training=False),
                        lambda r: (_windows(r.xpos * r.xpos, r.c.kernel, r.c.stride, 0, 0, r.cl)
                                   .sum(axis=(-2, -1))
                                   / _windows(r.xpos, r.c.kernel, r.c.stride, 0, 0, r.cl)
                                   .sum(axis=(-2, -1))), None),
    "unpool": (lambda r: cpool.max_unpool2d(r.y, r.idx, 2, channels_last=r.cl),
               lambda r: _numpy_unpool(r.y, r.idx, r.x.shape, r.cl),
               lambda r: r.torch.nn.functional.max_unpool2d(r.ty, r.tidx, 2)),
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


def _copy_time(nbytes: int, repeats: int) -> float:
    """np.copyto moving nbytes in total (half read, half written)."""
    src = np.ones(nbytes // 2 // 4, np.float32)
    dst = np.empty_like(src)
    return _median_time(lambda: np.copyto(dst, src), repeats)


def run(shape, threads, repeats, with_numpy=True, with_torch=True, cases=CASES, log=print):
    torch = _torch() if with_torch else None
    rng = np.random.default_rng(0)
    x_cf = rng.standard_normal(shape).astype(np.float32)
    x_cl = np.ascontiguousarray(np.moveaxis(x_cf, 1, -1))
    rows = []
    for c in cases:
        for cl, x in ((False, x_cf), (True, x_cl)):
            r = _Runner(c, x, cl, torch)
            r.check()
            nbytes = r.moved_bytes()
            t_np = (_median_time(r.numpy, max(1, repeats // 3))
                    if with_numpy and _OPS[c.op][1] else None)
            for nt in threads:
                with cpool.num_threads(nt):
                    t_cp = _median_time(r.cpool, repeats)
                t_copy = _copy_time(nbytes, repeats)
                t_t = None
                if r.has_torch():
                    old = torch.get_num_threads()
                    torch.set_num_threads(nt)
                    t_t = _median_time(r.torch_fn, repeats)
                    torch.set_num_threads(old)
                row = dict(case=c.name, layout="NHWC" if cl else "NCHW", threads=nt,
                           shape=list(x.shape), cpool_ms=t_cp * 1e3,
                           numpy_ms=t_np * 1e3 if t_np else None,
                           torch_ms=t_t * 1e3 if t_t else None,
                           vs_numpy=t_np / t_cp if t_np else None,
                           vs_torch=t_t / t_cp if t_t else None,
                           gbps=nbytes / t_cp / 1e9, copy_pct=100 * t_copy / t_cp)
                rows.append(row)
                log(_format_row(row))
    return rows


HEADER = (f"{'case':<21} {'layout':<6} {'thr':>3} {'cpool ms':>9} {'numpy ms':>9} "
          f"{'torch ms':>9} {'x numpy':>8} {'x torch':>8} {'GB/s':>6} {'% copy':>7}")


def _fmt(v, spec):
    return format(v, spec) if v is not None else format("-", spec.split(".")[0].rstrip("f") + "s")


def _format_row(r):
    return (f"{r['case']:<21} {r['layout']:<6} {r['threads']:>3} {r['cpool_ms']:>9.2f} "
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
        description="Time cpool's max and average pooling (forward and backward, both "
                    "layouts, float32) against a vectorised NumPy baseline and PyTorch CPU "
                    "(when installed), with bandwidth against np.copyto in the same run.")
    p.add_argument("--quick", action="store_true",
                   help="small workload (8, 64, 112, 112) and fewer repeats: well under a "
                        "minute; the default workload is (32, 64, 112, 112)")
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
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    shape = (8, 64, 112, 112) if args.quick else (32, 64, 112, 112)
    repeats = args.repeats or (5 if args.quick else 7)
    ncpu = os.cpu_count() or 1
    threads = args.threads or sorted({1, cpool.get_num_threads(), ncpu})
    torch = None if args.no_torch else _torch()
    print(f"workload float32 {shape} (NCHW) and its NHWC transpose; median of {repeats}; "
          f"threads {threads}")
    print(f"PyTorch: {torch.__version__ if torch else 'not installed (pip install torch)'}; "
          f"NumPy {np.__version__}; {platform.machine()}, {ncpu} cores")
    print("x numpy / x torch: their time / cpool's time (higher is better). "
          "% copy: np.copyto of the same bytes / cpool's time.")
    print(HEADER)
    cases = CASES
    if args.cases:
        keys = [k.strip() for k in args.cases.split(",") if k.strip()]
        cases = [c for c in CASES if any(k in c.name for k in keys)]
    rows = run(shape, threads, repeats, with_numpy=not args.no_numpy,
               with_torch=torch is not None, cases=cases)
    _print_ratio(rows, "stochastic k3s2", "max k3s2 +idx")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"build": cpool.build_info(), "numpy": np.__version__,
                       "torch": torch.__version__ if torch else None,
                       "python": sys.version, "machine": platform.machine(), "cpus": ncpu,
                       "shape": shape, "repeats": repeats, "rows": rows}, f, indent=1)
        print(f"wrote {args.json}")
    return 0
