"""TEMPORARY: NB201 encodings until the space contract (``space.encode`` / ``space.graph``) lands.

To be replaced by the space's own ``encodings``/``encode``/``graph`` (branch ``spaces-contract``);
:func:`with_encodings` returns the space itself as soon as it declares them. Only NB201's ``onehot``
(6 edges x 5 ops) and its op graph (input, one node per edge op, output) are provided here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class OpGraph:
    """An op graph: upper-triangular adjacency, node ops (``input`` first, ``output`` last), vocabulary."""

    adjacency: np.ndarray
    ops: tuple[str, ...]
    vocab: tuple[str, ...]


class _NB201Encodings:
    """NB201 plus ``encodings``, ``encode`` and ``graph`` (delegates everything else to the space)."""

    encodings = ("onehot",)

    def __init__(self, space: Any) -> None:
        self._space = space

    def __getattr__(self, name: str) -> Any:
        return getattr(self._space, name)

    def encode(self, arch: Any, kind: str) -> np.ndarray:
        if kind != "onehot":
            raise ValueError(f"unknown encoding {kind!r} for nb201 (valid: onehot)")
        ops = self._space.ops_of(arch)
        out = np.zeros((len(ops), len(self._space.card.ops)), dtype=np.float32)
        out[np.arange(len(ops)), [self._space.card.ops.index(op) for op in ops]] = 1.0
        return out.ravel()

    def graph(self, arch: Any) -> OpGraph:
        ops = self._space.ops_of(arch)
        edges = self._space.cell.edges  # (src, dst) per edge, in the string's order
        n = len(edges) + 2
        adjacency = np.zeros((n, n), dtype=np.float32)
        for i, (src, dst) in enumerate(edges, start=1):
            if src == 0:
                adjacency[0, i] = 1
            if dst == self._space.cell.num_nodes - 1:
                adjacency[i, n - 1] = 1
            for j, (src2, _) in enumerate(edges, start=1):
                if src2 == dst:
                    adjacency[i, j] = 1
        vocab = ("input", *self._space.card.ops, "output")
        return OpGraph(adjacency, ("input", *ops, "output"), vocab)


def with_encodings(space: Any) -> Any:
    """``space`` itself when it declares encodings; NB201 wrapped with the temporary helpers otherwise."""
    if getattr(space, "encodings", None) and hasattr(space, "graph"):
        return space
    if space.name == "nb201":
        return _NB201Encodings(space)
    return space
