"""Global max and average pooling: one direct reduction per (n, c)."""
from __future__ import annotations

import numpy as np

from . import _args, _core


def _global(fn, x, is_max, channels_last):
    x = _args.array(x, fn)
    code = _args.dtype_code(x, _args.MAX_DTYPES if is_max else _args.FLOAT_DTYPES, fn)
    if not 3 <= x.ndim <= 5:
        raise ValueError(f"{fn}(): x must be batched, (N, C, *S) or (N, *S, C) with 1 to 3 "
                         f"spatial axes, got shape {x.shape}; pass x[None] for one sample")
    lay = _args.layout(x, x.ndim - 2, channels_last, fn)
    y = np.empty((lay.n, lay.c), dtype=x.dtype.newbyteorder("="))
    if y.size:
        geom = _args.extents_geom(lay, lay.spatial, (1,) * lay.nd)
        _args.check_status(_core.global_pool(code, geom, _args.contiguous(x), y, is_max), fn)
    return y


def global_max_pool(x: np.ndarray, *, channels_last: bool = False) -> np.ndarray:
    """Max over all spatial positions: ``(N, C, *S)`` (or ``(N, *S, C)``) to
    ``(N, C)``.  A NaN anywhere in a plane gives NaN."""
    return _global("global_max_pool", x, True, channels_last)


def global_avg_pool(x: np.ndarray, *, channels_last: bool = False) -> np.ndarray:
    """Mean over all spatial positions, ``(N, C)``; summed in float64."""
    return _global("global_avg_pool", x, False, channels_last)
