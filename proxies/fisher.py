"""Fisher: Turner et al., "BlockSwap: Fisher-guided Block Substitution for Network Compression on a
Budget", ICLR 2020 (after Theis et al. 2018), as a zero-cost proxy in Abdelfattah et al., "Zero-Cost
Proxies for Lightweight NAS", ICLR 2021.

For every Conv2d/Linear layer with output activations a (batch n, channel k, positions) and loss gradient
g = dL/da (cross-entropy on the protocol's batch), the channel saliency is

    Delta_k = 0.5 * mean_n ( sum_positions a_nk * g_nk )^2 .

References disagree on how channels are summed. BlockSwap's Fisher potential sums Delta_k over channels
and layers. Abdelfattah et al.'s code (also NASLib's) broadcasts each Delta_k to every weight of channel
k before summing per-weight saliencies, so each channel counts ``fan_in = weight[k].numel()`` times. We
follow Abdelfattah et al. by default, because that is the ``fisher`` other zero-cost benchmarks report;
the proxy parameter ``{"fisher": {"per_weight": false}}`` gives BlockSwap's unweighted sum. The
products come from the context's shared loss pass (:meth:`ProxyContext.output_saliencies`), so fisher
adds no forward or backward of its own; reductions are float64.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from proxies.base import ProxyContext


def channel_fisher(saliencies: tuple[torch.Tensor, ...]) -> torch.Tensor | None:
    """Delta_k of one layer, summed over its calls; None when it has none."""
    total = None
    for s in saliencies:
        delta = 0.5 * s.double().pow(2).mean(dim=0)
        total = delta if total is None else total + delta
    return total


def fisher_score(
    saliencies: Mapping[str, tuple[torch.Tensor, ...]], fan_in: Mapping[str, int] | None = None
) -> float:
    """sum over layers and channels of |Delta_k| (times the layer's fan-in where ``fan_in`` is given)."""
    total = 0.0
    for name, calls in saliencies.items():
        delta = channel_fisher(calls)
        if delta is None:
            continue
        total += float(delta.abs().sum()) * (1 if fan_in is None else fan_in[name])
    if not math.isfinite(total):
        raise OverflowError(f"fisher overflowed float64 (value {total})")
    return total


def fisher(ctx: ProxyContext) -> float:
    """Fisher saliency of the protocol's batch under cross-entropy."""
    per_weight = bool(ctx.protocol.proxy_params("fisher").get("per_weight", True))
    fan_in = {name: w[0].numel() for name, (w, _) in ctx.loss_gradients().items()} if per_weight else None
    return fisher_score(ctx.output_saliencies(), fan_in)
