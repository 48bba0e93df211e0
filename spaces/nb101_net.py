"""The NAS-Bench-101 network (Ying et al., ICML 2019, arXiv:1902.09635), built with torch.

A port of the reference ``nasbench/lib/model_builder.py`` (TensorFlow): a 3x3 conv-BN-ReLU stem with
``C`` channels (128 published), three stacks of ``N`` cells (3 published) with a 2x2 stride-2 max-pool
and channel doubling between stacks, global average pooling and a dense layer. Inside a cell
(``build_module``) the output channels are split among the vertices feeding the output
(:func:`vertex_channels`), the input reaches a vertex through a 1x1 conv-BN-ReLU projection, an
interior vertex's output reaches a narrower vertex truncated to its first channels, the output
concatenates its interior inputs and adds a projection of the input when the input feeds it directly.
Convolutions have no bias; BatchNorm has a scale and a shift (as TF's ``batch_normalization``), so
trainable parameter counts equal the published ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn as nn


def vertex_channels(c_in: int, c_out: int, matrix: np.ndarray) -> list[int]:
    """Channels of every vertex (reference ``compute_vertex_channels``).

    The output's ``c_out`` channels are split evenly among the interior vertices that feed it (the
    first ``c_out % k`` get one more); any other interior vertex takes the widest of its successors.
    """
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[-1] = c_in, c_out
    if n == 2:
        return channels
    fan_in = int(matrix[1:, -1].sum())
    width, extra = divmod(c_out, fan_in)
    for v in range(1, n - 1):
        if matrix[v, -1]:
            channels[v] = width + (1 if extra > 0 else 0)
            extra -= 1
    for v in range(n - 3, 0, -1):
        if not matrix[v, -1]:
            channels[v] = max([channels[v]] + [channels[d] for d in range(v + 1, n - 1) if matrix[v, d]])
    return channels


class ConvBNReLU(nn.Sequential):
    """Conv2d (no bias, 'same' padding) -> BatchNorm2d -> ReLU (reference ``conv_bn_relu``)."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, eps=1e-5, momentum=0.003),  # TF momentum 0.997 = torch 0.003
            nn.ReLU(inplace=False),
        )


def make_op(op: str, channels: int) -> nn.Module:
    """A freshly initialised vertex op at ``channels`` (its input already has ``channels``)."""
    factories = {
        "conv3x3-bn-relu": lambda c: ConvBNReLU(c, c, 3),
        "conv1x1-bn-relu": lambda c: ConvBNReLU(c, c, 1),
        "maxpool3x3": lambda c: nn.MaxPool2d(3, stride=1, padding=1),
    }
    return factories[op](channels)


class Cell(nn.Module):
    """One NB101 module (reference ``build_module``) of a pruned ``matrix`` and its ``ops``."""

    def __init__(self, matrix: np.ndarray, ops: Sequence[str], c_in: int, c_out: int) -> None:
        super().__init__()
        self.matrix = np.array(matrix, dtype=bool)
        n = len(ops)
        self.channels = vertex_channels(c_in, c_out, self.matrix)
        self.ops = nn.ModuleList(nn.Identity() for _ in range(n))
        self.projections = nn.ModuleList(nn.Identity() for _ in range(n))
        for t in range(1, n - 1):
            self.ops[t] = make_op(ops[t], self.channels[t])
            if self.matrix[0, t]:
                self.projections[t] = ConvBNReLU(c_in, self.channels[t], 1)
        if self.matrix[0, -1]:
            self.projections[n - 1] = ConvBNReLU(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(self.matrix)
        states = [x]
        for t in range(1, n - 1):
            terms = [states[s][:, : self.channels[t]] for s in range(1, t) if self.matrix[s, t]]
            if self.matrix[0, t]:
                terms.append(self.projections[t](x))
            total = terms[0]
            for term in terms[1:]:
                total = total + term
            states.append(self.ops[t](total))
        concat = [states[t] for t in range(1, n - 1) if self.matrix[t, -1]]
        if not concat:
            return self.projections[n - 1](x)
        out = concat[0] if len(concat) == 1 else torch.cat(concat, dim=1)
        if self.matrix[0, -1]:
            out = out + self.projections[n - 1](x)
        return out


class NB101Network(nn.Module):
    """Stem, three stacks of ``N`` cells with max-pool downsampling and channel doubling, and a head."""

    def __init__(
        self,
        matrix: np.ndarray,
        ops: Sequence[str],
        num_classes: int,
        C: int = 128,
        N: int = 3,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.stem = ConvBNReLU(in_channels, C, 3)
        layers: list[nn.Module] = []
        c_prev, channels = C, C
        for stack in range(3):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))  # TF 'same' padding
                channels *= 2
            for _ in range(N):
                layers.append(Cell(matrix, ops, c_prev, channels))
                c_prev = channels
        self.cells = nn.Sequential(*layers)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cells(self.stem(x))
        return self.classifier(x.mean(dim=(2, 3)))
