"""A tiny NumPy CNN trained on images of several sizes through spatial pyramid
pooling (He et al. 2014): the SPP layer turns any feature-map size into the
same feature length, so one linear classifier serves every input size.

    conv3x3(1->8) -> ReLU -> cpool.nn.MaxPool2d(2)
    conv3x3(8->16) -> ReLU -> cpool.nn.SpatialPyramidPool((4, 2, 1))   # 16 * 21 = 336
    linear(336->2) -> softmax cross-entropy

The task: tell horizontal from vertical bars, in noisy images of 20x20, 27x31
and 36x24 pixels.  Convolutions are im2col matmuls written here; the pooling
layers come from cpool.nn.  Runs in a few seconds on 2 cores.

    python examples/spp_numpy_cnn.py
"""
import numpy as np

from cpool import nn

SIZES = [(20, 20), (27, 31), (36, 24)]
LEVELS = (4, 2, 1)


class Conv3x3:
    """3x3 convolution with padding 1, as an im2col matmul."""

    def __init__(self, cin, cout, rng):
        self.w = rng.standard_normal((cout, cin * 9)).astype(np.float32) * np.sqrt(2 / (cin * 9))
        self.b = np.zeros(cout, np.float32)

    def forward(self, x):
        n, c, h, w = x.shape
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        cols = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))
        self.cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * w, c * 9)  # (pixels, c*9)
        self.shape = x.shape
        y = self.cols @ self.w.T + self.b
        return y.reshape(n, h, w, -1).transpose(0, 3, 1, 2)

    def backward(self, gy, lr):
        n, c, h, w = self.shape
        g = gy.transpose(0, 2, 3, 1).reshape(n * h * w, -1)
        gcols = (g @ self.w).reshape(n, h, w, c, 3, 3)
        self.w -= lr * (g.T @ self.cols) / n
        self.b -= lr * g.sum(0) / n
        gxp = np.zeros((n, c, h + 2, w + 2), np.float32)
        for i in range(3):  # col2im: each tap's contribution, one slice at a time
            for j in range(3):
                gxp[:, :, i:i + h, j:j + w] += gcols[..., i, j].transpose(0, 3, 1, 2)
        return gxp[:, :, 1:-1, 1:-1]


class ReLU:
    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, g, lr=None):
        return g * self.mask


def make_batch(rng, size, n=16):
    """Noisy horizontal (label 0) or vertical (label 1) bars."""
    h, w = size
    labels = rng.integers(0, 2, n)
    x = rng.normal(0, 0.3, (n, 1, h, w)).astype(np.float32)
    for k, lab in enumerate(labels):
        period, phase = rng.integers(3, 6), rng.integers(0, 3)
        if lab == 0:
            x[k, 0, phase::period, :] += 1.0
        else:
            x[k, 0, :, phase::period] += 1.0
    return x, labels


def main(steps=60, lr=0.05, seed=0):
    rng = np.random.default_rng(seed)
    conv1, conv2 = Conv3x3(1, 8, rng), Conv3x3(8, 16, rng)
    relu1, relu2 = ReLU(), ReLU()
    pool = nn.MaxPool2d(2)
    spp = nn.SpatialPyramidPool(LEVELS)
    features = 16 * sum(l * l for l in LEVELS)
    w_fc = rng.standard_normal((features, 2)).astype(np.float32) * 0.005
    b_fc = np.zeros(2, np.float32)
    print(f"layers: {pool!r}, {spp!r}")
    losses = []
    for step in range(steps):
        size = SIZES[step % len(SIZES)]
        x, labels = make_batch(rng, size)
        h = relu1.forward(conv1.forward(x))
        h = pool.forward(h)
        h = relu2.forward(conv2.forward(h))
        f = spp.forward(h)  # (n, 336) whatever the image size
        if step < len(SIZES):
            print(f"input {size[0]}x{size[1]} -> conv map {h.shape[2]}x{h.shape[3]} -> "
                  f"SPP feature length {f.shape[1]}")
        logits = f @ w_fc + b_fc
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        loss = -np.log(p[np.arange(len(labels)), labels] + 1e-12).mean()
        losses.append(loss)
        # backward
        g = p.copy()
        g[np.arange(len(labels)), labels] -= 1
        g /= len(labels)
        gf = g @ w_fc.T
        w_fc -= lr * f.T @ g
        b_fc -= lr * g.sum(0)
        gh = spp.backward(gf.astype(np.float32))
        gh = conv2.backward(relu2.backward(gh), lr)
        gh = pool.backward(gh)
        conv1.backward(relu1.backward(gh), lr)
        if step % 10 == 9:
            print(f"step {step + 1:3d}  loss {np.mean(losses[-10:]):.4f}")
    first, last = np.mean(losses[:10]), np.mean(losses[-10:])
    print(f"mean loss over the first 10 steps {first:.4f}, over the last 10 {last:.4f}")
    return first, last


if __name__ == "__main__":
    main()
