"""Build facts: what pip's hidden build output decided, told at run time."""
from __future__ import annotations

from typing import Any, Dict

from . import _core, _threads


def _version() -> str:
    from . import __version__
    return __version__


def build_info() -> Dict[str, Any]:
    """How this copy of cpool was built, as a dict.

    pip hides the compiler's output, so this is where to see what the build
    decided, above all whether OpenMP is on.

    Returns
    -------
    dict
        ``version`` (str), ``compiler`` (str), ``openmp`` (bool, whether the
        kernels are parallel), ``openmp_version`` (str such as
        ``"2019-11 (201911)"``, or None without OpenMP), ``simd`` (list of
        str, the instruction-set flags the core was compiled for),
        ``simd_dispatch`` (the run-time dispatch in use, or None) and
        ``num_threads`` (int, :func:`get_num_threads`).

    See Also
    --------
    show_config : Prints the same.

    Examples
    --------
    >>> import cpool
    >>> info = cpool.build_info()
    >>> print(*sorted(info))
    compiler num_threads openmp openmp_version simd simd_dispatch version
    >>> info["version"] == cpool.__version__
    True
    """
    facts = _core.build_facts()
    omp = facts["openmp_version"]
    return {
        "version": _version(),
        "compiler": facts["compiler"],
        "openmp": facts["openmp"],
        "openmp_version": f"{omp // 100}-{omp % 100:02d} ({omp})" if omp else None,
        "simd": facts["simd"],
        "simd_dispatch": facts["simd_dispatch"] or None,
        "num_threads": _threads.get_num_threads(),
    }


def show_config() -> None:
    """Print how this copy of cpool was built.

    One line per entry of :func:`build_info`; a build without OpenMP says so
    on the ``openmp`` line.

    See Also
    --------
    build_info : The same as a dict.

    Examples
    --------
    >>> import cpool
    >>> cpool.show_config()                # doctest: +ELLIPSIS
    cpool build configuration
      version         ...
      compiler        ...
      openmp          ...
    """
    info = build_info()
    print("cpool build configuration")
    for key, value in info.items():
        if isinstance(value, list):
            value = " ".join(value) or "(baseline)"
        elif key == "openmp" and not value:
            value = "False  (serial build: every kernel runs on one core)"
        print(f"  {key:<15} {value}")
