"""Markdown table for docs/performance.md from `python -m cpool bench --json FILE`.

    python docs/bench_table.py bench.json
"""
import json
import sys


def fmt(v, spec):
    return format(v, spec) if v is not None else "-"


def main(path):
    data = json.load(open(path))
    rows = data["rows"]
    threads = sorted({r["threads"] for r in rows})
    head = ["case", "layout"]
    for t in threads:
        head += [f"ms @{t}T", f"× torch @{t}T", f"% copy @{t}T"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    seen = []
    for r in rows:
        key = (r["case"], r["layout"])
        if key in seen:
            continue
        seen.append(key)
        cells = [r["case"], r["layout"]]
        for t in threads:
            m = next((x for x in rows if (x["case"], x["layout"], x["threads"]) == key + (t,)),
                     None)
            ms = m and m["cpool_ms"]
            # a tiny call's milliseconds keep three significant digits
            cells += [fmt(ms, ".2f" if ms is None or ms >= 0.1 else ".4f"),
                      fmt(m and m["vs_torch"], ".2f"),
                      fmt(m and m["copy_pct"], ".0f")]
        print("| " + " | ".join(cells) + " |")
    print(f"\n{data['machine']}; cpool {data['build']['version']} "
          f"({data['build']['compiler']}, OpenMP {data['build']['openmp_version']}, "
          f"{data['build']['simd_dispatch']}); PyTorch {data['torch']}; NumPy {data['numpy']}; "
          f"{'quick' if data['quick'] else 'full'} sizes, median of {data['repeats']}.")


if __name__ == "__main__":
    main(sys.argv[1])
