"""Forward-pass activation codes shared by activation-pattern proxies (NASWOT, TE-NAS linear regions)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn


def forward_with_hooks(
    model: nn.Module,
    x: torch.Tensor,
    kinds: type[nn.Module] | tuple[type[nn.Module], ...],
    hook: Callable[[nn.Module, tuple[torch.Tensor, ...], torch.Tensor], None],
) -> None:
    """One no-grad forward pass of ``x`` with ``hook`` on every module of ``kinds`` (removed after)."""
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()


def for_each_relu_code(model: nn.Module, x: torch.Tensor, fn: Callable[[torch.Tensor], None]) -> None:
    """One no-grad forward pass of ``x``; ``fn`` gets each ``nn.ReLU`` call's ``(batch, units)`` bool codes.

    A unit's code is True when it is active (ReLU input > 0, equivalently output > 0), in call order.
    """

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        fn((inputs[0].detach() > 0).reshape(len(x), -1).cpu())

    forward_with_hooks(model, x, nn.ReLU, hook)
