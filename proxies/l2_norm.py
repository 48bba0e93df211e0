"""L2 norm of the weights, the data-free baseline of Abdelfattah et al., "Zero-Cost Proxies for
Lightweight NAS", ICLR 2021 (``l2_norm`` in their code and in NASLib).

The score is sum over Conv2d/Linear layers of the Frobenius norm ||W_l||_2 of the layer's weight (the
reference's ``layer.weight.norm()`` per layer, summed); biases and norm layers are not counted. It sees
the protocol-initialised weights only: no data, no labels, no backward pass. Norms are taken in float64.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from proxies.base import ProxyContext


def l2_norm_score(weights: list[torch.Tensor]) -> float:
    """Sum of the Frobenius norms of ``weights`` (float64)."""
    return float(sum(w.detach().double().norm() for w in weights))


def layer_weights(model: nn.Module) -> list[torch.Tensor]:
    """The weights of every Conv2d/Linear layer, in module order."""
    return [m.weight for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def l2_norm(ctx: ProxyContext) -> float:
    """Summed per-layer weight norms of the protocol-initialised network."""
    return l2_norm_score(layer_weights(ctx.fresh_model()))
