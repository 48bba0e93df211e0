"""Generic cell (DAG) canonicaliser for cell-based search spaces.

A cell is a DAG over nodes ``0..n-1``: node 0 is the input, node ``n-1`` the output, every edge
``i -> j`` (``i < j``) carries one operation and a node sums its incoming edges. Two cells are
equivalent when they compute the same expression under these rules (NAS-Bench-201's, Dong & Yang,
ICLR 2020, ``CellStructure.to_unique_str(consider_zero=True)``):

* node expressions are built recursively from the input token ``0``;
* an edge with an identity op passes its input expression through unchanged;
* an edge with a zero op, or whose input expression is the zero token ``#``, gives ``#``;
* any other edge gives ``(<input>)@<op>``;
* a node's terms are sorted (addition commutes) and joined with ``+``;
* no further algebra (``x + 0`` is not simplified to ``x``).

The canonicaliser is parameterised by which ops are identities and which are zeros, so it serves any
cell space of this shape, not only NB201.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spaces.graph import INPUT as INPUT_LABEL
from spaces.graph import OUTPUT as OUTPUT_LABEL
from spaces.graph import OpGraph

ZERO = "#"
INPUT = "0"


@dataclass(frozen=True)
class CellSpec:
    """The shape of a cell space: node count, edge order, op set and the special ops."""

    num_nodes: int
    edges: tuple[tuple[int, int], ...]
    ops: tuple[str, ...]
    identity_ops: frozenset[str] = frozenset()
    zero_ops: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.num_nodes < 2:
            raise ValueError("a cell needs at least an input and an output node")
        for src, dst in self.edges:
            if not 0 <= src < dst < self.num_nodes:
                raise ValueError(f"edge {src}->{dst} is not forward within {self.num_nodes} nodes")
        if len(set(self.edges)) != len(self.edges):
            raise ValueError("a cell lists an edge twice")
        for name in ("identity_ops", "zero_ops"):
            if not isinstance(getattr(self, name), frozenset):
                raise TypeError(f"{name} must be a frozenset of op names")
        both = self.identity_ops & self.zero_ops
        if both:
            raise ValueError(f"ops {sorted(both)} cannot be both identity and zero")
        unknown = (self.identity_ops | self.zero_ops) - set(self.ops)
        if unknown:
            raise ValueError(f"special ops {sorted(unknown)} are not in the op set")

    @classmethod
    def complete(
        cls,
        num_nodes: int,
        ops: Sequence[str],
        identity_ops: Sequence[str] = (),
        zero_ops: Sequence[str] = (),
    ) -> CellSpec:
        """A fully connected cell whose edges are ordered by destination, then source (NB201 order)."""
        edges = tuple((i, j) for j in range(1, num_nodes) for i in range(j))
        for name, group in (("identity_ops", identity_ops), ("zero_ops", zero_ops)):
            if isinstance(group, str):
                raise TypeError(f"{name} must be a sequence of op names, not the string {group!r}")
        return cls(num_nodes, edges, tuple(ops), frozenset(identity_ops), frozenset(zero_ops))

    def _check_ops(self, ops: Sequence[str]) -> None:
        if len(ops) != len(self.edges):
            raise ValueError(f"expected {len(self.edges)} edge ops, got {len(ops)}")
        for pos, op in enumerate(ops):
            if op not in self.ops:
                raise ValueError(f"edge {pos} has unknown op {op!r} (valid: {', '.join(self.ops)})")

    def node_expressions(self, ops: Sequence[str]) -> list[str]:
        """The canonical expression of every node, input node first."""
        self._check_ops(ops)
        incoming: list[list[tuple[int, str]]] = [[] for _ in range(self.num_nodes)]
        for (src, dst), op in zip(self.edges, ops):
            incoming[dst].append((src, op))
        nodes = [INPUT]
        for dst in range(1, self.num_nodes):
            terms = []
            for src, op in incoming[dst]:
                if op in self.zero_ops or nodes[src] == ZERO:
                    terms.append(ZERO)
                elif op in self.identity_ops:
                    terms.append(nodes[src])
                else:
                    terms.append(f"({nodes[src]})@{op}")
            nodes.append("+".join(sorted(terms)) if terms else ZERO)
        return nodes

    def canonical_form(self, ops: Sequence[str]) -> str:
        """The output node's canonical expression: equal exactly for equivalent cells."""
        return self.node_expressions(ops)[-1]

    def op_graph(self, ops: Sequence[str]) -> OpGraph:
        """The cell with ops on nodes, as built: one node per edge between input and output.

        Op nodes come in the order of the cell node their edge feeds, then edge order (for cells
        built by :meth:`complete`, such as NB201's, simply edge order). Op node ``k`` (edge
        ``src -> dst``) takes every op node whose edge ends at ``src`` (the input node when ``src`` is
        0) and feeds every op node whose edge starts at ``dst`` (the output node when ``dst`` is the
        cell's last node). Zero and identity ops stay nodes, so every cell has ``len(edges) + 2``.
        """
        self._check_ops(ops)
        n = len(self.edges) + 2
        order = sorted(range(len(self.edges)), key=lambda e: (self.edges[e][1], e))  # topological
        node = {e: pos for pos, e in enumerate(order, start=1)}
        adjacency = np.zeros((n, n), dtype=np.uint8)
        for k, (src, dst) in enumerate(self.edges):
            if src == 0:
                adjacency[0, node[k]] = 1
            if dst == self.num_nodes - 1:
                adjacency[node[k], n - 1] = 1
            for m, (_, into) in enumerate(self.edges):
                if into == src:
                    adjacency[node[m], node[k]] = 1
        return OpGraph(adjacency, (INPUT_LABEL, *(ops[e] for e in order), OUTPUT_LABEL))

    def class_graph(self, ops: Sequence[str]) -> OpGraph:
        """The graph of the cell's equivalence class: its canonical expression with ops on nodes.

        Under the canonicaliser's rules a node is a sum of terms, each the input or ``op(term sum)``;
        identity edges pass their terms through and zero edges (or zero inputs) add nothing. Every
        op occurrence of the output's expression becomes a node, fed by the nodes of its operand's
        terms (the input node for the input term), in sorted term order. So equivalent cells give
        *equal* graphs, live ops only: dead or zeroed edges vanish, identities become plain edges,
        and a node the expression counts twice (two paths through one op) appears twice. A cell
        whose output ignores its input gives ``input`` and ``output`` with no edge.
        """
        self._check_ops(ops)
        incoming: list[list[tuple[int, str]]] = [[] for _ in range(self.num_nodes)]
        for (src, dst), op in zip(self.edges, ops):
            incoming[dst].append((src, op))
        values: list[list[tuple]] = [[()]]  # a node's live terms; () is the input, (op, terms) an op
        for dst in range(1, self.num_nodes):
            terms: list[tuple] = []
            for src, op in incoming[dst]:
                if op in self.zero_ops or not values[src]:
                    continue
                terms.extend(values[src] if op in self.identity_ops else [(op, tuple(values[src]))])
            values.append(sorted(terms, key=repr))
        labels, edges = [INPUT_LABEL], []

        def emit(terms: Sequence[tuple]) -> list[int]:
            feeds = []
            for term in terms:
                if not term:
                    feeds.append(0)
                    continue
                preds = emit(term[1])
                labels.append(term[0])
                edges.extend((p, len(labels) - 1) for p in preds)
                feeds.append(len(labels) - 1)
            return feeds

        into_output = emit(values[-1])
        labels.append(OUTPUT_LABEL)
        edges.extend((p, len(labels) - 1) for p in into_output)
        adjacency = np.zeros((len(labels), len(labels)), dtype=np.uint8)
        for i, j in edges:
            adjacency[i, j] = 1
        return OpGraph(adjacency, tuple(labels))

    def is_degenerate(self, ops: Sequence[str]) -> bool:
        """True when no path from the input to the output avoids a zero op (output ignores input)."""
        self._check_ops(ops)
        reach = [False] * self.num_nodes
        reach[0] = True
        for (src, dst), op in sorted(zip(self.edges, ops), key=lambda e: e[0][1]):
            if reach[src] and op not in self.zero_ops:
                reach[dst] = True
        return not reach[-1]
