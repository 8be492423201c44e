"""Type aliases and the overloaded signatures of cpool's public functions.

The functions that return ``y`` or ``(y, indices)`` depending on
``return_indices`` have one overloaded signature per family, written once
here as the ``__call__`` of a Protocol; :func:`typed_as` gives it to each
rank's function.  A type checker then sees an ``ndarray`` for
``return_indices=False`` (the default), a pair for ``True`` (passed by keyword
or by position) and the union for a ``bool`` known only at run time.  Each
Protocol's last overload is the run-time signature itself; the tests check
that they agree."""
from __future__ import annotations

from typing import (Any, Callable, Literal, Optional, Protocol, Sequence, Tuple, TypeVar,
                    Union, cast, overload)

import numpy as np

IntOrTuple = Union[int, Sequence[int]]          # a window argument: one int, or one per axis
SizeArg = Union[int, None, Sequence[Optional[int]]]  # adaptive output_size; None keeps an axis
RatioArg = Union[float, Sequence[float], None]  # fractional output_ratio
Seed = Union[int, np.random.Generator, None]    # an int, a Generator (one draw), fresh entropy
Shape = Tuple[int, ...]                         # input_shape of the backward functions
Indexed = Tuple[np.ndarray, np.ndarray]         # (y, indices)
Pooled = Union[np.ndarray, Indexed]             # y, or (y, indices) on request

_Sig = TypeVar("_Sig")


def typed_as(signature: Callable[..., _Sig]) -> Callable[[Callable[..., Any]], _Sig]:
    """Decorator: type checkers see the function as `signature` (one of the
    Protocols below); at run time it is returned unchanged."""
    def keep(fn: Callable[..., Any]) -> _Sig:
        return cast(_Sig, fn)
    return keep


class MaxPoolFunction(Protocol):
    """``max_pool1d``, ``max_pool2d``, ``max_pool3d``."""

    @overload
    def __call__(self, x: np.ndarray, kernel_size: IntOrTuple,
                 stride: Optional[IntOrTuple] = ..., padding: IntOrTuple = ...,
                 dilation: IntOrTuple = ..., ceil_mode: bool = ...,
                 return_indices: Literal[False] = ..., *, channels_last: bool = ...,
                 out: Optional[np.ndarray] = ...) -> np.ndarray: ...
    @overload
    def __call__(self, x: np.ndarray, kernel_size: IntOrTuple, stride: Optional[IntOrTuple],
                 padding: IntOrTuple, dilation: IntOrTuple, ceil_mode: bool,
                 return_indices: Literal[True], *, channels_last: bool = ...,
                 out: Optional[np.ndarray] = ...) -> Indexed: ...
    @overload
    def __call__(self, x: np.ndarray, kernel_size: IntOrTuple,
                 stride: Optional[IntOrTuple] = ..., padding: IntOrTuple = ...,
                 dilation: IntOrTuple = ..., ceil_mode: bool = ..., *,
                 return_indices: Literal[True], channels_last: bool = ...,
                 out: Optional[np.ndarray] = ...) -> Indexed: ...
    @overload
    def __call__(self, x: np.ndarray, kernel_size: IntOrTuple,
                 stride: Optional[IntOrTuple] = ..., padding: IntOrTuple = ...,
                 dilation: IntOrTuple = ..., ceil_mode: bool = ...,
                 return_indices: bool = ..., *, channels_last: bool = ...,
                 out: Optional[np.ndarray] = ...) -> Pooled: ...


class AdaptiveMaxPoolFunction(Protocol):
    """``adaptive_max_pool1d``, ``adaptive_max_pool2d``, ``adaptive_max_pool3d``
    (``return_indices`` follows the required arguments, so one overload
    covers it by position and by keyword)."""

    @overload
    def __call__(self, x: np.ndarray, output_size: SizeArg,
                 return_indices: Literal[False] = ..., *, channels_last: bool = ...,
                 out: Optional[np.ndarray] = ...) -> np.ndarray: ...
    @overload
    def __call__(self, x: np.ndarray, output_size: SizeArg, return_indices: Literal[True],
                 *, channels_last: bool = ..., out: Optional[np.ndarray] = ...) -> Indexed: ...
    @overload
    def __call__(self, x: np.ndarray, output_size: SizeArg, return_indices: bool = ..., *,
                 channels_last: bool = ..., out: Optional[np.ndarray] = ...) -> Pooled: ...


class FractionalMaxPoolFunction(Protocol):
    """``fractional_max_pool2d``, ``fractional_max_pool3d``."""

    @overload
    def __call__(self, x: np.ndarray, kernel_size: IntOrTuple,
                 output_size: Optional[IntOrTuple] = ..., output_ratio: RatioArg = ...,
                 return_indices: Literal[False] = ...,
                 random_samples: Optional[np.ndarray] = ..., seed: Seed = ..., *,
                 channels_last: bool = ...) -> np.ndarray: ...
    @overload
    def __call__(self, x: np.ndarray, kernel_size: IntOrTuple,
                 output_size: Optional[IntOrTuple], output_ratio: RatioArg,
                 return_indices: Literal[True], random_samples: Optional[np.ndarray] = ...,
                 seed: Seed = ..., *, channels_last: bool = ...) -> Indexed: ...
    @overload
    def __call__(self, x: np.ndarray, kernel_size: IntOrTuple,
                 output_size: Optional[IntOrTuple] = ..., output_ratio: RatioArg = ..., *,
                 return_indices: Literal[True], random_samples: Optional[np.ndarray] = ...,
                 seed: Seed = ..., channels_last: bool = ...) -> Indexed: ...
    @overload
    def __call__(self, x: np.ndarray, kernel_size: IntOrTuple,
                 output_size: Optional[IntOrTuple] = ..., output_ratio: RatioArg = ...,
                 return_indices: bool = ..., random_samples: Optional[np.ndarray] = ...,
                 seed: Seed = ..., *, channels_last: bool = ...) -> Pooled: ...


class StochasticPoolFunction(Protocol):
    """``stochastic_pool1d``, ``stochastic_pool2d``, ``stochastic_pool3d``."""

    @overload
    def __call__(self, x: np.ndarray, kernel_size: IntOrTuple,
                 stride: Optional[IntOrTuple] = ..., padding: IntOrTuple = ...,
                 training: bool = ..., seed: Seed = ..., return_indices: Literal[False] = ...,
                 *, channels_last: bool = ..., out: Optional[np.ndarray] = ...
                 ) -> np.ndarray: ...
    @overload
    def __call__(self, x: np.ndarray, kernel_size: IntOrTuple, stride: Optional[IntOrTuple],
                 padding: IntOrTuple, training: bool, seed: Seed,
                 return_indices: Literal[True], *, channels_last: bool = ...,
                 out: Optional[np.ndarray] = ...) -> Indexed: ...
    @overload
    def __call__(self, x: np.ndarray, kernel_size: IntOrTuple,
                 stride: Optional[IntOrTuple] = ..., padding: IntOrTuple = ...,
                 training: bool = ..., seed: Seed = ..., *, return_indices: Literal[True],
                 channels_last: bool = ..., out: Optional[np.ndarray] = ...) -> Indexed: ...
    @overload
    def __call__(self, x: np.ndarray, kernel_size: IntOrTuple,
                 stride: Optional[IntOrTuple] = ..., padding: IntOrTuple = ...,
                 training: bool = ..., seed: Seed = ..., return_indices: bool = ..., *,
                 channels_last: bool = ..., out: Optional[np.ndarray] = ...) -> Pooled: ...


class SpatialPyramidPoolFunction(Protocol):
    """``spatial_pyramid_pool``."""

    @overload
    def __call__(self, x: np.ndarray, levels: Sequence[int] = ..., mode: str = ...,
                 bins: str = ..., return_indices: Literal[False] = ..., *,
                 channels_last: bool = ...) -> np.ndarray: ...
    @overload
    def __call__(self, x: np.ndarray, levels: Sequence[int], mode: str, bins: str,
                 return_indices: Literal[True], *, channels_last: bool = ...) -> Indexed: ...
    @overload
    def __call__(self, x: np.ndarray, levels: Sequence[int] = ..., mode: str = ...,
                 bins: str = ..., *, return_indices: Literal[True],
                 channels_last: bool = ...) -> Indexed: ...
    @overload
    def __call__(self, x: np.ndarray, levels: Sequence[int] = ..., mode: str = ...,
                 bins: str = ..., return_indices: bool = ..., *,
                 channels_last: bool = ...) -> Pooled: ...
