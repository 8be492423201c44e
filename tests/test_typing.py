"""Static types of the public API, checked against the installed package:
tests/typing/user_calls.py (typical user code) passes ``mypy --strict`` and
runs, and the overloaded signatures in cpool/_types.py agree with the
functions they describe."""
import ast
import inspect
import os
import pathlib
import runpy
import subprocess
import sys
import typing

import pytest

import cpool
import cpool.nn
from cpool import _types

USER_CALLS = pathlib.Path(__file__).resolve().parent / "typing" / "user_calls.py"

# the functions whose result depends on return_indices, by Protocol
OVERLOADED = {
    "MaxPoolFunction": ["max_pool1d", "max_pool2d", "max_pool3d"],
    "AdaptiveMaxPoolFunction": ["adaptive_max_pool1d", "adaptive_max_pool2d",
                                "adaptive_max_pool3d"],
    "FractionalMaxPoolFunction": ["fractional_max_pool2d", "fractional_max_pool3d"],
    "StochasticPoolFunction": ["stochastic_pool1d", "stochastic_pool2d", "stochastic_pool3d"],
    "SpatialPyramidPoolFunction": ["spatial_pyramid_pool"],
}


def test_user_calls_pass_mypy_strict(tmp_path):
    pytest.importorskip("mypy", reason="needs mypy (pip install 'cpool[test]')")
    # From an empty folder, so that mypy finds the installed cpool rather
    # than a source tree in the working directory.
    env = {k: v for k, v in os.environ.items() if k != "MYPYPATH"}
    res = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir",
                          str(tmp_path / ".mypy_cache"), str(USER_CALLS)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr


def test_user_calls_run():
    runpy.run_path(str(USER_CALLS), run_name="user_calls")


def _overloads(protocol):
    """Each overload of `protocol`.__call__ as [(name, kind, has_default,
    annotation)], without self, read from the installed _types.py."""
    tree = ast.parse(inspect.getsource(_types))
    cls = next(node for node in tree.body
               if isinstance(node, ast.ClassDef) and node.name == protocol)
    result = []
    for fn in cls.body:
        if not (isinstance(fn, ast.FunctionDef) and fn.name == "__call__"):
            continue
        a = fn.args
        positional = a.args[1:]
        first_default = len(positional) - len(a.defaults)
        params = [(p.arg, inspect.Parameter.POSITIONAL_OR_KEYWORD, i >= first_default,
                   ast.unparse(p.annotation)) for i, p in enumerate(positional)]
        params += [(p.arg, inspect.Parameter.KEYWORD_ONLY, d is not None,
                    ast.unparse(p.annotation)) for p, d in zip(a.kwonlyargs, a.kw_defaults)]
        result.append(params)
    return result


@pytest.mark.parametrize("protocol", sorted(OVERLOADED))
def test_overloads_describe_the_functions(protocol):
    """The last overload is the run-time signature (names, kinds, defaults,
    annotations); the others differ from it in return_indices only."""
    overloads = _overloads(protocol)
    assert len(overloads) >= 3
    for name in OVERLOADED[protocol]:
        sig = inspect.signature(getattr(cpool, name))
        runtime = [(p.name, p.kind, p.default is not p.empty, p.annotation)
                   for p in sig.parameters.values()]
        assert overloads[-1] == runtime, name
        assert sig.return_annotation == "Pooled", name
        for params in overloads[:-1]:
            assert [p[0] for p in params] == [p[0] for p in runtime], name
            literal = [p[3] for p in params if p[0] == "return_indices"]
            assert literal in (["Literal[False]"], ["Literal[True]"]), name


def test_annotations_resolve():
    """Annotations are strings (``from __future__ import annotations``): every
    name in them must exist where the function is defined."""
    for name in cpool.__all__:
        typing.get_type_hints(getattr(cpool, name))
    for name in cpool.nn.__all__:
        for method in ("__init__", "forward", "backward", "train", "eval"):
            typing.get_type_hints(getattr(getattr(cpool.nn, name), method))
