"""Thread count of cpool's OpenMP kernels."""
from __future__ import annotations

import contextlib
import numbers
from typing import Iterator

from . import _core


def get_num_threads() -> int:
    """Threads each kernel may use (OMP_NUM_THREADS at import, else all cores)."""
    return _core.get_num_threads()


def set_num_threads(n: int) -> None:
    """Set the thread count of every later kernel call (process-wide)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"set_num_threads(): n must be an int, got {n!r}")
    if n < 1:
        raise ValueError(f"set_num_threads(): n must be >= 1, got {n}")
    _core.set_num_threads(int(min(n, 1 << 16)))


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """``with cpool.num_threads(n):`` runs the block with n threads, then restores."""
    old = get_num_threads()
    set_num_threads(n)
    try:
        yield
    finally:
        _core.set_num_threads(old)
