"""One forward+backward per architecture, kept as fixed-size per-layer matrices: the terminals' values.

The pass runs under a :class:`proxies.Protocol` through :class:`proxies.base.ProxyContext`, so it sees
the same network (init, BN mode, dtype), the same batch (task, resolution, seed) and the same
cross-entropy loss as the hand-made proxies of a table built under that protocol. For every Conv2d and
Linear layer, in the order the network registers them (every aggregation over layers is symmetric, so
the order changes no value), it records the weight ``W`` and its loss gradient ``dW``, the layer's
input ``A`` and output ``Z`` per image and the loss gradient of the output ``dZ`` per image (the
statistics EZNAS reads: Akhauri et al., NeurIPS 2022, "weights, activations and their gradients").

To make thousands of evaluations cheap on two cores, each matrix is cut to :data:`ROWS` x :data:`COLS`:
the first ``ROWS`` images of the batch (per-image statistics) or ``ROWS`` output units (weights), and
``COLS`` units or fan-in positions drawn once per layer shape with a fixed seed (:func:`unit_index`).
A layer with fewer units than kept repeats each of its units (as evenly as possible), so means stay
means. The true counts are kept beside the data, so ``sum``, ``norm`` and ``trace`` scale back to the
whole layer. Everything is float32; no gradient of the input is taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from predictors.discovery.expr import TERMINALS

if TYPE_CHECKING:
    from proxies.base import ProxyContext

ROWS = 16
"""Rows kept per matrix: images of the batch (A, Z, dZ) or output units (W, dW)."""
COLS = 64
"""Columns kept per matrix: units per image (A, Z, dZ) or fan-in positions (W, dW)."""
SALT = 19
"""Seed component of the unit subsample (with the layer's unit count and the kept count)."""
PER_IMAGE = ("A", "Z", "dZ")
GATHER_VERSION = 1
"""Bumped whenever what the gather records changes (it is part of the recorded gather settings)."""


def gather_settings() -> dict[str, Any]:
    """What defines the gathered statistics beside the proxy protocol (hashed into run and proxy)."""
    return {"version": GATHER_VERSION, "rows": ROWS, "cols": COLS, "salt": SALT, "terminals": list(TERMINALS)}


def unit_index(units: int, keep: int) -> np.ndarray:
    """``keep`` indices into ``units`` positions: a seeded permutation, tiled when ``units < keep``."""
    order = np.random.default_rng([units, keep, SALT]).permutation(units)
    return np.resize(order, keep) if units < keep else order[:keep]


@dataclass
class Stats:
    """Terminal values for a batch of architectures: ``data[t]`` is ``(archs, layers, ROWS, COLS)``.

    ``rows[t]`` and ``cols[t]`` are the true counts ``(archs, layers)``; ``mask`` marks the real layers
    (architectures with fewer layers are padded with zeros, which every aggregation masks out).
    """

    data: dict[str, np.ndarray]
    rows: dict[str, np.ndarray]
    cols: dict[str, np.ndarray]
    mask: np.ndarray

    @property
    def archs(self) -> int:
        """Number of architectures."""
        return int(self.mask.shape[0])

    def subset(self, index: np.ndarray) -> Stats:
        """The statistics of the architectures at ``index`` (padding trimmed to their deepest)."""
        mask = self.mask[index]
        layers = max(int(mask.sum(axis=1).max(initial=1)), 1)

        def take(a: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            return {k: np.ascontiguousarray(v[index][:, :layers]) for k, v in a.items()}

        return Stats(take(self.data), take(self.rows), take(self.cols), mask[:, :layers].copy())

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat ``name -> array`` form for ``numpy.savez`` (no object arrays, no pickle)."""
        out = {"mask": self.mask}
        for t in self.data:
            out[f"data_{t}"], out[f"rows_{t}"], out[f"cols_{t}"] = self.data[t], self.rows[t], self.cols[t]
        return out

    @classmethod
    def from_arrays(cls, arrays: Any) -> Stats:
        """The inverse of :meth:`to_arrays` (KeyError naming a missing array)."""
        terms = [t for t in TERMINALS if f"data_{t}" in arrays]
        if not terms:
            raise KeyError("no gathered statistics (data_<terminal> arrays) in the file")
        return cls(
            {t: np.asarray(arrays[f"data_{t}"]) for t in terms},
            {t: np.asarray(arrays[f"rows_{t}"]) for t in terms},
            {t: np.asarray(arrays[f"cols_{t}"]) for t in terms},
            np.asarray(arrays["mask"], dtype=bool),
        )

    @classmethod
    def stack(cls, items: list[Stats]) -> Stats:
        """Concatenate single- or multi-architecture statistics (padding to the deepest)."""
        layers = max(s.mask.shape[1] for s in items)

        def pad(a: np.ndarray) -> np.ndarray:
            width = [(0, 0), (0, layers - a.shape[1])] + [(0, 0)] * (a.ndim - 2)
            return np.pad(a, width)

        terms = list(items[0].data)
        return cls(
            {t: np.concatenate([pad(s.data[t]) for s in items]) for t in terms},
            {t: np.concatenate([pad(s.rows[t]) for s in items]) for t in terms},
            {t: np.concatenate([pad(s.cols[t]) for s in items]) for t in terms},
            np.concatenate([pad(s.mask) for s in items]),
        )


def _cut(matrix: np.ndarray) -> np.ndarray:
    """``ROWS`` x ``COLS`` of a 2-d matrix: the first rows (tiled if fewer), the seeded unit sample."""
    r, c = matrix.shape
    rows = np.resize(np.arange(r), ROWS) if r < ROWS else np.arange(ROWS)
    return matrix[np.ix_(rows, unit_index(c, COLS))].astype(np.float32)


def gather(ctx: ProxyContext, terminals: tuple[str, ...] | frozenset[str] = tuple(TERMINALS)) -> Stats:
    """The statistics of ``ctx``'s architecture under its protocol and seed (one architecture).

    Only weights are read when ``terminals`` is a subset of ``{"W"}``: no batch, no forward.
    """
    import torch
    import torch.nn as nn

    from proxies.losses import flat_cross_entropy

    model = ctx.fresh_model()
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    calls: list[dict[str, Any]] = []
    data_needed = not set(terminals) <= {"W"}

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        call: dict[str, Any] = {"module": module, "A": inputs[0].detach(), "Z": out.detach()}
        calls.append(call)
        if out.requires_grad:

            def keep(grad: torch.Tensor) -> None:
                call["dZ"] = grad.detach()

            out.register_hook(keep)

    if data_needed:
        x, y = ctx.batch()
        handles = [m.register_forward_hook(hook) for _, m in layers]
        try:
            out = model(x)
        finally:
            for h in handles:
                h.remove()
        weights = [m.weight for _, m in layers]
        grads = torch.autograd.grad(flat_cross_entropy(out, y), weights, allow_unused=True)
        grad_of = {id(m): g for (_, m), g in zip(layers, grads)}
    else:
        calls = [{"module": m} for _, m in layers]
        grad_of = {}
    position = {id(m): i for i, (_, m) in enumerate(layers)}
    calls.sort(key=lambda call: position[id(call["module"])])  # module order, with or without a forward
    rows: dict[str, list[np.ndarray]] = {t: [] for t in TERMINALS}
    true_r: dict[str, list[int]] = {t: [] for t in TERMINALS}
    true_c: dict[str, list[int]] = {t: [] for t in TERMINALS}
    for call in calls:
        module = call["module"]
        w = module.weight.detach()
        g = grad_of.get(id(module))
        mats = {
            "W": w.reshape(len(w), -1),
            "dW": (torch.zeros_like(w) if g is None else g).reshape(len(w), -1),
        }
        if data_needed:
            z = call["Z"]
            mats["A"] = call["A"].reshape(len(call["A"]), -1)
            mats["Z"] = z.reshape(len(z), -1)
            mats["dZ"] = call.get("dZ", torch.zeros_like(z)).reshape(len(z), -1)
        for t in TERMINALS:
            m = mats.get(t, mats["W"] * 0)
            rows[t].append(_cut(m.double().cpu().numpy()))
            true_r[t].append(m.shape[0])
            true_c[t].append(m.shape[1])
    if not calls:
        raise ValueError("the network has no Conv2d or Linear layer to gather statistics from")
    return Stats(
        {t: np.stack(rows[t])[None] for t in TERMINALS},
        {t: np.asarray(true_r[t], dtype=np.float32)[None] for t in TERMINALS},
        {t: np.asarray(true_c[t], dtype=np.float32)[None] for t in TERMINALS},
        np.ones((1, len(calls)), dtype=bool),
    )
