"""The DARTS evaluation network (Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search", ICLR 2019,
arXiv:1806.09055), built with torch; the network NAS-Bench-301 trains (Siems et al., arXiv:2008.09777).

A port of the reference ``cnn/operations.py`` and ``cnn/model.py`` (``NetworkCIFAR``) without the
auxiliary head and drop-path: a 3x3 conv stem with ``3C`` channels and BN, then ``3N + 2`` cells with
reduction cells (stride 2, channels doubled) at 1/3 and 2/3 of the depth, global average pooling and
a linear head. Each cell preprocesses its two inputs (the outputs of the two previous cells) with
ReLU-1x1 conv-BN (a factorized reduction when the previous cell reduced), each of its 4 intermediate
nodes sums two ops applied to earlier states, and its output concatenates the intermediate nodes.
With the published DARTS_V2 genotype, ``C=36`` and 20 cells this has 3,349,342 parameters
(the reference logs "param size = 3.349342MB", counted without the auxiliary head).
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


class DilConv(nn.Sequential):
    """ReLU -> dilated depthwise conv -> pointwise conv -> BN."""

    def __init__(self, c: int, kernel: int, stride: int, padding: int, dilation: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, kernel, stride, padding, dilation=dilation, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )


class SepConv(nn.Sequential):
    """Two stacked (ReLU -> depthwise conv -> pointwise conv -> BN); the first carries the stride."""

    def __init__(self, c: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(
            DilConv(c, kernel, stride, padding, 1),
            DilConv(c, kernel, 1, padding, 1),
        )


class FactorizedReduce(nn.Module):
    """Halve the resolution: ReLU, two stride-2 1x1 convs (one shifted by a pixel) concatenated, BN."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


def make_op(op: str, c: int, stride: int) -> nn.Module:
    """A freshly initialised NAS-Bench-301 op at ``c`` channels and ``stride`` (reference ``OPS``)."""
    factories = {
        "max_pool_3x3": lambda: nn.MaxPool2d(3, stride=stride, padding=1),
        "avg_pool_3x3": lambda: nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False),
        "skip_connect": lambda: nn.Identity() if stride == 1 else FactorizedReduce(c, c),
        "sep_conv_3x3": lambda: SepConv(c, 3, stride, 1),
        "sep_conv_5x5": lambda: SepConv(c, 5, stride, 2),
        "dil_conv_3x3": lambda: DilConv(c, 3, stride, 2, 2),
        "dil_conv_5x5": lambda: DilConv(c, 5, stride, 4, 2),
    }
    return factories[op]()


class Cell(nn.Module):
    """One DARTS cell: ``edges`` are ``(op, input state)`` pairs, two per intermediate node."""

    def __init__(
        self,
        edges: Sequence[tuple[str, int]],
        concat: Sequence[int],
        c_prev_prev: int,
        c_prev: int,
        c: int,
        reduction: bool,
        reduction_prev: bool,
    ) -> None:
        super().__init__()
        if reduction_prev:
            self.preprocess0: nn.Module = FactorizedReduce(c_prev_prev, c)
        else:
            self.preprocess0 = ReLUConvBN(c_prev_prev, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0)
        self.inputs = tuple(index for _, index in edges)
        self.concat = tuple(concat)
        self.ops = nn.ModuleList(make_op(op, c, 2 if reduction and index < 2 else 1) for op, index in edges)
        self.multiplier = len(self.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for k in range(len(self.ops) // 2):
            a, b = 2 * k, 2 * k + 1
            states.append(self.ops[a](states[self.inputs[a]]) + self.ops[b](states[self.inputs[b]]))
        return torch.cat([states[i] for i in self.concat], dim=1)


class DARTSNetwork(nn.Module):
    """The reference ``NetworkCIFAR`` (no auxiliary head): stem, ``3N + 2`` cells, pooling, classifier."""

    def __init__(
        self,
        normal: Sequence[tuple[str, int]],
        normal_concat: Sequence[int],
        reduce: Sequence[tuple[str, int]],
        reduce_concat: Sequence[int],
        num_classes: int,
        C: int = 36,
        N: int = 6,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        layers = 3 * N + 2
        c_curr = 3 * C
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr)
        )
        c_prev_prev, c_prev, c_curr = c_curr, c_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            edges, concat = (reduce, reduce_concat) if reduction else (normal, normal_concat)
            cell = Cell(edges, concat, c_prev_prev, c_prev, c_curr, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * c_curr
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(torch.flatten(self.global_pooling(s1), 1))
