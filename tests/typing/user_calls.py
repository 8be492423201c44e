"""Typical user code, checked by tests/test_typing.py with ``mypy --strict``
against the installed cpool, and run there too, so every call is also valid
at run time.

The annotated assignments state what a type checker must infer: a plain
array where ``return_indices`` is False, a pair where it is True, the union
where it is a bool known only at run time.  A ``# type: ignore`` marks a
line mypy must reject (``--strict`` reports an ignore that is not needed).
"""
from __future__ import annotations

from typing import Any, Tuple, Union

import numpy as np
import numpy.typing as npt

import cpool
import cpool.nn

Array = npt.NDArray[Any]
Pair = Tuple[Array, Array]

rng = np.random.default_rng(0)
x2 = rng.random((2, 3, 8, 8)).astype(np.float32)               # (N, C, H, W)
x1 = x2[:, :, 0]                                                # (N, C, L)
x3 = rng.random((2, 3, 4, 8, 8))                                # (N, C, D, H, W)
xl = np.ascontiguousarray(x2.transpose(0, 2, 3, 1))             # (N, H, W, C)


# max pooling: y, or (y, indices) by keyword or by position
y: Array = cpool.max_pool2d(x2, 2)
y, idx = cpool.max_pool2d(x2, 3, stride=2, padding=1, return_indices=True)
by_keyword: Pair = cpool.max_pool2d(x2, 2, return_indices=True)
by_position: Pair = cpool.max_pool1d(x1, 2, 2, 0, 1, False, True)
y3, idx3 = cpool.max_pool3d(x3, (1, 2, 2), return_indices=True, channels_last=False)
grad: Array = cpool.max_pool2d_backward(np.ones_like(y), idx, x2.shape)
out = np.empty((2, 4, 4, 3), np.float32)
yl: Array = cpool.max_pool2d(xl, 2, channels_last=True, out=out)

flag = bool(rng.integers(2))
either: Union[Array, Pair] = cpool.max_pool2d(x2, 2, return_indices=flag)
narrow: Array = cpool.max_pool2d(x2, 2, return_indices=flag)  # type: ignore[assignment]
if isinstance(either, tuple):
    values, where = either
else:
    values = either
not_a_pair: Pair = cpool.max_pool2d(x2, 2)  # type: ignore[assignment]

# average and Lp pooling
a: Array = cpool.avg_pool2d(x2, 2, ceil_mode=True, count_include_pad=False,
                            divisor_override=3)
ga: Array = cpool.avg_pool2d_backward(np.ones_like(a), x2.shape, 2, ceil_mode=True,
                                      count_include_pad=False, divisor_override=3)
a1: Array = cpool.avg_pool1d(x1, (3,), (2,), (1,))
lp: Array = cpool.lp_pool3d(x3, 2.0, 2)
glp: Array = cpool.lp_pool3d_backward(np.ones_like(lp), x3, lp, 2.0, 2)
lpi: Array = cpool.lp_pool1d(x1, float("inf"), 2)

# adaptive and global pooling
ad: Array = cpool.adaptive_avg_pool2d(x2, (3, None))
gad: Array = cpool.adaptive_avg_pool2d_backward(np.ones_like(ad), x2.shape)
am, ami = cpool.adaptive_max_pool3d(x3, 2, return_indices=True)
am_pair: Pair = cpool.adaptive_max_pool1d(x1, 3, True)
am_kw_pair: Pair = cpool.adaptive_max_pool2d(x2, 3, return_indices=True)
am_plain: Array = cpool.adaptive_max_pool2d(xl, 2, channels_last=True)
gam: Array = cpool.adaptive_max_pool3d_backward(np.ones_like(am), ami, x3.shape)
features: Array = cpool.global_avg_pool(x3)
peaks: Array = cpool.global_max_pool(xl, channels_last=True)

# fractional pooling: seeds of every kind, or PyTorch's samples
f: Array = cpool.fractional_max_pool2d(x2, 2, output_ratio=0.5, seed=0)
f, fi = cpool.fractional_max_pool2d(x2, 2, output_size=5, return_indices=True,
                                    seed=np.random.default_rng(1))
f3_pair: Pair = cpool.fractional_max_pool3d(x3, 2, (2, 3, 3), None, True, seed=None)
f_kw_pair: Pair = cpool.fractional_max_pool2d(x2, 2, 4, return_indices=True)
samples = rng.random((2, 3, 2))
fs: Array = cpool.fractional_max_pool2d(x2, (2, 3), output_size=(4, 4),
                                        random_samples=samples)
gf: Array = cpool.fractional_max_pool2d_backward(np.ones_like(f), fi, x2.shape)

# stochastic pooling: training draws (seeded), evaluation is deterministic
s: Array = cpool.stochastic_pool2d(x2, 2, seed=0)
s, si = cpool.stochastic_pool2d(x2, 2, seed=rng, return_indices=True)
s1_pair: Pair = cpool.stochastic_pool1d(x1, 2, 2, 0, True, 7, True)
s_kw_pair: Pair = cpool.stochastic_pool3d(x3, 2, return_indices=True, seed=3)
s_eval: Array = cpool.stochastic_pool3d(x3, 2, training=False)
gs: Array = cpool.stochastic_pool2d_backward(np.ones_like(s), si, x2.shape)

# spatial pyramid pooling
sp: Array = cpool.spatial_pyramid_pool(x2, (4, 2, 1))
sp, spi = cpool.spatial_pyramid_pool(x2, levels=(2, 1), return_indices=True)
sp_pair: Pair = cpool.spatial_pyramid_pool(x2, (2, 1), "max", "adaptive", True)
sp_kw_pair: Pair = cpool.spatial_pyramid_pool(x2, return_indices=True)
sp_avg: Array = cpool.spatial_pyramid_pool(xl, mode="avg", bins="paper", channels_last=True)
gsp: Array = cpool.spatial_pyramid_pool_backward(np.ones_like(sp), x2.shape, (2, 1),
                                                 indices=spi)

# unpooling
u: Array = cpool.max_unpool2d(y, idx, 3, 2, 1, output_size=x2.shape[2:])
gu: Array = cpool.max_unpool2d_backward(np.ones_like(u), idx)

# threads and build facts
n: int = cpool.get_num_threads()
cpool.set_num_threads(n)
with cpool.num_threads(1):
    cpool.avg_pool2d(x2, 2, out=np.empty((2, 3, 4, 4), np.float32))
info = cpool.build_info()
openmp: bool = info["openmp"]

# layers: forward/backward, modes, seeds
pool = cpool.nn.MaxPool2d(3, stride=2, padding=1)
py: Array = pool.forward(x2)
pg: Array = pool.backward(np.ones_like(py))
called: Array = pool(x2)
spool: cpool.nn.StochasticPool2d = cpool.nn.StochasticPool2d(2, seed=0).eval()
spy: Array = spool.forward(x2)
trained: cpool.nn.StochasticPool2d = spool.train()
frac = cpool.nn.FractionalMaxPool3d(2, output_ratio=(0.5, 0.5, 0.5),
                                    seed=np.random.default_rng(3))
fg: Array = frac.backward(np.ones_like(frac.forward(x3)))
unpool = cpool.nn.MaxUnpool2d(3, 2, 1)
uy: Array = unpool.forward(y, idx, output_size=x2.shape)
ug: Array = unpool.backward(np.ones_like(uy))
layers = [cpool.nn.AvgPool1d(2), cpool.nn.LPPool1d(2.0, 2),
          cpool.nn.AdaptiveAvgPool1d(3), cpool.nn.AdaptiveMaxPool1d((2,))]
for layer in layers:
    ly = layer.forward(x1)
    lg: Array = layer.backward(np.ones_like(ly))
spp_layer = cpool.nn.SpatialPyramidPool(levels=(2, 1), mode="avg", channels_last=True)
sfeat: Array = spp_layer.forward(xl)
