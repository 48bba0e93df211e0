"""Baselines: the best single feature (a zero-cost proxy, params or FLOPs), chosen on the training split, and the
majority vote of several features.

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


class VotePredictor(Predictor):
    """Abdelfattah et al.'s majority vote of the feature columns, as pairwise wins against the training rows.

    To order two architectures, each feature column (for the paper's vote: synflow, jacob_cov and snip,
    i.e. ``--features synflow,jacob_cov,snip`` with the ``zc`` encoding) votes for the one it scores
    better, and the majority decides. A vote over the predicted batch itself would make one row's score
    depend on the other rows (``proxies.ensemble`` explains why archbench never stores such a value), so
    a row's score is its share of majority wins against the *training* architectures, a fixed reference:
    a win counts 1, a split or tied vote 1/2. Fitting stores the reference rows and each column's
    direction (the sign of its Kendall tau with the target on the training rows; the paper's three
    proxies are all higher-is-better, which the sign recovers when they rank at all).
    """

    card = PredictorCard(
        name="vote",
        summary="majority vote of the features (e.g. synflow, jacob_cov, snip): share of wins against the training rows",
        paper="Abdelfattah et al., Zero-Cost Proxies, ICLR 2021",
    )

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        taus = [kendall(X[:, c], y) for c in range(X.shape[1])]
        self._signs = np.array([-1.0 if not np.isnan(t) and t < 0 else 1.0 for t in taus])
        self._reference = np.array(X, dtype=float)

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, None]:
        scores = np.empty(len(X))
        for start in range(0, len(X), 256):  # bounded memory: rows x reference x features per block
            block = np.asarray(X[start : start + 256], dtype=float)
            ballots = np.sign((block[:, None, :] - self._reference[None, :, :]) * self._signs).sum(axis=2)
            scores[start : start + 256] = ((ballots > 0) + 0.5 * (ballots == 0)).mean(axis=1)
        return scores, None

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        return {"reference": self._reference, "signs": self._signs}, {}

    def _restore(self, arrays: dict[str, np.ndarray], texts: dict[str, str]) -> None:
        self._reference, self._signs = arrays["reference"], arrays["signs"]
