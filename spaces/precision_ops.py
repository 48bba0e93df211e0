"""Fake-quantised Conv2d and Linear layers for :mod:`spaces.precision` (straight-through gradients).

A layer keeps its own weight parameter and its ``nn.Conv2d`` / ``nn.Linear`` identity (its class is
swapped for a subclass), so proxies' hooks and weight reads see it as before; its forward rounds the
weight and the input to the layer's format first. The rounding is invisible to gradients (the
straight-through estimator, as quantisation-aware training and FLIQS use): d(round(t))/dt is taken as 1.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

INT8_LEVEL = 127
"""Symmetric int8: integers in [-127, 127] times a scale."""


def _straight_through(t: torch.Tensor, rounded: torch.Tensor) -> torch.Tensor:
    return t + (rounded - t).detach()


def to_bf16(t: torch.Tensor) -> torch.Tensor:
    """``t`` rounded to bfloat16 (kept in its dtype), straight-through."""
    return _straight_through(t, t.to(torch.bfloat16).to(t.dtype))


def int8_weight(w: torch.Tensor) -> torch.Tensor:
    """Symmetric per-output-channel int8 rounding of a weight (scale ``max|w_c| / 127``), straight-through."""
    dims = tuple(range(1, w.dim()))
    scale = w.detach().abs().amax(dim=dims, keepdim=True) / INT8_LEVEL
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return _straight_through(w, (w / scale).round().clamp(-INT8_LEVEL, INT8_LEVEL) * scale)


def int8_input(x: torch.Tensor) -> torch.Tensor:
    """Symmetric per-tensor int8 rounding of an input (scale ``max|x| / 127`` of this batch), straight-through."""
    scale = x.detach().abs().amax() / INT8_LEVEL
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return _straight_through(x, (x / scale).round().clamp(-INT8_LEVEL, INT8_LEVEL) * scale)


ROUNDERS = {
    "bf16": (to_bf16, to_bf16),
    "int8": (int8_weight, int8_input),
}
"""Format -> (weight rounding, input rounding); fp32 layers are left as they are."""


class FakeQuantConv2d(nn.Conv2d):
    """An ``nn.Conv2d`` computing on its weight and input rounded to ``numeric_format``."""

    numeric_format: str

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight_round, input_round = ROUNDERS[self.numeric_format]
        return self._conv_forward(input_round(x), weight_round(self.weight), self.bias)


class FakeQuantLinear(nn.Linear):
    """An ``nn.Linear`` computing on its weight and input rounded to ``numeric_format``."""

    numeric_format: str

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight_round, input_round = ROUNDERS[self.numeric_format]
        return F.linear(input_round(x), weight_round(self.weight), self.bias)


QUANTISED = {nn.Conv2d: FakeQuantConv2d, nn.Linear: FakeQuantLinear}


def set_format(layer: nn.Module, numeric_format: str) -> None:
    """Make ``layer`` (a plain Conv2d or Linear) compute in ``numeric_format`` (fp32: unchanged)."""
    if numeric_format == "fp32":
        return
    if numeric_format not in ROUNDERS:
        raise ValueError(f"unknown numeric format {numeric_format!r} (valid: fp32, {', '.join(ROUNDERS)})")
    quantised = QUANTISED.get(type(layer))
    if quantised is None:
        raise TypeError(f"cannot quantise a {type(layer).__name__}: only plain nn.Conv2d and nn.Linear")
    layer.__class__ = quantised
    layer.numeric_format = numeric_format
