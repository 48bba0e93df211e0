"""Regenerate proxies/_data/fmnist14k.npz from the official Fashion-MNIST IDX files (provenance record).

Usage: python scripts/make_fmnist14k.py [FOLDER]   (default: /usr/share/datasets/fashion-mnist,
Debian's ``dataset-fashion-mnist`` package; the four ``*-idx?-ubyte.gz`` files of Xiao et al. 2017).

A fixed, stratified subset, drawn once here and stored with its split: per class, a seed-0
permutation of the official train set gives 1,000 train and 200 val images, and of the official test
set 200 test images (10,000 / 2,000 / 2,000). Val comes from the official train set, so the official
test set stays test only. The IDX files are parsed by :func:`read_idx` (magic number, dimensions and
size are checked), never unpickled.
"""

from __future__ import annotations

import gzip
import hashlib
import sys
from pathlib import Path

import numpy as np

PER_CLASS = {"train": 1000, "val": 200, "test": 200}
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (unsigned bytes) as an array: magic 0x0000080D, then big-endian dimension sizes."""
    data = gzip.decompress(path.read_bytes())
    if data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {data[:4].hex()})")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: {body.size} bytes of data for shape {shape}")
    return body.reshape(shape)


def subset(folder: Path) -> dict[str, np.ndarray]:
    """The stratified 10,000 / 2,000 / 2,000 subset with its split codes (0 train, 1 val, 2 test)."""
    images, labels, split = [], [], []
    rng = np.random.default_rng(0)
    for source in ("train", "test"):
        x = read_idx(folder / FILES[source][0])
        y = read_idx(folder / FILES[source][1])
        parts = ("train", "val") if source == "train" else ("test",)
        for c in range(10):
            members = rng.permutation(np.flatnonzero(y == c))
            start = 0
            for part in parts:
                chosen = np.sort(members[start : start + PER_CLASS[part]])
                start += PER_CLASS[part]
                images.append(x[chosen])
                labels.append(y[chosen])
                split.append(np.full(len(chosen), ("train", "val", "test").index(part), dtype=np.uint8))
    return {
        "images": np.concatenate(images),
        "labels": np.concatenate(labels),
        "split": np.concatenate(split),
    }


def main(folder: str = "/usr/share/datasets/fashion-mnist", out: str = "proxies/_data/fmnist14k.npz") -> None:
    arrays = subset(Path(folder))
    np.savez_compressed(out, **arrays)
    for names in FILES.values():
        for name in names:
            print(name, hashlib.sha256((Path(folder) / name).read_bytes()).hexdigest())
    print(out, hashlib.sha256(Path(out).read_bytes()).hexdigest(), {k: v.shape for k, v in arrays.items()})


if __name__ == "__main__":
    main(*sys.argv[1:])
