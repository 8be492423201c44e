"""cpool: fast, PyTorch-exact pooling for NumPy arrays (C + OpenMP core)."""
from __future__ import annotations

__version__ = "0.1.0"

from ._threads import get_num_threads, set_num_threads, num_threads
from ._config import build_info, show_config
from .maxpool import (max_pool1d, max_pool2d, max_pool3d, max_pool1d_backward,
                      max_pool2d_backward, max_pool3d_backward)
from .avgpool import (avg_pool1d, avg_pool2d, avg_pool3d, avg_pool1d_backward,
                      avg_pool2d_backward, avg_pool3d_backward)

# Fix the thread count now, under the GIL, rather than lazily inside a kernel.
get_num_threads()

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool1d_backward", "max_pool2d_backward", "max_pool3d_backward",
    "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "avg_pool1d_backward", "avg_pool2d_backward", "avg_pool3d_backward",
    "get_num_threads", "set_num_threads", "num_threads",
    "build_info", "show_config",
]
