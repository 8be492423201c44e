"""Adaptive max and average pooling, 1d/2d/3d: output bin i of an axis spans
[floor(i*a/n), ceil((i+1)*a/n)) of the input extent a, in exact integer
arithmetic; the bins run through the same C kernels as max/avg pooling."""
from __future__ import annotations

from typing import Optional

import numpy as np

from . import _args, _core
from ._docs import Template, index_backward_doc
from ._types import AdaptiveMaxPoolFunction, Pooled, Shape, SizeArg, typed_as
from .maxpool import index_backward


def _bins_geom(lay, out_size):
    return lay.bins_geom(out_size, tuple(_args.adaptive_bins(a, n)
                                         for a, n in zip(lay.spatial, out_size)))


def _adaptive(nd, fn, x, output_size, is_max, return_indices, channels_last, out):
    x = _args.array(x, fn)
    code = _args.dtype_code(x, _args.MAX_DTYPES if is_max else _args.FLOAT_DTYPES, fn)
    lay = _args.layout(x, nd, channels_last, fn)
    size = _args.adaptive_output_size(output_size, lay, fn)
    return_indices = _args.flag(return_indices, fn, "return_indices") if is_max else False
    shape = lay.shape(size)
    y = _args.output(out, shape, x.dtype.newbyteorder("="), fn, (x,))
    ind = np.empty(shape, dtype=np.int64) if return_indices else None
    if y.size:
        geom = _bins_geom(lay, size)
        xc = _args.contiguous(x)
        rc = (_core.max_pool_fwd(code, geom, xc, y, ind) if is_max
              else _core.avg_pool(code, geom, xc, y, True, 0, False))
        _args.check_status(rc, fn)
    return (y, ind) if return_indices else y


def _adaptive_avg_backward(nd, fn, grad_output, input_shape, channels_last):
    lay = _args.input_shape(input_shape, nd, channels_last, fn)
    g = _args.array(grad_output, fn, "grad_output")
    size = _args.spatial_of(g.shape, lay) if g.ndim == len(lay.shape(lay.spatial)) else None
    if size is None or len(size) != nd:
        raise ValueError(f"{fn}(): grad_output has shape {g.shape}, which does not match "
                         f"input_shape {tuple(input_shape)}")
    g, code = _args.grad_output(g, lay.shape(size), fn)
    # an empty grad_output (output size 0) leaves the gradient all zero
    gx = (np.empty if g.size else np.zeros)(lay.shape(lay.spatial), dtype=g.dtype)
    if gx.size and g.size:
        _args.check_status(_core.avg_pool(code, _bins_geom(lay, size), g, gx, True, 0, True),
                           fn)
    return gx


_BINS_PARAM = """\
output_size : int, None or tuple of (int or None)
    The number of bins per spatial axis: {ints}; ``None`` keeps that axis's
    input extent, and 0 gives an empty result."""

_BINS_RAISES = """\
ValueError
    If ``x`` does not have {ndim} dimensions or has an empty axis other than
    the batch, if ``output_size`` has the wrong length or a negative entry,
    or if ``out`` does not fit."""

_BINS_NOTE = """\
Bin ``i`` of an axis of input extent ``a`` cut into ``n`` bins covers
``[floor(i * a / n), ceil((i + 1) * a / n))``, computed in exact integer
arithmetic, PyTorch's bins. Every element is covered; neighbouring bins
overlap when ``n`` does not divide ``a``, and ``n`` may exceed ``a``."""

_MAX_DOC = Template("""\
{nd}d adaptive max pooling: the maximum over each of ``output_size`` bins.

Cuts {the_axes} into the requested number of bins (see
Notes) and keeps the maximum of every bin of each ``(n, c)`` plane: a given
output size from any input size.

Parameters
----------
{p_x_max}
{bins_param}
{p_return_indices}
{p_channels_last}
{p_out}

Returns
-------
{r_y} The extents ``{S_out}`` are ``output_size``.
{r_indices}

Raises
------
{e_type}
{e_value_bins}

See Also
--------
adaptive_max_pool{nd}d_backward : The gradient, through the indices.
adaptive_avg_pool{nd}d : The mean of each bin instead.
max_pool{nd}d : Max pooling with a fixed window.
cpool.nn.AdaptiveMaxPool{nd}d : The same as a layer object.

Notes
-----
{bins_note}

{n_indices}

{n_nan_ties} {n_threads}

Examples
--------
>>> import numpy as np
>>> import cpool
{example}""", bins_param=_BINS_PARAM, bins_note=_BINS_NOTE,
                    e_value_bins=_BINS_RAISES, example={1: """\
>>> x = np.arange(5.0).reshape(1, 5)                   # (C, L)
>>> y, idx = cpool.adaptive_max_pool1d(x, 3, return_indices=True)
>>> print(y, idx)                            # bins [0, 2), [1, 4), [3, 5)
[[1. 3. 4.]] [[1 3 4]]
>>> print(cpool.adaptive_max_pool1d(x, 7))             # more bins than elements
[[0. 1. 2. 2. 3. 4. 4.]]""", 2: """\
>>> x = np.arange(16.0).reshape(1, 4, 4)               # (C, H, W)
>>> print(cpool.adaptive_max_pool2d(x, (2, None)))     # W kept
[[[ 4.  5.  6.  7.]
  [12. 13. 14. 15.]]]""", 3: """\
>>> x = np.arange(27.0).reshape(1, 1, 3, 3, 3)         # (N, C, D, H, W)
>>> y, idx = cpool.adaptive_max_pool3d(x, 2, return_indices=True)
>>> y.shape
(1, 1, 2, 2, 2)
>>> print(idx.ravel())                                 # (d * H + h) * W + w
[13 14 16 17 22 23 25 26]"""})


_AVG_DOC = Template("""\
{nd}d adaptive average pooling: the mean over each of ``output_size`` bins.

Cuts {the_axes} into the requested number of bins (see
Notes) and averages every bin of each ``(n, c)`` plane: a given output size
from any input size.

Parameters
----------
{p_x_float}
{bins_param}
{p_channels_last}
{p_out}

Returns
-------
{r_pooled} The extents ``{S_out}`` are ``output_size``.

Raises
------
{e_type}
{e_value_bins}

See Also
--------
adaptive_avg_pool{nd}d_backward : The gradient.
adaptive_max_pool{nd}d : The maximum of each bin instead.
global_avg_pool : The mean of each whole plane, as ``(N, C)``.
cpool.nn.AdaptiveAvgPool{nd}d : The same as a layer object.

Notes
-----
{bins_note}

A bin's sum is divided by its extent one axis at a time (``sum / kd / kh /
kw``), which reproduces PyTorch's channels-first result to the bit, except
when every output axis has size 1: PyTorch then computes a ``mean()``, which
can differ in the last bit. {n_threads}

Examples
--------
>>> import numpy as np
>>> import cpool
{example}""", bins_param=_BINS_PARAM, bins_note=_BINS_NOTE,
                    e_value_bins=_BINS_RAISES, example={1: """\
>>> x = np.arange(5.0).reshape(1, 5)                   # (C, L)
>>> print(cpool.adaptive_avg_pool1d(x, 3))             # bins [0, 2), [1, 4), [3, 5)
[[0.5 2.  3.5]]""", 2: """\
>>> x = np.arange(16.0).reshape(1, 1, 4, 4)            # (N, C, H, W)
>>> print(cpool.adaptive_avg_pool2d(x, 2))
[[[[ 2.5  4.5]
   [10.5 12.5]]]]
>>> cpool.adaptive_avg_pool2d(x, (1, None)).shape
(1, 1, 1, 4)""", 3: """\
>>> x = np.arange(27.0).reshape(1, 3, 3, 3)            # (C, D, H, W)
>>> print(cpool.adaptive_avg_pool3d(x, 1))
[[[[13.]]]]
>>> xl = np.moveaxis(x, 0, -1)                         # (D, H, W, C)
>>> cpool.adaptive_avg_pool3d(xl, (2, 1, 3), channels_last=True).shape
(2, 1, 3, 1)"""})


@typed_as(AdaptiveMaxPoolFunction)
@_MAX_DOC.rank(1)
def adaptive_max_pool1d(x: np.ndarray, output_size: SizeArg, return_indices: bool = False, *,
                        channels_last: bool = False, out: Optional[np.ndarray] = None
                        ) -> Pooled:
    return _adaptive(1, "adaptive_max_pool1d", x, output_size, True, return_indices,
                     channels_last, out)


@typed_as(AdaptiveMaxPoolFunction)
@_MAX_DOC.rank(2)
def adaptive_max_pool2d(x: np.ndarray, output_size: SizeArg, return_indices: bool = False, *,
                        channels_last: bool = False, out: Optional[np.ndarray] = None
                        ) -> Pooled:
    return _adaptive(2, "adaptive_max_pool2d", x, output_size, True, return_indices,
                     channels_last, out)


@typed_as(AdaptiveMaxPoolFunction)
@_MAX_DOC.rank(3)
def adaptive_max_pool3d(x: np.ndarray, output_size: SizeArg, return_indices: bool = False, *,
                        channels_last: bool = False, out: Optional[np.ndarray] = None
                        ) -> Pooled:
    return _adaptive(3, "adaptive_max_pool3d", x, output_size, True, return_indices,
                     channels_last, out)


@_AVG_DOC.rank(1)
def adaptive_avg_pool1d(x: np.ndarray, output_size: SizeArg, *, channels_last: bool = False,
                        out: Optional[np.ndarray] = None) -> np.ndarray:
    return _adaptive(1, "adaptive_avg_pool1d", x, output_size, False, False, channels_last,
                     out)


@_AVG_DOC.rank(2)
def adaptive_avg_pool2d(x: np.ndarray, output_size: SizeArg, *, channels_last: bool = False,
                        out: Optional[np.ndarray] = None) -> np.ndarray:
    return _adaptive(2, "adaptive_avg_pool2d", x, output_size, False, False, channels_last,
                     out)


@_AVG_DOC.rank(3)
def adaptive_avg_pool3d(x: np.ndarray, output_size: SizeArg, *, channels_last: bool = False,
                        out: Optional[np.ndarray] = None) -> np.ndarray:
    return _adaptive(3, "adaptive_avg_pool3d", x, output_size, False, False, channels_last,
                     out)


_MAX_BACKWARD_DOC = index_backward_doc(
    "adaptive_max_pool", "AdaptiveMaxPool", example={1: """\
>>> x = np.arange(5.0).reshape(1, 5)                   # (C, L)
>>> y, idx = cpool.adaptive_max_pool1d(x, 3, return_indices=True)
>>> print(cpool.adaptive_max_pool1d_backward(np.ones_like(y), idx, x.shape))
[[0. 1. 0. 1. 1.]]""", 2: """\
>>> x = np.arange(16.0).reshape(1, 4, 4)               # (C, H, W)
>>> y, idx = cpool.adaptive_max_pool2d(x, 3, return_indices=True)
>>> print(cpool.adaptive_max_pool2d_backward(np.ones_like(y), idx, x.shape))
[[[0. 0. 0. 0.]
  [0. 1. 1. 1.]
  [0. 1. 1. 1.]
  [0. 1. 1. 1.]]]""", 3: """\
>>> x = np.arange(27.0).reshape(1, 1, 3, 3, 3)         # (N, C, D, H, W)
>>> y, idx = cpool.adaptive_max_pool3d(x, 2, return_indices=True)
>>> g = cpool.adaptive_max_pool3d_backward(np.ones_like(y), idx, x.shape)
>>> print(g[0, 0, 2])                                  # the last depth slice
[[0. 0. 0.]
 [0. 1. 1.]
 [0. 1. 1.]]"""})


_AVG_BACKWARD_DOC = Template("""\
Gradient of :func:`adaptive_avg_pool{nd}d` with respect to its input.

Spreads each output's gradient evenly over its bin; where bins overlap the
contributions add up. The output size is read from ``grad_output``.

Parameters
----------
grad_output : numpy.ndarray
    Gradient with respect to the forward result, ``{y_cf}`` or ``{y_cf0}``
    (channels last: ``{y_cl}`` or ``{y_cl0}``), whose spatial extents are
    the forward ``output_size``; float32 or float64.
{p_input_shape}
{p_channels_last_grad}

Returns
-------
{r_grad_input}

Raises
------
{e_type}
ValueError
    If ``input_shape`` does not have {ndim} entries or ``grad_output``
    does not match it (same rank, batch and channels).

See Also
--------
adaptive_avg_pool{nd}d : The forward pass.
cpool.nn.AdaptiveAvgPool{nd}d : Keeps the input shape for the backward.

Notes
-----
Each bin's gradient is divided by the bin's extent one axis at a time, as in
the forward pass. An empty ``grad_output`` (output size 0) gives zeros.

Examples
--------
>>> import numpy as np
>>> import cpool
{example}""", example={1: """\
>>> g = np.ones((1, 3))                      # 3 bins over L = 4: [0, 2), [1, 3), [2, 4)
>>> print(cpool.adaptive_avg_pool1d_backward(g, (1, 4)))
[[0.5 1.  1.  0.5]]""", 2: """\
>>> g = np.ones((1, 1, 2))                   # (C, H_out, W_out) for an input (1, 2, 4)
>>> print(cpool.adaptive_avg_pool2d_backward(g, (1, 2, 4)))
[[[0.25 0.25 0.25 0.25]
  [0.25 0.25 0.25 0.25]]]""", 3: """\
>>> g = np.ones((1, 1, 1, 1, 1))             # one bin over a 2x2x2 input
>>> print(cpool.adaptive_avg_pool3d_backward(g, (1, 1, 2, 2, 2)).ravel())
[0.125 0.125 0.125 0.125 0.125 0.125 0.125 0.125]"""})


@_MAX_BACKWARD_DOC.rank(1)
def adaptive_max_pool1d_backward(grad_output: np.ndarray, indices: np.ndarray,
                                 input_shape: Shape, *, channels_last: bool = False
                                 ) -> np.ndarray:
    return index_backward(1, "adaptive_max_pool1d_backward", grad_output, indices,
                          input_shape, channels_last)


@_MAX_BACKWARD_DOC.rank(2)
def adaptive_max_pool2d_backward(grad_output: np.ndarray, indices: np.ndarray,
                                 input_shape: Shape, *, channels_last: bool = False
                                 ) -> np.ndarray:
    return index_backward(2, "adaptive_max_pool2d_backward", grad_output, indices,
                          input_shape, channels_last)


@_MAX_BACKWARD_DOC.rank(3)
def adaptive_max_pool3d_backward(grad_output: np.ndarray, indices: np.ndarray,
                                 input_shape: Shape, *, channels_last: bool = False
                                 ) -> np.ndarray:
    return index_backward(3, "adaptive_max_pool3d_backward", grad_output, indices,
                          input_shape, channels_last)


@_AVG_BACKWARD_DOC.rank(1)
def adaptive_avg_pool1d_backward(grad_output: np.ndarray, input_shape: Shape, *,
                                 channels_last: bool = False) -> np.ndarray:
    return _adaptive_avg_backward(1, "adaptive_avg_pool1d_backward", grad_output,
                                  input_shape, channels_last)


@_AVG_BACKWARD_DOC.rank(2)
def adaptive_avg_pool2d_backward(grad_output: np.ndarray, input_shape: Shape, *,
                                 channels_last: bool = False) -> np.ndarray:
    return _adaptive_avg_backward(2, "adaptive_avg_pool2d_backward", grad_output,
                                  input_shape, channels_last)


@_AVG_BACKWARD_DOC.rank(3)
def adaptive_avg_pool3d_backward(grad_output: np.ndarray, input_shape: Shape, *,
                                 channels_last: bool = False) -> np.ndarray:
    return _adaptive_avg_backward(3, "adaptive_avg_pool3d_backward", grad_output,
                                  input_shape, channels_last)
