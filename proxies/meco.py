"""MeCo: Jiang et al., "MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum Eigenvalue
of Correlation", NeurIPS 2023, following the authors' ``get_score``.

The protocol's batch goes through the network in one forward; for each layer, the feature map of the
batch's first image, (C, H, W), is read as C channels of H*W values, and the layer contributes the
smallest eigenvalue of the C x C Pearson correlation matrix of its channels. The score is the sum over
layers; higher is better.

As in the reference, undefined correlations (a channel that is constant over the map) are set to 0,
which gives the matrix a zero row and column and hence a smallest eigenvalue of exactly 0; we return
that 0 directly. A correlation matrix of C channels from M = H*W values has rank at most M - 1, so when
C > M - 1 the smallest eigenvalue is exactly 0 as well and is returned as 0 instead of as rounding noise.
Eigenvalues come from ``numpy.linalg.eigvalsh`` in float64 (the matrix is symmetric; the reference's
general ``eig`` gives the same values up to rounding).

References differ from the paper's "feature map of each layer" in which modules count: the reference
hooks every module (containers and the whole network included, so one map can be counted several
times, and parameter-free ops such as pooling on dead nodes count too). We take the outputs of the
Conv2d and Linear layers, the same layers every other archbench proxy reads: each map is counted once
and cells that compute the same function with the same layers get the same score. A Linear output has
one value per channel and contributes 0, exactly as in the reference.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from proxies.activations import forward_with_hooks
from proxies.base import ProxyContext


def min_correlation_eigenvalue(feature: np.ndarray) -> float:
    """Smallest eigenvalue of the channel correlation matrix of one map, ``(channels, positions...)``."""
    feature = np.asarray(feature, dtype=np.float64)
    rows = feature.reshape(len(feature), -1)
    channels, positions = rows.shape
    if not np.all(np.isfinite(rows)):
        raise OverflowError("meco: a feature map is not finite")
    if channels == 1:
        return 1.0 if np.ptp(rows) > 0 else 0.0
    if channels > positions - 1 or np.any(np.ptp(rows, axis=1) == 0):
        return 0.0
    return float(np.linalg.eigvalsh(np.corrcoef(rows))[0])


def first_image_features(model: nn.Module, x: torch.Tensor) -> list[np.ndarray]:
    """The first image's output map of every Conv2d/Linear layer, in call order, float64."""
    maps: list[np.ndarray] = []

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        maps.append(out[0].detach().double().cpu().numpy())

    forward_with_hooks(model, x, (nn.Conv2d, nn.Linear), hook)
    return maps


def meco_score(features: list[np.ndarray]) -> float:
    """Sum over layers of the smallest channel-correlation eigenvalue."""
    return float(sum(min_correlation_eigenvalue(f) for f in features))


def meco(ctx: ProxyContext) -> float:
    """MeCo on the first image of the protocol's batch (forwarded with the whole batch)."""
    x, _ = ctx.batch()
    return meco_score(first_image_features(ctx.fresh_model(), x))
