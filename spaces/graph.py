"""`OpGraph`: an architecture as a DAG with ops on nodes, and the graph encodings predictors use.

The ops-on-nodes form is the one NAS-Bench-101 is defined in (Ying et al., ICML 2019) and the one
graph predictors and the BANANAS path encoding read; cell spaces with ops on edges (NB201, DARTS)
reach it by turning every edge into an op node (:meth:`spaces.cell.CellSpec.op_graph`), or by
writing their canonical expression with ops on nodes (:meth:`spaces.cell.CellSpec.class_graph`), which
gives equivalent cells equal graphs.
* :func:`path_encoding` is the BANANAS path encoding (White, Neiswanger & Savani, "BANANAS: Bayesian
  Optimization with Neural Architectures for Neural Architecture Search", AAAI 2021): one indicator per
  sequence of ops along an input->output path, paths of length 0 .. ``max_length``.
* :func:`adjacency_encoding` is the adjacency-matrix encoding (White et al., "A Study on Encodings for
  Neural Architecture Search", NeurIPS 2020): the flattened strict upper triangle of the adjacency,
  padded to ``max_nodes``, followed by a one-hot row per node over the vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

INPUT = "input"
OUTPUT = "output"


@dataclass(frozen=True, eq=False)
class OpGraph:
    """A DAG with one op label per node: node 0 is ``"input"``, node ``n-1`` is ``"output"``.

    ``adjacency[i, j]`` (uint8) is 1 for an edge ``i -> j``; only ``i < j`` may be set. Equality is
    exact (same node order); isomorphism is a question for a graph library.
    """

    adjacency: np.ndarray
    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        adjacency = np.array(self.adjacency, dtype=np.uint8)
        n = len(self.ops)
        if adjacency.shape != (n, n):
            raise ValueError(f"op graph adjacency must be {n} x {n} for {n} ops, got {adjacency.shape}")
        if n < 2 or self.ops[0] != INPUT or self.ops[-1] != OUTPUT:
            raise ValueError(f"op graph ops must run from 'input' to 'output', got {self.ops}")
        if np.tril(adjacency).any() or adjacency.max(initial=0) > 1:
            raise ValueError("op graph adjacency must be a 0/1 strictly upper-triangular matrix (a DAG)")
        adjacency.setflags(write=False)
        object.__setattr__(self, "adjacency", adjacency)
        object.__setattr__(self, "ops", tuple(self.ops))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OpGraph):
            return NotImplemented
        return self.ops == other.ops and np.array_equal(self.adjacency, other.adjacency)

    def __hash__(self) -> int:
        return hash((self.ops, self.adjacency.tobytes()))

    @property
    def num_nodes(self) -> int:
        """Number of nodes, input and output included."""
        return len(self.ops)

    @cached_property
    def paths(self) -> tuple[tuple[str, ...], ...]:
        """The op sequence (input and output left out) of every input->output path, sorted."""
        found: list[list[tuple[str, ...]]] = [[] for _ in self.ops]
        found[0] = [()]
        for j in range(1, self.num_nodes):
            for i in np.flatnonzero(self.adjacency[:, j]):
                step = () if i == 0 else (self.ops[i],)
                found[j].extend(p + step for p in found[i])
        return tuple(sorted(found[-1]))


def path_encoding(graph: OpGraph, ops: Sequence[str], max_length: int) -> np.ndarray:
    """BANANAS path encoding: an indicator for every op sequence of length 0..``max_length`` on ``ops``.

    A path of length L with op indices ``o_0..o_{L-1}`` sets entry
    ``sum_{l<L} k**l + sum_j o_j * k**j`` (k = ``len(ops)``), so the vector has ``sum_{l<=max} k**l``
    entries. ValueError names a path longer than ``max_length`` or an op outside ``ops``.
    """
    k = len(ops)
    offsets = np.cumsum([0] + [k**length for length in range(max_length + 1)])
    out = np.zeros(int(offsets[-1]), dtype=np.float32)
    code = {op: i for i, op in enumerate(ops)}
    for path in graph.paths:
        if len(path) > max_length:
            raise ValueError(f"path {path} is longer than the encoding's {max_length} ops")
        unknown = [op for op in path if op not in code]
        if unknown:
            raise ValueError(f"path op {unknown[0]!r} is not one of the encoded ops {tuple(ops)}")
        out[offsets[len(path)] + sum(code[op] * k**j for j, op in enumerate(path))] = 1.0
    return out


def adjacency_encoding(graph: OpGraph, max_nodes: int, vocab: Sequence[str]) -> np.ndarray:
    """Strict upper triangle of the adjacency padded to ``max_nodes``, then one-hot node ops over ``vocab``.

    The graph's nodes fill slots ``0..n-2`` and its output the last slot, so padding slots sit between
    them with no edges and all-zero op rows. Length ``max_nodes * (max_nodes - 1) / 2 + max_nodes * len(vocab)``.
    """
    n = graph.num_nodes
    if n > max_nodes:
        raise ValueError(f"graph has {n} nodes, more than the encoding's {max_nodes}")
    slots = [*range(n - 1), max_nodes - 1]
    padded = np.zeros((max_nodes, max_nodes), dtype=np.float32)
    padded[np.ix_(slots, slots)] = graph.adjacency
    onehot = np.zeros((max_nodes, len(vocab)), dtype=np.float32)
    code = {op: i for i, op in enumerate(vocab)}
    for slot, op in zip(slots, graph.ops):
        if op not in code:
            raise ValueError(f"node op {op!r} is not in the encoding's vocabulary {tuple(vocab)}")
        onehot[slot, code[op]] = 1.0
    return np.concatenate([padded[np.triu_indices(max_nodes, k=1)], onehot.ravel()])
