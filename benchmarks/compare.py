"""Side-by-side benchmark of cpool against NumPy and PyTorch CPU.

The same code runs behind ``python -m cpool bench``; this script is a
convenience for a source checkout (after ``pip install .``)::

    python benchmarks/compare.py --threads 1,2 --json results.json
"""
import sys

from cpool._bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
