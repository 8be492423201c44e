"""Build facts: what pip's hidden build output decided, told at run time."""
from __future__ import annotations

from typing import Any, Dict

from . import _core, _threads


def _version() -> str:
    from . import __version__
    return __version__


def build_info() -> Dict[str, Any]:
    """Version, compiler, OpenMP on/off and version, SIMD flags, threads."""
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
    """Print :func:`build_info`."""
    info = build_info()
    print("cpool build configuration")
    for key, value in info.items():
        if isinstance(value, list):
            value = " ".join(value) or "(baseline)"
        elif key == "openmp" and not value:
            value = "False  (serial build: every kernel runs on one core)"
        print(f"  {key:<15} {value}")
