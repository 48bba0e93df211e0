"""An ensemble of MLPs (deep ensembles: Lakshminarayanan et al., NeurIPS 2017), as in BANANAS.

White, Neiswanger & Savani, "BANANAS: Bayesian Optimization with Neural Architectures for NAS" (AAAI
2021) predict with an ensemble of feed-forward networks on an architecture encoding and use the spread
of the members as the uncertainty. Here: ``members`` MLPs differing only in their seed, each trained with
Adam on the MSE of standardised targets; the prediction is the members' mean and std.
"""

from __future__ import annotations

import numpy as np

from predictors._torch import run_module, standardiser, train_ensemble
from predictors.base import Predictor, PredictorCard


def _mlp(d: int, width: int, depth: int):
    import torch.nn as nn

    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(d if i == 0 else width, width), nn.ReLU()]
    layers.append(nn.Linear(width if depth else d, 1))

    class MLP(nn.Sequential):
        def forward(self, x):  # (n, d) -> (n,)
            return super().forward(x).squeeze(-1)

    return MLP(*layers)


class MLPEnsemblePredictor(Predictor):
    """``members`` MLPs (ReLU, Adam, MSE); mean and std across members."""

    card = PredictorCard(
        name="mlp_ensemble",
        summary="ensemble of MLPs (torch), std across members",
        paper="White et al., BANANAS, AAAI 2021; Lakshminarayanan et al., NeurIPS 2017",
        has_std=True,
        defaults=(
            ("batch_size", 32),
            ("depth", 3),
            ("epochs", 200),
            ("lr", 0.003),
            ("members", 5),
            ("weight_decay", 0.0001),
            ("width", 64),
        ),
        grid=(
            (("depth", 2), ("width", 32)),
            (("weight_decay", 0.001),),
            (("epochs", 300), ("lr", 0.001)),
        ),
        cv_params=(("members", 1),),
    )

    def _make(self, d: int):
        return lambda: _mlp(d, int(self.params["width"]), int(self.params["depth"]))

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        p = self.params
        self._x_mu, self._x_sd = standardiser(X)
        (self._y_mu,), (self._y_sd,) = standardiser(y[:, None])
        Xs, ys = (X - self._x_mu) / self._x_sd, (y - self._y_mu) / self._y_sd
        self._states = train_ensemble(self._make(X.shape[1]), (Xs,), ys, self.seed, p)

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Xs = (X - self._x_mu) / self._x_sd
        outs = np.stack([run_module(self._make(X.shape[1]), s, (Xs,)) for s in self._states])
        outs = outs * self._y_sd + self._y_mu
        return outs.mean(axis=0), outs.std(axis=0)

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        arrays = {"x_mu": self._x_mu, "x_sd": self._x_sd, "y": np.array([self._y_mu, self._y_sd])}
        for m, state in enumerate(self._states):
            arrays.update({f"member{m}.{k}": v for k, v in state.items()})
        return arrays, {}

    def _restore(self, arrays: dict[str, np.ndarray], texts: dict[str, str]) -> None:
        self._x_mu, self._x_sd = arrays["x_mu"], arrays["x_sd"]
        self._y_mu, self._y_sd = (float(v) for v in arrays["y"])
        self._states = [
            {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith(f"member{m}.")}
            for m in range(int(self.params["members"]))
        ]
        if not all(self._states):
            raise ValueError(f"expected {self.params['members']} ensemble members in state.npz")
