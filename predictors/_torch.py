"""Shared training loop and (de)serialisation for the torch predictors (MLP ensemble, GNN).

Training runs inside ``torch.random.fork_rng`` with an explicit seed and one intra-op thread, so fitting
is CPU bit-identical under a seed and never touches global RNG state. Features and targets are
standardised with training statistics only. State dicts are saved as plain float arrays (``.npz``, read
with ``allow_pickle=False``), never pickled.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hw_profiles.profile import torch_threads


def standardiser(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and stds of ``values`` (std 1 where a column is constant)."""
    mu, sd = values.mean(axis=0), values.std(axis=0)
    return mu, np.where(sd > 0, sd, 1.0)


def train_module(
    make: Callable[[], object],
    inputs: tuple[np.ndarray, ...],
    y: np.ndarray,
    seed: int,
    epochs: int,
    lr: float,
    weight_decay: float,
    batch_size: int,
) -> dict[str, np.ndarray]:
    """Train ``make()`` (a ``torch.nn.Module`` taking ``*inputs``) with Adam on MSE; its state as arrays.

    Mini-batches of ``batch_size`` in a seeded order; cosine learning-rate decay to zero.
    """
    import torch

    with torch_threads(1), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = make()
        tensors = [torch.as_tensor(a, dtype=torch.float32) for a in inputs]
        target = torch.as_tensor(y, dtype=torch.float32)
        optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        n = len(target)
        steps = epochs * max(1, -(-n // batch_size))
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=steps)
        generator = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(n, generator=generator)
            for start in range(0, n, batch_size):
                rows = order[start : start + batch_size]
                optimiser.zero_grad()
                loss = torch.nn.functional.mse_loss(model(*(t[rows] for t in tensors)), target[rows])
                loss.backward()
                optimiser.step()
                schedule.step()
        return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def train_ensemble(
    make: Callable[[], object], inputs: tuple[np.ndarray, ...], y: np.ndarray, seed: int, params: dict
) -> list[dict[str, np.ndarray]]:
    """``params["members"]`` modules trained by :func:`train_module`, member ``m`` with seed ``1000 seed + m``."""
    return [
        train_module(
            make,
            inputs,
            y,
            seed=seed * 1000 + m,
            epochs=int(params["epochs"]),
            lr=float(params["lr"]),
            weight_decay=float(params["weight_decay"]),
            batch_size=int(params["batch_size"]),
        )
        for m in range(int(params["members"]))
    ]


def run_module(
    make: Callable[[], object], state: dict[str, np.ndarray], inputs: tuple[np.ndarray, ...]
) -> np.ndarray:
    """Outputs of ``make()`` loaded with ``state`` (strictly: every key, every shape) on ``inputs``."""
    import torch

    with torch_threads(1), torch.random.fork_rng(devices=[]):
        model = make()
        model.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()}, strict=True)
        model.eval()
        with torch.no_grad():
            return (
                model(*(torch.as_tensor(a, dtype=torch.float32) for a in inputs)).numpy().astype(np.float64)
            )
