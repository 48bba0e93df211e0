"""LightGBM gradient-boosted trees (Ke et al., "LightGBM", NeurIPS 2017), the primary tabular predictor.

Boosted trees on an architecture encoding are among the strongest predictors at every sample size in
White et al., "How Powerful are Performance Predictors in NAS?" (NeurIPS 2021) and, on encodings plus
zero-cost proxies, in Krishnakumar et al., NAS-Bench-Suite-Zero (NeurIPS 2022). Saved as LightGBM's own
text model. One thread and ``deterministic=True``: same seed, same data, same trees.
"""

from __future__ import annotations

import numpy as np

from predictors.base import Predictor, PredictorCard


class LightGBMPredictor(Predictor):
    """LightGBM regression on an encoding; handles missing (NaN) features natively."""

    card = PredictorCard(
        name="lightgbm",
        summary="gradient-boosted trees (LightGBM)",
        paper="Ke et al., LightGBM, NeurIPS 2017; White et al., NeurIPS 2021",
        defaults=(
            ("learning_rate", 0.05),
            ("min_child_samples", 5),
            ("n_estimators", 500),
            ("num_leaves", 15),
            ("colsample_bytree", 0.8),
            ("subsample", 0.8),
            ("reg_lambda", 1.0),
        ),
        grid=(
            (("min_child_samples", 2), ("num_leaves", 7)),
            (("min_child_samples", 5), ("num_leaves", 15)),
            (("min_child_samples", 10), ("num_leaves", 31)),
            (("learning_rate", 0.02), ("n_estimators", 1000), ("num_leaves", 15)),
        ),
    )
    allows_nan_features = True

    def _lgb_params(self, n: int) -> dict:
        p = self.params
        return {
            "objective": "regression",
            "learning_rate": float(p["learning_rate"]),
            # at tiny n a leaf must still be allowed to form
            "min_data_in_leaf": int(max(1, min(p["min_child_samples"], n // 5))),
            "min_data_in_bin": 1,
            "num_leaves": int(p["num_leaves"]),
            "feature_fraction": float(p["colsample_bytree"]),
            "bagging_fraction": float(p["subsample"]),
            "bagging_freq": 1 if p["subsample"] < 1 else 0,
            "lambda_l2": float(p["reg_lambda"]),
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 1,
            "verbosity": -1,
        }

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        import lightgbm as lgb

        data = lgb.Dataset(X, y, params={"min_data_in_bin": 1, "verbosity": -1}, free_raw_data=True)
        self._booster = lgb.train(
            self._lgb_params(len(y)), data, num_boost_round=int(self.params["n_estimators"])
        )

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, None]:
        return self._booster.predict(X, num_threads=1), None

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        return {}, {"model.txt": self._booster.model_to_string()}

    def _restore(self, arrays: dict[str, np.ndarray], texts: dict[str, str]) -> None:
        import lightgbm as lgb

        if "model.txt" not in texts:
            raise ValueError("no model.txt")
        try:
            self._booster = lgb.Booster(model_str=texts["model.txt"])
        except lgb.basic.LightGBMError as exc:
            raise ValueError(f"unreadable LightGBM model ({exc})") from None
