"""Benchmarks: asv suite (asv_bench.py) and the side-by-side script (compare.py)."""
