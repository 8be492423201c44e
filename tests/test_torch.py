"""Cross-checks against PyTorch CPU (skipped only where torch is missing;
CI installs it): values and indices identical, backward equal to autograd."""
import random

import numpy as np
import pytest

import cpool
from reference import out_size

torch = pytest.importorskip("torch")
F = torch.nn.functional

CP_MAX = {1: cpool.max_pool1d, 2: cpool.max_pool2d, 3: cpool.max_pool3d}
CP_MAXB = {1: cpool.max_pool1d_backward, 2: cpool.max_pool2d_backward,
           3: cpool.max_pool3d_backward}
CP_AVG = {1: cpool.avg_pool1d, 2: cpool.avg_pool2d, 3: cpool.avg_pool3d}
CP_AVGB = {1: cpool.avg_pool1d_backward, 2: cpool.avg_pool2d_backward,
           3: cpool.avg_pool3d_backward}
T_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
T_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
CL_FORMAT = {2: torch.channels_last, 3: torch.channels_last_3d}


def random_case(nd, r, avg=False):
    """A random valid geometry: PyTorch's padding rule, output >= 1, and for
    max pooling at least one in-bounds tap per window (PyTorch misindexes
    windows made only of padding; tested separately)."""
    while True:
        S = tuple(r.randint(1, 12 if nd < 3 else 7) for _ in range(nd))
        k = tuple(r.randint(1, 4) for _ in range(nd))
        s = tuple(r.randint(1, 4) for _ in range(nd))
        p = tuple(r.randint(0, ki // 2) for ki in k)
        d = (1,) * nd if avg else tuple(r.randint(1, 3) for _ in range(nd))
        ceil = r.random() < 0.5
        O = [out_size(*a, ceil) for a in zip(S, k, s, p, d)]
        if min(O) < 1:
            continue
        if not avg and any(
                all(not (0 <= o * si - pi + j * di < Si) for j in range(ki))
                for Si, ki, si, pi, di, Oi in zip(S, k, s, p, d, O) for o in range(Oi)):
            continue
        return S, k, s, p, d, ceil


def _x(nd, S, dtype, r, batched=True):
    rng = np.random.default_rng(r.randint(0, 2**31))
    shape = ((2,) if batched else ()) + (3,) + S
    return rng.integers(-4, 5, size=shape).astype(dtype)  # many ties


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_matches_torch(nd, dtype):
    r = random.Random(100 + nd)
    for trial in range(60):
        S, k, s, p, d, ceil = random_case(nd, r)
        x = _x(nd, S, dtype, r, batched=trial % 4 != 0)
        if trial % 7 == 0:
            x.reshape(-1)[r.randrange(x.size)] = np.nan
        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        ty, ti = T_MAX[nd](tx, k, s, p, d, ceil, return_indices=True)
        y, i = CP_MAX[nd](x, k, s, p, d, ceil, return_indices=True)
        np.testing.assert_array_equal(y, ty.detach().numpy())
        np.testing.assert_array_equal(i, ti.numpy())
        gy = np.random.default_rng(trial).standard_normal(y.shape).astype(dtype)
        ty.backward(torch.from_numpy(gy))
        np.testing.assert_array_equal(CP_MAXB[nd](gy, i, x.shape), tx.grad.numpy())


@pytest.mark.parametrize("nd", [2, 3])
def test_max_pool_channels_last_matches_torch(nd):
    r = random.Random(200 + nd)
    for trial in range(40):
        S, k, s, p, d, ceil = random_case(nd, r)
        x = _x(nd, S, np.float32, r)
        tx = torch.from_numpy(x).contiguous(memory_format=CL_FORMAT[nd])
        ty, ti = T_MAX[nd](tx, k, s, p, d, ceil, return_indices=True)
        xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
        y, i = CP_MAX[nd](xl, k, s, p, d, ceil, return_indices=True, channels_last=True)
        np.testing.assert_array_equal(np.moveaxis(y, -1, 1), ty.numpy())
        np.testing.assert_array_equal(np.moveaxis(i, -1, 1), ti.numpy())


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.int64])
def test_max_pool_integers_match_torch(dtype):
    r = random.Random(7)
    for _ in range(20):
        S, k, s, p, d, ceil = random_case(2, r)
        x = _x(2, S, dtype, r) if dtype != np.uint8 else _x(2, S, np.int16, r).clip(0).astype(
            np.uint8)
        ty, ti = F.max_pool2d(torch.from_numpy(x), k, s, p, d, ceil, return_indices=True)
        y, i = cpool.max_pool2d(x, k, s, p, d, ceil, return_indices=True)
        np.testing.assert_array_equal(y, ty.numpy())
        np.testing.assert_array_equal(i, ti.numpy())


# PyTorch has no channels-last 1d format; test_avg checks cpool's layouts agree.
@pytest.mark.parametrize("nd,channels_last", [(1, False), (2, False), (2, True),
                                              (3, False), (3, True)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_avg_pool_matches_torch(nd, dtype, channels_last):
    r = random.Random(300 + nd)
    rng = np.random.default_rng(nd)
    for trial in range(50):
        S, k, s, p, _, ceil = random_case(nd, r, avg=True)
        if nd == 3 and any(a < ki for a, ki in zip(S, k)):
            continue  # PyTorch's avg_pool3d alone refuses inputs smaller than the kernel
        cip = r.random() < 0.5
        div = r.choice([None, None, 1, 5]) if nd > 1 else None
        x = rng.standard_normal((2, 3) + S).astype(dtype)
        tx = torch.from_numpy(x.copy())
        if channels_last:
            tx = tx.contiguous(memory_format=CL_FORMAT[nd])
        tx.requires_grad_(True)
        kw = dict(ceil_mode=ceil, count_include_pad=cip)
        if div is not None:
            kw["divisor_override"] = div
        ty = T_AVG[nd](tx, k, s, p, **kw)
        xin = np.ascontiguousarray(np.moveaxis(x, 1, -1)) if channels_last else x
        y = CP_AVG[nd](xin, k, s, p, **kw, channels_last=channels_last)
        if channels_last:
            y = np.moveaxis(y, -1, 1)
        # cpool sums in PyTorch's order and precision: equal to the bit
        np.testing.assert_array_equal(y, ty.detach().numpy())
        gy = rng.standard_normal(y.shape).astype(dtype)
        ty.backward(torch.from_numpy(gy))
        gyl = np.ascontiguousarray(np.moveaxis(gy, 1, -1)) if channels_last else gy
        gx = CP_AVGB[nd](gyl, xin.shape, k, s, p, **kw, channels_last=channels_last)
        if channels_last:
            gx = np.moveaxis(gx, -1, 1)
        np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-6 if dtype == np.float32
                                   else 1e-13, atol=1e-7)
