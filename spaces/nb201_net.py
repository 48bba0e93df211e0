"""The NAS-Bench-201 network (Dong & Yang, "NAS-Bench-201", ICLR 2020), built with torch.

Layout as in the reference ``TinyNetwork``: a 3x3 conv stem with ``C`` channels and BN, three stages
of ``N`` cells at ``C``/``2C``/``4C`` channels separated by residual reduction blocks, then BN+ReLU,
global average pooling and a linear head. Parameter counts and multiply-accumulates match the
published values at ``C=16, N=5``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    """The ``none`` op: multiplies by zero (keeps shape, device and dtype; gradient flows as zeros)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


class AddConstant(nn.Module):
    """A node addition measured alone: the input plus a fixed tensor of the same shape (LUT blocks)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.register_buffer("other", torch.ones(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.other


def make_op(op: str, channels: int) -> nn.Module:
    """A freshly initialised module of the NB201 cell op ``op`` at ``channels``."""
    factories = {
        "none": lambda c: Zero(),
        "skip_connect": lambda c: nn.Identity(),
        "nor_conv_1x1": lambda c: ReLUConvBN(c, c, 1, 1, 0),
        "nor_conv_3x3": lambda c: ReLUConvBN(c, c, 3, 1, 1),
        "avg_pool_3x3": lambda c: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    }
    return factories[op](channels)


class Cell(nn.Module):
    """A 4-node NB201 cell: node ``j`` sums op(node ``i``) over ``i < j``; node 3 is the output."""

    def __init__(self, edges: Sequence[tuple[int, int]], ops: Sequence[str], channels: int) -> None:
        super().__init__()
        self.edges = tuple(edges)
        self.num_nodes = max(dst for _, dst in self.edges) + 1
        self.ops = nn.ModuleList(make_op(op, channels) for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: list[torch.Tensor | None] = [x] + [None] * (self.num_nodes - 1)
        for (src, dst), op in zip(self.edges, self.ops):
            out = op(nodes[src])
            nodes[dst] = out if nodes[dst] is None else nodes[dst] + out
        return nodes[-1]


class ResidualReduction(nn.Module):
    """NB201's ``ResNetBasicblock`` with stride 2: two ReLUConvBN 3x3 plus avg-pool + 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """Stem, three stages of ``N`` cells with two residual reductions, and a linear classifier."""

    def __init__(
        self,
        edges: Sequence[tuple[int, int]],
        ops: Sequence[str],
        num_classes: int,
        C: int = 16,
        N: int = 5,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers: list[nn.Module] = []
        for stage, channels in enumerate((C, 2 * C, 4 * C)):
            if stage > 0:
                layers.append(ResidualReduction(channels // 2, channels))
            layers.extend(Cell(edges, ops, channels) for _ in range(N))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(4 * C), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(4 * C, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(torch.flatten(self.global_pooling(x), 1))
