"""The loss every proxy and training run uses: cross-entropy per input, or per position of a sequence."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def flat_cross_entropy(logits: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of ``(..., classes)`` logits against labels ``(...)``.

    Classification logits ``(N, C)`` with labels ``(N,)`` give plain ``F.cross_entropy``; language-model
    logits ``(N, T, V)`` with next-token labels ``(N, T)`` give the mean over all ``N * T`` positions.
    """
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction=reduction)
