"""A graph convolutional predictor over the op graph (Wen et al., "Neural Predictor for Neural Architecture
Search", ECCV 2020), in plain torch.

Nodes carry their op as a one-hot; each layer mixes a node with its predecessors and successors through
separately weighted, row-normalised adjacencies with self-loops (Wen et al.'s bidirectional GCN), then the
real (unpadded) nodes are averaged and a small MLP head, which also reads the standardised graph-level
features of an encoding such as ``graph+zc`` (zero-cost proxies), gives the prediction. Trained with Adam on the MSE
of standardised targets; ``members`` networks differing only in their seed give a mean and a std.
"""

from __future__ import annotations

import itertools

import numpy as np

from predictors._torch import run_module, standardiser, train_ensemble
from predictors.base import Predictor, PredictorCard
from predictors.encodings import unflatten_graph


def _gcn(vocab: int, width: int, layers: int, extra: int = 0):
    import torch
    import torch.nn as nn

    class GCN(nn.Module):
        """Bidirectional GCN; inputs: adjacency (b, n, n), node op one-hot (b, n, v), graph features (b, g)."""

        def __init__(self) -> None:
            super().__init__()
            dims = [vocab] + [width] * layers
            self.forward_w = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))
            self.backward_w = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))
            self.head = nn.Sequential(nn.Linear(width + extra, width), nn.ReLU(), nn.Linear(width, 1))

        @staticmethod
        def _normalise(adjacency: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            a = adjacency + torch.diag_embed(mask)
            return a / a.sum(-1, keepdim=True).clamp_min(1.0)

        def forward(self, adjacency: torch.Tensor, ops: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
            mask = (ops.sum(-1) > 0).float()
            fwd = self._normalise(adjacency.transpose(1, 2), mask)  # from predecessors
            bwd = self._normalise(adjacency, mask)  # from successors
            h = ops
            for wf, wb in zip(self.forward_w, self.backward_w):
                h = torch.relu(0.5 * (fwd @ wf(h) + bwd @ wb(h))) * mask.unsqueeze(-1)
            pooled = h.sum(1) / mask.sum(1, keepdim=True).clamp_min(1.0)
            return self.head(torch.cat([pooled, extra], dim=1)).squeeze(-1)

    return GCN()


class GNNPredictor(Predictor):
    """Bidirectional GCN over the op graph (encoding ``graph`` or ``graph+...``); mean and std over members."""

    card = PredictorCard(
        name="gnn",
        summary="bidirectional GCN over the op graph (torch), std across members",
        paper="Wen et al., Neural Predictor for NAS, ECCV 2020",
        input="graph",
        has_std=True,
        defaults=(
            ("batch_size", 32),
            ("epochs", 200),
            ("layers", 3),
            ("lr", 0.003),
            ("members", 3),
            ("weight_decay", 0.0001),
            ("width", 64),
        ),
        grid=(
            (("layers", 2), ("width", 32)),
            (("weight_decay", 0.001),),
            (("epochs", 300), ("lr", 0.001)),
        ),
        cv_params=(("members", 1),),
    )

    def _make(self, vocab: int, extra: int):
        return lambda: _gcn(vocab, int(self.params["width"]), int(self.params["layers"]), extra)

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        adjacency, ops, extra = unflatten_graph(X)
        (self._y_mu,), (self._y_sd,) = standardiser(y[:, None])
        self._g_mu, self._g_sd = standardiser(extra)
        p = self.params
        self._states = train_ensemble(
            self._make(ops.shape[-1], extra.shape[1]),
            (adjacency, ops, (extra - self._g_mu) / self._g_sd),
            (y - self._y_mu) / self._y_sd,
            self.seed,
            p,
        )

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        adjacency, ops, extra = unflatten_graph(X)
        vocab = self._states[0]["forward_w.0.weight"].shape[1]
        if ops.shape[-1] != vocab or extra.shape[1] != len(self._g_mu):
            raise ValueError(
                f"graphs have {ops.shape[-1]} op kinds and {extra.shape[1]} graph features, "
                f"the GNN was fitted on {vocab} and {len(self._g_mu)}"
            )
        inputs = (adjacency, ops, (extra - self._g_mu) / self._g_sd)
        outs = np.stack([run_module(self._make(vocab, extra.shape[1]), s, inputs) for s in self._states])
        outs = outs * self._y_sd + self._y_mu
        return outs.mean(axis=0), outs.std(axis=0)

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        arrays = {"y": np.array([self._y_mu, self._y_sd]), "g_mu": self._g_mu, "g_sd": self._g_sd}
        for m, state in enumerate(self._states):
            arrays.update({f"member{m}.{k}": v for k, v in state.items()})
        return arrays, {}

    def _restore(self, arrays: dict[str, np.ndarray], texts: dict[str, str]) -> None:
        self._y_mu, self._y_sd = (float(v) for v in arrays["y"])
        self._g_mu, self._g_sd = arrays["g_mu"], arrays["g_sd"]
        self._states = [
            {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith(f"member{m}.")}
            for m in range(int(self.params["members"]))
        ]
        if not all(self._states):
            raise ValueError(f"expected {self.params['members']} ensemble members in state.npz")
