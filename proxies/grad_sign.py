"""GradSign: Zhang & Jia, "GradSign: Model Performance Inference with Theoretical Insights", ICLR 2022.

Every image of the protocol's batch is run alone (forward and cross-entropy backward on a batch of one,
as the authors' code and NASLib's port do, so train-mode BatchNorm normalises with that image's own
statistics). With g_i the per-image gradient of every Conv2d/Linear weight,

    GradSign = sum_theta | sum_i sign(g_i(theta)) | ,

which is large when the images' gradients agree in sign (their loss landscapes share a local optimum
direction). sign(0) = 0, so a weight no image can move contributes nothing: on a cell whose output
ignores its input every weight gradient is zero and the score is exactly 0. The counts are integers,
accumulated exactly in float64. Train-mode BatchNorm needs more than one value per channel, so a network
whose last feature map is 1x1 cannot be scored in ``bn_mode="train"`` (reported as an error by torch).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from proxies.base import ProxyContext
from proxies.losses import flat_cross_entropy


def sign_agreement(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """sum over Conv2d/Linear weights of |sum over images of sign(per-image gradient)|."""
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    counts = [torch.zeros(w.shape, dtype=torch.float64, device=w.device) for w in weights]
    for i in range(len(x)):
        model.zero_grad(set_to_none=True)
        flat_cross_entropy(model(x[i : i + 1]), y[i : i + 1]).backward()
        for c, w in zip(counts, weights):
            if w.grad is not None:
                if not torch.isfinite(w.grad).all():
                    raise OverflowError("grad_sign: a per-image gradient is not finite")
                c += torch.sign(w.grad.detach()).double()
    total = float(sum(c.abs().sum() for c in counts))
    if not math.isfinite(total):
        raise OverflowError(f"grad_sign overflowed (value {total})")
    return total


def grad_sign(ctx: ProxyContext) -> float:
    """GradSign on the protocol's batch, one image at a time."""
    x, y = ctx.batch()
    return sign_agreement(ctx.fresh_model(), x, y)
