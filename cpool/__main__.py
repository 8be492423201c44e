"""``python -m cpool``: build info, then a quick benchmark.
``python -m cpool bench [options]``: the benchmark alone (see --help)."""
import sys

from . import show_config
from ._bench import main as bench_main


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "bench":
        return bench_main(argv[1:])
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if argv:
        print(f"unknown command {argv[0]!r}; use 'python -m cpool' or "
              f"'python -m cpool bench --help'", file=sys.stderr)
        return 2
    show_config()
    print()
    return bench_main(["--quick", "--core"])


if __name__ == "__main__":
    sys.exit(main())
