"""Docstrings of the 1d/2d/3d families, generated from one template each.

A family writes one numpydoc template with ``{fields}``; :class:`Template`
fills it per rank with

- the rank's shapes and index formula (``_rank_fields``: ``{x_cf}`` is
  ``(N, C, H, W)`` in 2d, ``{y_cl0}`` is ``(H_out, W_out, C)``, ...);
- the shared sections below (``{p_kernel}``, ``{n_output_size}``, ...), written
  once for every family that has them, themselves filled with the rank's
  fields;
- the family's own per-rank values, above all ``{example}``: the Examples
  differ per rank, and their outputs are written out by hand (the test suite
  runs them as doctests).

Templates are written at column 0; a literal brace is doubled.  The filled
text is rewrapped (prose only: parameter descriptions, Notes, the extended
summary), since a field's length differs from rank to rank.
"""
from __future__ import annotations

import re
import textwrap
from typing import Callable, Dict, List, Mapping, TypeVar, Union

_T = TypeVar("_T")
_WIDTH = 76

_SPATIAL = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
_INDEX = {1: "l", 2: "h * W + w", 3: "(d * H + h) * W + w"}
_SCAN = {1: "order along L", 2: "row-major (h, w) order", 3: "(d, h, w) order"}
_THE_AXES = {1: "the L axis", 2: "the H and W axes", 3: "the D, H and W axes"}


def _rank_fields(nd: int) -> Dict[str, str]:
    """x_*: input shapes, y_*: result shapes; cf/cl: channels first/last, 0:
    batch-less."""
    s = ", ".join(_SPATIAL[nd])
    o = ", ".join(f"{a}_out" for a in _SPATIAL[nd])
    return {
        "nd": str(nd), "S_out": o, "ndim": f"{nd + 1} or {nd + 2}",
        "the_axes": _THE_AXES[nd], "index": _INDEX[nd], "scan": _SCAN[nd],
        "ints": "an int or a 1-tuple" if nd == 1 else f"an int or a tuple of {nd} ints",
        "x_cf": f"(N, C, {s})", "x_cf0": f"(C, {s})",
        "x_cl": f"(N, {s}, C)", "x_cl0": f"({s}, C)",
        "y_cf": f"(N, C, {o})", "y_cf0": f"(C, {o})",
        "y_cl": f"(N, {o}, C)", "y_cl0": f"({o}, C)",
    }


# ---- shared sections (filled with the rank's fields) -------------------------

_SECTIONS = {
    # -- parameters
    "p_x_max": """\
x : numpy.ndarray
    Input, ``{x_cf}`` or batch-less ``{x_cf0}``; with ``channels_last=True``,
    ``{x_cl}`` or ``{x_cl0}``. float32, float64, int8, uint8, int16, uint16,
    int32 or int64. Any strides and byte order; ``x`` is never modified.""",
    "p_x_float": """\
x : numpy.ndarray
    Input, ``{x_cf}`` or batch-less ``{x_cf0}``; with ``channels_last=True``,
    ``{x_cl}`` or ``{x_cl0}``. float32 or float64. Any strides and byte
    order; ``x`` is never modified.""",
    "p_kernel": """\
kernel_size : int or tuple of int
    Window extent: {ints} (one per spatial axis).""",
    "p_stride": """\
stride : int or tuple of int, optional
    Step between window starts; ``None`` (the default) means ``kernel_size``.""",
    "p_padding": """\
padding : int or tuple of int, default 0
    Implicit padding on both sides of each spatial axis, at most
    ``kernel_size // 2``.""",
    "p_dilation": """\
dilation : int or tuple of int, default 1
    Spacing between the taps of a window (1: adjacent elements).""",
    "p_ceil_mode": """\
ceil_mode : bool, default False
    Round the output size up rather than down (PyTorch's ceil mode).""",
    "p_channels_last": """\
channels_last : bool, default False
    Read ``x`` as channels-last, ``{x_cl}`` or ``{x_cl0}``, and return
    results in the same layout. The values are those of the channels-first
    call on the transposed input.""",
    "p_out": """\
out : numpy.ndarray, optional
    Array to fill and return: C-contiguous, writeable, of exactly the
    result's shape and dtype, and not overlapping ``x``.""",
    "p_return_indices": """\
return_indices : bool, default False
    Also return the position of each maximum.""",
    "p_grad_output": """\
grad_output : numpy.ndarray
    Gradient with respect to the forward result, shaped like it; float32
    or float64.""",
    "p_indices": """\
indices : numpy.ndarray of int64
    The forward pass's indices, shaped like ``grad_output`` (any byte
    order); ``-1`` entries are skipped.""",
    "p_input_shape": """\
input_shape : tuple of int
    Shape of the forward input ``x``: ``{x_cf}`` or ``{x_cf0}`` (channels
    last: ``{x_cl}`` or ``{x_cl0}``).""",
    "p_channels_last_grad": """\
channels_last : bool, default False
    Whether the arrays are channels-last, as in the forward call.""",
    # -- returns
    "r_y": """\
y : numpy.ndarray
    ``{y_cf}`` or ``{y_cf0}``; with ``channels_last=True``, ``{y_cl}`` or
    ``{y_cl0}`` (the batch axis is there when it is in ``x``). Same dtype as
    ``x``, native byte order. It is ``out`` when that is given.""",
    "r_pooled": """\
numpy.ndarray
    ``{y_cf}`` or ``{y_cf0}``; with ``channels_last=True``, ``{y_cl}`` or
    ``{y_cl0}``. Same dtype as ``x``; ``out`` when that is given.""",
    "r_indices": """\
indices : numpy.ndarray of int64
    Only with ``return_indices=True``, as ``(y, indices)``: shaped like
    ``y``, the flat offset ``{index}`` in the input plane of each value
    (see Notes).""",
    "r_grad_input": """\
numpy.ndarray
    The gradient with respect to ``x``: shaped ``input_shape``, in the dtype
    of ``grad_output``.""",
    # -- raises
    "e_type": """\
TypeError
    If an array argument is not a ``numpy.ndarray`` or has an unsupported
    dtype (nothing is cast), or an argument has the wrong type (a float or
    bool as a size, a non-bool flag).""",
    "e_value_window": """\
ValueError
    If ``x`` does not have {ndim} dimensions, or has an empty axis other
    than the batch; if a window argument has the wrong length or is out of
    range (a size, step or dilation below 1, ``padding`` negative or above
    ``kernel_size // 2``); if the output size would be below 1; or if
    ``out`` does not fit.""",
    "e_value_grad": """\
ValueError
    If ``input_shape`` does not have {ndim} entries, or ``grad_output`` and
    ``indices`` do not match it and each other; or if an index lies outside
    ``[-1, plane size)``, in which case nothing is written.""",
    # -- notes
    "n_output_size": """\
Each spatial axis of extent ``L_in`` gives ``L_out = floor((L_in + 2 *
padding - kernel_size) / stride) + 1`` outputs, PyTorch's rule.""",
    "n_ceil_mode": """\
With ``ceil_mode=True`` the division rounds up, but the last window must
still start inside the input or its left padding: one that would start in
the right padding is not produced.""",
    "n_indices": """\
Indices are PyTorch's: int64 flat offsets into the input's spatial plane of
the same ``(n, c)``, ``{index}`` in unpadded coordinates. They are the same
in both layouts (not multiplied by ``C``), and for a strided view they refer
to the array passed in.""",
    "n_nan_ties": """\
On ties the first maximum in {scan} wins. A window that holds a NaN gives NaN,
and its index points at the window's last NaN (a value replaces the running
maximum when it is greater or NaN, as in PyTorch on CPU).""",
    "n_backward_scatter": """\
The gradient is ``grad_output`` added into a zeroed array at each index of the
same ``(n, c)`` plane; where windows overlap, an input element collects the
gradient of every output that picked it. The additions run in increasing
output order, as PyTorch's scatter does, so float sums match PyTorch to the
bit. Index ``-1`` (a window of padding only) is skipped. An index outside
``[-1, plane size)`` is a ``ValueError``; PyTorch writes wherever it
points.""",
    "n_threads": """\
Results are identical at every thread count and in both layouts.""",
}


_INDEX_BACKWARD = """\
Gradient of :func:`{fn}{nd}d` with respect to its input.

Routes each output's gradient to the input element {picked}, through the
indices that ``{fn}{nd}d(..., {training}return_indices=True)`` returned.{note}

Parameters
----------
{p_grad_output}
{p_indices}
{p_input_shape}
{p_channels_last_grad}

Returns
-------
{r_grad_input}

Raises
------
{e_type}
{e_value_grad}

See Also
--------
{fn}{nd}d : The forward pass.
cpool.nn.{layer}{nd}d : Keeps the indices for the backward.

Notes
-----
{n_backward_scatter}

Examples
--------
>>> import numpy as np
>>> import cpool
{example}"""


class Template:
    """One numpydoc docstring for the 1d/2d/3d members of a family.

    ``per_rank`` values are text, or mappings from the rank to text (the
    examples); they may use the rank's fields and the shared sections.
    :meth:`rank` returns a decorator that gives a function or class the
    template filled for that rank."""

    def __init__(self, text: str, **per_rank: Union[str, Mapping[int, str]]) -> None:
        self.text = text
        self.per_rank = per_rank

    def fill(self, nd: int) -> str:
        fields = _rank_fields(nd)
        fields.update({k: v.format_map(fields) for k, v in _SECTIONS.items()})
        values = {k: (v if isinstance(v, str) else v[nd]).format_map(fields)
                  for k, v in self.per_rank.items()}
        return rewrap(self.text.format_map({**fields, **values}))

    def rank(self, nd: int) -> Callable[[_T], _T]:
        def apply(obj: _T) -> _T:
            obj.__doc__ = self.fill(nd)
            return obj
        return apply


def index_backward_doc(fn: str, layer: str, example: Mapping[int, str],
                       drawn: bool = False) -> Template:
    """The docstring of `fn`{nd}d_backward for the families whose backward is
    the scatter through the forward pass's indices (max, adaptive max,
    fractional, and the training pass of stochastic pooling)."""
    if drawn:
        return Template(_INDEX_BACKWARD, fn=fn, layer=layer, example=example,
                        picked="that was drawn for it", training="training=True, ",
                        note=" That is the gradient of a training pass; an evaluation "
                             "pass draws nothing and has no backward.")
    return Template(_INDEX_BACKWARD, fn=fn, layer=layer, example=example,
                    picked="that the forward pass picked", training="", note="")


def doc(text: str, **values: str) -> Callable[[_T], _T]:
    """Decorator for a docstring shared by objects without rank variants:
    `text` with `values` filled in."""
    def apply(obj: _T) -> _T:
        obj.__doc__ = rewrap(text.format_map(values))
        return obj
    return apply


# numpydoc sections whose prose is rewrapped: descriptions at indent 4 under a
# "name : type" line, or paragraphs and "- " list items at column 0.
_DESCRIBED = {"Parameters", "Returns", "Raises", "Attributes"}
_PARAGRAPHS = {"", "Notes"}  # "": the extended summary
_ITEM = ("- ", "  ")


def rewrap(text: str) -> str:
    """Refills the prose of a numpydoc docstring to _WIDTH columns; headings,
    ``name : type`` lines, directives, See Also, References and Examples stay
    as written; runs of blank lines become one.  Ends the text with a
    newline."""
    lines = text.strip("\n").split("\n")
    out: List[str] = []
    run: List[str] = []         # the paragraph being collected
    prefix = ("", "")           # its first and continuation line prefixes
    section = ""

    def flush() -> None:
        if run:
            # no break inside an ``inline literal``: its spaces are hidden meanwhile
            joined = re.sub(r"``.+?``", lambda m: m.group().replace(" ", "\0"), " ".join(run))
            out.extend(line.replace("\0", " ") for line in textwrap.wrap(
                joined, _WIDTH, initial_indent=prefix[0], subsequent_indent=prefix[1],
                break_long_words=False, break_on_hyphens=False))
            run.clear()

    for i, line in enumerate(lines):
        words = line.strip()
        if not words and out and not out[-1] and not run:
            continue                    # one blank line between blocks
        indent = len(line) - len(line.lstrip())
        below = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if i == 0 or not words or words.startswith((">>>", "...", ".. ")) \
                or re.fullmatch(r"-+", words):
            flush()
            out.append(line)
            continue
        if indent == 0 and re.fullmatch(r"-{3,}", below):
            flush()
            section = words
            out.append(line)
            continue
        if section in _PARAGRAPHS and indent == 2 and prefix == _ITEM and run:
            run.append(words)           # a list item's next line
            continue
        if section in _PARAGRAPHS and indent == 0:
            start = _ITEM if words.startswith("- ") else ("", "")
            if start == _ITEM or prefix != start:
                flush()
            prefix = start
            run.append(words[2:] if start == _ITEM else words)
        elif section in _DESCRIBED and indent == 4:
            if prefix != ("    ", "    "):
                flush()
            prefix = ("    ", "    ")
            run.append(words)
        else:
            flush()
            prefix = ("", "")
            out.append(line)
    flush()
    return "\n".join(out) + "\n"
