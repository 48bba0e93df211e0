"""The DARTS cell space as NAS-Bench-301 defines it (Siems et al., "NAS-Bench-301 and the Case for Surrogate
Benchmarks for Neural Architecture Search", arXiv:2008.09777; DARTS: Liu et al., ICLR 2019).

An architecture is a DARTS genotype: a normal and a reduction cell, each with 4 intermediate nodes
that take two ``(op, input)`` edges from *distinct* earlier states (0 and 1 are the outputs of the
two previous cells, 2..5 the intermediate nodes) and are all concatenated into the output. The 7 ops
are DARTS's without ``none`` (NAS-Bench-301 drops it). Strings are the reference ``Genotype`` repr::

    Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5],
             reduce=[...], reduce_concat=[2, 3, 4, 5])

(``range(2, 6)`` is accepted for a concat list). Parsing reads the text as a Python expression tree
and accepts only that shape; nothing is evaluated. The canonical string sorts each node's two edges
by ``(input, op)`` (a node sums them, so their order carries no meaning), and ``arch_id`` hashes it.
Other isomorphisms (renumbering intermediate nodes) are not merged, so ``num_unique`` is not counted.

Each cell has 1 * 3 * 6 * 10 input pairs (``C(k + 2, 2)`` for node k) times 7^8 op choices,
1,037,664,180 cells; a genotype is a pair of cells, about 1.08e18: not enumerable.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from spaces.base import Architecture, ParamFact, SpaceCard, SpaceFixtures, Task, make_arch_id
from spaces.capabilities import EncodableSpace, MutableSpace
from spaces.graph import INPUT, OUTPUT, OpGraph
from spaces.tasks import get_task

if TYPE_CHECKING:
    import torch.nn as nn

OPS = (
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
"""NAS-Bench-301's op set, in its ConfigSpace order."""
NODES = 4
CONCAT = (2, 3, 4, 5)
CELLS = ("normal", "reduce")
CELL_SIZE = 1 * 3 * 6 * 10 * len(OPS) ** (2 * NODES)
"""Distinct canonical cells: a pair of distinct inputs of ``k + 2`` states for node k, an op per edge."""
MAX_TEXT = 4096
"""Longest genotype string parsed (a genotype is ~400 characters)."""
INPUT_1 = "input_1"
VOCAB = (INPUT, INPUT_1, *OPS, *(f"reduce_{op}" for op in OPS), OUTPUT)
"""Node labels of :meth:`DARTSSpace.graph` (reduction-cell ops carry a ``reduce_`` prefix)."""

Cell = tuple[tuple[str, int], ...]
_ALLOWED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_=[](),'\" ")

DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
    "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
    "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
    "reduce_concat=[2, 3, 4, 5])"
)
"""The published DARTS (second order) genotype (reference ``cnn/genotypes.py``)."""
_SWAPPED_V2 = DARTS_V2.replace(
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0)",
    "('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0)",
)

FIXTURES = SpaceFixtures(
    archs=(
        DARTS_V2,
        "Genotype(normal=[('sep_conv_5x5', 1), ('avg_pool_3x3', 0), ('dil_conv_5x5', 2), ('skip_connect', 1), "
        "('max_pool_3x3', 0), ('sep_conv_3x3', 3), ('dil_conv_3x3', 4), ('sep_conv_5x5', 1)], "
        "normal_concat=range(2, 6), reduce=[('avg_pool_3x3', 0), ('sep_conv_5x5', 1), ('dil_conv_5x5', 0), "
        "('max_pool_3x3', 2), ('skip_connect', 3), ('sep_conv_3x3', 1), ('dil_conv_3x3', 0), ('avg_pool_3x3', 4)], "
        "reduce_concat=range(2, 6))",
    ),
    equivalent=((DARTS_V2, _SWAPPED_V2),),
    build=(("C", 4), ("N", 1)),
    task="mnist5k",
    resolution=8,
)
FACTS = (
    ParamFact(
        DARTS_V2,
        "cifar10",
        (("C", 36), ("N", 6)),
        3349342,
        "DARTS reference cnn/train.py log 'param size = 3.349342MB' (20 cells, no auxiliary head)",
    ),
)


class DARTSSpace(MutableSpace, EncodableSpace):
    """The NAS-Bench-301 DARTS space: genotypes, their canonical form and the DARTS evaluation network."""

    name = "darts"
    version = "1.0"
    card = SpaceCard(
        num_archs=CELL_SIZE**2,
        num_unique=None,
        ops=OPS,
        encoding="DARTS Genotype repr; each node's two (op, input) edges sorted",
        paper="Siems et al., NAS-Bench-301, arXiv:2008.09777 (DARTS: Liu et al., ICLR 2019)",
        fixtures=FIXTURES,
        facts=FACTS,
    )
    encodings = ("onehot",)
    vocab = VOCAB

    # ---- strings -------------------------------------------------------------------------------
    def parse(self, text: str) -> Architecture:
        """Parse a genotype string; ValueError names what is malformed."""
        if not isinstance(text, str):
            raise ValueError(f"DARTS architecture must be a string, got {type(text).__name__}")
        return self.from_cells(*_parse(text.strip()))

    def from_cells(self, normal: Cell, reduce: Cell) -> Architecture:
        """The architecture of two cells of 8 ``(op, input)`` edges (validated and sorted)."""
        return _architecture(
            self.name, self.version, _canonical_cell(normal, "normal"), _canonical_cell(reduce, "reduce")
        )

    def cells(self, arch: Architecture) -> tuple[Cell, Cell]:
        """The canonical normal and reduction cells of ``arch``."""
        self._check(arch)
        return _parse(arch.string)

    # ---- sampling and neighbourhoods -----------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Architecture:
        """Uniform over canonical genotypes: per node two distinct inputs, then an op per edge."""
        cells = []
        for _ in CELLS:
            edges = []
            for k in range(NODES):
                for index in sorted(rng.choice(k + 2, size=2, replace=False).tolist()):
                    edges.append((OPS[int(rng.integers(len(OPS)))], int(index)))
            cells.append(tuple(edges))
        return self.from_cells(*cells)

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """Every genotype one edge change away: another op, or another input (kept distinct) on one edge."""
        cells = list(self.cells(arch))
        found: dict[str, Architecture] = {}
        for c, cell in enumerate(cells):
            for e, (op, index) in enumerate(cell):
                other = cell[e ^ 1][1]
                changes = [(o, index) for o in OPS if o != op]
                changes += [(op, i) for i in range(e // 2 + 2) if i not in (index, other)]
                for change in changes:
                    new = list(cells)
                    new[c] = (*cell[:e], change, *cell[e + 1 :])
                    mutant = self.from_cells(*new)
                    found.setdefault(mutant.string, mutant)
        found.pop(arch.string, None)
        return list(found.values())

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """A uniformly random neighbour (:meth:`neighbors`)."""
        options = self.neighbors(arch)
        return options[int(rng.integers(len(options)))]

    # ---- encodings -----------------------------------------------------------------------------
    def _encode(self, arch: Architecture, kind: str) -> np.ndarray:
        """``onehot`` (192): per cell (normal, reduce) and canonical edge, a one-hot op (7) and input (5)."""
        out = np.zeros((len(CELLS), 2 * NODES, len(OPS) + NODES + 1), dtype=np.float32)
        for c, cell in enumerate(self.cells(arch)):
            for e, (op, index) in enumerate(cell):
                out[c, e, OPS.index(op)] = 1.0
                out[c, e, len(OPS) + index] = 1.0
        return out.ravel()

    def graph(self, arch: Architecture) -> OpGraph:
        """Both cells with ops on nodes, side by side between shared inputs and output (19 nodes).

        Node 0 is the cell input from two cells back, node 1 (``input_1``) the previous cell's; then
        one node per edge of the normal cell, then of the reduction cell (labels ``reduce_<op>``), in
        canonical edge order. An edge node takes the input node of its state, or both edge nodes of
        the intermediate node it reads; every edge node of a cell feeds the output (all 4 nodes are
        concatenated).
        """
        labels = [INPUT, INPUT_1]
        edges: list[tuple[int, int]] = []
        for c, cell in enumerate(self.cells(arch)):
            base = len(labels)
            for e, (op, index) in enumerate(cell):
                labels.append(op if c == 0 else f"reduce_{op}")
                sources = [index] if index < 2 else [base + 2 * (index - 2), base + 2 * (index - 2) + 1]
                edges.extend((s, base + e) for s in sources)
        labels.append(OUTPUT)
        edges.extend((node, len(labels) - 1) for node in range(2, len(labels) - 1))
        adjacency = np.zeros((len(labels), len(labels)), dtype=np.uint8)
        for i, j in edges:
            adjacency[i, j] = 1
        return OpGraph(adjacency, tuple(labels))

    # ---- networks ------------------------------------------------------------------------------
    def check_resolution(self, resolution: int) -> None:
        """Two factorized reductions: the side must be a multiple of 4."""
        if resolution < 4 or resolution % 4:
            raise ValueError(f"darts needs an input resolution divisible by 4, got {resolution}")

    def build(
        self, arch: Architecture, task: Task | str, C: int = 36, N: int = 6, **options: Any
    ) -> nn.Module:
        """The DARTS evaluation network (default: the published C=36 and 3N + 2 = 20 cells), no auxiliary head."""
        from spaces.darts_net import DARTSNetwork

        if options:
            raise TypeError(f"unknown build options for darts: {sorted(options)} (valid: C, N)")
        if isinstance(C, bool) or not isinstance(C, int) or C < 2 or C % 2 or N < 1:
            raise ValueError(f"darts needs an even C >= 2 and N >= 1, got C={C}, N={N}")
        normal, reduce = self.cells(arch)
        task = get_task(task)
        spec = self.task_input(task)
        return DARTSNetwork(
            normal, CONCAT, reduce, CONCAT, task.num_classes, C=C, N=N, in_channels=spec.channels
        )


def _format(normal: Cell, reduce: Cell) -> str:
    def edges(cell: Cell) -> str:
        return ", ".join(f"('{op}', {index})" for op, index in cell)

    concat = ", ".join(map(str, CONCAT))
    return f"Genotype(normal=[{edges(normal)}], normal_concat=[{concat}], reduce=[{edges(reduce)}], reduce_concat=[{concat}])"


def _canonical_cell(cell: Cell, name: str) -> Cell:
    """Validate a cell's 8 edges and sort each node's pair by ``(input, op)``."""
    try:
        cell = tuple((op, index) for op, index in cell)
    except (TypeError, ValueError):
        raise ValueError(f"DARTS {name} cell must be a sequence of (op, input) pairs") from None
    if len(cell) != 2 * NODES:
        raise ValueError(f"DARTS {name} cell needs {2 * NODES} (op, input) edges, got {len(cell)}")
    out: list[tuple[str, int]] = []
    for k in range(NODES):
        pair = cell[2 * k : 2 * k + 2]
        for op, index in pair:
            if op not in OPS:
                hint = " (NAS-Bench-301 has no 'none')" if op == "none" else ""
                raise ValueError(
                    f"DARTS {name} node {k + 2}: unknown op {op!r}{hint} (valid: {', '.join(OPS)})"
                )
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < k + 2:
                raise ValueError(f"DARTS {name} node {k + 2}: input {index!r} is not a state 0..{k + 1}")
        if pair[0][1] == pair[1][1]:
            raise ValueError(
                f"DARTS {name} node {k + 2}: both edges read state {pair[0][1]} (inputs must differ)"
            )
        out.extend(sorted(pair, key=lambda edge: (edge[1], edge[0])))
    return tuple(out)


@lru_cache(maxsize=1 << 14)
def _architecture(space: str, version: str, normal: Cell, reduce: Cell) -> Architecture:
    text = _format(normal, reduce)
    return Architecture(space, text, make_arch_id(space, version, text))


@lru_cache(maxsize=1 << 14)
def _parse(text: str) -> tuple[Cell, Cell]:
    """The two cells of a genotype string, read from its expression tree (never evaluated)."""
    where = f"malformed DARTS genotype {text[:60]!r}{'...' if len(text) > 60 else ''}"
    if len(text) > MAX_TEXT:
        raise ValueError(f"{where}: longer than {MAX_TEXT} characters")
    bad = set(text) - _ALLOWED
    if bad:
        raise ValueError(f"{where}: unexpected character {min(bad)!r}")
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ValueError(f"{where}: not a Genotype(...) expression") from None
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "Genotype"):
        raise ValueError(
            f"{where}: expected Genotype(normal=..., normal_concat=..., reduce=..., reduce_concat=...)"
        )
    fields = {kw.arg: kw.value for kw in tree.keywords}
    wanted = ("normal", "normal_concat", "reduce", "reduce_concat")
    if tree.args or sorted(fields) != sorted(wanted) or len(tree.keywords) != len(wanted):
        raise ValueError(f"{where}: needs exactly the keywords {', '.join(wanted)}")
    for name in ("normal_concat", "reduce_concat"):
        if _concat(fields[name]) != CONCAT:
            raise ValueError(f"{where}: {name} must be [2, 3, 4, 5] (NAS-Bench-301 concatenates every node)")
    return _canonical_cell(_edges(fields["normal"], where), "normal"), _canonical_cell(
        _edges(fields["reduce"], where), "reduce"
    )


def _edges(node: ast.AST, where: str) -> Cell:
    if not isinstance(node, ast.List | ast.Tuple):
        raise ValueError(f"{where}: a cell must be a list of (op, input) pairs")
    edges = []
    for item in node.elts:
        if not (
            isinstance(item, ast.Tuple)
            and len(item.elts) == 2
            and all(isinstance(e, ast.Constant) for e in item.elts)
        ):
            raise ValueError(f"{where}: a cell edge must be a literal ('op', input) pair")
        op, index = (e.value for e in item.elts)
        if not isinstance(op, str):
            raise ValueError(f"{where}: edge op {op!r} must be a string")
        edges.append((op, index))
    return tuple(edges)


def _concat(node: ast.AST) -> tuple[int, ...] | None:
    if isinstance(node, ast.List | ast.Tuple) and all(isinstance(e, ast.Constant) for e in node.elts):
        return tuple(e.value for e in node.elts)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "range"
        and len(node.args) == 2
        and all(isinstance(a, ast.Constant) and isinstance(a.value, int) for a in node.args)
        and not node.keywords
        and 0 <= node.args[1].value - node.args[0].value <= 2 * len(CONCAT)
    ):
        return tuple(range(node.args[0].value, node.args[1].value))
    return None
