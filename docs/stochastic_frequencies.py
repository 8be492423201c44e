"""Figure for docs/guide/stochastic.md: how often stochastic pooling draws each position of
one 3x3 window, against the probabilities p_i = a_i / sum(a).

    pip install matplotlib && python docs/stochastic_frequencies.py

writes docs/stochastic_frequencies.png next to this file.
"""
import pathlib

import numpy as np

import cpool


def main():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    window = np.array([[0.0, 1.0, 2.0], [3.0, 0.0, 5.0], [1.0, 1.0, 4.0]], np.float32)
    draws = 50_000
    # one window per channel: every output is an independent draw
    x = np.broadcast_to(window, (1, draws, 3, 3)).copy()
    _, idx = cpool.stochastic_pool2d(x, 3, seed=2013, return_indices=True)
    freq = np.bincount(idx.ravel(), minlength=9) / draws
    p = (window / window.sum()).ravel()

    fig, ax = plt.subplots(figsize=(7, 3.4), dpi=120)
    pos = np.arange(9)
    ax.bar(pos - 0.2, p, 0.4, label="p_i = a_i / sum(a)", color="#888888")
    ax.bar(pos + 0.2, freq, 0.4, label=f"drawn frequency ({draws:,} draws)", color="#2b6cb0")
    ax.set_xticks(pos, [f"({i // 3},{i % 3})\na={window.ravel()[i]:g}" for i in pos])
    ax.set_ylabel("probability")
    ax.set_title("stochastic_pool2d: one 3x3 window, position (row, col) and activation")
    ax.legend(frameon=False)
    fig.tight_layout()
    out = pathlib.Path(__file__).with_suffix(".png")
    fig.savefig(out)
    print(f"wrote {out}; max |frequency - p| = {np.abs(freq - p).max():.4f}")


if __name__ == "__main__":
    main()
