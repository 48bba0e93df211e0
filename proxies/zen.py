"""Zen-score: Lin et al., "Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition", ICCV 2021.

With Gaussian inputs x, eps ~ N(0, 1) and gamma = 0.01 (the reference default, proxy parameter
``mixup_gamma``), f the feature map entering the network's global average pool ("pre-GAP") and
sigma_i,j the batch standard deviation that the i-th BatchNorm2d layer sees in channel j on input x,

    Zen = log( mean_n sum_{c,h,w} |f(x) - f(x + gamma * eps)| ) + sum_i log( sqrt( mean_j sigma_i,j^2 ) ).

Weights are re-initialised as in the reference, Conv2d/Linear weights ~ N(0, 1) with zero biases and
BatchNorm affine parameters 1 and 0 (``network_weight_gaussian_init``), drawn from a torch.Generator
seeded with the context's seed; ``{"zen": {"init": "protocol"}}`` keeps the protocol's init instead. The
inputs x and eps are then drawn from the same generator, so the score needs no data, labels or gradients.

References disagree on sigma: the paper uses the batch statistics of the BN layers, while the authors'
code reads ``running_var``, a momentum average of 1 (its initial value) and the variances of the two
forward passes it happens to run. We follow the paper, with the biased batch variance BatchNorm
normalises by, computed per channel in the network's dtype (as BatchNorm computes it) from each BN
layer's input during the forward on x, and averaged over channels in float64. The pre-GAP map
is the input of the network's last ``nn.AdaptiveAvgPool2d`` (or ``nn.AdaptiveAvgPool1d``).

A network whose pre-GAP features do not move with the input (a cell whose output ignores its input) has
Delta = 0 and log 0 is undefined: :class:`Undefined` is raised, as it is for a BN layer that sees zero
variance in a non-zero input. A BN layer whose input is exactly zero sits on a dead branch (in NB201, a
conv fed only by `none` edges): its output is the constant beta = 0 and carries no signal, so it has
no scale to correct and is left out of the sum (the reference's running_var hides such layers; with
batch statistics they would make every cell with a dead conv undefined).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from proxies.base import ProxyContext, Undefined

MIXUP_GAMMA = 1e-2
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.LayerNorm)


def gaussian_init(model: nn.Module, generator: torch.Generator) -> None:
    """Zen-NAS's init: N(0, 1) Conv2d/Linear weights and zero biases; norm layers' affine 1 and 0."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=generator, dtype=torch.float64))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, _NORMS) and getattr(m, "weight", None) is not None:
                m.weight.fill_(1.0)
                m.bias.zero_()


def _last_global_pool(model: nn.Module) -> nn.Module:
    pools = [m for m in model.modules() if isinstance(m, nn.AdaptiveAvgPool2d | nn.AdaptiveAvgPool1d)]
    if not pools:
        raise ValueError(
            "zen needs the feature map before global average pooling: no nn.AdaptiveAvgPool2d found"
        )
    return pools[-1]


def zen_score(model: nn.Module, x: torch.Tensor, eps: torch.Tensor, gamma: float = MIXUP_GAMMA) -> float:
    """The Zen-score of ``model`` for the Gaussian inputs ``x`` and perturbation ``eps``."""
    features: list[torch.Tensor] = []
    variances: list[torch.Tensor] = []
    record_bn = True

    def pool_hook(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        features.append(inputs[0].detach().double())

    def bn_hook(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        if record_bn:
            a = inputs[0].detach()
            if not bool(a.any()):
                return  # a dead branch (e.g. after a `none` edge): no signal to rescale, no factor
            dims = [d for d in range(a.dim()) if d != 1]
            # Per-channel variance in the network's dtype (BatchNorm's own precision), mean in float64.
            variances.append(a.var(dim=dims, unbiased=False).double().mean())

    handles = [_last_global_pool(model).register_forward_pre_hook(pool_hook)]
    handles += [
        m.register_forward_pre_hook(bn_hook) for m in model.modules() if isinstance(m, nn.BatchNorm2d)
    ]
    try:
        with torch.no_grad():
            model(x)
            record_bn = False
            model(x + gamma * eps)
    finally:
        for h in handles:
            h.remove()
    if len(features) != 2:
        raise ValueError(f"zen: the global pool ran {len(features)} times for two forward passes")
    diff = (features[0] - features[1]).abs()
    delta = float(diff.reshape(len(diff), -1).sum(dim=1).mean())
    bn_vars = [float(v) for v in variances]
    if not math.isfinite(delta) or not all(math.isfinite(v) for v in bn_vars):
        raise OverflowError("zen: the features overflowed")
    if delta == 0.0:
        raise Undefined("zen: the pre-GAP features ignore the input perturbation (Delta = 0), log undefined")
    if any(v == 0.0 for v in bn_vars):
        raise Undefined("zen: a BatchNorm layer sees zero variance, log of its scale undefined")
    return math.log(delta) + sum(0.5 * math.log(v) for v in bn_vars)


def zen(ctx: ProxyContext) -> float:
    """Zen-score on Gaussian inputs of the protocol's shape (no data)."""
    params = ctx.protocol.proxy_params("zen")
    gamma = float(params.get("mixup_gamma", MIXUP_GAMMA))
    init = params.get("init", "gaussian")
    if init not in ("gaussian", "protocol"):
        raise ValueError(f"zen init must be 'gaussian' or 'protocol', got {init!r}")
    model = ctx.fresh_model()
    gen = torch.Generator().manual_seed(ctx.seed)
    if init == "gaussian":
        gaussian_init(model, gen)
    n = ctx.protocol.batch_size
    x = ctx.input.noise(n, gen, ctx.dtype).to(ctx.device)
    eps = ctx.input.noise(n, gen, ctx.dtype).to(ctx.device)
    return zen_score(model, x, eps, gamma)
