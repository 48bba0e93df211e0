"""Calibration of predictive intervals: how often the truth falls inside ``mean +- z std``.

A predictor with a standard deviation promises central Gaussian intervals; a calibrated one has the
truth inside its 68 % interval on 68 % of held-out architectures and inside its 95 % interval on 95 %
(empirical coverage, as in Kuleshov et al., "Accurate Uncertainties for Deep Learning Using Calibrated
Regression", ICML 2018; NAS-Bench-301, Zela et al., ICLR 2022, reports it for its surrogate ensembles).
Coverage below the level means over-confident intervals, above it under-confident ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

LEVELS = (0.68, 0.95)
"""Nominal levels of the intervals whose coverage is reported."""


def z_score(level: float) -> float:
    """Half-width in standard deviations of the central Gaussian interval of ``level`` (0.95 -> 1.96)."""
    from scipy.stats import norm

    if not 0 < level < 1:
        raise ValueError(f"interval level must be in (0, 1), got {level}")
    return float(norm.ppf(0.5 + level / 2))


def interval_coverage(
    mean: Sequence[float], std: Sequence[float], truth: Sequence[float], levels: Sequence[float] = LEVELS
) -> dict[str, float]:
    """Fraction of ``truth`` inside ``mean +- z(level) std`` for each level, keyed ``"68"``, ``"95"``.

    Raises ValueError for arrays of different shapes, no rows, non-finite values or negative stds.
    """
    mean, std, truth = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (mean, std, truth))
    if not (len(mean) == len(std) == len(truth)) or len(mean) == 0:
        raise ValueError(
            f"mean, std and truth need the same non-zero length, got {len(mean)}, {len(std)}, {len(truth)}"
        )
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and np.isfinite(truth).all()):
        raise ValueError("mean, std and truth must be finite")
    if (std < 0).any():
        raise ValueError("standard deviations must be >= 0")
    error = np.abs(truth - mean)
    return {f"{round(100 * level):d}": float(np.mean(error <= z_score(level) * std)) for level in levels}
