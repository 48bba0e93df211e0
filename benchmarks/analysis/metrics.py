"""Rank metrics for proxy and predictor evaluation, with bootstrap confidence intervals.

Kendall's tau is tau-b (ties are common: params and FLOPs tie a lot). Bootstrap intervals resample
architectures with replacement (percentile method, fixed seed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from spaces.registry import Registry

RankMetric = Callable[[np.ndarray, np.ndarray], float]
RANK_METRICS: Registry[RankMetric] = Registry("rank metric", entry_point_group="archbench.rank_metrics")


def _pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"rank metrics need two 1-d arrays of equal length, got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("rank metrics need finite values (drop failed rows first)")
    return x, y


@RANK_METRICS.register("spearman")
def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho (Pearson correlation of average ranks); NaN if either side is constant."""
    x, y = _pair(x, y)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


@RANK_METRICS.register("kendall")
def kendall(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b; NaN if either side is constant."""
    x, y = _pair(x, y)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.kendalltau(x, y, variant="b").statistic)


def top_k_precision(x: np.ndarray, y: np.ndarray, fraction: float) -> float:
    """Share of the true top ``fraction`` (by ``y``) that is also in the predicted top (by ``x``)."""
    x, y = _pair(x, y)
    if not 0 < fraction <= 1:
        raise ValueError(f"top-k fraction must be in (0, 1], got {fraction}")
    k = max(1, round(fraction * len(x)))
    return len(set(np.argsort(-x, kind="stable")[:k]) & set(np.argsort(-y, kind="stable")[:k])) / k


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:func:`spearman` of each row pair of two ``(B, n)`` arrays at once (NaN for a constant row)."""
    rx = stats.rankdata(x, axis=1) - (x.shape[1] + 1) / 2
    ry = stats.rankdata(y, axis=1) - (y.shape[1] + 1) / 2
    den = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (rx * ry).sum(axis=1) / den
    return np.where(den > 0, np.clip(rho, -1.0, 1.0), np.nan)


_BATCHED: dict[RankMetric, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    spearman: spearman_rows,
}
"""Metrics with a vectorised form over resamples (Kendall stays a loop: scipy's O(n log n) per call
beats an O(n^2) pairwise batch beyond a few dozen points)."""
_BATCH_LIMIT = 100_000
"""Largest sample the bootstrap resamples in one batch of ranks."""


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a bootstrap confidence interval."""

    value: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.value:+.3f} [{self.low:+.3f}, {self.high:+.3f}]"


def bootstrap(
    metric: RankMetric, x: np.ndarray, y: np.ndarray, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> Estimate:
    """``metric(x, y)`` with a percentile bootstrap interval over resampled pairs."""
    x, y = _pair(x, y)
    point = metric(x, y)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(x), size=(n_boot, len(x)))
    batched = _BATCHED.get(metric)
    if batched is not None and len(x) <= _BATCH_LIMIT:
        draws = np.concatenate([batched(x[i], y[i]) for i in np.array_split(rows, max(1, n_boot // 50))])
    else:
        draws = np.array([metric(x[i], y[i]) for i in rows])
    draws = draws[np.isfinite(draws)]
    if len(draws) == 0:
        return Estimate(point, float("nan"), float("nan"), len(x))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Estimate(point, float(low), float(high), len(x))


def ndcg_at_k(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """NDCG@k of the ranking by ``x``, with gains ``y - min(y)`` (so the worst architecture gains 0).

    DCG@k sums the gains of the predicted top ``k`` discounted by ``log2(rank + 1)``; it is divided by the
    DCG@k of the true order. 1 means the predicted top-k is the true top-k in the true order. NaN if ``y``
    is constant. Used for predictors, e.g. by Ning et al. (GATES, ECCV 2020) and NAS-Bench-Suite-Zero.
    """
    x, y = _pair(x, y)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    gains = y - y.min()
    k = min(k, len(y))
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = float(np.sort(gains)[::-1][:k] @ discounts)
    if ideal == 0:
        return float("nan")
    return float(gains[np.argsort(-x, kind="stable")[:k]] @ discounts) / ideal


def regret_at_k(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """``max(y)`` minus the best ``y`` among the predicted top ``k`` (by ``x``): in the target's units, >= 0.

    The loss of a search that evaluates the predictor's ``k`` favourites and keeps the best.
    """
    x, y = _pair(x, y)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return float(y.max() - y[np.argsort(-x, kind="stable")[:k]].max())
