"""The docstrings' examples run as doctests against the installed package,
and every public function and layer documents itself numpydoc-style with at
least one example."""
import doctest
import importlib
import inspect
import pkgutil

import pytest

import cpool
import cpool.nn

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS

# numpydoc's checks that hold for every public docstring: layout (GL), the
# summary (SS), parameters against the signature (PR), Returns (RT), See
# Also (SA) and Examples (EX)
_CHECKS = {"GL01", "GL02", "GL03", "GL05", "GL06", "GL07", "GL08", "GL09", "GL10",
           "SS01", "SS02", "SS03", "SS04", "SS06", "ES01",
           "PR01", "PR02", "PR03", "PR04", "PR05", "PR06", "PR07", "PR08", "PR10",
           "RT01", "RT02", "RT03", "YD01", "SA02", "SA03", "EX01"}

PUBLIC = ([getattr(cpool, name) for name in cpool.__all__]
          + [getattr(cpool.nn, name) for name in cpool.nn.__all__])
# the modules that define the public API (cpool.maxpool, ..., cpool._threads)
API_MODULES = sorted({obj.__module__ for obj in PUBLIC})
# other public submodules (cpool.dask): their examples run where there are any
OTHER_MODULES = sorted({f"cpool.{m.name}" for m in pkgutil.iter_modules(cpool.__path__)
                        if not m.name.startswith("_")} - set(API_MODULES))


def _run(module_name):
    module = importlib.import_module(module_name)
    return doctest.testmod(module, optionflags=FLAGS)


@pytest.mark.parametrize("module_name", API_MODULES)
def test_examples_run(module_name):
    result = _run(module_name)
    assert result.failed == 0, f"{result.failed} doctest failures in {module_name} (above)"
    assert result.attempted > 0, f"{module_name} has no examples"


@pytest.mark.parametrize("module_name", OTHER_MODULES)
def test_examples_of_other_public_modules_run(module_name):
    if module_name == "cpool.dask":
        pytest.importorskip("dask")
    assert _run(module_name).failed == 0


def _name(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


@pytest.mark.parametrize("obj", PUBLIC, ids=_name)
def test_every_public_object_has_an_example(obj):
    examples = doctest.DocTestParser().get_examples(inspect.getdoc(obj) or "")
    assert examples, f"{_name(obj)} has no example"


@pytest.mark.parametrize("obj", PUBLIC, ids=_name)
def test_docstrings_have_the_numpydoc_sections(obj):
    """Summary, Parameters (matching the signature) and, for a function,
    Returns; checked with numpydoc's own parser where it is installed."""
    validate = pytest.importorskip("numpydoc.validate").validate
    errors = [f"{code}: {message}" for code, message in validate(_name(obj))["errors"]
              if code in _CHECKS]
    assert not errors, f"{_name(obj)}:\n" + "\n".join(errors)


@pytest.mark.parametrize("cls", [getattr(cpool.nn, name) for name in cpool.nn.__all__],
                         ids=lambda cls: cls.__name__)
def test_layer_methods_are_documented(cls):
    validate = pytest.importorskip("numpydoc.validate").validate
    for method in ("forward", "backward"):
        owner = next(c for c in cls.__mro__ if method in vars(c))
        report = validate(f"{owner.__module__}.{owner.__qualname__}.{method}")
        errors = [f"{code}: {message}" for code, message in report["errors"]
                  if code in _CHECKS - {"ES01", "EX01"}]
        assert not errors, f"{cls.__name__}.{method}:\n" + "\n".join(errors)

