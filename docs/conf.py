"""Sphinx configuration of cpool's documentation.

Build (warnings are errors, as in .ci/run):
    pip install ".[docs]" && sphinx-build -W --keep-going -b html docs docs/_build/html

The API reference is generated from the installed package's numpydoc
docstrings: build against an installed cpool, not the source tree.
"""
import cpool

project = "cpool"
author = "the cpool developers"
copyright = "2026, the cpool developers"
release = cpool.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "**/*.py", "bench.json"]

# numpydoc: the parameter tables come from the docstrings; class members are
# listed by the API page itself
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
autodoc_typehints = "none"  # the docstrings state the types, numpydoc-style
autodoc_member_order = "bysource"

myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

html_theme = "alabaster"
html_title = f"cpool {release}"
html_static_path = []
