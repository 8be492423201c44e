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
    op: str          # "max", "max_idx", "max_bwd", "avg", "avg_bwd"
    kernel: int
    stride: int
    padding: int


CASES = [
    Case("max k2s2", "max", 2, 2, 0),
    Case("max k3s2p1", "max", 3, 2, 1),
    Case("max k3s2p1 +idx", "max_idx", 3, 2, 1),
    Case("max bwd k3s2p1", "max_bwd", 3, 2, 1),
    Case("avg k2s2", "avg", 2, 2, 0),
    Case("avg k3s2p1", "avg", 3, 2, 1),
    Case("avg bwd k3s2p1", "avg_bwd", 3, 2, 1),
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
        y, self.idx = cpool.max_pool2d(x, k, s, p, return_indices=True, channels_last=cl)
        self.y_shape = y.shape
        rng = np.random.default_rng(1)
        self.g = rng.standard_normal(y.shape).astype(x.dtype)
        self.tx = self.tg = self.tidx = None
        if torch is not None:
            to_nchw = (lambda a: torch.from_numpy(a).permute(0, 3, 1, 2)) if cl else torch.from_numpy
            self.tx, self.tg, self.tidx = to_nchw(x), to_nchw(self.g), to_nchw(self.idx)

    def moved_bytes(self) -> int:
        item = self.x.dtype.itemsize
        n_in, n_out = self.x.size, int(np.prod(self.y_shape))
        op = self.c.op
        if op == "max_idx":
            return n_in * item + n_out * (item + 8)
        if op == "max_bwd":
            return n_out * (item + 8) + n_in * item
        if op == "avg_bwd":
            return n_out * item + n_in * item
        return n_in * item + n_out * item

    def cpool(self):
        c, kw = self.c, self.kw
        if c.op == "max":
            return cpool.max_pool2d(self.x, **kw)
        if c.op == "max_idx":
            return cpool.max_pool2d(self.x, return_indices=True, **kw)[0]
        if c.op == "max_bwd":
            return cpool.max_pool2d_backward(self.g, self.idx, self.x.shape, channels_last=self.cl)
        if c.op == "avg":
            return cpool.avg_pool2d(self.x, **kw)
        return cpool.avg_pool2d_backward(self.g, self.x.shape, **kw)

    def numpy(self):
        c, cl = self.c, self.cl
        if c.op in ("max", "max_idx"):
            return _numpy_max(self.x, c, cl)
        if c.op == "max_bwd":
            return _numpy_max_bwd(self.g, self.idx, self.x.shape, cl)
        if c.op == "avg":
            return _numpy_avg(self.x, c, cl)
        return _numpy_avg_bwd(self.g, self.x.shape, c, cl)

    def torch_fn(self):
        t, c = self.torch, self.c
        k, s, p = [c.kernel] * 2, [c.stride] * 2, [c.padding] * 2
        if c.op in ("max", "max_idx"):
            # PyTorch's max_pool2d computes indices either way (its no-index
            # path is 1d only).
            return t.ops.aten.max_pool2d_with_indices(self.tx, k, s, p, [1, 1], False)[0]
        if c.op == "max_bwd":
            return t.ops.aten.max_pool2d_with_indices_backward(
                self.tg, self.tx, k, s, p, [1, 1], False, self.tidx)
        if c.op == "avg":
            return t.ops.aten.avg_pool2d(self.tx, k, s, p, False, True, None)
        return t.ops.aten.avg_pool2d_backward(self.tg, self.tx, k, s, p, False, True, None)

    def torch_numpy(self):
        r = self.torch_fn()
        return (r.permute(0, 2, 3, 1) if self.cl else r).numpy()

    def check(self):
        """cpool must agree with PyTorch before anything is timed."""
        mine = self.cpool()
        if self.torch is not None:
            theirs = self.torch_numpy()
            if self.c.op.startswith("max"):
                np.testing.assert_array_equal(mine, theirs)
            else:
                np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
        elif self.c.op != "max_bwd":
            np.testing.assert_allclose(mine, np.reshape(self.numpy(), mine.shape), rtol=1e-5,
                                       atol=1e-6)


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
            t_np = _median_time(r.numpy, max(1, repeats // 3)) if with_numpy else None
            for nt in threads:
                with cpool.num_threads(nt):
                    t_cp = _median_time(r.cpool, repeats)
                t_copy = _copy_time(nbytes, repeats)
                t_t = None
                if torch is not None:
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


HEADER = (f"{'case':<17} {'layout':<6} {'thr':>3} {'cpool ms':>9} {'numpy ms':>9} "
          f"{'torch ms':>9} {'x numpy':>8} {'x torch':>8} {'GB/s':>6} {'% copy':>7}")


def _fmt(v, spec):
    return format(v, spec) if v is not None else format("-", spec.split(".")[0].rstrip("f") + "s")


def _format_row(r):
    return (f"{r['case']:<17} {r['layout']:<6} {r['threads']:>3} {r['cpool_ms']:>9.2f} "
            f"{_fmt(r['numpy_ms'], '>9.2f')} {_fmt(r['torch_ms'], '>9.2f')} "
            f"{_fmt(r['vs_numpy'], '>8.1f')} {_fmt(r['vs_torch'], '>8.2f')} "
            f"{r['gbps']:>6.1f} {r['copy_pct']:>6.0f}%")


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
    rows = run(shape, threads, repeats, with_numpy=not args.no_numpy,
               with_torch=torch is not None)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"build": cpool.build_info(), "numpy": np.__version__,
                       "torch": torch.__version__ if torch else None,
                       "python": sys.version, "machine": platform.machine(), "cpus": ncpu,
                       "shape": shape, "repeats": repeats, "rows": rows}, f, indent=1)
        print(f"wrote {args.json}")
    return 0
