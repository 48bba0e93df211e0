"""Synthetic truths for the search tests: every NB201 class with made-up, class-consistent metrics."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

import spaces
from predictors.search.oracle import Truth


@lru_cache(maxsize=1)
def _classes() -> tuple[list[str], list[str], np.ndarray]:
    space = spaces.get("nb201")
    reps: dict[str, object] = {}
    for arch in space.enumerate():  # published order: the first member is the representative
        reps.setdefault(arch.arch_id, arch)
    archs = list(reps.values())
    encoded = np.stack([space.encode(a, "path") for a in archs])  # type: ignore[arg-type]
    return list(reps), [a.string for a in archs], encoded  # type: ignore[attr-defined]


TARGET = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"


@lru_cache(maxsize=1)
def _distances() -> np.ndarray:
    """Edges on which each class's representative differs from ``TARGET``."""
    space = spaces.get("nb201")
    target = space.ops_of(space.parse(TARGET))  # type: ignore[attr-defined]
    _, strings, _ = _classes()
    return np.array(
        [sum(a != b for a, b in zip(space.ops_of(space.parse(s)), target)) for s in strings]  # type: ignore[attr-defined]
    )


def whole_space_truth(seed: int = 0) -> Truth:
    """Every NB201 class: ``val`` linear in the path encoding plus noise, ``test`` = ``val`` + noise,
    ``lat`` (to minimise) the number of paths plus noise: a smooth landscape with a trade-off; ``near``:
    minus the edges differing from one target cell, plus small noise (one optimum, a mutation gradient)."""
    ids, strings, encoded = _classes()
    rng = np.random.default_rng(seed)
    val = encoded @ rng.normal(1.0, 1.0, encoded.shape[1]) + rng.normal(0, 0.5, len(ids))
    frame = pd.DataFrame(
        {
            "val": np.round(val, 6),
            "test": np.round(val + rng.normal(0, 1.0, len(ids)), 6),
            "lat": np.round(encoded.sum(axis=1) + rng.uniform(0, 1, len(ids)), 6),
            "near": np.round(-_distances() + rng.uniform(0, 0.5, len(ids)), 6),
        },
        index=pd.Index(ids, name="arch_id"),
    )
    return Truth(frame, dict(zip(ids, strings)))


def small_truth(n: int, k: int, seed: int = 0) -> Truth:
    """``n`` distinct NB201 classes with ``k`` sharing the best ``val`` (100), the others below it."""
    ids, strings, _ = _classes()
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(ids), size=n, replace=False)
    val = np.concatenate([np.full(k, 100.0), rng.uniform(0, 99, n - k)])
    frame = pd.DataFrame({"val": val}, index=pd.Index([ids[i] for i in pick], name="arch_id"))
    return Truth(frame, {ids[i]: strings[i] for i in pick})
