"""NAS-Bench-201 networks as blocks measurable alone (for lookup-table latency models).

An NB201 network at width ``C`` is a stem, three stages of ``N`` cells at ``C``/``2C``/``4C`` channels
and resolutions ``r``/``r/2``/``r/4``, two residual reductions between the stages, and a head. A cell
runs its 6 edge ops and 3 node additions (node 2 sums two edges, node 3 three). Each block is built
from the same classes as the network (:mod:`spaces.nb201_net`), so a block measured alone runs the
kernels it runs inside a network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spaces.base import ImageInput
from spaces.blocks import BlockGroup, BlockSpec, BlockUse

CELL_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
CALIBRATED_OPS = ("none", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
"""Cell op kinds whose blocks run a kernel (``skip_connect`` runs none)."""


def stages(C: int, resolution: int) -> list[tuple[int, int]]:
    """``(channels, resolution)`` of the three stages."""
    return [(C * 2**s, resolution // 2**s) for s in range(3)]


def block_set(C: int, resolution: int, in_channels: int, num_classes: int) -> list[BlockSpec]:
    """Every block an NB201 network of width ``C`` at ``resolution`` is made of, in measuring order."""
    blocks = [BlockSpec("stem", "conv3x3_bn", in_channels, C, resolution)]
    for c, r in stages(C, resolution):
        blocks += [BlockSpec("cell_op", op, c, c, r) for op in CELL_OPS]
        blocks.append(BlockSpec("add", "add", c, c, r))
    for c, r in stages(C, resolution)[1:]:
        blocks.append(BlockSpec("reduction", "resnet_basic", c // 2, c, r * 2, stride=2))
    blocks.append(BlockSpec("head", f"bn_relu_pool_linear{num_classes}", 4 * C, num_classes, resolution // 4))
    return blocks


def network_blocks(
    ops: Sequence[str],
    edges: Sequence[tuple[int, int]],
    C: int,
    N: int,
    spec: ImageInput,
    num_classes: int,
) -> tuple[BlockGroup, ...]:
    """The blocks of the network with edge ``ops``: the fixed blocks once, then ``N`` cells per stage.

    Each edge op's use records the node its edge feeds as its position; a cell's node additions are
    one use counted once per addition.
    """
    indegree: dict[int, int] = {}
    for _, dst in edges:
        indegree[dst] = indegree.get(dst, 0) + 1
    adds = sum(k - 1 for k in indegree.values())
    every = block_set(C, spec.resolution, spec.channels, num_classes)
    fixed = tuple(BlockUse(b) for b in every if b.kind in ("stem", "reduction", "head"))
    groups = [BlockGroup(1, fixed)]
    for c, r in stages(C, spec.resolution):
        uses = [BlockUse(BlockSpec("cell_op", op, c, c, r), 1, dst) for op, (_, dst) in zip(ops, edges)]
        uses.append(BlockUse(BlockSpec("add", "add", c, c, r), adds))
        groups.append(BlockGroup(N, tuple(uses)))
    return tuple(groups)


def block_module(block: BlockSpec, batch: int = 1) -> Any:
    """A freshly initialised ``nn.Module`` of ``block`` (built from the same classes as the network)."""
    import torch.nn as nn

    from spaces.nb201_net import AddConstant, ResidualReduction, make_op

    if block.kind == "stem":
        return nn.Sequential(
            nn.Conv2d(block.c_in, block.c_out, 3, padding=1, bias=False), nn.BatchNorm2d(block.c_out)
        )
    if block.kind == "cell_op":
        return make_op(block.op, block.c_in)
    if block.kind == "reduction":
        return ResidualReduction(block.c_in, block.c_out)
    if block.kind == "head":
        return nn.Sequential(
            nn.BatchNorm2d(block.c_in),
            nn.ReLU(inplace=False),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(1),
            nn.Linear(block.c_in, block.c_out),
        )
    if block.kind == "add":
        return AddConstant((batch, block.c_in, block.resolution, block.resolution))  # two full tensors
    raise ValueError(f"unknown nb201 block kind {block.kind!r} (valid: stem, cell_op, add, reduction, head)")
