"""NASWOT (Mellor et al., "Neural Architecture Search without Training", ICML 2021).

Each ReLU's input gives a binary code per image (unit > 0). K = sum over ReLUs of
c c^T + (1 - c)(1 - c)^T, i.e. the number of units on which two images agree; the score is
log|det K|. Counts are accumulated in float64 so they stay exact. The kernel comes from the context's
shared forward pass (:meth:`ProxyContext.relu_kernel`, one ±1 matmul per ReLU);
:func:`agreement_kernel` is the direct two-product route the tests check it against.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

from proxies.activations import for_each_relu_code
from proxies.base import ProxyContext, Undefined


def agreement_kernel(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """K[i, j]: ReLU units (over all ReLUs) on which images i and j have the same on/off state."""
    kernel = torch.zeros((len(x), len(x)), dtype=torch.float64)

    def accumulate(codes: torch.Tensor) -> None:
        nonlocal kernel
        c = codes.double()
        kernel = kernel + c @ c.T + (1 - c) @ (1 - c).T

    for_each_relu_code(model, x, accumulate)
    return kernel.numpy()


def nwot_score(kernel: np.ndarray) -> float:
    """log|det K|; raises :class:`Undefined` when K is singular."""
    sign, logdet = np.linalg.slogdet(kernel)
    if sign == 0 or not math.isfinite(logdet):
        raise Undefined("the ReLU agreement kernel is singular (two images share every code)")
    return float(logdet)


def nwot(ctx: ProxyContext) -> float:
    """NASWOT on the protocol's batch."""
    return nwot_score(ctx.relu_kernel())
