"""NASWOT (Mellor et al., "Neural Architecture Search without Training", ICML 2021).

Each ReLU's input gives a binary code per image (unit > 0). K = sum over ReLUs of
c c^T + (1 - c)(1 - c)^T, i.e. the number of units on which two images agree; the score is
log|det K|. Counts are accumulated in float64 so they stay exact.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

from proxies.base import ProxyContext, Undefined


def agreement_kernel(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """K[i, j]: ReLU units (over all ReLUs) on which images i and j have the same on/off state."""
    kernel = torch.zeros((len(x), len(x)), dtype=torch.float64)

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal kernel
        codes = (inputs[0].detach().reshape(len(x), -1) > 0).double()
        kernel = kernel + codes @ codes.T + (1 - codes) @ (1 - codes).T

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return kernel.numpy()


def nwot_score(kernel: np.ndarray) -> float:
    """log|det K|; raises :class:`Undefined` when K is singular."""
    sign, logdet = np.linalg.slogdet(kernel)
    if sign == 0 or not math.isfinite(logdet):
        raise Undefined("the ReLU agreement kernel is singular (two images share every code)")
    return float(logdet)


def nwot(ctx: ProxyContext) -> float:
    """NASWOT on the protocol's batch."""
    x, _ = ctx.batch()
    return nwot_score(agreement_kernel(ctx.fresh_model(), x))
