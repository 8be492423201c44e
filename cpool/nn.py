"""Layer objects for NumPy networks: each wraps one pooling function, keeps
what its backward pass needs (indices, shapes, the input) from the last
``forward``, and offers ``backward(grad_output)``.  ``train()``/``eval()``
matter for stochastic pooling; the others behave the same in both modes.

    pool = cpool.nn.MaxPool2d(3, stride=2, padding=1)
    y = pool.forward(x)
    gx = pool.backward(grad_y)
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np

import cpool as _F


class _Layer:
    """Shared plumbing: mode flags, the cached state and a PyTorch-like repr."""

    _args: Tuple[str, ...] = ()
    _stride_is_kernel = True  # stride=None shows as the kernel size, as PyTorch

    def __init__(self, channels_last: bool = False) -> None:
        self.channels_last = bool(channels_last)
        self.training = True
        self._saved: Optional[tuple] = None

    def train(self, mode: bool = True) -> "_Layer":
        self.training = bool(mode)
        return self

    def eval(self) -> "_Layer":
        return self.train(False)

    def __call__(self, *args: Any, **kwargs: Any):
        return self.forward(*args, **kwargs)

    def _saved_state(self) -> tuple:
        if self._saved is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before forward(): "
                               f"there is nothing to differentiate yet")
        return self._saved

    def _repr_value(self, name: str):
        # PyTorch shows the effective stride: the kernel size when None
        if name == "stride" and self.stride is None and "kernel_size" in self._args and \
                self._stride_is_kernel:
            return self.kernel_size
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

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        idx, shape = self._saved_state()
        return getattr(_F, f"{self._family}{self._nd}d_backward")(
            grad_output, idx, shape, channels_last=self.channels_last)


class _MaxPool(_Indexed):
    _nd = 2
    _args = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *,
                 channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def forward(self, x: np.ndarray) -> np.ndarray:
        fwd = getattr(_F, f"max_pool{self._nd}d")
        y, idx = fwd(x, self.kernel_size, self.stride, self.padding, self.dilation,
                     self.ceil_mode, True, channels_last=self.channels_last)
        self._saved = (idx, x.shape)
        return y


class MaxPool1d(_MaxPool):
    _nd = 1


class MaxPool2d(_MaxPool):
    _nd = 2


class MaxPool3d(_MaxPool):
    _nd = 3


class _AvgPool(_Layer):
    _nd = 2
    _args = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
             "divisor_override")

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None, *,
                 channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def _window(self) -> tuple:
        w = (self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)
        return w + ((self.divisor_override,) if self._nd > 1 else ())

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._saved = (x.shape,)
        return getattr(_F, f"avg_pool{self._nd}d")(x, *self._window(),
                                                   channels_last=self.channels_last)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        (shape,) = self._saved_state()
        return getattr(_F, f"avg_pool{self._nd}d_backward")(
            grad_output, shape, *self._window(), channels_last=self.channels_last)


class AvgPool1d(_AvgPool):
    _nd = 1
    _args = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, *, channels_last: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad, None,
                         channels_last=channels_last)


class AvgPool2d(_AvgPool):
    _nd = 2


class AvgPool3d(_AvgPool):
    _nd = 3


class _LPPool(_Layer):
    _nd = 2
    _args = ("norm_type", "kernel_size", "stride", "ceil_mode")
    _stride_is_kernel = False  # PyTorch's LPPool repr shows stride=None

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False, *,
                 channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = getattr(_F, f"lp_pool{self._nd}d")(x, self.norm_type, self.kernel_size, self.stride,
                                                self.ceil_mode, channels_last=self.channels_last)
        self._saved = (x, y)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, y = self._saved_state()
        return getattr(_F, f"lp_pool{self._nd}d_backward")(
            grad_output, x, y, self.norm_type, self.kernel_size, self.stride, self.ceil_mode,
            channels_last=self.channels_last)


class LPPool1d(_LPPool):
    _nd = 1


class LPPool2d(_LPPool):
    _nd = 2


class LPPool3d(_LPPool):
    _nd = 3


class _AdaptiveMaxPool(_Indexed):
    _family = "adaptive_max_pool"
    _args = ("output_size",)

    def __init__(self, output_size, *, channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.output_size = output_size

    def forward(self, x: np.ndarray) -> np.ndarray:
        y, idx = getattr(_F, f"adaptive_max_pool{self._nd}d")(
            x, self.output_size, True, channels_last=self.channels_last)
        self._saved = (idx, x.shape)
        return y


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    _nd = 1


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    _nd = 2


class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    _nd = 3


class _AdaptiveAvgPool(_Layer):
    _nd = 2
    _args = ("output_size",)

    def __init__(self, output_size, *, channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.output_size = output_size

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._saved = (x.shape,)
        return getattr(_F, f"adaptive_avg_pool{self._nd}d")(x, self.output_size,
                                                            channels_last=self.channels_last)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        (shape,) = self._saved_state()
        return getattr(_F, f"adaptive_avg_pool{self._nd}d_backward")(
            grad_output, shape, channels_last=self.channels_last)


class AdaptiveAvgPool1d(_AdaptiveAvgPool):
    _nd = 1


class AdaptiveAvgPool2d(_AdaptiveAvgPool):
    _nd = 2


class AdaptiveAvgPool3d(_AdaptiveAvgPool):
    _nd = 3


def _generator(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


class _FractionalMaxPool(_Indexed):
    """New pseudo-random regions at every forward, drawn from the layer's own
    generator: an int seed gives a reproducible sequence."""
    _family = "fractional_max_pool"
    _args = ("kernel_size", "output_size", "output_ratio")

    def __init__(self, kernel_size, output_size=None, output_ratio=None, seed=None, *,
                 channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.kernel_size, self.output_size, self.output_ratio = kernel_size, output_size, \
            output_ratio
        self._rng = _generator(seed)

    def forward(self, x: np.ndarray) -> np.ndarray:
        y, idx = getattr(_F, f"fractional_max_pool{self._nd}d")(
            x, self.kernel_size, self.output_size, self.output_ratio, True, seed=self._rng,
            channels_last=self.channels_last)
        self._saved = (idx, x.shape)
        return y


class FractionalMaxPool2d(_FractionalMaxPool):
    _nd = 2


class FractionalMaxPool3d(_FractionalMaxPool):
    _nd = 3


class _MaxUnpool(_Layer):
    _nd = 2
    _args = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size, stride=None, padding=0, *,
                 channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: np.ndarray, indices: np.ndarray,
                output_size: Optional[Sequence[int]] = None) -> np.ndarray:
        y = getattr(_F, f"max_unpool{self._nd}d")(x, indices, self.kernel_size, self.stride,
                                                   self.padding, output_size,
                                                   channels_last=self.channels_last)
        self._saved = (indices,)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        (indices,) = self._saved_state()
        return getattr(_F, f"max_unpool{self._nd}d_backward")(grad_output, indices,
                                                               channels_last=self.channels_last)


class MaxUnpool1d(_MaxUnpool):
    _nd = 1


class MaxUnpool2d(_MaxUnpool):
    _nd = 2


class MaxUnpool3d(_MaxUnpool):
    _nd = 3


_EVAL_PASS = object()  # marks a forward that drew nothing


class _StochasticPool(_Indexed):
    """Training: draws at every forward from the layer's own generator (an int
    seed gives a reproducible sequence) and routes the gradient through them.
    Evaluation: the probability-weighted average, which has no backward here."""
    _family = "stochastic_pool"
    _args = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size, stride=None, padding=0, seed=None, *,
                 channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self._rng = _generator(seed)

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

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._saved_state()[0] is _EVAL_PASS:
            raise RuntimeError(f"{type(self).__name__}.backward(): the last forward ran in eval "
                               f"mode, which draws no sample; call train() for a training pass")
        return super().backward(grad_output)


class StochasticPool1d(_StochasticPool):
    _nd = 1


class StochasticPool2d(_StochasticPool):
    _nd = 2


class StochasticPool3d(_StochasticPool):
    _nd = 3


class SpatialPyramidPool(_Layer):
    """Fixed-length features from any map size (He et al. 2014)."""
    _args = ("levels", "mode", "bins")

    def __init__(self, levels: Sequence[int] = (1, 2, 4), mode: str = "max",
                 bins: str = "adaptive", *, channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.levels, self.mode, self.bins = tuple(levels), mode, bins

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
