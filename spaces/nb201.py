"""NAS-Bench-201 cell space (Dong & Yang, "NAS-Bench-201: Extending the Scope of Reproducible NAS", ICLR 2020).

A 4-node cell with 6 edges, each one of 5 ops: 5^6 = 15,625 cells in 6,466 equivalence classes under
the published isomorphism rules. The string format is the published one,
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``; the official index order ships as package data (it is not
derivable from the strings).

NB201 declares every capability: enumerable (the published index), cell (the generic canonicaliser
with ``skip_connect`` as identity and ``none`` as zero), mutable (one edge op at a time), encodable
(``onehot``, ``adjacency``, ``path``; see :meth:`NB201Space._encode`) and decomposable (its blocks
for LUT latency models live in :mod:`spaces.nb201_blocks`). Everything NB201-specific that other
packages need (op names, edge order, NASLib's keys, tiny test fixtures, published facts) lives here.
"""

from __future__ import annotations

import csv
import gzip
import operator
import re
from collections.abc import Iterator, Sequence
from functools import cached_property, lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from spaces import nb201_blocks
from spaces.base import Architecture, ParamFact, SpaceCard, SpaceFixtures, Task, make_arch_id
from spaces.blocks import BlockGroup, BlockSpec
from spaces.capabilities import CellSpace, DecomposableSpace, EncodableSpace, EnumerableSpace, MutableSpace
from spaces.cell import CellSpec
from spaces.graph import INPUT, OUTPUT, OpGraph, adjacency_encoding, path_encoding
from spaces.tasks import get_task

if TYPE_CHECKING:
    import torch.nn as nn

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
CELL = CellSpec.complete(4, OPS, identity_ops=("skip_connect",), zero_ops=("none",))
_NODE = re.compile(r"\|(?:[a-z0-9_]+~[0-9]+\|)+")
KERNEL_OPS = tuple(op for op in OPS if op not in CELL.zero_ops | CELL.identity_ops)
"""The ops that remain nodes of :meth:`NB201Space.graph` (and make up its paths)."""
VOCAB = (INPUT, *KERNEL_OPS, OUTPUT)
"""Node labels of :meth:`NB201Space.graph`."""
MAX_PATH = 3
"""The longest input->output path of the cell: edges 0>1, 1>2, 2>3."""
MAX_NODES = 9
"""Most nodes of :meth:`NB201Space.graph`: input, output and 1 + 2 + 4 op occurrences (one per edge
of each input->output path: 0>3; 0>1>3; 0>2>3 and 0>1>2>3)."""

FIXTURES = SpaceFixtures(
    archs=(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
        "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|",
        "|avg_pool_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|",
    ),
    degenerate=("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",),
    equivalent=(
        # a conv then an identity into the output == the conv straight into the output
        (
            "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|",
            "|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|",
        ),
        # what node 1 computes does not matter when no edge leaves it
        (
            "|nor_conv_1x1~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
            "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
        ),
    ),
    build=(("C", 4), ("N", 1)),
    task="mnist5k",
    resolution=8,
)
_ALL_3X3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
FACTS = (
    ParamFact(_ALL_3X3, "cifar10", (("C", 16), ("N", 5)), 1531546, "NB201 API cost info: 1.531546 M params"),
    ParamFact(_ALL_3X3, "cifar100", (("C", 16), ("N", 5)), 1537396, "NB201 API cost info: 1.537396 M params"),
)


class NB201Space(EnumerableSpace, CellSpace, MutableSpace, EncodableSpace, DecomposableSpace):
    """The NAS-Bench-201 / NATS-Bench topology space with its published index."""

    name = "nb201"
    version = "1.0"
    card = SpaceCard(
        num_archs=15625,
        num_unique=6466,
        ops=OPS,
        encoding="6 edge ops in order (0,1),(0,2),(1,2),(0,3),(1,3),(2,3)",
        paper="Dong & Yang, NAS-Bench-201, ICLR 2020 (arXiv:2001.00326)",
        fixtures=FIXTURES,
        facts=FACTS,
    )
    cell = CELL
    encodings = ("onehot", "adjacency", "path")
    vocab = VOCAB
    calibrated_ops = nb201_blocks.CALIBRATED_OPS
    block_positions = tuple(sorted({dst for _, dst in CELL.edges}))

    # ---- strings -------------------------------------------------------------------------------
    def ops_of(self, arch: Architecture) -> tuple[str, ...]:
        """The 6 edge ops of ``arch`` in the published edge order."""
        self._check(arch)
        return self._parse_ops(arch.string)

    @staticmethod
    def format(arch: Architecture | tuple[str, ...] | list[str]) -> str:
        """The published string of an architecture or of 6 edge ops."""
        if isinstance(arch, Architecture):
            return arch.string
        a, b, c, d, e, f = arch
        return f"|{a}~0|+|{b}~0|{c}~1|+|{d}~0|{e}~1|{f}~2|"

    def _parse_ops(self, text: str) -> tuple[str, ...]:
        if not isinstance(text, str):
            raise ValueError(f"NB201 architecture must be a string, got {type(text).__name__}")
        return _parse_ops(text)

    def from_ops(self, ops: Sequence[str]) -> Architecture:
        """The architecture with these 6 edge ops."""
        return _architecture(self.name, self.version, tuple(ops))

    def parse(self, text: str) -> Architecture:
        """Parse a published NB201 string (inputs within a node may come in any order)."""
        return self.from_ops(self._parse_ops(text))

    def from_naslib(self, key: str) -> Architecture:
        """The cell of a NASLib op-code tuple key (:func:`spaces.nb201_naslib.nb201_from_naslib`)."""
        from spaces.nb201_naslib import nb201_from_naslib

        return self.parse(nb201_from_naslib(key))

    def to_naslib(self, arch: Architecture) -> str:
        """NASLib's op-code tuple key of ``arch``."""
        from spaces.nb201_naslib import naslib_from_nb201

        self._check(arch)
        return naslib_from_nb201(arch.string)

    # ---- enumeration and the published index ---------------------------------------------------
    @cached_property
    def _published(self) -> list[str]:
        ref = resources.files("spaces") / "_data" / "nb201_index.csv.gz"
        with ref.open("rb") as raw, gzip.open(raw, "rt") as f:
            rows = list(csv.DictReader(f))
        return [r["arch_str"] for r in sorted(rows, key=lambda r: int(r["nb201_index"]))]

    @cached_property
    def _index_of(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self._published)}

    @cached_property
    def _representatives(self) -> dict[str, int]:
        """arch_id -> lowest published index in its class."""
        reps: dict[str, int] = {}
        for i, s in enumerate(self._published):
            reps.setdefault(self.parse(s).arch_id, i)
        return reps

    def enumerate(self) -> Iterator[Architecture]:
        """All 15,625 cells in the official index order."""
        return (self.parse(s) for s in self._published)

    def index(self, arch: Architecture) -> int | None:
        """The official NB201 / NATS-Bench topology index (0..15624)."""
        return self._index_of.get(self.format(self.ops_of(arch)))

    def from_index(self, index: int) -> Architecture:
        """The cell at an official index."""
        try:
            if isinstance(index, bool):
                raise TypeError
            index = operator.index(index)
        except TypeError:
            raise ValueError(f"NB201 index must be an integer, got {index!r}") from None
        if not 0 <= index < len(self._published):
            raise ValueError(f"NB201 index {index} is out of range 0..{len(self._published) - 1}")
        return self.parse(self._published[index])

    def representative(self, arch: Architecture) -> Architecture:
        """The member of ``arch``'s class with the lowest published index."""
        return self.from_index(self._representatives[self.from_ops(self.ops_of(arch)).arch_id])

    # ---- sampling and neighbourhoods -----------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Architecture:
        """A uniformly random cell."""
        return self.from_ops([OPS[i] for i in rng.integers(0, len(OPS), size=len(CELL.edges))])

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """The 24 cells that differ from ``arch`` in exactly one edge op."""
        ops = self.ops_of(arch)
        return [
            self.from_ops((*ops[:pos], op, *ops[pos + 1 :]))
            for pos in range(len(ops))
            for op in OPS
            if op != ops[pos]
        ]

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """Change one random edge to a different random op."""
        ops = list(self.ops_of(arch))
        pos = int(rng.integers(len(ops)))
        ops[pos] = [op for op in OPS if op != ops[pos]][int(rng.integers(len(OPS) - 1))]
        return self.from_ops(ops)

    # ---- equivalence (the generic canonicaliser, from CellSpace) -------------------------------
    def canonical(self, arch: Architecture) -> str:
        """NB201's isomorphism key (``to_unique_str(consider_zero=True)``), computed from the cell."""
        return super().canonical(arch)

    def is_degenerate(self, arch: Architecture) -> bool:
        """True when every input->output path of the cell passes through ``none``."""
        return super().is_degenerate(arch)

    # ---- encodings -----------------------------------------------------------------------------
    def graph(self, arch: Architecture) -> OpGraph:
        """The cell's equivalence class as a DAG with ops on nodes (:meth:`CellSpec.class_graph`).

        The 6 edges become op nodes as in the standard ops-on-nodes transform, with NB201's rules
        applied: ``none`` edges and dead ops vanish, ``skip_connect`` edges become plain edges, and an op
        whose output reaches the cell's output along k paths appears k times (NB201's canonical form
        counts it k times). So cells with the same ``arch_id`` give *equal* graphs (2 to 9 nodes), and a
        graph predictor cannot tell equivalent cells apart. ``spaces.nb201.CELL.op_graph(ops)`` is the
        8-node graph as built, ``none`` and ``skip_connect`` nodes included.
        """
        return CELL.class_graph(self.ops_of(arch))

    def _encode(self, arch: Architecture, kind: str) -> np.ndarray:
        """NB201's encodings (White et al., "A Study on Encodings for Neural Architecture Search", NeurIPS 2020).

        * ``onehot`` (30): one-hot of each edge's op, edges in the published order, ops in ``OPS``
          order (the paper's "one-hot adjacency" for NB201, whose adjacency is fixed). A bijection
          over the 15,625 cells.
        * ``adjacency`` (81): :func:`spaces.graph.adjacency_encoding` of :meth:`graph` padded to
          :data:`MAX_NODES`: 36 upper-triangle bits, then 9 one-hot rows over :data:`VOCAB`.
        * ``path`` (40): the BANANAS path encoding (White et al., AAAI 2021) of :meth:`graph`: one
          indicator per op sequence over :data:`KERNEL_OPS` of length 0-3 (length 0: an identity path).
          Equivalent cells get equal vectors. NASLib's NB201 variant (155 dims) keeps ``none`` and
          ``skip_connect`` as ops on the four fixed edge paths, so equivalent cells can differ there,
          e.g. a conv before or after an identity edge.
        """
        if kind == "onehot":
            out = np.zeros((len(CELL.edges), len(OPS)), dtype=np.float32)
            out[np.arange(len(CELL.edges)), [OPS.index(op) for op in self.ops_of(arch)]] = 1.0
            return out.ravel()
        if kind == "adjacency":
            return adjacency_encoding(self.graph(arch), MAX_NODES, VOCAB)
        return path_encoding(self.graph(arch), KERNEL_OPS, MAX_PATH)

    # ---- blocks (LUT latency models) -----------------------------------------------------------
    def blocks(
        self, arch: Architecture, task: Task | str, resolution: int | None = None, C: int = 16, N: int = 5
    ) -> tuple[BlockGroup, ...]:
        """The network's blocks: stem, reductions and head once, then per stage ``N`` x (6 edge ops + 3 adds)."""
        spec = self.task_input(task, resolution)
        return nb201_blocks.network_blocks(
            self.ops_of(arch), CELL.edges, C, N, spec, get_task(task).num_classes
        )

    def block_set(
        self, task: Task | str, resolution: int | None = None, C: int = 16, N: int = 5
    ) -> list[BlockSpec]:
        """Every NB201 block at width ``C``: stem, the 5 ops and an addition per stage, 2 reductions, head."""
        spec = self.task_input(task, resolution)
        return nb201_blocks.block_set(C, spec.resolution, spec.channels, get_task(task).num_classes)

    def block_module(self, block: BlockSpec, batch: int = 1) -> nn.Module:
        """A freshly initialised module of ``block``, from the classes the network is built of."""
        return nb201_blocks.block_module(block, batch)

    # ---- networks ------------------------------------------------------------------------------
    def check_resolution(self, resolution: int) -> None:
        """Two stride-2 reductions whose branches must agree: the side must be a multiple of 4."""
        if resolution < 4 or resolution % 4:
            raise ValueError(f"nb201 needs an input resolution divisible by 4, got {resolution}")

    def build(
        self, arch: Architecture, task: Task | str, C: int = 16, N: int = 5, **options: Any
    ) -> nn.Module:
        """The NB201 network for ``task`` (default: the published C=16, N=5)."""
        from spaces.nb201_net import NB201Network

        if options:
            raise TypeError(f"unknown build options for nb201: {sorted(options)} (valid: C, N)")
        if C < 1 or N < 0:
            raise ValueError(f"nb201 needs C >= 1 and N >= 0, got C={C}, N={N}")
        task = get_task(task)
        self.task_input(task)
        return NB201Network(
            CELL.edges, self.ops_of(arch), task.num_classes, C=C, N=N, in_channels=task.in_channels
        )


# Parsing and canonicalisation are pure functions of the text / ops; whole-space builds call them for
# every one of the 15,625 cells many times over (index, representative, degeneracy), so they are cached.
@lru_cache(maxsize=1 << 16)
def _parse_ops(text: str) -> tuple[str, ...]:
    groups = text.strip().split("+")
    if len(groups) != 3:
        raise ValueError(f"malformed NB201 string {text!r}: expected 3 node groups joined by '+'")
    ops: list[str] = []
    for node, group in enumerate(groups, start=1):
        if not _NODE.fullmatch(group):
            raise ValueError(f"malformed NB201 string {text!r}: node {node} group {group!r}")
        by_input: dict[int, str] = {}
        for item in group.strip("|").split("|"):
            op, _, src = item.partition("~")
            if op not in OPS:
                raise ValueError(f"unknown op {op!r} in NB201 string {text!r} (valid: {', '.join(OPS)})")
            if int(src) >= node or int(src) in by_input:
                raise ValueError(f"malformed NB201 string {text!r}: node {node} has a bad input {item!r}")
            by_input[int(src)] = op
        if sorted(by_input) != list(range(node)):
            raise ValueError(f"malformed NB201 string {text!r}: node {node} needs inputs 0..{node - 1}")
        ops.extend(by_input[i] for i in range(node))
    return tuple(ops)


@lru_cache(maxsize=1 << 16)
def _architecture(space: str, version: str, ops: tuple[str, ...]) -> Architecture:
    canonical_form = CELL.canonical_form(ops)  # validates the ops
    return Architecture(space, NB201Space.format(ops), make_arch_id(space, version, canonical_form))
