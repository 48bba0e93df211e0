"""Small ``torch.nn`` wrappers the model-config spaces share (imported only when a network is built)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class Resized(nn.Module):
    """Resizes images to a fixed resolution (bilinear), then runs ``net`` (OFA's elastic resolution)."""

    def __init__(self, net: nn.Module, resolution: int) -> None:
        super().__init__()
        self.net = net
        self.resolution = resolution

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``net`` on ``x`` resized to ``resolution`` x ``resolution``."""
        if x.shape[-1] != self.resolution or x.shape[-2] != self.resolution:
            size = (self.resolution, self.resolution)
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return self.net(x)
