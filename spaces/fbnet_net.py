"""The FBNet network (Wu et al., "FBNet: Hardware-Aware Efficient ConvNet Design via Differentiable Neural
Architecture Search", CVPR 2019, arXiv:1812.03443), built with torch.

The macro-architecture of the paper's Table 1: a 3x3 stride-2 conv-BN-ReLU stem with 16 channels, 22
searchable layers (:data:`LAYERS`: output channels and stride), a 1x1 conv-BN-ReLU head (1984
channels), global average pooling and a linear classifier. Each searchable layer is one of the 9
candidate blocks of Table 2 (Fig. 3): a 1x1 (group) conv expanding by ``e`` with BN and ReLU, a channel
shuffle for group convs, a KxK depthwise conv (carrying the stride) with BN and ReLU, and a 1x1 (group)
conv with BN, plus the input when the stride is 1 and the channels match; ``skip`` is the identity, or
a 1x1 conv-BN-ReLU where the layer changes shape (as in Facebook's FBNet builders).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

LAYERS = (
    ((16, 1),)
    + ((24, 2),)
    + ((24, 1),) * 3
    + ((32, 2),)
    + ((32, 1),) * 3
    + ((64, 2),)
    + ((64, 1),) * 3
    + ((112, 1),) * 4
    + ((184, 2),)
    + ((184, 1),) * 3
    + ((352, 1),)
)
"""``(output channels, stride)`` of the 22 searchable layers (Table 1)."""
STEM = 16
HEAD = 1984


def scaled(channels: int, width: float) -> int:
    """``channels * width`` rounded to a multiple of 8 (at least 8, never more than 10% below)."""
    value = channels * width
    out = max(8, int(value + 4) // 8 * 8)
    return out + 8 if out < 0.9 * value else out


def conv_bn(
    c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1, relu: bool = True
) -> nn.Sequential:
    """Conv2d (no bias, 'same' padding) -> BatchNorm2d (-> ReLU)."""
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=False))
    return nn.Sequential(*layers)


class ChannelShuffle(nn.Module):
    """Interleave the channels of ``groups`` groups (ShuffleNet), so group convs see each other's output."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class Block(nn.Module):
    """One FBNet candidate block: ``kernel``, ``expansion``, ``groups`` of its 1x1 convs (Fig. 3)."""

    def __init__(self, c_in: int, c_out: int, stride: int, kernel: int, expansion: int, groups: int) -> None:
        super().__init__()
        mid = c_in * expansion
        parts: list[nn.Module] = [conv_bn(c_in, mid, 1, groups=groups)]
        if groups > 1:
            parts.append(ChannelShuffle(groups))
        parts += [
            conv_bn(mid, mid, kernel, stride, groups=mid),
            conv_bn(mid, c_out, 1, groups=groups, relu=False),
        ]
        self.body = nn.Sequential(*parts)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return out + x if self.residual else out


def make_block(name: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    """The block ``name`` (``k<K>_e<E>[_g2]`` or ``skip``) between ``c_in`` and ``c_out`` channels."""
    if name == "skip":
        return nn.Identity() if c_in == c_out and stride == 1 else conv_bn(c_in, c_out, 1, stride)
    parts = name.split("_")
    groups = int(parts[2][1:]) if len(parts) == 3 else 1
    return Block(c_in, c_out, stride, int(parts[0][1:]), int(parts[1][1:]), groups)


class FBNetNetwork(nn.Module):
    """Stem, the 22 chosen blocks, the 1x1 head, pooling and the classifier."""

    def __init__(
        self,
        blocks: Sequence[str],
        num_classes: int,
        in_channels: int = 3,
        width: float = 1.0,
        head: int = HEAD,
    ) -> None:
        super().__init__()
        c = scaled(STEM, width)
        self.stem = conv_bn(in_channels, c, 3, 2)
        layers = []
        for name, (c_out, stride) in zip(blocks, LAYERS):
            layers.append(make_block(name, c, scaled(c_out, width), stride))
            c = scaled(c_out, width)
        self.blocks = nn.Sequential(*layers)
        c_head = scaled(head, width)
        self.head = conv_bn(c, c_head, 1)
        self.classifier = nn.Linear(c_head, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.blocks(self.stem(x)))
        return self.classifier(global_mean(x))


def global_mean(x: torch.Tensor) -> torch.Tensor:
    """Average over the spatial positions (the network's pooling before its classifier)."""
    return x.mean(dim=(2, 3))


class PooledClassifier(nn.Module):
    """The network's last step alone, for its lookup-table entry: pooling, then the linear classifier."""

    def __init__(self, c_in: int, num_classes: int) -> None:
        super().__init__()
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(global_mean(x))


BLOCK_BUILDERS = {
    "stem": lambda b: conv_bn(b.c_in, b.c_out, 3, b.stride),
    "layer": lambda b: make_block(b.op, b.c_in, b.c_out, b.stride),
    "head": lambda b: conv_bn(b.c_in, b.c_out, 1),
    "classifier": lambda b: PooledClassifier(b.c_in, b.c_out),
}
"""Lookup-table block kind -> its module, from a :class:`spaces.blocks.BlockSpec`."""
