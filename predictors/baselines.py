"""Baselines: the best single feature (a zero-cost proxy, params or FLOPs), chosen on the training split.

Rank correlation of one proxy (or of params/FLOPs) with the target is the yardstick every zero-cost
predictor is compared against (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021;
White et al., NeurIPS 2021). Fitting picks the column, and its sign, with the highest Kendall tau-b on the
training rows alone; predicting returns that column times the sign (a ranking, not an accuracy).
"""

from __future__ import annotations

import numpy as np

from benchmarks.metrics import kendall
from predictors.base import Predictor, PredictorCard


class BestFeaturePredictor(Predictor):
    """Ranks by the single feature column that best ranks the training rows (with its sign)."""

    card = PredictorCard(
        name="best_feature",
        summary="best single feature (proxy, params or FLOPs) by Kendall tau on the training split",
        paper="Abdelfattah et al., Zero-Cost Proxies, ICLR 2021",
        defaults=(("column", -1),),
    )

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        forced = int(self.params["column"])
        if forced >= X.shape[1]:
            raise ValueError(f"column {forced} is out of range for {X.shape[1]} features")
        candidates = [forced] if forced >= 0 else range(X.shape[1])
        scored = []
        for c in candidates:
            tau = kendall(X[:, c], y)
            scored.append(
                (0.0 if np.isnan(tau) else abs(tau), -c, 1.0 if np.isnan(tau) or tau >= 0 else -1.0)
            )
        best, neg_column, sign = max(scored)
        self._column, self._sign, self._tau = -neg_column, sign, best

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, None]:
        return self._sign * X[:, self._column], None

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        return {"choice": np.array([self._column, self._sign, self._tau])}, {}

    def _restore(self, arrays: dict[str, np.ndarray], texts: dict[str, str]) -> None:
        column, self._sign, self._tau = arrays["choice"]
        self._column = int(column)
