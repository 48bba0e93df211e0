"""One forward pass of the protocol's batch that serves every batch-based shared product at once.

The products are the ones several proxies read from :class:`proxies.base.ProxyContext`:

* ``loss`` — Conv2d/Linear weights and their cross-entropy gradients (snip, grad_norm, plain, grasp's
  first gradient);
* ``saliency`` — per Conv2d/Linear output, ``sum over positions of (output * dLoss/doutput)`` from the
  same backward (fisher);
* ``hessian`` — the Hessian-gradient products H g of GraSP (Wang et al., ICLR 2020), taken on the same
  graph: ``g`` is the loss gradient obtained with ``create_graph``, then ``grad(sum(stop_grad(g) * g))``;
* ``jacobian`` — per-image gradients of the summed logits w.r.t. the input (jacob_cov, epe_nas);
* ``relu_kernel`` — NASWOT's agreement kernel of ReLU on/off codes (Mellor et al., ICML 2021).

Computing them from one forward, and the backward passes from one retained graph, gives bit-identical
values to separate passes (same network, same batch, same BN mode: train-mode BatchNorm normalises
with the statistics of this very batch, so a second forward would see exactly the same numbers); the
proxy tests check that equality. What is saved is the repeated forwards, model builds and, for GraSP,
the first backward.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from proxies.losses import flat_cross_entropy
from proxies.shared import PRIMARY_PRODUCTS

PRODUCTS = PRIMARY_PRODUCTS
"""Products :func:`primary_pass` can compute (registered shared passes, :mod:`proxies.shared`)."""

_EXACT_FLOAT32 = 1 << 24
"""Integers up to 2**24 are exact in float32: the ±1 code dot products stay exact below this many units."""


def _layers(model: nn.Module) -> dict[str, nn.Module]:
    return {name: m for name, m in model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)}


def relu_agreement(codes: torch.Tensor) -> torch.Tensor:
    """``K[i, j]`` = number of units on which rows i and j of the boolean ``codes`` agree, in float64.

    With s = 2c - 1 in {-1, +1}, agreement = (units + s s^T) / 2; the dot products are integers, computed
    exactly in float32 over column chunks of fewer than 2**24 units.
    """
    signs = codes.to(torch.float32) * 2 - 1
    units = signs.shape[1]
    total = torch.zeros((len(signs), len(signs)), dtype=torch.float64)
    for lo in range(0, units, _EXACT_FLOAT32 - 1):
        block = signs[:, lo : lo + _EXACT_FLOAT32 - 1]
        total += (block @ block.T).double()
    return (total + units) / 2


def _saliency_hooks(
    layers: dict[str, nn.Module], saliencies: dict[str, list[torch.Tensor]], active: list[bool]
) -> list[Any]:
    """Forward hooks recording ``sum over positions of (output * dLoss/doutput)`` per layer call."""

    def forward_hook(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: Any, out: torch.Tensor) -> None:
            if not out.requires_grad:
                return
            act = out.detach()
            calls = saliencies[name]
            slot = len(calls)
            calls.append(torch.zeros(act.shape[:2], dtype=torch.float64, device=act.device))

            def grad_hook(grad: torch.Tensor) -> None:
                if not active[0]:  # later backward passes on the retained graph are not the loss's
                    return
                # The elementwise product in the pass's dtype (one rounding), the sum over positions in float64.
                prod = (act * grad.detach()).double()
                calls[slot] = prod.sum(dim=tuple(range(2, prod.dim()))) if prod.dim() > 2 else prod

            out.register_hook(grad_hook)

        return hook

    return [m.register_forward_hook(forward_hook(name)) for name, m in layers.items()]


def _relu_hooks(model: nn.Module, batch: int, kernel: list[torch.Tensor]) -> list[Any]:
    """Forward hooks adding each ``nn.ReLU`` call's agreement counts (input > 0) to ``kernel[0]``."""

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        codes = (inputs[0].detach() > 0).reshape(batch, -1).cpu()
        kernel[0] = kernel[0] + relu_agreement(codes)

    return [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.ReLU)]


def _zeros_where_none(
    grads: Iterable[torch.Tensor | None], like: Iterable[torch.Tensor]
) -> list[torch.Tensor]:
    return [
        torch.zeros_like(w) if g is None else g.detach().clone() for g, w in zip(grads, like, strict=True)
    ]


def primary_pass(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, products: Iterable[str]
) -> dict[str, Any]:
    """Every requested product (see :data:`PRODUCTS`) from one forward of ``model`` on ``(x, y)``.

    Returns a dict with, per requested product:
    ``loss`` -> ``{layer: (weight, grad)}``; ``saliency`` -> ``{layer: (saliency per call, ...)}``;
    ``hessian`` -> ``{layer: H g}``; ``jacobian`` -> read-only float64 ``(batch, features)`` array;
    ``relu_kernel`` -> float64 ``(batch, batch)`` array.
    """
    wanted = set(products)
    unknown = wanted - set(PRODUCTS)
    if unknown:
        raise ValueError(f"unknown shared products {sorted(unknown)} (known: {', '.join(PRODUCTS)})")
    if wanted & {"hessian", "saliency"}:
        wanted.add("loss")
    layers = _layers(model)
    weights = [m.weight for m in layers.values()]
    saliencies: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    active = [True]
    kernel = [torch.zeros((len(x), len(x)), dtype=torch.float64)]
    handles = []
    if "saliency" in wanted:
        handles += _saliency_hooks(layers, saliencies, active)
    if "relu_kernel" in wanted:
        handles += _relu_hooks(model, len(x), kernel)
    needs_graph = bool(wanted & {"loss", "jacobian"})
    x_in = x.detach().clone().requires_grad_(True) if "jacobian" in wanted else x
    try:
        with torch.set_grad_enabled(needs_graph):
            out = model(x_in)
    finally:
        for h in handles:
            h.remove()
    result: dict[str, Any] = {}
    if "relu_kernel" in wanted:
        result["relu_kernel"] = kernel[0].numpy()
    grads: tuple[torch.Tensor | None, ...] = ()
    if "loss" in wanted:
        loss = flat_cross_entropy(out, y)
        grads = torch.autograd.grad(
            loss,
            weights,
            create_graph="hessian" in wanted,
            retain_graph="jacobian" in wanted or "hessian" in wanted,
            allow_unused=True,
        )
        active[0] = False
        gradients = dict(
            zip(layers, zip([w.detach().clone() for w in weights], _zeros_where_none(grads, weights)))
        )
        result["loss"] = gradients
        if "saliency" in wanted:
            result["saliency"] = {name: tuple(v) for name, v in saliencies.items()}
    if "jacobian" in wanted:
        (jac,) = torch.autograd.grad(out.sum(), x_in, retain_graph="hessian" in wanted, allow_unused=True)
        jac = torch.zeros_like(x_in) if jac is None else jac
        rows = jac.detach().reshape(len(x), -1).double().cpu().numpy()
        rows.flags.writeable = False
        result["jacobian"] = rows
    if "hessian" in wanted:
        terms = [(g.detach() * g).sum() for g in grads if g is not None and g.requires_grad]
        hg: list[torch.Tensor | None] = [None] * len(weights)
        if terms:
            hg = list(torch.autograd.grad(torch.stack(terms).sum(), weights, allow_unused=True))
        result["hessian"] = dict(zip(layers, _zeros_where_none(hg, weights)))
    return result


def agreement_kernel_array(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """NASWOT's ReLU agreement kernel of ``model`` on ``x`` alone (one no-grad forward)."""
    return primary_pass(model, x, torch.zeros(len(x), dtype=torch.long), ["relu_kernel"])["relu_kernel"]
