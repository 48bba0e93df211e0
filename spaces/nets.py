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


class HFLogits(nn.Module):
    """A ``transformers`` model called on token ids (padding masked if ``mask``), returning its logits."""

    def __init__(self, model: nn.Module, mask: bool) -> None:
        super().__init__()
        self.model = model
        self.mask = mask

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """The model's ``logits`` for ``ids`` (N, seq_len)."""
        from spaces.text_models import PAD_ID

        attention = (ids != PAD_ID).long() if self.mask else None
        return self.model(input_ids=ids, attention_mask=attention).logits

    def get_output_embeddings(self) -> nn.Module | None:
        """The wrapped model's output embedding (its LM head), if it has one."""
        return self.model.get_output_embeddings()
