"""GraSP as a zero-cost proxy: Wang et al., "Picking Winning Tickets Before Training by Preserving Gradient
Flow", ICLR 2020, in the form of Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021.

With g = dL/dtheta (cross-entropy on the protocol's batch) and H the Hessian of L, the per-weight
saliency is -theta * (H g) and the score is its sum over every Conv2d/Linear weight. H g is formed as
in the reference: the gradient of z = sum(stop_grad(g) * dL/dtheta), the gradient taken with
``create_graph``. Abdelfattah et al. add the leading minus sign to GraSP's ``theta * H g`` because
accuracy correlates negatively with the unsigned version; higher is better with the sign. The reference runs
a first forward+backward for g and a second forward for the ``create_graph`` gradient; both are the same
network, batch and loss, so here the context's shared pass (:mod:`proxies.passes`) takes g with
``create_graph`` once and gives bit-identical values (:func:`hessian_gradient_products` is the two-pass
route, kept as the tests' independent check). Temperature T = 1 and one iteration, the
reference defaults. Sums are taken in float64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn as nn

from proxies.base import ProxyContext
from proxies.losses import flat_cross_entropy


def hessian_gradient_products(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, g: Sequence[torch.Tensor]
) -> list[torch.Tensor]:
    """H g for every Conv2d/Linear weight of ``model`` (in module order), given the loss gradient ``g``."""
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    if len(weights) != len(g):
        raise ValueError(f"grasp: {len(g)} gradients given for {len(weights)} Conv2d/Linear weights")
    model.zero_grad(set_to_none=True)
    loss = flat_cross_entropy(model(x), y)
    grad_f = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
    terms = [(gi.detach() * gf).sum() for gi, gf in zip(g, grad_f) if gf is not None and gf.requires_grad]
    if terms:
        torch.stack(terms).sum().backward()
    return [torch.zeros_like(w) if w.grad is None else w.grad.detach() for w in weights]


def grasp_score(weights: Sequence[torch.Tensor], hg: Sequence[torch.Tensor]) -> float:
    """sum over weights of -theta * (H g), in float64."""
    total = float(sum((-(w.double() * h.double())).sum() for w, h in zip(weights, hg, strict=True))) + 0.0
    if not math.isfinite(total):
        raise OverflowError(f"grasp overflowed (value {total})")
    return total


def grasp(ctx: ProxyContext) -> float:
    """GraSP (-theta * H g summed) on the protocol's batch under cross-entropy."""
    weights = [w for w, _ in ctx.loss_gradients().values()]
    return grasp_score(weights, list(ctx.hessian_gradients().values()))
