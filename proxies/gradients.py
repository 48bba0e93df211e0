"""Loss-gradient saliency proxies that share one forward+backward pass (`ProxyContext.loss_gradients`).

* ``snip`` — Lee et al., "SNIP: Single-shot network pruning based on connection sensitivity",
  ICLR 2019; as a proxy (Abdelfattah et al., ICLR 2021): sum |g * w| over Conv2d/Linear weights.
* ``grad_norm`` — Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021: sum over
  Conv2d/Linear layers of the Euclidean norm of the loss gradient of the layer's weight.
* ``plain`` — Abdelfattah et al., ICLR 2021 (after Mozer & Smolensky's skeletonization saliency):
  sum of g * w over Conv2d/Linear weights, signed (no absolute value); per weight, g * w is the
  first-order estimate of L(w) - L(w = 0).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from proxies.base import ProxyContext

Gradients = Mapping[str, tuple[torch.Tensor, torch.Tensor]]


def snip_score(grads: Gradients) -> float:
    """Sum over layers of |weight * grad| (connection sensitivity)."""
    return float(sum((w.double() * g.double()).abs().sum() for w, g in grads.values()))


def grad_norm_score(grads: Gradients) -> float:
    """Sum over layers of ||grad||_2."""
    return float(sum(g.double().norm() for _, g in grads.values()))


def plain_score(grads: Gradients) -> float:
    """Sum over layers of g * w, signed (the reference's ``layer.weight.grad * layer.weight``)."""
    return float(sum((w.double() * g.double()).sum() for w, g in grads.values()))


def snip(ctx: ProxyContext) -> float:
    """SNIP saliency of the protocol's batch under cross-entropy."""
    return snip_score(ctx.loss_gradients())


def grad_norm(ctx: ProxyContext) -> float:
    """Summed per-layer gradient norms of the protocol's batch under cross-entropy."""
    return grad_norm_score(ctx.loss_gradients())


def plain(ctx: ProxyContext) -> float:
    """Signed sum of weight * loss gradient of the protocol's batch under cross-entropy."""
    return plain_score(ctx.loss_gradients())
