"""Figure and table for docs/guide/spp.md: spatial pyramid pooling's two bin rules.

    pip install matplotlib && python docs/spp_bins.py

draws docs/spp_bins.png (the bins of one level over a 14x14 map under both
rules) and prints the table of what the paper rule leaves uncovered.
"""
import pathlib

import numpy as np


def adaptive_bins(a, n):
    return [(i * a // n, -(-(i + 1) * a // n)) for i in range(n)]


def paper_bins(a, n):
    k, s = -(-a // n), a // n
    return [(i * s, i * s + k) for i in range(n)]


def uncovered(a, n):
    """Trailing rows (or columns) of an extent a that no paper bin covers."""
    return a - paper_bins(a, n)[-1][1]


def table(extents=(7, 10, 13, 14, 15, 17, 20, 24), levels=(1, 2, 3, 4, 6)):
    head = "| a \\ l | " + " | ".join(str(n) for n in levels) + " |"
    rows = [head, "|" + "---|" * (len(levels) + 1)]
    for a in extents:
        cells = [str(uncovered(a, n)) for n in levels]
        assert all(uncovered(a, n) == max(a % n - 1, 0) for n in levels)
        rows.append(f"| {a} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(a=14, level=4):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    fig, axes = plt.subplots(1, 2, figsize=(8, 4.2), dpi=120)
    colors = plt.cm.tab10(np.arange(level * level) % 10)
    for ax, (name, rule) in zip(axes, (("adaptive", adaptive_bins), ("paper", paper_bins))):
        bins = rule(a, level)
        cover = np.zeros((a, a), int)
        for i, (r0, r1) in enumerate(bins):
            for j, (c0, c1) in enumerate(bins):
                cover[r0:r1, c0:c1] += 1
                ax.add_patch(Rectangle((c0 + 0.08, r0 + 0.08), c1 - c0 - 0.16, r1 - r0 - 0.16,
                                       fill=False, lw=1.6, ec=colors[i * level + j]))
        ax.imshow(cover == 0, cmap="Reds", vmin=0, vmax=1.4, extent=(0, a, a, 0))
        ax.set_xticks(range(0, a + 1, 2))
        ax.set_yticks(range(0, a + 1, 2))
        ax.set_xlim(0, a)
        ax.set_ylim(a, 0)
        ax.set_title(f"bins='{name}': level {level} on {a}x{a}\n"
                     f"{(cover == 0).sum()} cells uncovered, {(cover > 1).sum()} in 2+ bins",
                     fontsize=9)
    fig.tight_layout()
    out = pathlib.Path(__file__).with_suffix(".png")
    fig.savefig(out)
    print(f"wrote {out}")
    print(table())


if __name__ == "__main__":
    main()
