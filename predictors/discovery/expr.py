"""Expressions as data: immutable trees over the gathered per-layer statistics, with a text form.

An expression is a :class:`Node` tree whose leaves are terminals (:data:`TERMINALS`, the statistics
:mod:`predictors.discovery.gather` records per Conv2d/Linear layer) and whose inner nodes are registered
operators (:data:`predictors.discovery.ops.OPS`). Its canonical text is the prefix form
``layer_mean(sum(mul(Z, dZ)))``: :func:`parse` reads it back, :attr:`Node.hash` is the SHA-256 of it
(what a proxy card and a protocol record), and :func:`formula` prints the readable infix form
``mean over layers of sum((Z * dZ))``. Every well-formed expression is typed: its root is an
aggregation over layers (kind ``score``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property

from predictors.discovery.ops import OPS, Kind, operand_kind

TERMINALS: dict[str, str] = {
    "W": "the layer's weight, (out units, fan-in)",
    "dW": "the loss gradient of the weight, (out units, fan-in)",
    "A": "the layer's input activation per image, (images, input units)",
    "Z": "the layer's output (pre-activation: before BN and the next ReLU) per image, (images, output units)",
    "dZ": "the loss gradient of the layer's output per image, (images, output units)",
}
"""Per-layer statistics an expression reads; every one is a ``tensor`` (a subsampled matrix per layer)."""
AGGREGATION_TEXT = {
    "layer_mean": "mean over layers of",
    "layer_sum": "sum over layers of",
    "layer_max": "max over layers of",
    "layer_min": "min over layers of",
}
_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|\(|\)|,)")


@dataclass(frozen=True)
class Node:
    """An operator applied to children, or a terminal (no children). Immutable and hashable."""

    op: str
    children: tuple[Node, ...] = field(default=())

    @cached_property
    def text(self) -> str:
        """The canonical prefix text, e.g. ``layer_mean(sum(mul(Z, dZ)))``."""
        if not self.children:
            return self.op
        return f"{self.op}({', '.join(c.text for c in self.children)})"

    @cached_property
    def hash(self) -> str:
        """SHA-256 (hex) of :attr:`text`: the expression's identity in files, journals and proxy cards."""
        return hashlib.sha256(self.text.encode()).hexdigest()

    @cached_property
    def size(self) -> int:
        """Number of nodes."""
        return 1 + sum(c.size for c in self.children)

    @cached_property
    def depth(self) -> int:
        """Longest root-to-leaf path in nodes (a terminal has depth 1)."""
        return 1 + max((c.depth for c in self.children), default=0)

    @cached_property
    def terminals(self) -> frozenset[str]:
        """The terminals the expression reads."""
        if not self.children:
            return frozenset({self.op})
        return frozenset().union(*(c.terminals for c in self.children))

    def __str__(self) -> str:
        return self.text

    def subtrees(self) -> list[tuple[tuple[int, ...], Node]]:
        """Every ``(path, subtree)`` in prefix order; a path is the child indices from the root."""
        out: list[tuple[tuple[int, ...], Node]] = [((), self)]
        for i, child in enumerate(self.children):
            out += [((i, *p), n) for p, n in child.subtrees()]
        return out

    def replace(self, path: tuple[int, ...], new: Node) -> Node:
        """A copy with the subtree at ``path`` replaced by ``new``."""
        if not path:
            return new
        i, rest = path[0], path[1:]
        kids = list(self.children)
        kids[i] = kids[i].replace(rest, new)
        return Node(self.op, tuple(kids))


def kind_of(node: Node) -> Kind:
    """The kind of ``node``'s value; ValueError naming the node if the tree is ill-typed or unknown."""
    if not node.children:
        if node.op not in TERMINALS:
            raise ValueError(f"unknown terminal {node.op!r} (terminals: {', '.join(TERMINALS)})")
        return "tensor"
    if node.op not in OPS:
        raise ValueError(f"unknown operator {node.op!r} (operators: {', '.join(OPS.names())})")
    op = OPS.get(node.op)
    if len(node.children) != op.arity:
        raise ValueError(f"{node.op} takes {op.arity} operand(s), got {len(node.children)} in {node.text}")
    kinds = [kind_of(c) for c in node.children]
    if len(set(kinds)) != 1 or not op.accepts(kinds[0]):
        raise ValueError(f"{node.op} cannot take operands of kind {'/'.join(kinds)} in {node.text}")
    return op.out_kind(kinds[0])


def check(node: Node) -> Node:
    """``node`` if it is a well-typed expression (root kind ``score``); ValueError naming the fault otherwise."""
    kind = kind_of(node)
    if kind != "score":
        raise ValueError(f"an expression's root must aggregate over layers (layer_mean, ...), got {kind}")
    return node


def _tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"unexpected character {text[pos]!r} at position {pos} of {text!r}")
        tokens.append(m.group(1))
        pos = m.end()
    return tokens


def parse(text: str) -> Node:
    """The expression of a prefix text (``layer_mean(sum(mul(Z, dZ)))``), type-checked.

    Raises:
        ValueError: a syntax error, an unknown name or an ill-typed tree, with where it is.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("an expression must be a non-empty string")
    tokens = _tokens(text)
    pos = 0

    def node() -> Node:
        nonlocal pos
        if pos >= len(tokens) or tokens[pos] in "(),":
            raise ValueError(f"expected a name at token {pos} of {text!r}")
        name = tokens[pos]
        pos += 1
        if pos < len(tokens) and tokens[pos] == "(":
            pos += 1
            kids = [node()]
            while pos < len(tokens) and tokens[pos] == ",":
                pos += 1
                kids.append(node())
            if pos >= len(tokens) or tokens[pos] != ")":
                raise ValueError(f"expected ')' at token {pos} of {text!r}")
            pos += 1
            return Node(name, tuple(kids))
        return Node(name)

    tree = node()
    if pos != len(tokens):
        raise ValueError(f"unexpected {tokens[pos]!r} after a complete expression in {text!r}")
    return check(tree)


def _infix(node: Node) -> str:
    if not node.children:
        return node.op
    op = OPS.get(node.op)
    args = [_infix(c) for c in node.children]
    return op.template.format(*args, name=node.op, args=", ".join(args))


def formula(node: Node) -> str:
    """The readable formula, e.g. ``mean over layers of sum((Z * dZ))``."""
    if node.op in AGGREGATION_TEXT:
        return f"{AGGREGATION_TEXT[node.op]} {_infix(node.children[0])}"
    return _infix(node)


__all__ = ["TERMINALS", "Node", "check", "formula", "kind_of", "operand_kind", "parse"]
