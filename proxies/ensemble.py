"""Ensembles of zero-cost proxies over a population of architectures: ``vote`` and ``rank_ensemble``.

* ``vote`` — Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021 (Section 5 and
  their NAS-Bench-201 notebook): to order two architectures, each of synflow, jacob_cov and snip votes
  for the one it scores better, and the majority decides. The paper reports the fraction of correctly
  ordered pairs. As a per-architecture score we give each architecture its number of pairwise majority
  wins over the rest of the population (its Copeland score): the order it induces is the majority
  order wherever that order is transitive. A proxy that scores a pair equal abstains, and a pair whose
  votes split evenly gives each architecture half a win (the notebook's ``numpos >= len/2`` tie rule
  favours whichever architecture is listed first, an artefact of its loop that we do not copy).
* ``rank_ensemble`` — the general form: each proxy's values are turned into ranks over the population
  (1 = worst, n = best, ties get their average rank, direction from the proxy's card), and the score
  is the weighted mean rank; higher is better.

Why these are functions over a population and not registered proxies: a registered proxy is a function
of one architecture, one protocol and one seed (``fn(ctx) -> float``), computed once per ``arch_id``
and stored in an immutable table. A vote or a rank only exists relative to the other architectures
scored beside it: adding one architecture to the population changes every other architecture's vote
count and rank, so the value would not be a property of the architecture, could not be shared across
equivalent cells or tables, and would silently go stale. They are therefore computed from already
stored proxy values (``{proxy: {arch_id: value}}``, no pandas needed) for a population the caller
chooses.

Every architecture must have a finite value for every proxy used; anything else is a ValueError naming
the proxy and architecture (filter the population first, e.g. report degenerate cells separately).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import rankdata

Scores = Mapping[str, Mapping[str, float]]
VOTE_PROXIES = ("synflow", "jacob_cov", "snip")
"""The three proxies of Abdelfattah et al.'s vote."""

_ROWS = 128
"""Architectures per block when counting pairwise wins (bounds memory at _ROWS x population)."""


def _directions(names: Sequence[str], higher_is_better: Mapping[str, bool] | None) -> dict[str, bool]:
    if higher_is_better is not None:
        missing = [n for n in names if n not in higher_is_better]
        if missing:
            raise ValueError(f"no direction given for proxies {missing}")
        return {n: bool(higher_is_better[n]) for n in names}
    import proxies  # registers the built-in cards

    return {n: proxies.get_proxy(n).card.higher_is_better for n in names}


def _matrix(scores: Scores, names: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Architecture ids (sorted) and a ``(proxies, architectures)`` float64 array of values."""
    if not names:
        raise ValueError("an ensemble needs at least one proxy")
    missing = [n for n in names if n not in scores]
    if missing:
        raise ValueError(f"no values given for proxies {missing}")
    archs = sorted(set().union(*(scores[n].keys() for n in names)))
    values = np.empty((len(names), len(archs)), dtype=np.float64)
    for i, name in enumerate(names):
        column = scores[name]
        for j, arch in enumerate(archs):
            v = column.get(arch)
            if v is None or not math.isfinite(float(v)):
                raise ValueError(f"proxy {name!r} has no finite value for architecture {arch!r} (got {v!r})")
            values[i, j] = float(v)
    return archs, values


def _oriented(
    values: np.ndarray, names: Sequence[str], higher_is_better: Mapping[str, bool] | None
) -> np.ndarray:
    directions = _directions(names, higher_is_better)
    signs = np.array([1.0 if directions[n] else -1.0 for n in names])
    return values * signs[:, None]


def rank_ensemble(
    scores: Scores,
    higher_is_better: Mapping[str, bool] | None = None,
    weights: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Weighted mean rank (1 = worst, n = best, average ranks for ties) of each architecture.

    Args:
        scores: ``{proxy: {arch_id: value}}``; every proxy must score every architecture.
        higher_is_better: each proxy's direction; None reads the registered proxy cards.
        weights: each proxy's weight (non-negative, not all zero); None weighs them equally.
    """
    names = list(scores)
    archs, values = _matrix(scores, names)
    oriented = _oriented(values, names, higher_is_better)
    w = np.array([1.0 if weights is None else float(weights.get(n, 0.0)) for n in names])
    if np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError(
            f"rank_ensemble weights must be finite, non-negative and not all zero, got {w.tolist()}"
        )
    ranks = np.stack([rankdata(row, method="average") for row in oriented])
    mean = (w[:, None] * ranks).sum(axis=0) / w.sum()
    return {arch: float(v) for arch, v in zip(archs, mean)}


def vote(
    scores: Scores,
    proxies: Sequence[str] | None = VOTE_PROXIES,
    higher_is_better: Mapping[str, bool] | None = None,
) -> dict[str, float]:
    """Number of pairwise majority-vote wins of each architecture (Abdelfattah et al., ICLR 2021).

    Args:
        scores: ``{proxy: {arch_id: value}}``.
        proxies: the voting proxies (default synflow, jacob_cov, snip); None lets every proxy in
            ``scores`` vote.
        higher_is_better: each proxy's direction; None reads the registered proxy cards.

    Returns:
        ``{arch_id: wins}`` with wins in [0, n - 1]; a split pair counts half for each side.
    """
    names = list(scores) if proxies is None else list(proxies)
    archs, values = _matrix(scores, names)
    oriented = _oriented(values, names, higher_is_better)
    n = len(archs)
    wins = np.zeros(n, dtype=np.float64)
    for lo in range(0, n, _ROWS):
        block = oriented[:, lo : lo + _ROWS]
        # margin[a, b]: proxies preferring a over b minus proxies preferring b over a
        margin = np.sign(block[:, :, None] - oriented[:, None, :]).sum(axis=0)
        won = (margin > 0).astype(np.float64) + 0.5 * (margin == 0)
        idx = np.arange(lo, lo + block.shape[1])
        won[idx - lo, idx] = 0.0  # an architecture does not play itself
        wins[lo : lo + block.shape[1]] = won.sum(axis=1)
    return {arch: float(v) for arch, v in zip(archs, wins)}
