"""Every bad call raises the documented exception with a message naming the
argument; none crashes or writes anything."""
import numpy as np
import pytest

import cpool
from conftest import check_bad_call

X2 = np.zeros((1, 2, 6, 6), np.float32)
G2 = np.zeros((1, 2, 3, 3), np.float32)
I2 = np.zeros((1, 2, 3, 3), np.int64)

BAD_CALLS = [
    # (call, exception, words the message must contain)
    (lambda: cpool.max_pool2d([[1.0]], 2), TypeError, "x must be a numpy.ndarray"),
    (lambda: cpool.max_pool2d(X2.astype(np.float16), 2), TypeError, "float16"),
    (lambda: cpool.max_pool2d(X2.astype(bool), 2), TypeError, "bool"),
    (lambda: cpool.max_pool2d(X2.astype(np.complex64), 2), TypeError, "complex64"),
    (lambda: cpool.avg_pool2d(X2.astype(np.int32), 2), TypeError, "int32"),
    (lambda: cpool.max_pool2d(X2[0, 0], 2), ValueError, "3 or 4 dimensions"),
    (lambda: cpool.max_pool2d(X2[None], 2), ValueError, "3 or 4 dimensions"),
    (lambda: cpool.max_pool1d(X2, 2), ValueError, "2 or 3 dimensions"),
    (lambda: cpool.max_pool2d(np.zeros((1, 0, 4, 4), np.float32), 2), ValueError, "shape"),
    (lambda: cpool.max_pool2d(np.zeros((1, 1, 0, 4), np.float32), 2), ValueError, "shape"),
    (lambda: cpool.max_pool2d(X2, 0), ValueError, "kernel_size"),
    (lambda: cpool.max_pool2d(X2, -1), ValueError, "kernel_size"),
    (lambda: cpool.max_pool2d(X2, (2, 2, 2)), ValueError, "kernel_size"),
    (lambda: cpool.max_pool2d(X2, 2.0), TypeError, "kernel_size"),
    (lambda: cpool.max_pool2d(X2, True), TypeError, "kernel_size"),
    (lambda: cpool.max_pool2d(X2, "2"), TypeError, "kernel_size"),
    (lambda: cpool.max_pool2d(X2, 2, 0), ValueError, "stride"),
    (lambda: cpool.max_pool2d(X2, 2, (1, -1)), ValueError, "stride"),
    (lambda: cpool.max_pool2d(X2, 2, 1, -1), ValueError, "padding"),
    (lambda: cpool.max_pool2d(X2, 3, 1, 2), ValueError, "padding"),
    (lambda: cpool.max_pool2d(X2, 3, 1, 2, dilation=2), ValueError, "padding"),
    (lambda: cpool.max_pool2d(X2, 2, dilation=0), ValueError, "dilation"),
    (lambda: cpool.max_pool2d(X2, 7), ValueError, "too small"),
    (lambda: cpool.max_pool2d(X2, 3, dilation=3), ValueError, "too small"),
    (lambda: cpool.max_pool2d(X2, 2 ** 40), ValueError, "kernel_size"),
    (lambda: cpool.max_pool2d(X2, 2 ** 41), ValueError, "kernel_size must be at most"),
    (lambda: cpool.max_pool2d(X2, 2, ceil_mode=1), TypeError, "ceil_mode"),
    (lambda: cpool.max_pool2d(X2, 2, return_indices="yes"), TypeError, "return_indices"),
    (lambda: cpool.max_pool2d(X2, 2, channels_last=None), TypeError, "channels_last"),
    (lambda: cpool.max_pool2d(X2, 2, out=np.empty((1, 2, 3, 4), np.float32)), ValueError,
     "out"),
    (lambda: cpool.max_pool2d(X2, 2, out=np.empty((1, 2, 3, 3), np.float64)), ValueError,
     "out"),
    (lambda: cpool.max_pool2d(X2, 2, out=np.empty((1, 2, 3, 6), np.float32)[..., ::2]),
     ValueError, "out"),
    (lambda: cpool.max_pool2d(X2, 2, out=[0]), TypeError, "out"),
    (lambda: cpool.max_pool2d(X2, 2, 1, out=X2[:, :, :5, :5]), ValueError, "out"),
    (lambda: cpool.avg_pool2d(X2, 2, divisor_override=0), ValueError, "divisor_override"),
    (lambda: cpool.avg_pool2d(X2, 2, divisor_override=-2), ValueError, "divisor_override"),
    (lambda: cpool.avg_pool2d(X2, 2, divisor_override=1.5), TypeError, "divisor_override"),
    (lambda: cpool.avg_pool2d(X2, 2, divisor_override=2 ** 63), ValueError, "divisor_override"),
    (lambda: cpool.avg_pool2d(X2, 2, count_include_pad=0), TypeError, "count_include_pad"),
    (lambda: cpool.avg_pool1d(X2[0], 2, divisor_override=2), TypeError, "divisor_override"),
    (lambda: cpool.avg_pool3d(X2[None], 3, 1, 2), ValueError, "padding"),
    # backward
    (lambda: cpool.max_pool2d_backward(G2, I2, (1, 2, 6)), ValueError, "input_shape"),
    (lambda: cpool.max_pool2d_backward(G2, I2, "shape"), TypeError, "input_shape"),
    (lambda: cpool.max_pool2d_backward(G2, I2, (1, 3, 6, 6)), ValueError, "grad_output"),
    (lambda: cpool.max_pool2d_backward(G2, I2[..., :2], (1, 2, 6, 6)), ValueError, "indices"),
    (lambda: cpool.max_pool2d_backward(G2, I2.astype(np.int32), (1, 2, 6, 6)), TypeError,
     "indices"),
    (lambda: cpool.max_pool2d_backward(G2.astype(np.int32), I2, (1, 2, 6, 6)), TypeError,
     "grad_output"),
    (lambda: cpool.max_pool2d_backward(G2, I2 + 36, (1, 2, 6, 6)), ValueError,
     "max_pool2d_backward(): indices holds a value outside its plane: valid values are -1 "
     "and 0 <= index < 36"),
    (lambda: cpool.max_pool2d_backward(G2, I2 - 2, (1, 2, 6, 6)), ValueError, "indices"),
    (lambda: cpool.max_pool2d_backward(G2, I2 + 2 ** 62, (1, 2, 6, 6)), ValueError, "indices"),
    (lambda: cpool.max_pool2d_backward(np.moveaxis(G2, 1, -1), np.moveaxis(I2 + 36, 1, -1),
                                       (1, 6, 6, 2), channels_last=True), ValueError,
     "indices"),
    (lambda: cpool.avg_pool2d_backward(G2, (1, 2, 6, 6), 3), ValueError, "grad_output"),
    (lambda: cpool.avg_pool2d_backward(G2, (1, 2, 6, 6), 2, padding=2), ValueError,
     "padding"),
    (lambda: cpool.avg_pool2d_backward(G2.astype(np.float16), (1, 2, 6, 6), 2), TypeError,
     "grad_output"),
    # found by tests/test_fuzz.py: sizes past the bounds are refused before
    # any allocation or loop, each naming its argument
    (lambda: cpool.adaptive_avg_pool1d(X2[0], 2 ** 41), ValueError, "output_size"),
    (lambda: cpool.spatial_pyramid_pool(X2[0], (2 ** 61,)), ValueError, "levels"),
    (lambda: cpool.max_pool1d_backward(G2[0], I2[0], (2, 2 ** 62)), ValueError,
     "input_shape"),
    (lambda: cpool.max_unpool2d(G2, I2, 2, stride=2 ** 41), ValueError, "stride"),
    (lambda: cpool.lp_pool1d(X2[0], 2 ** 1024, 2), ValueError, "norm_type"),
    # a window area past int64 would wrap the divisor (it gave zeros)
    (lambda: cpool.avg_pool2d(np.ones((1, 3, 3), np.float32), 2 ** 32, 1, 2 ** 31),
     ValueError, "kernel_size"),
    (lambda: cpool.nn.AvgPool1d(2).forward([[1.0, 2.0]]), TypeError, "numpy.ndarray"),
    (lambda: cpool.nn.AdaptiveAvgPool1d(2).forward([[1.0, 2.0]]), TypeError, "numpy.ndarray"),
    (lambda: cpool.set_num_threads(0), ValueError, "n must be >= 1"),
    (lambda: cpool.set_num_threads(1.5), TypeError, "n must be an int"),
]


@pytest.mark.parametrize("call,exc,words", BAD_CALLS,
                         ids=[f"{j}-{w}" for j, (_, _, w) in enumerate(BAD_CALLS)])
def test_bad_call_raises(call, exc, words):
    check_bad_call(call, exc, words, (X2, G2, I2))


def test_error_names_the_function_and_value():
    with pytest.raises(ValueError, match=r"max_pool3d\(\): stride must be positive, got "
                                         r"\(1, 0, 1\)"):
        cpool.max_pool3d(np.zeros((1, 1, 4, 4, 4), np.float32), 2, (1, 0, 1))


def test_backward_of_a_window_far_wider_than_the_input_is_quick():
    """Found by the fuzz: the average and Lp backward walked every tap of the
    kernel along W, so a kernel of 2**40 (accepted, since padding makes the
    output size 1) took hours.  Only the taps that reach the input are
    walked now.  The ceil-mode window hangs past the input, which the divisor
    does not count, so each element gets 1/4."""
    g = np.ones((1, 1, 1), np.float32)
    gx = cpool.avg_pool1d_backward(g, (1, 1, 4), 2 ** 40, 2 ** 40, ceil_mode=True)
    np.testing.assert_array_equal(gx, np.full((1, 1, 4), 0.25, np.float32))
    x = np.ones((1, 1, 4))
    y = cpool.lp_pool1d(x, 2, 2 ** 40, 2 ** 40, ceil_mode=True)
    gl = cpool.lp_pool1d_backward(np.ones_like(y), x, y, 2, 2 ** 40, 2 ** 40, ceil_mode=True)
    np.testing.assert_allclose(gl, x / y[..., :1])
