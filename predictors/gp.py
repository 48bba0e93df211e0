"""Gaussian-process regression (Rasmussen & Williams, "Gaussian Processes for Machine Learning", 2006).

scikit-learn's ``GaussianProcessRegressor`` with a Matern-5/2 kernel (one length scale, or one per
feature with ``ard``) times a constant, plus white noise, on standardised features and targets; kernel hyper-parameters by
maximum marginal likelihood. GPs are the surrogate of Bayesian-optimisation NAS (e.g. Kandasamy et al.,
NASBOT, NeurIPS 2018) and a predictor in White et al. (NeurIPS 2021). The artefact keeps the training data
and the fitted kernel parameters (``theta``); loading conditions the same kernel on the same data without
re-optimising, which reproduces the predictions.
"""

from __future__ import annotations

import warnings

import numpy as np

from predictors.base import Predictor, PredictorCard


class GPPredictor(Predictor):
    """Gaussian process with a Matern-5/2 (optionally ARD) + white-noise kernel; predictive mean and std."""

    card = PredictorCard(
        name="gp",
        summary="Gaussian process, Matern-5/2 + noise (scikit-learn)",
        paper="Rasmussen & Williams, GPML 2006; White et al., NeurIPS 2021",
        has_std=True,
        defaults=(("ard", False), ("restarts", 0)),
        grid=((("ard", True),),),
    )

    def _kernel(self, d: int):
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        scale = np.ones(d) if self.params["ard"] else 1.0
        return ConstantKernel(1.0, (1e-3, 1e3)) * Matern(scale, (1e-2, 1e3), nu=2.5) + WhiteKernel(
            0.1, (1e-6, 1e1)
        )

    def _fit(self, X: np.ndarray, y: np.ndarray, theta: np.ndarray | None = None) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor

        self._X, self._y = X, y
        self._mu, self._sd = X.mean(axis=0), X.std(axis=0)
        self._sd[self._sd == 0] = 1.0
        kernel = self._kernel(X.shape[1])
        if theta is not None:
            kernel = kernel.clone_with_theta(theta)
        model = GaussianProcessRegressor(
            kernel,
            normalize_y=True,
            optimizer=None if theta is not None else "fmin_l_bfgs_b",
            n_restarts_optimizer=int(self.params["restarts"]),
            random_state=self.seed,
        )
        with warnings.catch_warnings():  # a length scale at its bound is a fit, not an error
            warnings.simplefilter("ignore", ConvergenceWarning)
            self._model = model.fit((X - self._mu) / self._sd, y)

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._model.predict((X - self._mu) / self._sd, return_std=True)

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        return {"X": self._X, "y": self._y, "theta": self._model.kernel_.theta}, {}

    def _restore(self, arrays: dict[str, np.ndarray], texts: dict[str, str]) -> None:
        self._fit(arrays["X"], arrays["y"], theta=arrays["theta"])
