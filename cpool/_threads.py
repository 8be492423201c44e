"""Thread count of cpool's OpenMP kernels."""
from __future__ import annotations

import contextlib
import numbers
from typing import Iterator

from . import _core


def get_num_threads() -> int:
    """The number of threads each cpool kernel may use.

    Set at import from ``OMP_NUM_THREADS``, else to the OpenMP runtime's
    default (normally the number of cores); changed by
    :func:`set_num_threads` and :func:`num_threads`.

    Returns
    -------
    int
        The thread count, at least 1; always 1 in a build without OpenMP
        (see ``cpool.build_info()["openmp"]``).

    See Also
    --------
    set_num_threads : Changes it for every later call.
    num_threads : Changes it for a ``with`` block.

    Notes
    -----
    The count is process-wide, not per Python thread. Small inputs run on
    one thread whatever the count; results are identical at every count.

    Examples
    --------
    >>> import cpool
    >>> with cpool.num_threads(1):
    ...     print(cpool.get_num_threads())
    1
    """
    return _core.get_num_threads()


def set_num_threads(n: int) -> None:
    """Set the number of threads of every later cpool kernel call.

    The setting is process-wide and stays until changed; :func:`num_threads`
    changes it for a block only.

    Parameters
    ----------
    n : int
        Threads per kernel, at least 1. Counts above four per core (or the
        OpenMP thread limit) are lowered to that; a build without OpenMP
        always uses 1.

    Raises
    ------
    TypeError
        If ``n`` is not an int (a bool is not accepted).
    ValueError
        If ``n`` is below 1.

    See Also
    --------
    get_num_threads : The current count.
    num_threads : The same for a ``with`` block.

    Examples
    --------
    >>> import cpool
    >>> before = cpool.get_num_threads()
    >>> cpool.set_num_threads(1)
    >>> cpool.get_num_threads()
    1
    >>> cpool.set_num_threads(before)
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"set_num_threads(): n must be an int, got {n!r}")
    if n < 1:
        raise ValueError(f"set_num_threads(): n must be >= 1, got {n}")
    _core.set_num_threads(int(min(n, 1 << 16)))


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """Context manager: run a ``with`` block's cpool calls on ``n`` threads.

    Sets the thread count on entry, as :func:`set_num_threads` does, and
    restores the previous count on exit, also when the block raises.

    Parameters
    ----------
    n : int
        Threads per kernel inside the block, at least 1.

    Yields
    ------
    None

    Raises
    ------
    TypeError
        If ``n`` is not an int.
    ValueError
        If ``n`` is below 1.

    See Also
    --------
    set_num_threads : Changes the count until changed again.
    get_num_threads : The current count.

    Notes
    -----
    The count is process-wide: other Python threads calling cpool meanwhile
    use it too.

    Examples
    --------
    >>> import numpy as np
    >>> import cpool
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> with cpool.num_threads(1):
    ...     y = cpool.max_pool2d(x, 2)
    >>> print(y)
    [[[[ 5.  7.]
       [13. 15.]]]]
    """
    old = get_num_threads()
    set_num_threads(n)
    try:
        yield
    finally:
        _core.set_num_threads(old)
