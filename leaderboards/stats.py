"""Bootstrap draws shared across submissions, confidence intervals, and separability of adjacent ranks.

Every submission on a board is scored on the same hidden units, and the bootstrap resamples those
units with one fixed seed, so draw ``b`` of two submissions uses the same resample: the difference of
two entries is a paired bootstrap. Two adjacent entries are *separable* when the better one wins in at
least ``level`` of the paired draws (one-sided). Where the units differ between submissions (search
runs), the draws are independent and the same rule is a two-sample comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from benchmarks.analysis.metrics import Estimate

N_BOOT = 1000
SEED = 0
LEVEL = 0.95


def resamples(n: int, n_boot: int = N_BOOT, seed: int = SEED) -> np.ndarray:
    """``(n_boot, n)`` indices into ``n`` units, the same for every submission of a board."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def draws_of(metric: Callable[[np.ndarray], float], index: np.ndarray) -> np.ndarray:
    """``metric`` of every resample (rows of ``index``), NaN where undefined."""
    return np.array([metric(row) for row in index], dtype=np.float64)


def estimate(point: float, draws: np.ndarray, level: float = LEVEL) -> Estimate:
    """A percentile-bootstrap :class:`Estimate` around ``point`` (NaN bounds if no draw is finite)."""
    finite = draws[np.isfinite(draws)]
    if len(finite) == 0:
        return Estimate(float(point), float("nan"), float("nan"), draws.shape[-1] if draws.ndim else 0)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Estimate(float(point), float(low), float(high), len(draws))


def ranks(values: Sequence[float], higher_is_better: bool) -> list[int]:
    """Competition ranks (1 = best; ties share the better rank; NaN ranks last)."""
    keyed = [(-v if higher_is_better else v) if np.isfinite(v) else np.inf for v in values]
    return [1 + sum(k < mine for k in keyed) for mine in keyed]


def win_rate(better: np.ndarray, worse: np.ndarray, higher_is_better: bool) -> float:
    """Share of paired draws in which ``better`` beats ``worse`` (ties count half)."""
    ok = np.isfinite(better) & np.isfinite(worse)
    if not ok.any():
        return float("nan")
    a, b = better[ok], worse[ok]
    wins = (a > b) if higher_is_better else (a < b)
    return float(wins.mean() + 0.5 * (a == b).mean())


def separable(rate: float, level: float = LEVEL) -> bool:
    """Whether a win rate separates two adjacent ranks at ``level``."""
    return bool(np.isfinite(rate) and rate >= level)
