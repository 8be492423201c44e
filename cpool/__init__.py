"""cpool: fast, PyTorch-exact pooling for NumPy arrays (C + OpenMP core)."""
from __future__ import annotations

__version__ = "0.1.0"

from ._threads import get_num_threads, set_num_threads, num_threads
from ._config import build_info, show_config
from .maxpool import (max_pool1d, max_pool2d, max_pool3d, max_pool1d_backward,
                      max_pool2d_backward, max_pool3d_backward)
from .avgpool import (avg_pool1d, avg_pool2d, avg_pool3d, avg_pool1d_backward,
                      avg_pool2d_backward, avg_pool3d_backward)
from .lppool import (lp_pool1d, lp_pool2d, lp_pool3d, lp_pool1d_backward,
                     lp_pool2d_backward, lp_pool3d_backward)
from .adaptive import (adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d,
                       adaptive_max_pool1d_backward, adaptive_max_pool2d_backward,
                       adaptive_max_pool3d_backward, adaptive_avg_pool1d,
                       adaptive_avg_pool2d, adaptive_avg_pool3d,
                       adaptive_avg_pool1d_backward, adaptive_avg_pool2d_backward,
                       adaptive_avg_pool3d_backward)
from .globalpool import global_max_pool, global_avg_pool
from .fractional import (fractional_max_pool2d, fractional_max_pool3d,
                         fractional_max_pool2d_backward, fractional_max_pool3d_backward)
from .stochastic import (stochastic_pool1d, stochastic_pool2d, stochastic_pool3d,
                         stochastic_pool1d_backward, stochastic_pool2d_backward,
                         stochastic_pool3d_backward)
from .spp import spatial_pyramid_pool, spatial_pyramid_pool_backward
from .unpool import (max_unpool1d, max_unpool2d, max_unpool3d, max_unpool1d_backward,
                     max_unpool2d_backward, max_unpool3d_backward)

from . import nn  # noqa: E402  (layer objects, built on the functions above)

# Fix the thread count now, under the GIL, rather than lazily inside a kernel.
get_num_threads()

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool1d_backward", "max_pool2d_backward", "max_pool3d_backward",
    "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "avg_pool1d_backward", "avg_pool2d_backward", "avg_pool3d_backward",
    "lp_pool1d", "lp_pool2d", "lp_pool3d",
    "lp_pool1d_backward", "lp_pool2d_backward", "lp_pool3d_backward",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "adaptive_max_pool1d_backward", "adaptive_max_pool2d_backward",
    "adaptive_max_pool3d_backward",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_avg_pool1d_backward", "adaptive_avg_pool2d_backward",
    "adaptive_avg_pool3d_backward",
    "global_max_pool", "global_avg_pool",
    "fractional_max_pool2d", "fractional_max_pool3d",
    "fractional_max_pool2d_backward", "fractional_max_pool3d_backward",
    "stochastic_pool1d", "stochastic_pool2d", "stochastic_pool3d",
    "stochastic_pool1d_backward", "stochastic_pool2d_backward", "stochastic_pool3d_backward",
    "spatial_pyramid_pool", "spatial_pyramid_pool_backward",
    "max_unpool1d", "max_unpool2d", "max_unpool3d",
    "max_unpool1d_backward", "max_unpool2d_backward", "max_unpool3d_backward",
    "get_num_threads", "set_num_threads", "num_threads",
    "build_info", "show_config",
]
