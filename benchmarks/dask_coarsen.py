"""cpool.dask against dask.array.coarsen, and cpool.dask from 1 to 2 workers.

``dask.array.coarsen`` is dask's own block reduction: non-overlapping
windows only, which is max and mean pooling with kernel = stride.  On a
stack larger than one chunk (by default (64, 64, 256, 256) float32, 1 GiB,
chunked by batch) this times max and mean k2s2 both ways on the threaded
scheduler, then cpool.dask and coarsen on a distributed LocalCluster of 1
and of 2 worker processes (1 thread each) on loopback.  Every task runs
single-threaded (cpool.set_num_threads(1), in the workers too), so the
parallelism is dask's alone.  The results are checked first: max must be
identical; coarsen's np.mean sums in another order than PyTorch's (and
cpool's) window sum, so the means may differ in the last bits and are
compared with a tolerance.  Each timing is the median of --repeats runs
of ``persist`` (the result stays in memory, chunked, as it would feed a
later step), after a warm-up; --json keeps every run.  From a source
checkout::

    python benchmarks/dask_coarsen.py [--json FILE]
    python -m benchmarks.dask_coarsen [--shape 64,64,256,256 --chunk 8]
"""
from __future__ import annotations

import os
import sys

if __package__:
    # `python -m` from a checkout puts it first on sys.path, and its cpool/
    # has no compiled core unless built in place: look in the installed
    # packages first (the checkout stays last, for `benchmarks` itself;
    # spawned worker processes inherit this order).
    _root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _root] + [_root]

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import dask  # noqa: E402
import dask.array as da  # noqa: E402
from dask.graph_manipulation import clone as _clone  # noqa: E402

import cpool  # noqa: E402
import cpool.dask as cd  # noqa: E402


def _times(run, arrays: tuple, omit, repeats: int) -> list:
    """Seconds of run(a), `repeats` times, each over fresh copies a of the
    tuple `arrays` (new keys, except omit's: a cluster would otherwise hand
    back the blocks it still holds from the previous run), after a warm-up."""
    times = []
    for i in range(repeats + 1):  # the first is the warm-up: page faults, worker imports
        fresh = _clone(*arrays, omit=omit, seed=i)
        t0 = time.perf_counter()
        run(fresh)
        times.append(time.perf_counter() - t0)
        del fresh
    return times[1:]


def _median(times):
    return None if times is None else statistics.median(times)


def ops(x):
    """name -> (cpool.dask result, coarsen result) on x (N, C, H, W)."""
    return {
        "max k2s2": (cd.max_pool2d(x, 2), da.coarsen(np.max, x, {2: 2, 3: 2})),
        "mean k2s2": (cd.avg_pool2d(x, 2), da.coarsen(np.mean, x, {2: 2, 3: 2})),
    }


HALO = "max k3s2p1 +idx"


def halo_op(x):
    """Overlapping windows, which coarsen cannot do, on x also split in 2 x 2
    along H and W so that blocks exchange halos: (y, indices)."""
    return cd.max_pool2d(x, 3, 2, 1, return_indices=True)


def halo_input(x):
    return x.rechunk(x.chunks[:2] + tuple(-(-n // 2) for n in x.shape[2:]))


def check(x) -> dict:
    """Computes both results once.  Max must be identical.  A mean of 4
    float32 values summed in two orders differs by at most a few eps times
    the window's mean |x| (not times the mean itself, which cancellation can
    make tiny): the differences are reported in that unit."""
    out = {}
    scale = cd.avg_pool2d(abs(x), 2)
    for name, (mine, theirs) in ops(x).items():
        a, b, m = dask.compute(mine, theirs, scale, scheduler="threads")
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
        eps = np.finfo(a.dtype).eps
        err = np.abs(a.astype(np.float64) - b) / (eps * np.maximum(m, np.finfo(a.dtype).tiny))
        out[name] = {"identical": bool(np.array_equal(a, b)),
                     "differing": float(np.mean(a != b)),
                     "max_error_eps_of_mean_abs": float(err.max())}
        if name.startswith("max"):
            assert out[name]["identical"], f"{name}: cpool.dask and coarsen differ"
        else:
            assert err.max() <= 4, f"{name}: cpool.dask and coarsen differ by {err.max()} eps"
    return out


def threaded(x, threads: int, repeats: int) -> dict:
    def run(arrays):
        dask.persist(*arrays, scheduler="threads", num_workers=threads)

    rows = {name: {"cpool.dask": _times(run, (mine,), x, repeats),
                   "coarsen": _times(run, (theirs,), x, repeats)}
            for name, (mine, theirs) in ops(x).items()}
    xs = halo_input(x).persist(scheduler="threads")
    rows[HALO] = {"cpool.dask": _times(run, halo_op(xs), xs, repeats), "coarsen": None}
    return rows


def distributed_scaling(shape, chunks, dtype, workers, repeats) -> dict:
    from distributed import Client, LocalCluster, wait

    rows = {}
    for n in workers:
        with LocalCluster(n_workers=n, processes=True, threads_per_worker=1,
                          host="127.0.0.1", dashboard_address=None) as cluster, \
                Client(cluster) as client:
            client.run(cpool.set_num_threads, 1)

            def run(arrays):
                wait(client.persist(list(arrays)))

            # made in the workers and kept there: the timings move no input
            x = da.random.default_rng(0).standard_normal(shape, dtype=dtype, chunks=chunks)
            x = client.persist(x)
            wait(x)
            for name, (mine, theirs) in ops(x).items():
                for label, r in (("cpool.dask", mine), ("coarsen", theirs)):
                    rows.setdefault(f"{label} {name}", {})[n] = _times(run, (r,), x, repeats)
            xs = client.persist(halo_input(x))
            wait(xs)
            del x
            rows.setdefault(f"cpool.dask {HALO}", {})[n] = _times(run, halo_op(xs), xs,
                                                                 repeats)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", default="64,64,256,256", help="N,C,H,W (default %(default)s)")
    p.add_argument("--chunk", type=int, default=8, help="batch chunk (default %(default)s)")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="threads of the threaded scheduler (default: all cores)")
    p.add_argument("--workers", default="1,2", help="worker counts (default %(default)s)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--no-distributed", action="store_true")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    args = p.parse_args(argv)
    shape = tuple(int(v) for v in args.shape.split(","))
    chunks = (args.chunk,) + shape[1:]
    dtype = np.dtype(args.dtype)
    workers = [int(v) for v in args.workers.split(",")]
    cpool.set_num_threads(1)

    x_np = np.random.default_rng(0).standard_normal(shape, dtype=dtype)
    x = da.from_array(x_np, chunks=chunks)
    gib = x_np.nbytes / 2**30
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    print(f"input {shape} {dtype} ({gib:.2f} GiB) in {x.npartitions} chunks of {chunks}; "
          f"{machine}; cpool {cpool.__version__}, dask {dask.__version__}; median of "
          f"{args.repeats}, persist; every task single-threaded")
    checks = check(x)
    for name, c in checks.items():
        print(f"  check {name}: " + (
            "identical" if c["identical"] else
            f"{100 * c['differing']:.2f}% of outputs differ (summation order), by at most "
            f"{c['max_error_eps_of_mean_abs']:.2f} eps x the window's mean |x|"))

    print(f"\nthreaded scheduler, {args.threads} threads")
    print(f"{'op':<16}{'cpool.dask':>12}{'coarsen':>12}{'speed-up':>10}")
    thr = threaded(x, args.threads, args.repeats)
    for name, r in thr.items():
        mine, theirs = _median(r["cpool.dask"]), _median(r["coarsen"])
        if theirs is None:
            print(f"{name:<16}{mine:>11.3f}s{'-':>12}{'-':>10}   "
                  f"(H, W in 2 x 2 chunks: halos)")
        else:
            print(f"{name:<16}{mine:>11.3f}s{theirs:>11.3f}s{theirs / mine:>9.1f}x")

    dist = {}
    if not args.no_distributed:
        del x, x_np
        print("\ndistributed LocalCluster on loopback, worker processes of 1 thread")
        dist = distributed_scaling(shape, chunks, dtype, workers, args.repeats)
        head = "".join(f"{f'{n} worker' + ('s' if n > 1 else ''):>12}" for n in workers)
        print(f"{'op':<28}{head}{'scaling':>10}")
        for name, r in dist.items():
            med = {n: _median(r[n]) for n in workers}
            cells = "".join(f"{med[n]:>11.3f}s" for n in workers)
            print(f"{name:<28}{cells}{med[workers[0]] / med[workers[-1]]:>9.2f}x")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"shape": shape, "chunks": chunks, "dtype": str(dtype),
                       "repeats": args.repeats, "machine": machine,
                       "cpool": cpool.__version__, "dask": dask.__version__,
                       "numpy": np.__version__, "python": sys.version, "check": checks,
                       "threaded": {"threads": args.threads, "seconds": thr},
                       "distributed": {"workers": workers, "seconds": dist},
                       "note": "seconds: every timed repetition; the table shows medians"},
                      f, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
