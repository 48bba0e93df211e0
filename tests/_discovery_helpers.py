"""Synthetic gathered statistics for the discovery tests (no network, no torch)."""

from __future__ import annotations

import numpy as np

from predictors.discovery.expr import TERMINALS
from predictors.discovery.gather import COLS, ROWS, Stats


def toy_stats(archs: int = 12, layers: int = 5, seed: int = 0) -> Stats:
    """Random statistics of ``archs`` architectures with 2..``layers`` real layers each (rest padding)."""
    rng = np.random.default_rng(seed)
    depth = rng.integers(2, layers + 1, size=archs)
    mask = np.arange(layers)[None, :] < depth[:, None]
    scale = rng.uniform(0.5, 2.0, size=(archs, 1, 1, 1))  # per-architecture spread for the toy truth
    data = {
        t: (rng.standard_normal((archs, layers, ROWS, COLS)) * mask[..., None, None]).astype(np.float32)
        for t in TERMINALS
    }
    data["W"] = (data["W"] * scale).astype(np.float32)
    rows = {
        t: np.where(mask, rng.integers(4, 64, size=(archs, layers)), 0).astype(np.float32) for t in TERMINALS
    }
    cols = {
        t: np.where(mask, rng.integers(8, 600, size=(archs, layers)), 0).astype(np.float32) for t in TERMINALS
    }
    return Stats(data, rows, cols, mask)


def toy_truth(stats: Stats) -> np.ndarray:
    """A truth some expressions can find: the per-architecture mean over layers of mean |W|, plus noise."""
    w = np.abs(stats.data["W"]).mean(axis=(-1, -2))
    signal = (w * stats.mask).sum(axis=1) / stats.mask.sum(axis=1)
    return signal + np.random.default_rng(1).normal(0, 0.01, size=len(signal))
