"""SynFlow and LogSynFlow: saliencies of the synaptic-flow objective R on a BN-free, all-positive copy.

* ``synflow`` — Tanaka et al., "Pruning neural networks without any data by iteratively conserving
  synaptic flow", NeurIPS 2020, as a zero-cost proxy (Abdelfattah et al., ICLR 2021).
  R = 1^T (prod_l |W_l|) 1 on an all-ones input; the score is sum over Conv2d/Linear weights of
  |theta * dR/dtheta|.
* ``logsynflow`` — Cavagnero et al., "FreeREA: Training-Free Evolution-based Architecture Search",
  WACV 2023 (arXiv:2207.05135, 2022): the same pass with the gradient log-scaled, sum |theta * log(dR/dtheta
  + 1)|, which keeps a few huge gradients (typically of the layers near the output) from dominating the
  sum. FreeREA's reference writes ``torch.log(g + 1)``; we use ``log1p``, the same function computed
  without cancellation for small g.

Both are computed in float64 on |weights| with BatchNorm removed (the references' ``bn=False`` copy), so
they depend on the architecture and init only, never on data. The pass is shared through
:meth:`ProxyContext.synflow_gradients` (the registered shared pass ``synflow_gradients``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch
import torch.nn as nn

from proxies.shared import SharedPass

if TYPE_CHECKING:
    from proxies.base import ProxyContext

Gradients = Mapping[str, tuple[torch.Tensor, torch.Tensor]]


def synflow_gradients(
    model: nn.Module, input_shape: tuple[int, ...]
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{layer: (|weight|, dR/d|weight|)}`` for every Conv2d/Linear layer, float64.

    ``model`` is changed in place (parameters made absolute, cast to float64, gradients set); a layer
    R does not reach gets a zero gradient.
    """
    model.double()
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    model.zero_grad(set_to_none=True)
    out = model(torch.ones((1, *input_shape[1:]), dtype=torch.float64))
    out.sum().backward()
    grads = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            g = torch.zeros_like(m.weight) if m.weight.grad is None else m.weight.grad.detach().clone()
            grads[name] = (m.weight.detach().clone(), g)
    return grads


def _saliency_sum(grads: Gradients, log_scaled: bool, what: str) -> float:
    total = 0.0
    for w, g in grads.values():
        total += float((w * (torch.log1p(g) if log_scaled else g)).abs().sum())
    if not math.isfinite(total):
        raise OverflowError(f"{what} overflowed float64 (value {total})")
    return total


def synflow_from_gradients(grads: Gradients) -> float:
    """sum |theta * dR/dtheta| over layers."""
    return _saliency_sum(grads, log_scaled=False, what="synflow")


def logsynflow_from_gradients(grads: Gradients) -> float:
    """sum |theta * log(dR/dtheta + 1)| over layers (FreeREA)."""
    return _saliency_sum(grads, log_scaled=True, what="logsynflow")


def synflow_score(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """SynFlow of ``model`` (changed in place: weights made absolute, float64, grads set)."""
    return synflow_from_gradients(synflow_gradients(model, input_shape))


def logsynflow_score(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """LogSynFlow of ``model`` (changed in place like :func:`synflow_score`)."""
    return logsynflow_from_gradients(synflow_gradients(model, input_shape))


def _context_gradients(ctx: ProxyContext) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    return synflow_gradients(ctx.fresh_model(bn=False), ctx.input_shape(1))


SYNFLOW_PASS = SharedPass("synflow_gradients", _context_gradients)
"""The shared pass of synflow and logsynflow (registered in :data:`proxies.shared.SHARED_PASSES`)."""


def synflow(ctx: ProxyContext) -> float:
    """SynFlow on a BN-free copy of the protocol-initialised network."""
    return synflow_from_gradients(ctx.synflow_gradients())


def logsynflow(ctx: ProxyContext) -> float:
    """LogSynFlow (FreeREA) on a BN-free copy of the protocol-initialised network."""
    return logsynflow_from_gradients(ctx.synflow_gradients())
