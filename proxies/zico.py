"""ZiCo: Li et al., "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients", ICLR 2023.

The protocol's batch is cut into ``splits`` equal minibatches (default 2, as NASLib's port runs ZiCo on
one batch); each gives the cross-entropy gradient g_b of every Conv2d/Linear weight. For each layer l,

    ZiCo = sum_l log( sum_{theta in l} mean_b |g_b(theta)| / std_b g_b(theta) ),

with the population standard deviation over minibatches (numpy's default, as in the reference). As in
the reference, weights whose gradient has zero spread are left out of their layer's sum and a layer with
none left is skipped; if no layer is left the score is undefined (every gradient is identical across
minibatches, e.g. all zero on a cell whose output ignores its input) and :class:`Undefined` is raised.

References disagree on g_b: the paper defines the statistics over the minibatches' own gradients, while
the authors' code never zeroes gradients between minibatches, so its b-th "gradient" is the running sum
g_1 + ... + g_b. We follow the paper (gradients zeroed before every minibatch): the code's accumulated
sums are not the per-batch gradient distribution the paper's argument is about. Statistics are float64.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
import torch.nn as nn

from proxies.base import ProxyContext, Undefined
from proxies.losses import flat_cross_entropy

SPLITS = 2


def minibatch_gradients(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, splits: int
) -> dict[str, np.ndarray]:
    """``{layer: (splits, weights)}`` float64 loss gradients of every Conv2d/Linear weight, one row per minibatch."""
    n = len(x)
    if not 2 <= splits <= n:
        raise ValueError(f"zico needs 2 <= splits <= batch size, got splits={splits} for a batch of {n}")
    layers = {name: m for name, m in model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)}
    rows: dict[str, list[np.ndarray]] = {name: [] for name in layers}
    for b in range(splits):
        lo, hi = b * n // splits, (b + 1) * n // splits
        model.zero_grad(set_to_none=True)
        flat_cross_entropy(model(x[lo:hi]), y[lo:hi]).backward()
        for name, m in layers.items():
            g = m.weight.grad
            flat = np.zeros(m.weight.numel()) if g is None else g.detach().reshape(-1).double().cpu().numpy()
            rows[name].append(flat)
    return {name: np.stack(r) for name, r in rows.items()}


def zico_score(gradients: Mapping[str, np.ndarray]) -> float:
    """ZiCo from per-minibatch gradients ``{layer: (minibatches, weights)}``."""
    total, layers = 0.0, 0
    for g in gradients.values():
        if not np.all(np.isfinite(g)):
            raise OverflowError("zico: a gradient is not finite")
        std = np.std(g, axis=0)
        keep = std != 0
        if not np.any(keep):
            continue
        ratio = np.mean(np.abs(g), axis=0)[keep] / std[keep]
        total += math.log(float(np.sum(ratio)))
        layers += 1
    if layers == 0:
        raise Undefined("zico: every weight gradient is identical across minibatches, mean/std undefined")
    return total


def zico(ctx: ProxyContext) -> float:
    """ZiCo on the protocol's batch cut into minibatches."""
    x, y = ctx.batch()
    splits = int(ctx.protocol.proxy_params("zico").get("splits", SPLITS))
    return zico_score(minibatch_gradients(ctx.fresh_model(), x, y, splits))
