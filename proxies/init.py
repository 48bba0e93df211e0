"""Weight-initialisation schemes a `Protocol` can name, applied to a freshly built module."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn

from spaces.registry import Registry

INITS: Registry[Callable[[nn.Module], None]] = Registry("init scheme")
_WEIGHTED = (nn.Conv2d, nn.Linear)
_NORMS = (nn.BatchNorm2d, nn.BatchNorm1d, nn.LayerNorm, nn.GroupNorm)


def _apply(module: nn.Module, weight_fn: Callable[[torch.Tensor], None]) -> None:
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, _WEIGHTED):
                weight_fn(m.weight)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, _NORMS) and getattr(m, "weight", None) is not None:
                m.weight.fill_(1.0)
                m.bias.zero_()


@INITS.register("default")
def default_init(module: nn.Module) -> None:
    """Keep the space's own (PyTorch default) initialisation."""


@INITS.register("kaiming_normal")
def kaiming_normal(module: nn.Module) -> None:
    """He et al. 2015 normal init (fan-in, ReLU gain) for conv/linear weights, zero biases, unit norms."""
    _apply(module, lambda w: nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu"))


@INITS.register("xavier_uniform")
def xavier_uniform(module: nn.Module) -> None:
    """Glorot & Bengio 2010 uniform init for conv/linear weights, zero biases, unit norms."""
    _apply(module, nn.init.xavier_uniform_)
