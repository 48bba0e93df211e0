"""Blocks: the pieces a decomposable space's network is a sum of (for lookup-table latency models).

A :class:`BlockSpec` names one measurable block (its kind, op, channels, input resolution, stride); a
:class:`BlockUse` is one use of it inside a network, and a :class:`BlockGroup` a run of uses repeated
``repeat`` times (e.g. the ``N`` identical cells of a stage). A network's LUT time is, in this order,

    sum over groups of  repeat * (sum over uses of count * latency(block))

so the order of the groups and uses a space gives is the order the floating-point sum is taken in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BlockSpec:
    """One LUT entry to measure: a block kind, its op, channels in/out, input resolution and stride."""

    kind: str
    op: str
    c_in: int
    c_out: int
    resolution: int
    stride: int = 1

    @property
    def key(self) -> str:
        """Stable row key, e.g. ``cell_op|nor_conv_3x3|16>16|r32|s1``."""
        return f"{self.kind}|{self.op}|{self.c_in}>{self.c_out}|r{self.resolution}|s{self.stride}"


@dataclass(frozen=True)
class BlockUse:
    """One use of a block in a network.

    Args:
        block: the block.
        count: how many times it runs at this place (e.g. a cell's node additions).
        position: where an architecture-dependent block sits (e.g. the cell node an edge feeds);
            None for the fixed blocks every network of the space has.
    """

    block: BlockSpec
    count: int = 1
    position: int | None = None


@dataclass(frozen=True)
class BlockGroup:
    """Uses that run ``repeat`` times in a row (a stage's identical cells)."""

    repeat: int
    uses: tuple[BlockUse, ...]
