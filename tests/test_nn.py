"""cpool.nn layer objects: every layer's forward and backward equal the
functions called directly (exactly), in both layouts and for batch-less
input; the random layers (FractionalMaxPool, StochasticPool) draw anew on each
call from their own numpy Generator, reproducibly for an int seed, and their
backward routes through the drawn positions; train()/eval(), backward before
forward, eval-mode backward of StochasticPool, and the reprs.  cpool.nn is
imported at call time, so the module collects before it exists."""
import numpy as np
import pytest

import cpool
import reference as ref
from conftest import SHAPES, make_input, to_layout


def nn():
    import cpool.nn  # noqa: F401  (looked up at call time)
    return cpool.nn


def layer(name, *args, **kw):
    return getattr(nn(), name)(*args, **kw)


def fn(name):
    return getattr(cpool, name)


ALL_CLASSES = [f"{fam}{nd}d" for fam in ("MaxPool", "AvgPool", "LPPool", "AdaptiveMaxPool",
                                         "AdaptiveAvgPool", "MaxUnpool", "StochasticPool")
               for nd in (1, 2, 3)] + ["FractionalMaxPool2d", "FractionalMaxPool3d",
                                       "SpatialPyramidPool"]


def minimal(name):
    """A valid layer of the class with few arguments."""
    if name.startswith("LPPool"):
        return layer(name, 2, 2)
    if name.startswith("Adaptive"):
        return layer(name, 2)
    if name.startswith("Fractional"):
        return layer(name, 2, output_size=2, seed=0)
    if name == "SpatialPyramidPool":
        return layer(name)
    return layer(name, 2)


# ---- deterministic layers against the functions --------------------------------
# (class, nd, constructor kwargs); the kwargs use the functions' argument names.

DET_CASES = [
    ("MaxPool1d", 1, dict(kernel_size=3, stride=2, padding=1)),
    ("MaxPool1d", 1, dict(kernel_size=3, stride=1, dilation=2, ceil_mode=True)),
    ("MaxPool2d", 2, dict(kernel_size=3, stride=2, padding=1)),
    ("MaxPool2d", 2, dict(kernel_size=(2, 3), stride=(1, 2), ceil_mode=True)),
    ("MaxPool2d", 2, dict(kernel_size=2)),
    ("MaxPool3d", 3, dict(kernel_size=2)),
    ("MaxPool3d", 3, dict(kernel_size=(3, 2, 3), stride=2, padding=(1, 0, 1), dilation=(1, 2, 1))),
    ("AvgPool1d", 1, dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ("AvgPool1d", 1, dict(kernel_size=2, stride=3, ceil_mode=True)),
    ("AvgPool2d", 2, dict(kernel_size=3, stride=2, padding=1)),
    ("AvgPool2d", 2, dict(kernel_size=(2, 3), ceil_mode=True, divisor_override=5)),
    ("AvgPool3d", 3, dict(kernel_size=2, stride=1, padding=1, count_include_pad=False)),
    ("AvgPool3d", 3, dict(kernel_size=(3, 2, 2), divisor_override=3)),
    ("LPPool1d", 1, dict(norm_type=2, kernel_size=3, stride=2)),
    ("LPPool1d", 1, dict(norm_type=1.5, kernel_size=2, ceil_mode=True)),
    ("LPPool2d", 2, dict(norm_type=2, kernel_size=(2, 3))),
    ("LPPool2d", 2, dict(norm_type=3, kernel_size=3, stride=2, ceil_mode=True)),
    ("LPPool3d", 3, dict(norm_type=2, kernel_size=2, stride=(1, 2, 2))),
    ("AdaptiveMaxPool1d", 1, dict(output_size=4)),
    ("AdaptiveMaxPool2d", 2, dict(output_size=(3, 5))),
    ("AdaptiveMaxPool2d", 2, dict(output_size=(None, 2))),
    ("AdaptiveMaxPool3d", 3, dict(output_size=(2, 3, 2))),
    ("AdaptiveAvgPool1d", 1, dict(output_size=4)),
    ("AdaptiveAvgPool2d", 2, dict(output_size=(3, 5))),
    ("AdaptiveAvgPool2d", 2, dict(output_size=1)),
    ("AdaptiveAvgPool3d", 3, dict(output_size=(2, 3, 2))),
    ("SpatialPyramidPool", 2, dict()),
    ("SpatialPyramidPool", 2, dict(levels=(6, 3, 2, 1), mode="avg", bins="paper")),
    ("SpatialPyramidPool", 2, dict(levels=(4, 1), mode="max", bins="paper")),
    ("SpatialPyramidPool", 2, dict(levels=(2, 3), mode="avg", bins="adaptive")),
]


def direct(name, nd, kw, x, cl):
    """The functions called directly: (y, backward(g) -> grad_x)."""
    fam = name[:-2]
    c = dict(channels_last=cl)
    if fam == "MaxPool":
        y, i = fn(f"max_pool{nd}d")(x, return_indices=True, **kw, **c)
        return y, lambda g: fn(f"max_pool{nd}d_backward")(g, i, x.shape, **c)
    if fam == "AvgPool":
        y = fn(f"avg_pool{nd}d")(x, **kw, **c)
        return y, lambda g: fn(f"avg_pool{nd}d_backward")(g, x.shape, **kw, **c)
    if fam == "LPPool":
        y = fn(f"lp_pool{nd}d")(x, **kw, **c)
        return y, lambda g: fn(f"lp_pool{nd}d_backward")(g, x, y, **kw, **c)
    if fam == "AdaptiveMaxPool":
        y, i = fn(f"adaptive_max_pool{nd}d")(x, return_indices=True, **kw, **c)
        return y, lambda g: fn(f"adaptive_max_pool{nd}d_backward")(g, i, x.shape, **c)
    if fam == "AdaptiveAvgPool":
        y = fn(f"adaptive_avg_pool{nd}d")(x, **kw, **c)
        return y, lambda g: fn(f"adaptive_avg_pool{nd}d_backward")(g, x.shape, **c)
    assert name == "SpatialPyramidPool"
    if kw.get("mode", "max") == "max":
        y, i = cpool.spatial_pyramid_pool(x, return_indices=True, **kw, **c)
    else:
        y, i = cpool.spatial_pyramid_pool(x, **kw, **c), None
    return y, lambda g: cpool.spatial_pyramid_pool_backward(g, x.shape, indices=i, **kw, **c)


def case_input(name, nd, dtype, rng):
    x = make_input(SHAPES[nd], dtype, rng, ties=name.startswith(("Max", "AdaptiveMax")))
    if name.startswith("LPPool"):
        x = np.abs(x) + dtype(0.25)  # positive: no NaN from fractional powers
    return x


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("case", range(len(DET_CASES)),
                         ids=[f"{c[0]}-{j}" for j, c in enumerate(DET_CASES)])
def test_layer_equals_functions(case, channels_last, rng):
    name, nd, kw = DET_CASES[case]
    dtype = np.float64 if case % 2 else np.float32
    lay = layer(name, **kw, channels_last=channels_last)
    x = to_layout(case_input(name, nd, dtype, rng), channels_last)
    before = x.copy()
    y = lay.forward(x)
    ry, rback = direct(name, nd, kw, x, channels_last)
    assert isinstance(y, np.ndarray) and y.dtype == dtype
    np.testing.assert_array_equal(y, ry)
    g = rng.standard_normal(y.shape).astype(dtype)
    gx = lay.backward(g)
    assert gx.shape == x.shape and gx.dtype == dtype
    np.testing.assert_array_equal(gx, rback(g))
    np.testing.assert_array_equal(x, before)
    # a second forward on another input: backward follows the latest forward
    x2 = to_layout(case_input(name, nd, dtype, rng), channels_last)[:1]
    y2 = lay.forward(x2)
    ry2, rback2 = direct(name, nd, kw, x2, channels_last)
    np.testing.assert_array_equal(y2, ry2)
    g2 = rng.standard_normal(y2.shape).astype(dtype)
    np.testing.assert_array_equal(lay.backward(g2), rback2(g2))


@pytest.mark.parametrize("case", range(0, len(DET_CASES), 3),
                         ids=[f"{DET_CASES[j][0]}-{j}" for j in range(0, len(DET_CASES), 3)])
def test_layer_batchless_input(case, rng):
    name, nd, kw = DET_CASES[case]
    lay = layer(name, **kw)
    x = case_input(name, nd, np.float64, rng)[1]
    y = lay.forward(x)
    ry, rback = direct(name, nd, kw, x, False)
    np.testing.assert_array_equal(y, ry)
    g = rng.standard_normal(y.shape)
    gx = lay.backward(g)
    assert gx.shape == x.shape
    np.testing.assert_array_equal(gx, rback(g))


def test_positional_constructor_arguments(rng):
    x = make_input(SHAPES[2], np.float32, rng)
    np.testing.assert_array_equal(layer("MaxPool2d", 3, 2, 1).forward(x),
                                  cpool.max_pool2d(x, 3, 2, 1))
    np.testing.assert_array_equal(layer("AvgPool2d", 3, 2, 1, True, False).forward(x),
                                  cpool.avg_pool2d(x, 3, 2, 1, True, False))
    xp = np.abs(x) + 1
    np.testing.assert_array_equal(layer("LPPool2d", 2, 3, 2).forward(xp),
                                  cpool.lp_pool2d(xp, 2, 3, 2))
    np.testing.assert_array_equal(layer("AdaptiveMaxPool2d", (2, 3)).forward(x),
                                  cpool.adaptive_max_pool2d(x, (2, 3)))
    np.testing.assert_array_equal(layer("SpatialPyramidPool", (3, 1), "avg", "paper").forward(x),
                                  cpool.spatial_pyramid_pool(x, (3, 1), "avg", "paper"))


def test_max_layer_integer_input(rng):
    x = make_input(SHAPES[2], np.int16, rng)
    lay = layer("MaxPool2d", 3, 2, 1)
    np.testing.assert_array_equal(lay.forward(x), cpool.max_pool2d(x, 3, 2, 1))
    _, i = cpool.max_pool2d(x, 3, 2, 1, return_indices=True)
    g = rng.standard_normal(i.shape)
    np.testing.assert_array_equal(lay.backward(g), cpool.max_pool2d_backward(g, i, x.shape))


# ---- MaxUnpool ----------------------------------------------------------------

# (nd, kernel, stride, padding, input shape): shapes whose default unpooled
# size is the input's own, so the pooling indices fit it
UNPOOL_CASES = [(1, 3, 2, 1, (2, 3, 11)), (2, 2, None, 0, (2, 3, 8, 8)),
                (2, (2, 3), (2, 2), (1, 0), (2, 3, 8, 9)), (3, 2, None, 0, (2, 2, 4, 6, 4))]


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("case", UNPOOL_CASES, ids=lambda c: str(c[:4]))
def test_max_unpool_layer_equals_functions(case, channels_last, rng):
    nd, k, s, p, shape = case
    x = to_layout(make_input(shape, np.float64, rng, ties=False), channels_last)
    c = dict(channels_last=channels_last)
    y, i = fn(f"max_pool{nd}d")(x, k, s, p, return_indices=True, **c)
    lay = layer(f"MaxUnpool{nd}d", k, s, p, **c)
    u = lay.forward(y, i)
    np.testing.assert_array_equal(u, fn(f"max_unpool{nd}d")(y, i, k, s, p, **c))
    g = rng.standard_normal(u.shape)
    gy = lay.backward(g)
    assert gy.shape == y.shape
    np.testing.assert_array_equal(gy, fn(f"max_unpool{nd}d_backward")(g, i, **c))
    # output_size: the pooled input's own spatial size
    S = x.shape[1:1 + nd] if channels_last else x.shape[2:]
    u2 = lay.forward(y, i, output_size=S)
    np.testing.assert_array_equal(u2, fn(f"max_unpool{nd}d")(y, i, k, s, p, output_size=S, **c))
    g2 = rng.standard_normal(u2.shape)
    np.testing.assert_array_equal(lay.backward(g2), fn(f"max_unpool{nd}d_backward")(g2, i, **c))


# ---- random layers -------------------------------------------------------------

def distinct_positive(shape, rng):
    """Distinct positive values: a pooled value identifies its position."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) + 1.0) / n


def recovered_indices(x, y, nd, cl):
    """Each output's flat in-plane position, found by its value (x's values
    are distinct), in y's layout."""
    xc, _ = ref._to_cf(x, nd, cl)
    yc, back = ref._to_cf(y, nd, cl)
    N, C = xc.shape[:2]
    idx = np.empty(yc.shape, dtype=np.int64)
    for n in range(N):
        for c in range(C):
            pos = {v: j for j, v in enumerate(xc[n, c].ravel().tolist())}
            idx[n, c] = np.array([pos[v] for v in yc[n, c].ravel().tolist()]).reshape(
                yc.shape[2:])
    return back(idx)


RANDOM_CASES = [
    ("FractionalMaxPool2d", 2, dict(kernel_size=2, output_size=(5, 6))),
    ("FractionalMaxPool2d", 2, dict(kernel_size=(2, 3), output_ratio=0.6)),
    ("FractionalMaxPool3d", 3, dict(kernel_size=2, output_size=(3, 4, 3))),
    ("StochasticPool1d", 1, dict(kernel_size=3, stride=2, padding=1)),
    ("StochasticPool2d", 2, dict(kernel_size=3, stride=2)),
    ("StochasticPool2d", 2, dict(kernel_size=(2, 3), stride=1, padding=(1, 1))),
    ("StochasticPool3d", 3, dict(kernel_size=2)),
]
RANDOM_SHAPES = {1: (2, 3, 17), 2: (2, 3, 12, 13), 3: (2, 2, 7, 8, 7)}


def random_fn(name, nd, kw, x, seed, cl):
    """The function with the layer's arguments and seed: (y, indices)."""
    c = dict(channels_last=cl)
    if name.startswith("Fractional"):
        return fn(f"fractional_max_pool{nd}d")(x, return_indices=True, seed=seed, **kw, **c)
    return fn(f"stochastic_pool{nd}d")(x, training=True, seed=seed, return_indices=True,
                                       **kw, **c)


def random_bwd(name, nd, g, i, shape, cl):
    kind = "fractional_max" if name.startswith("Fractional") else "stochastic"
    return fn(f"{kind}_pool{nd}d_backward")(g, i, shape, channels_last=cl)


RIDS = [f"{c[0]}-{j}" for j, c in enumerate(RANDOM_CASES)]


@pytest.mark.parametrize("channels_last", [False, True], ids=["cf", "cl"])
@pytest.mark.parametrize("case", range(len(RANDOM_CASES)), ids=RIDS)
def test_random_layer_backward_routes_through_the_draw(case, channels_last, rng):
    """Whatever was drawn, the output holds x at the drawn positions and the
    backward scatters grad_output onto exactly those positions."""
    name, nd, kw = RANDOM_CASES[case]
    lay = layer(name, **kw, seed=3, channels_last=channels_last)
    x = to_layout(distinct_positive(RANDOM_SHAPES[nd], rng), channels_last)
    for _ in range(2):
        y = lay.forward(x)
        i = recovered_indices(x, y, nd, channels_last)
        g = rng.standard_normal(y.shape)
        gx = lay.backward(g)
        assert gx.shape == x.shape
        np.testing.assert_array_equal(gx, random_bwd(name, nd, g, i, x.shape, channels_last))
        np.testing.assert_array_equal(gx, ref.max_pool_backward(g, i, x.shape, nd,
                                                                channels_last=channels_last))


@pytest.mark.parametrize("case", range(len(RANDOM_CASES)), ids=RIDS)
def test_random_layer_equals_function_with_its_generator(case, rng):
    """The layer's Generator is numpy.random.default_rng(seed), handed to the
    function on each call: the same sequence of outputs and gradients."""
    name, nd, kw = RANDOM_CASES[case]
    x = distinct_positive(RANDOM_SHAPES[nd], rng)
    for cl in (False, True):
        xl = to_layout(x, cl)
        lay = layer(name, **kw, seed=11, channels_last=cl)
        gen = np.random.default_rng(11)
        for _ in range(3):
            y = lay.forward(xl)
            ry, ri = random_fn(name, nd, kw, xl, gen, cl)
            np.testing.assert_array_equal(y, ry)
            g = rng.standard_normal(y.shape)
            np.testing.assert_array_equal(lay.backward(g),
                                          random_bwd(name, nd, g, ri, xl.shape, cl))


@pytest.mark.parametrize("case", range(len(RANDOM_CASES)), ids=RIDS)
def test_random_layer_draws_anew_and_seed_reproduces(case, rng):
    name, nd, kw = RANDOM_CASES[case]
    x = distinct_positive(RANDOM_SHAPES[nd], rng)
    a = layer(name, **kw, seed=42)
    b = layer(name, **kw, seed=42)
    c = layer(name, **kw, seed=43)
    ya = [a.forward(x) for _ in range(3)]
    yb = [b.forward(x) for _ in range(3)]
    yc = [c.forward(x) for _ in range(3)]
    for u, v in zip(ya, yb):
        np.testing.assert_array_equal(u, v)
    # new draws on every call, and another seed draws differently
    assert not np.array_equal(ya[0], ya[1]) and not np.array_equal(ya[1], ya[2])
    assert not all(np.array_equal(u, w) for u, w in zip(ya, yc))
    # gradients follow the same sequence
    g = rng.standard_normal(ya[2].shape)
    np.testing.assert_array_equal(a.backward(g), b.backward(g))
    # seed=None still works (fresh entropy)
    assert layer(name, **kw).forward(x).shape == ya[0].shape


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_stochastic_layer_eval(nd, rng):
    kw = dict(kernel_size=2, stride=1, padding=1)
    xt = distinct_positive(RANDOM_SHAPES[nd], rng)
    x = xt.copy()
    x.reshape(-1)[::7] = 0.0  # all-zero windows occur in eval mode
    for cl in (False, True):
        xl, xtl = to_layout(x, cl), to_layout(xt, cl)
        lay = layer(f"StochasticPool{nd}d", **kw, seed=1, channels_last=cl)
        y_train = lay.forward(xl)
        assert lay.eval() is lay and lay.training is False
        y = lay.forward(xl)
        want = fn(f"stochastic_pool{nd}d")(xl, training=False, **kw, channels_last=cl)
        np.testing.assert_array_equal(y, want)
        np.testing.assert_array_equal(lay.forward(xl), want)  # no draw in eval mode
        assert not np.array_equal(y, y_train)
        with pytest.raises(RuntimeError, match="eval"):
            lay.backward(np.ones_like(y))
        # back in training mode, forward draws and backward works again
        assert lay.train() is lay and lay.training is True
        y2 = lay.forward(xtl)
        i = recovered_indices(xtl, y2, nd, cl)
        g = rng.standard_normal(y2.shape)
        np.testing.assert_array_equal(
            lay.backward(g), fn(f"stochastic_pool{nd}d_backward")(g, i, xtl.shape,
                                                                  channels_last=cl))


# ---- mode, errors, repr ---------------------------------------------------------

@pytest.mark.parametrize("name", ALL_CLASSES)
def test_train_eval_toggle(name):
    lay = minimal(name)
    assert lay.training is True
    assert lay.eval() is lay
    assert lay.training is False
    assert lay.eval() is lay and lay.training is False
    assert lay.train() is lay
    assert lay.training is True


def test_eval_mode_does_not_change_deterministic_layers(rng):
    x = make_input(SHAPES[2], np.float64, rng)
    for name, nd, kw in DET_CASES:
        if nd != 2:
            continue
        xx = np.abs(x) + 0.25 if name.startswith("LPPool") else x
        lay = layer(name, **kw)
        y = lay.forward(xx)
        g = rng.standard_normal(y.shape)
        gx = lay.backward(g)
        lay.eval()
        np.testing.assert_array_equal(lay.forward(xx), y)
        np.testing.assert_array_equal(lay.backward(g), gx)


@pytest.mark.parametrize("name", ALL_CLASSES)
def test_backward_before_forward_raises(name):
    lay = minimal(name)
    with pytest.raises(RuntimeError, match="forward"):
        lay.backward(np.ones((1, 1, 2, 2)))


def test_repr_examples():
    assert repr(layer("MaxPool2d", 3, stride=2, padding=1)) == \
        "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)"
    assert repr(layer("MaxPool2d", 2)) == \
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(layer("AdaptiveAvgPool2d", 7)) == "AdaptiveAvgPool2d(output_size=7)"
    assert repr(layer("SpatialPyramidPool")) == \
        "SpatialPyramidPool(levels=(1, 2, 4), mode='max', bins='adaptive')"
    assert repr(layer("SpatialPyramidPool", (6, 3, 2, 1), "avg", "paper")) == \
        "SpatialPyramidPool(levels=(6, 3, 2, 1), mode='avg', bins='paper')"
    assert repr(layer("StochasticPool2d", 3, 2)) == \
        "StochasticPool2d(kernel_size=3, stride=2, padding=0)"


REPR_CASES = [
    ("MaxPool1d", (4,), dict(stride=3, padding=2, dilation=2, ceil_mode=True),
     ["kernel_size=4", "stride=3", "padding=2", "dilation=2", "ceil_mode=True"]),
    ("MaxPool3d", ((1, 2, 3),), {}, ["kernel_size=(1, 2, 3)", "padding=0"]),
    ("AvgPool1d", (3, 2, 1), {}, ["kernel_size=3", "stride=2", "padding=1"]),
    ("AvgPool2d", (3,), dict(padding=1), ["kernel_size=3", "padding=1"]),
    ("AvgPool3d", (2, 1), {}, ["kernel_size=2", "stride=1"]),
    ("LPPool1d", (2, 3), {}, ["norm_type=2", "kernel_size=3"]),
    ("LPPool2d", (3, (2, 3), 1), {}, ["norm_type=3", "kernel_size=(2, 3)", "stride=1"]),
    ("LPPool3d", (1.5, 2), dict(ceil_mode=True), ["norm_type=1.5", "kernel_size=2",
                                                  "ceil_mode=True"]),
    ("AdaptiveMaxPool1d", (5,), {}, ["output_size=5"]),
    ("AdaptiveMaxPool3d", ((2, None, 4),), {}, ["output_size=(2, None, 4)"]),
    ("AdaptiveAvgPool1d", (3,), {}, ["output_size=3"]),
    ("AdaptiveAvgPool3d", (1,), {}, ["output_size=1"]),
    ("FractionalMaxPool2d", (2,), dict(output_size=(5, 6)), ["kernel_size=2",
                                                             "output_size=(5, 6)"]),
    ("FractionalMaxPool3d", (3,), dict(output_ratio=0.5), ["kernel_size=3",
                                                           "output_ratio=0.5"]),
    ("MaxUnpool1d", (2,), {}, ["kernel_size=2"]),
    ("MaxUnpool2d", (3, 2, 1), {}, ["kernel_size=3", "stride=2", "padding=1"]),
    ("MaxUnpool3d", (2,), dict(padding=1), ["kernel_size=2", "padding=1"]),
    ("StochasticPool1d", (3,), dict(padding=1), ["kernel_size=3", "padding=1"]),
    ("StochasticPool3d", ((1, 2, 2), 1), {}, ["kernel_size=(1, 2, 2)", "stride=1"]),
]


@pytest.mark.parametrize("name,args,kw,parts", REPR_CASES, ids=[c[0] for c in REPR_CASES])
def test_repr_has_class_name_and_arguments(name, args, kw, parts):
    r = repr(layer(name, *args, **kw))
    assert r.startswith(name + "(") and r.endswith(")"), r
    for p in parts:
        assert p in r, (p, r)
