"""Genetic-programming operators on typed expression trees: creation, mutation, crossover, selection.

Strongly typed GP (Montana, Evolutionary Computation 3(2), 1995): every operator respects the kinds of
:mod:`predictors.discovery.ops`, so every tree these functions make is well typed. Creation is Koza's
ramped half-and-half (Koza, Genetic Programming, 1992); crossover swaps two subtrees of the same kind
(one child); mutation replaces a subtree by a new random one of its kind (subtree mutation) or an
operator by another of the same signature (point mutation). Bloat is held by hard limits
(:class:`Limits`: a child over a limit is replaced by its parent, Koza's rule) and by lexicographic
parsimony in tournaments (equal fitness: the smaller tree wins; Luke & Panait, GECCO 2002). All
randomness comes from the ``numpy.random.Generator`` passed in, so a seed fixes everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from predictors.discovery.expr import TERMINALS, Node, kind_of
from predictors.discovery.ops import AGGREGATIONS, OPS, Kind, operand_kind, ops_producing

MIN_DEPTH: dict[Kind, int] = {"tensor": 1, "scalar": 2, "score": 3}
"""The shallowest tree of each kind (a terminal; a reduction of one; an aggregation of that)."""


@dataclass(frozen=True)
class Limits:
    """Bloat limits: trees deeper than ``max_depth`` or larger than ``max_size`` nodes are refused."""

    max_depth: int = 8
    max_size: int = 24

    def __post_init__(self) -> None:
        if self.max_depth < MIN_DEPTH["score"] or self.max_size < MIN_DEPTH["score"]:
            raise ValueError(f"limits must allow a depth and size of at least 3, got {self}")

    def allows(self, node: Node) -> bool:
        """True when ``node`` is within both limits."""
        return node.depth <= self.max_depth and node.size <= self.max_size


def _choice(rng: np.random.Generator, items: Sequence[str]) -> str:
    return items[int(rng.integers(len(items)))]


def random_tree(rng: np.random.Generator, kind: Kind, depth: int, full: bool = False) -> Node:
    """A random well-typed tree of ``kind`` and depth at most ``depth`` (exactly, where possible, if ``full``).

    Raises ValueError when ``depth`` is below the minimum for ``kind`` (:data:`MIN_DEPTH`).
    """
    if depth < MIN_DEPTH[kind]:
        raise ValueError(f"a {kind} needs depth >= {MIN_DEPTH[kind]}, got {depth}")
    if kind == "tensor" and (depth == 1 or (not full and rng.random() < 0.3)):
        return Node(_choice(rng, list(TERMINALS)))
    options = [
        name for name in ops_producing(kind) if depth - 1 >= MIN_DEPTH[operand_kind(OPS.get(name), kind)]
    ]
    name = _choice(rng, options)
    op = OPS.get(name)
    child_kind = operand_kind(op, kind)
    return Node(name, tuple(random_tree(rng, child_kind, depth - 1, full) for _ in range(op.arity)))


def random_expression(
    rng: np.random.Generator, limits: Limits, min_depth: int = 3, max_depth: int = 6
) -> Node:
    """A ramped half-and-half expression (root: an aggregation over layers) within ``limits``."""
    max_depth = min(max_depth, limits.max_depth)
    for _ in range(100):
        depth = int(rng.integers(min_depth, max_depth + 1))
        tree = random_tree(rng, "score", depth, full=bool(rng.random() < 0.5))
        if limits.allows(tree):
            return tree
    return Node(_choice(rng, list(AGGREGATIONS)), (Node("mean", (Node(_choice(rng, list(TERMINALS))),)),))


def mutate(rng: np.random.Generator, tree: Node, limits: Limits) -> Node:
    """Subtree mutation (2/3) or point mutation (1/3); the parent itself if the child breaks a limit."""
    subtrees = tree.subtrees()
    path, target = subtrees[int(rng.integers(len(subtrees)))]
    kind = kind_of(target)
    if rng.random() < 1 / 3 and target.children:
        op = OPS.get(target.op)
        same = [
            n
            for n in OPS.names()
            if n != target.op
            and (o := OPS.get(n)).arity == op.arity
            and (o.input, o.output) == (op.input, op.output)
        ]
        new = Node(_choice(rng, same), target.children) if same else target
    else:
        room = limits.max_depth - len(path)
        if room < MIN_DEPTH[kind]:
            return tree
        new = random_tree(rng, kind, int(rng.integers(MIN_DEPTH[kind], min(room, 5) + 1)))
    child = tree.replace(path, new)
    return child if limits.allows(child) else tree


def crossover(rng: np.random.Generator, a: Node, b: Node, limits: Limits) -> Node:
    """One child: a random subtree of ``a`` replaced by a random subtree of ``b`` of the same kind.

    The root of ``a`` is never the crossover point (the child keeps ``a``'s aggregation); ``a`` itself
    is returned when ``b`` has no subtree of that kind or the child breaks a limit.
    """
    points = a.subtrees()[1:]
    path, target = points[int(rng.integers(len(points)))]
    kind = kind_of(target)
    donors = [n for _, n in b.subtrees() if kind_of(n) == kind]
    if not donors:
        return a
    child = a.replace(path, donors[int(rng.integers(len(donors)))])
    return child if limits.allows(child) else a


def tournament(rng: np.random.Generator, fitness: Sequence[float], sizes: Sequence[int], k: int) -> int:
    """Index of the tournament winner among ``k`` drawn with replacement: highest fitness, then smallest."""
    entrants = rng.integers(len(fitness), size=k)
    return int(min(entrants, key=lambda i: (-fitness[i], sizes[i], i)))
