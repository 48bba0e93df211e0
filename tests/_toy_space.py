"""A third space for the space conformance tests: a 3-node cell with 3 ops (27 cells), in one module.

It is what adding a space takes: a class over the core and the capability layers it declares, a card
with fixtures, and one registration line (done by the tests, through a faked entry-point group).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from spaces import Architecture, SpaceCard, SpaceFixtures, Task, get_task, make_arch_id
from spaces.capabilities import CellSpace, EnumerableSpace, MutableSpace
from spaces.cell import CellSpec

OPS = ("zero", "skip", "conv")
CELL = CellSpec.complete(3, OPS, identity_ops=("skip",), zero_ops=("zero",))


class Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def _op(op: str, channels: int) -> nn.Module:
    if op == "conv":
        return nn.Sequential(
            nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels)
        )
    return nn.Identity() if op == "skip" else Zero()


class ToyNet(nn.Module):
    def __init__(self, ops: Sequence[str], in_channels: int, num_classes: int, C: int) -> None:
        super().__init__()
        self.stem = nn.Conv2d(in_channels, C, 3, padding=1)
        self.ops = nn.ModuleList(_op(op, C) for op in ops)
        self.head = nn.Linear(C, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [self.stem(x), None, None]
        for (src, dst), op in zip(CELL.edges, self.ops):
            out = op(nodes[src])
            nodes[dst] = out if nodes[dst] is None else nodes[dst] + out
        return self.head(nodes[-1].mean(dim=(2, 3)))


class ToyCellSpace(EnumerableSpace, CellSpace, MutableSpace):
    """Cells ``"op,op,op"`` on the edges 0>1, 0>2, 1>2 of a 3-node cell."""

    name = "zz_toy_cell"
    version = "1.0"
    cell = CELL
    card = SpaceCard(
        num_archs=27,
        num_unique=9,
        ops=OPS,
        encoding="3 edge ops in order (0,1),(0,2),(1,2)",
        paper="archbench test fixture",
        fixtures=SpaceFixtures(
            archs=("conv,conv,conv", "conv,skip,skip", "skip,conv,conv"),
            degenerate=("zero,zero,conv",),
            equivalent=(
                ("conv,zero,zero", "skip,zero,zero", "zero,zero,zero"),
                ("conv,conv,zero", "skip,conv,zero"),
            ),
            build=(("C", 4),),
            task="mnist5k",
            resolution=8,
        ),
    )

    def parse(self, text: str) -> Architecture:
        ops = tuple(text.split(",")) if isinstance(text, str) else ()
        if len(ops) != 3 or any(op not in OPS for op in ops):
            raise ValueError(f"malformed {self.name} string {text!r}: want 3 comma-separated ops of {OPS}")
        return self.from_ops(ops)

    def from_ops(self, ops: Sequence[str]) -> Architecture:
        return Architecture(
            self.name, ",".join(ops), make_arch_id(self.name, self.version, CELL.canonical_form(ops))
        )

    def ops_of(self, arch: Architecture) -> tuple[str, ...]:
        self._check(arch)
        return tuple(arch.string.split(","))

    def sample(self, rng: np.random.Generator) -> Architecture:
        return self.from_ops([OPS[i] for i in rng.integers(0, 3, size=3)])

    def enumerate(self) -> Iterator[Architecture]:
        return (self.from_ops(ops) for ops in itertools.product(OPS, repeat=3))

    def index(self, arch: Architecture) -> int:
        return sum(OPS.index(op) * 3 ** (2 - k) for k, op in enumerate(self.ops_of(arch)))

    def from_index(self, index: int) -> Architecture:
        if not 0 <= index < 27:
            raise ValueError(f"{self.name} index {index} is out of range 0..26")
        return self.from_ops([OPS[index // 9], OPS[index // 3 % 3], OPS[index % 3]])

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        ops = self.ops_of(arch)
        return [self.from_ops((*ops[:k], op, *ops[k + 1 :])) for k in range(3) for op in OPS if op != ops[k]]

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        options = self.neighbors(arch)
        return options[int(rng.integers(len(options)))]

    def build(self, arch: Architecture, task: Task | str, C: int = 8, **options: Any) -> nn.Module:
        if options:
            raise TypeError(f"unknown build options for {self.name}: {sorted(options)} (valid: C)")
        task = get_task(task)
        spec = self.task_input(task)
        return ToyNet(self.ops_of(arch), spec.channels, task.num_classes, C)
