"""Random forest regression (Breiman, "Random Forests", Machine Learning 2001), scikit-learn's implementation.

A baseline in White et al., "How Powerful are Performance Predictors in NAS?" (NeurIPS 2021). The std is
the spread of the trees' predictions. scikit-learn models only serialise through pickle, which archbench
never loads, so the artefact keeps the training data and the seed, and loading refits: with a fixed
``random_state`` the trees, and so the predictions, are identical.
"""

from __future__ import annotations

import numpy as np

from predictors.base import Predictor, PredictorCard


class RandomForestPredictor(Predictor):
    """scikit-learn ``RandomForestRegressor``; mean and std over trees."""

    card = PredictorCard(
        name="random_forest",
        summary="random forest (scikit-learn), std across trees",
        paper="Breiman, Random Forests, Mach. Learn. 2001; White et al., NeurIPS 2021",
        has_std=True,
        defaults=(("max_features", 0.5), ("min_samples_leaf", 1), ("n_estimators", 200)),
        grid=(
            (("max_features", 0.3), ("min_samples_leaf", 1)),
            (("max_features", 0.5), ("min_samples_leaf", 1)),
            (("max_features", 1.0), ("min_samples_leaf", 2)),
        ),
    )

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        from sklearn.ensemble import RandomForestRegressor

        self._X, self._y = X, y
        p = self.params
        self._model = RandomForestRegressor(
            n_estimators=int(p["n_estimators"]),
            max_features=float(p["max_features"]),
            min_samples_leaf=int(p["min_samples_leaf"]),
            random_state=self.seed,
            n_jobs=1,
        ).fit(X, y)

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        per_tree = np.stack([tree.predict(X) for tree in self._model.estimators_])
        return per_tree.mean(axis=0), per_tree.std(axis=0)

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        return {"X": self._X, "y": self._y}, {}

    def _restore(self, arrays: dict[str, np.ndarray], texts: dict[str, str]) -> None:
        self._fit(arrays["X"], arrays["y"])
