"""SynFlow (Tanaka et al., "Pruning neural networks without any data by iteratively conserving synaptic
flow", NeurIPS 2020), as a zero-cost proxy (Abdelfattah et al., ICLR 2021).

R = 1^T (prod_l |W_l|) 1 on an all-ones input; the score is sum over Conv2d/Linear weights of
|theta * dR/dtheta|. Computed in float64 on |weights| with BatchNorm removed (the reference's
``bn=False`` copy), so it depends on the architecture and init only, never on data.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from proxies.base import ProxyContext


def synflow_score(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """SynFlow of ``model`` (changed in place: weights made absolute, float64, grads set)."""
    model.double()
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    model.zero_grad(set_to_none=True)
    out = model(torch.ones((1, *input_shape[1:]), dtype=torch.float64))
    out.sum().backward()
    total = 0.0
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear) and m.weight.grad is not None:
            total += float((m.weight.detach() * m.weight.grad).abs().sum())
    if not math.isfinite(total):
        raise OverflowError(f"synflow overflowed float64 (value {total})")
    return total


def synflow(ctx: ProxyContext) -> float:
    """SynFlow on a BN-free copy of the protocol-initialised network."""
    return synflow_score(ctx.fresh_model(bn=False), ctx.input_shape(1))
