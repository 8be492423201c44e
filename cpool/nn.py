"""Layer objects for NumPy networks: each wraps one pooling function, keeps
what its backward pass needs (indices, shapes, the input) from the last
``forward``, and offers ``backward(grad_output)``.  ``train()``/``eval()``
matter for stochastic pooling; the others behave the same in both modes.

    pool = cpool.nn.MaxPool2d(3, stride=2, padding=1)
    y = pool.forward(x)
    gx = pool.backward(grad_y)

The 1d/2d/3d classes of a family differ only in ``_nd``; their docstrings
come from one template (``_LAYER``, filled per family and rank), the
methods' from ``_FORWARD`` and ``_BACKWARD``.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence, Tuple, TypeVar, Union

import numpy as np

import cpool as _F

from ._docs import Template, doc
from ._types import IntOrTuple, RatioArg, Seed, SizeArg

_L = TypeVar("_L", bound="_Layer")

_FORWARD = """\
{verb} ``x``, keeping what :meth:`backward` needs.

It keeps {kept}, replacing what the previous call kept.

Parameters
----------
x : numpy.ndarray
    Input in the layer's layout (see the class).{more}

Returns
-------
numpy.ndarray
    The function's result.

Raises
------
TypeError, ValueError
    For a bad input, as the function does.
"""

_BACKWARD = """\
Gradient of the last :meth:`forward` with respect to its input.

Parameters
----------
grad_output : numpy.ndarray
    Gradient with respect to the last forward result, shaped like it;
    float32 or float64.

Returns
-------
numpy.ndarray
    The gradient with respect to the last forward input ``x``, shaped like
    it{how}.

Raises
------
RuntimeError
    If :meth:`forward` has not run yet{eval}.
ValueError
    If ``grad_output`` is not shaped like the forward result.
"""


class _Layer:
    """Shared plumbing: mode flags, the cached state and a PyTorch-like repr."""

    _args: Tuple[str, ...] = ()
    _stride_is_kernel = True  # stride=None shows as the kernel size, as PyTorch
    forward: Callable[..., np.ndarray]           # each layer defines both
    backward: Callable[[np.ndarray], np.ndarray]

    def __init__(self, channels_last: bool = False) -> None:
        self.channels_last = bool(channels_last)
        self.training = True
        self._saved: Optional[tuple] = None

    def train(self: _L, mode: bool = True) -> _L:
        """Switch to training mode, or to evaluation mode with ``mode=False``.

        Only stochastic pooling behaves differently in the two modes.

        Parameters
        ----------
        mode : bool, default True
            The new value of the ``training`` attribute.

        Returns
        -------
        layer
            The layer itself.
        """
        self.training = bool(mode)
        return self

    def eval(self: _L) -> _L:
        """Switch to evaluation mode: ``train(False)``.

        Returns
        -------
        layer
            The layer itself.
        """
        return self.train(False)

    def __call__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        return self.forward(*args, **kwargs)

    def _saved_state(self) -> tuple:
        if self._saved is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before forward(): "
                               f"there is nothing to differentiate yet")
        return self._saved

    def _repr_value(self, name: str) -> Any:
        # PyTorch shows the effective stride: the kernel size when None
        if name == "stride" and getattr(self, "stride") is None and \
                "kernel_size" in self._args and self._stride_is_kernel:
            return getattr(self, "kernel_size")
        return getattr(self, name)

    def __repr__(self) -> str:
        parts = [f"{n}={self._repr_value(n)!r}" for n in self._args]
        if self.channels_last:
            parts.append("channels_last=True")
        return f"{type(self).__name__}({', '.join(parts)})"


class _Indexed(_Layer):
    """Layers whose backward is the index scatter of `{_family}{nd}d_backward`
    through the indices their forward saved with the input shape."""
    _nd = 2
    _family = "max_pool"

    @doc(_BACKWARD, how=", through the indices the forward pass kept", eval="")
    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        idx, shape = self._saved_state()
        return getattr(_F, f"{self._family}{self._nd}d_backward")(
            grad_output, idx, shape, channels_last=self.channels_last)


_LAYER = """\
{nd}d {what} as a layer, with its backward.

Wraps :func:`cpool.{fn}{nd}d`: ``forward(x)``, or calling the layer,
{forward}; ``backward(grad_output)`` returns the gradient with respect to
that ``x``.{extra}

Parameters
----------
{params}
channels_last : bool, default False
    Inputs and results are channels-last, ``{x_cl}`` or ``{x_cl0}``,
    rather than ``{x_cf}`` or ``{x_cf0}``.

See Also
--------
cpool.{fn}{nd}d : The function, with the details of its arguments.
cpool.{fn}{nd}d_backward : The gradient it computes.

Examples
--------
>>> import numpy as np
>>> import cpool
{example}"""

# A layer's forward and backward on a 4-wide input pooled to half its size,
# and its repr; the shapes per rank:
_EXAMPLE = """\
>>> pool = cpool.nn.{cls}({args})
>>> x = np.arange({n}.0).reshape{x4}
>>> y = pool.forward(x)
>>> y.shape, pool.backward(np.ones_like(y)).shape
({y2}, {x4})
>>> pool
{cls}({repr})"""
_SHAPES = {1: dict(n=4, x4="(1, 1, 4)", y2="(1, 1, 2)"),
           2: dict(n=16, x4="(1, 1, 4, 4)", y2="(1, 1, 2, 2)"),
           3: dict(n=64, x4="(1, 1, 4, 4, 4)", y2="(1, 1, 2, 2, 2)")}


def _layer_doc(cls: str, args: str, repr_: Union[str, Mapping[int, str]],
               example: str = _EXAMPLE, **fields: Union[str, Mapping[int, str]]) -> Template:
    """The class docstring of the layers `cls`1d/2d/3d: _LAYER with `fields`,
    and `example` filled with the class, its arguments, repr and shapes."""
    examples = {nd: example.format(nd=nd, cls=f"{cls}{nd}d", args=args, **shapes,
                                   repr=repr_ if isinstance(repr_, str) else repr_[nd])
                for nd, shapes in _SHAPES.items()}
    return Template(_LAYER, **{"extra": "", **fields, "example": examples})


_KEEPS_INDICES = "pools ``x`` and keeps the indices and the shape of ``x``"
_KEEPS_SHAPE = "pools ``x`` and keeps the shape of ``x``"

_MAX_DOC = _layer_doc(
    "MaxPool", "2", "kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False",
    what="max pooling", fn="max_pool", forward=_KEEPS_INDICES,
    params="{p_kernel}\n{p_stride}\n{p_padding}\n{p_dilation}\n{p_ceil_mode}")


class _MaxPool(_Indexed):
    _nd = 2
    _args = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")

    def __init__(self, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
                 padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
                 *, channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode

    @doc(_FORWARD, verb="Pool", kept="the indices and the shape of ``x``", more="")
    def forward(self, x: np.ndarray) -> np.ndarray:
        fwd = getattr(_F, f"max_pool{self._nd}d")
        y, idx = fwd(x, self.kernel_size, self.stride, self.padding, self.dilation,
                     self.ceil_mode, True, channels_last=self.channels_last)
        self._saved = (idx, x.shape)
        return y


@_MAX_DOC.rank(1)
class MaxPool1d(_MaxPool):
    _nd = 1


@_MAX_DOC.rank(2)
class MaxPool2d(_MaxPool):
    _nd = 2


@_MAX_DOC.rank(3)
class MaxPool3d(_MaxPool):
    _nd = 3


_AVG_PARAMS = """\
{p_kernel}
{p_stride}
{p_padding}
{p_ceil_mode}
count_include_pad : bool, default True
    Count the zero padding in the divisor."""
_AVG_PARAMS_DIVISOR = _AVG_PARAMS + """
divisor_override : int, optional
    Divide every window's sum by this positive int instead."""
_AVG_REPR = "kernel_size=2, stride=2, padding=0, ceil_mode=False, count_include_pad=True"
_AVG_DOC = _layer_doc(
    "AvgPool", "2", {1: _AVG_REPR, 2: _AVG_REPR + ", divisor_override=None",
                     3: _AVG_REPR + ", divisor_override=None"},
    what="average pooling", fn="avg_pool", forward=_KEEPS_SHAPE,
    params={1: _AVG_PARAMS, 2: _AVG_PARAMS_DIVISOR, 3: _AVG_PARAMS_DIVISOR})


class _AvgPool(_Layer):
    _nd = 2
    _args: Tuple[str, ...] = ("kernel_size", "stride", "padding", "ceil_mode",
                              "count_include_pad", "divisor_override")

    def __init__(self, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
                 padding: IntOrTuple = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: Optional[int] = None, *,
                 channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def _window(self) -> tuple:
        w = (self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)
        return w + ((self.divisor_override,) if self._nd > 1 else ())

    @doc(_FORWARD, verb="Pool", kept="the shape of ``x``", more="")
    def forward(self, x: np.ndarray) -> np.ndarray:
        y = getattr(_F, f"avg_pool{self._nd}d")(x, *self._window(),
                                                channels_last=self.channels_last)
        self._saved = (x.shape,)  # after the call, which has checked x
        return y

    @doc(_BACKWARD, how="", eval="")
    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        (shape,) = self._saved_state()
        return getattr(_F, f"avg_pool{self._nd}d_backward")(
            grad_output, shape, *self._window(), channels_last=self.channels_last)


@_AVG_DOC.rank(1)
class AvgPool1d(_AvgPool):
    _nd = 1
    _args = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")

    def __init__(self, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
                 padding: IntOrTuple = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, *, channels_last: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad, None,
                         channels_last=channels_last)


@_AVG_DOC.rank(2)
class AvgPool2d(_AvgPool):
    _nd = 2


@_AVG_DOC.rank(3)
class AvgPool3d(_AvgPool):
    _nd = 3


_LP_DOC = _layer_doc(
    "LPPool", "2, 2", "norm_type=2, kernel_size=2, stride=None, ceil_mode=False",
    what="Lp pooling", fn="lp_pool", forward="pools ``x`` and keeps ``x`` and the result",
    params="""\
norm_type : float
    The power p: a nonzero number, ``inf`` or ``-inf``.
{p_kernel}
{p_stride}
{p_ceil_mode}""")


class _LPPool(_Layer):
    _nd = 2
    _args = ("norm_type", "kernel_size", "stride", "ceil_mode")
    _stride_is_kernel = False  # PyTorch's LPPool repr shows stride=None

    def __init__(self, norm_type: float, kernel_size: IntOrTuple,
                 stride: Optional[IntOrTuple] = None, ceil_mode: bool = False, *,
                 channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    @doc(_FORWARD, verb="Pool", kept="``x`` and the result", more="")
    def forward(self, x: np.ndarray) -> np.ndarray:
        y = getattr(_F, f"lp_pool{self._nd}d")(x, self.norm_type, self.kernel_size, self.stride,
                                                self.ceil_mode, channels_last=self.channels_last)
        self._saved = (x, y)
        return y

    @doc(_BACKWARD, how="", eval="")
    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, y = self._saved_state()
        return getattr(_F, f"lp_pool{self._nd}d_backward")(
            grad_output, x, y, self.norm_type, self.kernel_size, self.stride, self.ceil_mode,
            channels_last=self.channels_last)


@_LP_DOC.rank(1)
class LPPool1d(_LPPool):
    _nd = 1


@_LP_DOC.rank(2)
class LPPool2d(_LPPool):
    _nd = 2


@_LP_DOC.rank(3)
class LPPool3d(_LPPool):
    _nd = 3


_OUTPUT_SIZE = """\
output_size : int, None or tuple of (int or None)
    The number of bins per spatial axis; ``None`` keeps that axis."""
_ADAPTIVE_MAX_DOC = _layer_doc(
    "AdaptiveMaxPool", "2", "output_size=2", what="adaptive max pooling",
    fn="adaptive_max_pool", forward=_KEEPS_INDICES, params=_OUTPUT_SIZE)
_ADAPTIVE_AVG_DOC = _layer_doc(
    "AdaptiveAvgPool", "2", "output_size=2", what="adaptive average pooling",
    fn="adaptive_avg_pool", forward=_KEEPS_SHAPE, params=_OUTPUT_SIZE)


class _AdaptiveMaxPool(_Indexed):
    _family = "adaptive_max_pool"
    _args = ("output_size",)

    def __init__(self, output_size: SizeArg, *, channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.output_size = output_size

    @doc(_FORWARD, verb="Pool", kept="the indices and the shape of ``x``", more="")
    def forward(self, x: np.ndarray) -> np.ndarray:
        y, idx = getattr(_F, f"adaptive_max_pool{self._nd}d")(
            x, self.output_size, True, channels_last=self.channels_last)
        self._saved = (idx, x.shape)
        return y


@_ADAPTIVE_MAX_DOC.rank(1)
class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    _nd = 1


@_ADAPTIVE_MAX_DOC.rank(2)
class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    _nd = 2


@_ADAPTIVE_MAX_DOC.rank(3)
class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    _nd = 3


class _AdaptiveAvgPool(_Layer):
    _nd = 2
    _args = ("output_size",)

    def __init__(self, output_size: SizeArg, *, channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.output_size = output_size

    @doc(_FORWARD, verb="Pool", kept="the shape of ``x``", more="")
    def forward(self, x: np.ndarray) -> np.ndarray:
        y = getattr(_F, f"adaptive_avg_pool{self._nd}d")(x, self.output_size,
                                                         channels_last=self.channels_last)
        self._saved = (x.shape,)  # after the call, which has checked x
        return y

    @doc(_BACKWARD, how="", eval="")
    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        (shape,) = self._saved_state()
        return getattr(_F, f"adaptive_avg_pool{self._nd}d_backward")(
            grad_output, shape, channels_last=self.channels_last)


@_ADAPTIVE_AVG_DOC.rank(1)
class AdaptiveAvgPool1d(_AdaptiveAvgPool):
    _nd = 1


@_ADAPTIVE_AVG_DOC.rank(2)
class AdaptiveAvgPool2d(_AdaptiveAvgPool):
    _nd = 2


@_ADAPTIVE_AVG_DOC.rank(3)
class AdaptiveAvgPool3d(_AdaptiveAvgPool):
    _nd = 3


def _generator(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


_SEED = """
seed : int, numpy.random.Generator or None, optional
    Seeds the layer's own generator, from which its forward passes draw: an
    int gives a reproducible sequence, a Generator is used as is, ``None``
    takes fresh entropy."""

_FRACTIONAL_DOC = _layer_doc(
    "FractionalMaxPool", "2, output_size=2, seed=0",
    "kernel_size=2, output_size=2, output_ratio=None", what="fractional max pooling",
    fn="fractional_max_pool", forward=_KEEPS_INDICES,
    extra=" Every forward pass draws new pseudo-random regions.", params="""\
{p_kernel}
output_size : int or tuple of int, optional
    Output extent per spatial axis; give this or ``output_ratio``.
output_ratio : float or tuple of float, optional
    Output extent as a fraction of the input extent, in (0, 1).""" + _SEED)


class _FractionalMaxPool(_Indexed):
    """New pseudo-random regions at every forward, drawn from the layer's own
    generator: an int seed gives a reproducible sequence."""
    _family = "fractional_max_pool"
    _args = ("kernel_size", "output_size", "output_ratio")

    def __init__(self, kernel_size: IntOrTuple, output_size: Optional[IntOrTuple] = None,
                 output_ratio: RatioArg = None, seed: Seed = None, *,
                 channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.kernel_size, self.output_size, self.output_ratio = kernel_size, output_size, \
            output_ratio
        self._rng = _generator(seed)

    @doc(_FORWARD, verb="Pool", kept="the indices and the shape of ``x``", more="")
    def forward(self, x: np.ndarray) -> np.ndarray:
        y, idx = getattr(_F, f"fractional_max_pool{self._nd}d")(
            x, self.kernel_size, self.output_size, self.output_ratio, True, seed=self._rng,
            channels_last=self.channels_last)
        self._saved = (idx, x.shape)
        return y


@_FRACTIONAL_DOC.rank(2)
class FractionalMaxPool2d(_FractionalMaxPool):
    _nd = 2


@_FRACTIONAL_DOC.rank(3)
class FractionalMaxPool3d(_FractionalMaxPool):
    _nd = 3


_UNPOOL_DOC = _layer_doc(
    "MaxUnpool", "2", "kernel_size=2, stride=2, padding=0", what="max unpooling",
    fn="max_unpool", forward="places the values ``x`` at their ``indices`` and keeps them",
    params="""\
kernel_size : int or tuple of int
    The window of the max pooling that gave the indices.
stride : int or tuple of int, optional
    Its stride; ``None`` means ``kernel_size``.
padding : int or tuple of int, default 0
    Its padding.""", example="""\
>>> x = np.arange({n}.0).reshape{x4}
>>> y, idx = cpool.max_pool{nd}d(x, 2, return_indices=True)
>>> unpool = cpool.nn.{cls}({args})
>>> z = unpool.forward(y, idx)
>>> z.shape, unpool.backward(np.ones_like(z)).shape
({x4}, {y2})
>>> unpool
{cls}({repr})""")


class _MaxUnpool(_Layer):
    _nd = 2
    _args = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
                 padding: IntOrTuple = 0, *, channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    @doc(_FORWARD, verb="Unpool", kept="``indices``", more="""
indices : numpy.ndarray of int64
    Where each value goes, shaped like ``x`` (from max pooling).
output_size : int or sequence of int, optional
    The unpooled size, as in the function.""")
    def forward(self, x: np.ndarray, indices: np.ndarray,
                output_size: Optional[IntOrTuple] = None) -> np.ndarray:
        y = getattr(_F, f"max_unpool{self._nd}d")(x, indices, self.kernel_size, self.stride,
                                                   self.padding, output_size,
                                                   channels_last=self.channels_last)
        self._saved = (indices,)
        return y

    @doc(_BACKWARD, how="", eval="")
    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        (indices,) = self._saved_state()
        return getattr(_F, f"max_unpool{self._nd}d_backward")(grad_output, indices,
                                                               channels_last=self.channels_last)


@_UNPOOL_DOC.rank(1)
class MaxUnpool1d(_MaxUnpool):
    _nd = 1


@_UNPOOL_DOC.rank(2)
class MaxUnpool2d(_MaxUnpool):
    _nd = 2


@_UNPOOL_DOC.rank(3)
class MaxUnpool3d(_MaxUnpool):
    _nd = 3


_EVAL_PASS = object()  # marks a forward that drew nothing

_STOCHASTIC_DOC = _layer_doc(
    "StochasticPool", "2, seed=0", "kernel_size=2, stride=2, padding=0",
    what="stochastic pooling", fn="stochastic_pool",
    forward="pools ``x``, drawing in training mode, and keeps the drawn indices and the "
            "shape of ``x``",
    extra="""

In evaluation mode (after :meth:`eval`) ``forward`` returns each window's
expected value, with no draw and no backward. In training mode (the start,
or after :meth:`train`) every forward pass draws anew.""", params="""\
{p_kernel}
{p_stride}
{p_padding}""" + _SEED, example=_EXAMPLE + """
>>> pool.eval().forward(x).shape                       # the expectation, no draw
{y2}""")


class _StochasticPool(_Indexed):
    """Training: draws at every forward from the layer's own generator (an int
    seed gives a reproducible sequence) and routes the gradient through them.
    Evaluation: the probability-weighted average, which has no backward here."""
    _family = "stochastic_pool"
    _args = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
                 padding: IntOrTuple = 0, seed: Seed = None, *,
                 channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self._rng = _generator(seed)

    @doc(_FORWARD, verb="Pool", kept="the drawn indices and the shape of ``x``", more="")
    def forward(self, x: np.ndarray) -> np.ndarray:
        fwd = getattr(_F, f"stochastic_pool{self._nd}d")
        if not self.training:
            self._saved = (_EVAL_PASS,)
            return fwd(x, self.kernel_size, self.stride, self.padding, training=False,
                       channels_last=self.channels_last)
        y, idx = fwd(x, self.kernel_size, self.stride, self.padding, training=True,
                     seed=self._rng, return_indices=True, channels_last=self.channels_last)
        self._saved = (idx, x.shape)
        return y

    @doc(_BACKWARD, how=", through the elements the forward pass drew",
         eval=", or ran in evaluation mode")
    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._saved_state()[0] is _EVAL_PASS:
            raise RuntimeError(f"{type(self).__name__}.backward(): the last forward ran in eval "
                               f"mode, which draws no sample; call train() for a training pass")
        return super().backward(grad_output)


@_STOCHASTIC_DOC.rank(1)
class StochasticPool1d(_StochasticPool):
    _nd = 1


@_STOCHASTIC_DOC.rank(2)
class StochasticPool2d(_StochasticPool):
    _nd = 2


@_STOCHASTIC_DOC.rank(3)
class StochasticPool3d(_StochasticPool):
    _nd = 3


class SpatialPyramidPool(_Layer):
    """Spatial pyramid pooling as a layer, with its backward.

    Wraps :func:`cpool.spatial_pyramid_pool`: ``forward(x)``, or calling the
    layer, turns each sample of ``x`` into a fixed-length feature vector and
    keeps the shape of ``x`` (and, with ``mode='max'``, the indices);
    ``backward(grad_output)`` returns the gradient with respect to that
    ``x``. A classifier after it takes feature
    maps of any size (He et al. 2014).

    Parameters
    ----------
    levels : sequence of int, default (1, 2, 4)
        The pyramid: level ``l`` pools each map to an ``l x l`` grid.
    mode : {'max', 'avg'}, default 'max'
        The maximum or the mean of each bin.
    bins : {'adaptive', 'paper'}, default 'adaptive'
        The bin rule, as in the function.
    channels_last : bool, default False
        Inputs are channels-last, ``(N, H, W, C)`` or ``(H, W, C)``, rather
        than ``(N, C, H, W)`` or ``(C, H, W)``; the features are the same.

    See Also
    --------
    cpool.spatial_pyramid_pool : The function, with the bin rules.
    cpool.spatial_pyramid_pool_backward : The gradient it computes.

    Examples
    --------
    >>> import numpy as np
    >>> import cpool
    >>> spp = cpool.nn.SpatialPyramidPool(levels=(1, 2))
    >>> x = np.arange(32.0).reshape(1, 2, 4, 4)            # (N, C, H, W)
    >>> f = spp.forward(x)                                 # 2 * (1 + 4) features
    >>> f.shape, spp.backward(np.ones_like(f)).shape
    ((1, 10), (1, 2, 4, 4))
    >>> spp
    SpatialPyramidPool(levels=(1, 2), mode='max', bins='adaptive')
    """
    _args = ("levels", "mode", "bins")

    def __init__(self, levels: Sequence[int] = (1, 2, 4), mode: str = "max",
                 bins: str = "adaptive", *, channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.levels, self.mode, self.bins = tuple(levels), mode, bins

    @doc(_FORWARD, verb="Pool", kept="the indices (``mode='max'``) and the shape of ``x``",
         more="")
    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.mode == "max":
            y, idx = _F.spatial_pyramid_pool(x, self.levels, self.mode, self.bins, True,
                                             channels_last=self.channels_last)
        else:
            y = _F.spatial_pyramid_pool(x, self.levels, self.mode, self.bins,
                                        channels_last=self.channels_last)
            idx = None
        self._saved = (idx, x.shape)
        return y

    @doc(_BACKWARD, how="", eval="")
    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        idx, shape = self._saved_state()
        return _F.spatial_pyramid_pool_backward(grad_output, shape, self.levels, self.mode,
                                                self.bins, idx, channels_last=self.channels_last)


__all__ = [
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "LPPool1d", "LPPool2d", "LPPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
    "FractionalMaxPool2d", "FractionalMaxPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
    "StochasticPool1d", "StochasticPool2d", "StochasticPool3d", "SpatialPyramidPool",
]
