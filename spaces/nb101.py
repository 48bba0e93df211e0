"""NAS-Bench-101 cell space (Ying et al., "NAS-Bench-101: Towards Reproducible Neural Architecture Search",
ICML 2019, arXiv:1902.09635).

Cells are DAGs of at most 7 vertices and 9 edges with ops on the vertices (``conv3x3-bn-relu``,
``conv1x1-bn-relu``, ``maxpool3x3``); the published data set holds the 423,624 cells that are distinct
under the reference graph hash. An :class:`~spaces.base.Architecture`'s string is the *pruned* cell
(:mod:`spaces.nb101_graph`: vertices off every input->output path removed, as the reference builds
it), so ``parse`` accepts unpruned matrices too; its ``arch_id`` is made from the reference's MD5 graph
hash, so isomorphic cells (the same cell with its vertices renumbered) share it. The network is the
published CIFAR-10 one (:mod:`spaces.nb101_net`). ``scripts/enumerate_nb101.py`` enumerates the space
(the test suite runs it on small vertex counts only).

Declared capabilities: mutable (one edge flip or one op change of the pruned cell) and encodable
(``adjacency`` and ``path``, of the cell itself: NB101 is defined with ops on nodes). NB101 is not
enumerable here: its published order is the data set's, which archbench does not ship.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from spaces.base import Architecture, ParamFact, SpaceCard, SpaceFixtures, Task, make_arch_id
from spaces.capabilities import EncodableSpace, MutableSpace
from spaces.graph import OpGraph, adjacency_encoding, path_encoding
from spaces.nb101_graph import INPUT, MAX_VERTICES, OPS, OUTPUT, Spec, make_spec, parse_string
from spaces.tasks import get_task

if TYPE_CHECKING:
    import torch.nn as nn

VOCAB = (INPUT, *OPS, OUTPUT)
"""Node labels of :meth:`NB101Space.graph` (the cell's own vertex labels)."""
MAX_PATH = MAX_VERTICES - 2
"""The longest input->output path runs through all 5 interior vertices."""

INCEPTION = (
    "0111010.0000001.0000001.0000100.0000001.0000001.0000000|"
    "input,conv1x1-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,maxpool3x3,output"
)
"""The Inception-like cell of the reference README (a 5x5 conv replaced by two 3x3 convs)."""
INCEPTION_STORED = (
    "0111100.0000001.0000001.0000001.0000010.0000001.0000000|"
    "input,conv3x3-bn-relu,conv1x1-bn-relu,maxpool3x3,conv3x3-bn-relu,conv3x3-bn-relu,output"
)
"""The same cell as the data set stores it (vertices renumbered; NASBench.ipynb's query output)."""

FIXTURES = SpaceFixtures(
    archs=(
        INCEPTION,
        "0110.0001.0001.0000|input,conv3x3-bn-relu,maxpool3x3,output",
        # a chain whose input also feeds the output directly (the output-projection path)
        "01001.00101.00011.00001.00000|input,conv1x1-bn-relu,conv3x3-bn-relu,maxpool3x3,output",
    ),
    equivalent=(
        (INCEPTION, INCEPTION_STORED),
        # the two parallel branches in either order
        (
            "0110.0001.0001.0000|input,conv3x3-bn-relu,maxpool3x3,output",
            "0110.0001.0001.0000|input,maxpool3x3,conv3x3-bn-relu,output",
        ),
        # a vertex off every input->output path is pruned away
        (
            "0100.0001.0001.0000|input,conv3x3-bn-relu,maxpool3x3,output",
            "010.001.000|input,conv3x3-bn-relu,output",
        ),
    ),
    build=(("C", 8), ("N", 1)),
    task="mnist5k",
    resolution=8,
)
FACTS = (
    ParamFact(
        INCEPTION,
        "cifar10",
        (("C", 128), ("N", 3)),
        2694282,
        "NB101 data set via NASBench.ipynb (google-research/nasbench): trainable_parameters 2694282",
    ),
)


class NB101Space(MutableSpace, EncodableSpace):
    """The NAS-Bench-101 space: pruned cells, the reference graph hash and the published network."""

    name = "nb101"
    version = "1.0"
    card = SpaceCard(
        num_archs=423624,
        num_unique=423624,
        ops=OPS,
        encoding="pruned cell '<0/1 matrix rows joined by .>|<op names joined by ,>'",
        paper="Ying et al., NAS-Bench-101, ICML 2019 (arXiv:1902.09635)",
        fixtures=FIXTURES,
        facts=FACTS,
    )
    encodings = ("adjacency", "path")
    vocab = VOCAB

    # ---- strings -------------------------------------------------------------------------------
    def parse(self, text: str) -> Architecture:
        """Parse ``"<rows>|<ops>"`` (pruned or not); ValueError names what makes the cell invalid."""
        if not isinstance(text, str):
            raise ValueError(f"NB101 architecture must be a string, got {type(text).__name__}")
        return _architecture(self.name, self.version, text.strip())

    def spec(self, arch: Architecture) -> Spec:
        """The pruned matrix and ops of ``arch``."""
        self._check(arch)
        return _spec(arch.string)

    def from_spec(
        self, matrix: np.ndarray | list[list[int]], ops: list[str] | tuple[str, ...]
    ) -> Architecture:
        """The architecture of a matrix and its ops (pruned here); ValueError for an invalid cell."""
        spec = make_spec(matrix, ops)
        return _architecture(self.name, self.version, spec.to_string())

    def canonical(self, arch: Architecture) -> str:
        """The reference graph hash of the pruned cell (equal for isomorphic cells)."""
        return self.spec(arch).hash()

    # ---- sampling and neighbourhoods -----------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Architecture:
        """A random valid cell drawn as the reference ``random_spec`` does.

        Every upper-triangle bit of a 7-vertex matrix is 1 with probability 1/2 and every interior op
        uniform; invalid cells are redrawn. This is uniform over valid 7-vertex *labelled matrices*,
        not over the 423,624 classes (small cells are reached by many matrices).
        """
        while True:
            matrix = np.triu(rng.integers(0, 2, size=(MAX_VERTICES, MAX_VERTICES)), 1)
            ops = [INPUT, *(OPS[i] for i in rng.integers(0, len(OPS), size=MAX_VERTICES - 2)), OUTPUT]
            try:
                return self.from_spec(matrix, ops)
            except ValueError:
                continue

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """Every valid cell one change away: an edge of the pruned cell flipped, a vertex's op changed, or a
        vertex inserted (any op) on a new path ``i -> new -> k`` (so the 2-vertex cell has neighbours too).
        """
        spec = self.spec(arch)
        n = spec.num_vertices
        found: dict[str, Architecture] = {}
        for i in range(n):
            for j in range(i + 1, n):
                matrix = np.array(spec.matrix)
                matrix[i, j] ^= 1
                self._add(found, matrix, spec.ops)
        for v in range(1, n - 1):
            for op in OPS:
                if op != spec.ops[v]:
                    self._add(found, spec.matrix, (*spec.ops[:v], op, *spec.ops[v + 1 :]))
        if n < MAX_VERTICES:
            for pos in range(1, n):  # the new vertex's index; old vertices pos.. move up by one
                for i in range(pos):
                    for k in range(pos, n):
                        matrix = np.insert(np.insert(spec.matrix, pos, 0, axis=0), pos, 0, axis=1)
                        matrix[i, pos] = matrix[pos, k + 1] = 1
                        for op in OPS:
                            self._add(found, matrix, (*spec.ops[:pos], op, *spec.ops[pos:]))
        found.pop(arch.string, None)
        return list(found.values())

    def _add(self, found: dict[str, Architecture], matrix: np.ndarray, ops: tuple[str, ...]) -> None:
        try:
            arch = self.from_spec(matrix, ops)
        except ValueError:
            return
        found.setdefault(arch.string, arch)

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """A uniformly random neighbour (:meth:`neighbors`)."""
        options = self.neighbors(arch)
        return options[int(rng.integers(len(options)))]

    # ---- encodings -----------------------------------------------------------------------------
    def graph(self, arch: Architecture) -> OpGraph:
        """The pruned cell itself (NB101 has ops on nodes): 2 to 7 nodes labelled from :data:`VOCAB`."""
        spec = self.spec(arch)
        return OpGraph(spec.matrix, spec.ops)

    def _encode(self, arch: Architecture, kind: str) -> np.ndarray:
        """NB101's encodings (White et al., "A Study on Encodings for Neural Architecture Search", NeurIPS 2020).

        * ``adjacency`` (56): the pruned cell's 21 upper-triangle bits padded to 7 vertices (output in
          the last slot), then 7 one-hot rows over :data:`VOCAB`. Isomorphic cells may differ.
        * ``path`` (364): the BANANAS path encoding (White et al., AAAI 2021): one indicator per op
          sequence of length 0-5 over :data:`~spaces.nb101_graph.OPS` (3^0 + ... + 3^5 entries); equal
          for isomorphic cells.
        """
        graph = self.graph(arch)
        if kind == "adjacency":
            return adjacency_encoding(graph, MAX_VERTICES, VOCAB)
        return path_encoding(graph, OPS, MAX_PATH)

    # ---- networks ------------------------------------------------------------------------------
    def build(
        self, arch: Architecture, task: Task | str, C: int = 128, N: int = 3, **options: Any
    ) -> nn.Module:
        """The NB101 network for ``task`` (default: the published stem width C=128, N=3 cells per stack)."""
        from spaces.nb101_net import NB101Network

        if options:
            raise TypeError(f"unknown build options for nb101: {sorted(options)} (valid: C, N)")
        spec = self.spec(arch)
        fan_in = int(spec.matrix[1:, -1].sum())
        if isinstance(C, bool) or not isinstance(C, int) or max(fan_in, 1) > C or N < 1:
            raise ValueError(
                f"nb101 needs N >= 1 and C >= the {fan_in} vertices feeding the output, got C={C}, N={N}"
            )
        task = get_task(task)
        spec_in = self.task_input(task)
        return NB101Network(spec.matrix, spec.ops, task.num_classes, C=C, N=N, in_channels=spec_in.channels)


@lru_cache(maxsize=1 << 16)
def _spec(text: str) -> Spec:
    matrix, ops = parse_string(text)
    return make_spec(matrix, ops, where=text)


@lru_cache(maxsize=1 << 16)
def _architecture(space: str, version: str, text: str) -> Architecture:
    spec = _spec(text)
    return Architecture(space, spec.to_string(), make_arch_id(space, version, spec.hash()))
