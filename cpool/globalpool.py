"""Global max and average pooling: one direct reduction per (n, c)."""
from __future__ import annotations

import numpy as np

from . import _args, _core, _docs


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


_DOC = """\
Global {what} pooling: the {what_long} of each whole ``(n, c)`` plane.

Reduces all spatial positions of each channel of each sample to one value:
``(N, C, *S)`` to ``(N, C)``, for 1 to 3 spatial axes ``S``.

Parameters
----------
x : numpy.ndarray
    Batched input, ``(N, C, *S)``; with ``channels_last=True``,
    ``(N, *S, C)``; ``S`` is 1 to 3 spatial axes. {dtypes} Any strides and
    byte order; ``x`` is never modified.
channels_last : bool, default False
    Read ``x`` as channels-last, ``(N, *S, C)``.

Returns
-------
numpy.ndarray
    ``(N, C)`` in both layouts, in the dtype of ``x``.

Raises
------
TypeError
    If ``x`` is not a ``numpy.ndarray`` or has an unsupported dtype, or
    ``channels_last`` is not a bool.
ValueError
    If ``x`` does not have 3 to 5 dimensions, or has an empty axis other
    than the batch.

See Also
--------
{see_also}

Notes
-----
The input must be batched: the rank alone cannot tell a batch-less
``(C, H, W)`` from a batched ``(N, C, L)``, so pass ``x[None]`` for a single
sample. {note}
{references}

Examples
--------
>>> import numpy as np
>>> import cpool
{example}
"""


@_docs.doc(_DOC, what="max", what_long="maximum", see_also="""\
global_avg_pool : The mean of each plane.
adaptive_max_pool2d : The same for ``output_size=1``, keeping the spatial axes.""",
           dtypes="float32, float64, int8, uint8, int16, uint16, int32 or int64.",
           note="A NaN anywhere in a plane gives NaN.", references="", example="""\
>>> x = np.arange(24.0).reshape(2, 3, 4)               # (N, C, L)
>>> print(cpool.global_max_pool(x))
[[ 3.  7. 11.]
 [15. 19. 23.]]
>>> x = np.arange(16, dtype=np.int16).reshape(1, 2, 2, 2, 2)   # (N, C, D, H, W)
>>> cpool.global_max_pool(x)
array([[ 7, 15]], dtype=int16)""")
def global_max_pool(x: np.ndarray, *, channels_last: bool = False) -> np.ndarray:
    return _global("global_max_pool", x, True, channels_last)


@_docs.doc(_DOC, what="average", what_long="mean", see_also="""\
global_max_pool : The maximum of each plane.
adaptive_avg_pool2d : The same for ``output_size=1``, keeping the spatial axes.""",
           dtypes="float32 or float64.", note="""\
The plane is summed in blocks of 64 elements, each block in the input's
dtype (eight lanes, joined pairwise), the block sums in float64, then divided
by the plane's size: float32 rounding error stays that of one block (about
1e-6 relative) however large the plane. This is the global average pooling of Lin et al. [1]_, which
feeds a classifier one value per channel.""", references="""
References
----------
.. [1] M. Lin, Q. Chen and S. Yan, "Network In Network", International
   Conference on Learning Representations (ICLR 2014), arXiv:1312.4400.""",
           example="""\
>>> x = np.arange(24.0).reshape(2, 3, 4)               # (N, C, L)
>>> xl = np.moveaxis(x, 1, -1)                         # (N, L, C)
>>> print(cpool.global_avg_pool(xl, channels_last=True))
[[ 1.5  5.5  9.5]
 [13.5 17.5 21.5]]""")
def global_avg_pool(x: np.ndarray, *, channels_last: bool = False) -> np.ndarray:
    return _global("global_avg_pool", x, False, channels_last)
