"""Evaluate an expression on gathered statistics: scores per architecture, or a status saying why not.

Evaluation is vectorised over every architecture and layer at once (numpy, float32, one thread), so an
expression costs a few array operations on ``(archs, layers, 16, 64)`` arrays. Failures never raise:
a shape mismatch or a refused operation gives status ``error``, a non-finite per-layer value or score
gives ``nan`` or ``inf`` (as the table statuses do), each with a one-line message. Padding layers
(architectures with fewer layers) are ignored by the finiteness check and masked by the aggregation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictors.discovery.expr import Node
from predictors.discovery.gather import Stats
from predictors.discovery.ops import AGGREGATIONS, OPS, ShapeError, Tensor, Value


@dataclass(frozen=True)
class Evaluation:
    """Scores ``(archs,)`` float64 when ``status == "ok"``; otherwise None and a message."""

    scores: np.ndarray | None
    status: str
    message: str = ""


def _value(node: Node, stats: Stats) -> Value:
    if not node.children:
        if node.op not in stats.data:
            raise KeyError(f"terminal {node.op!r} was not gathered")
        return Tensor(stats.data[node.op], stats.rows[node.op], stats.cols[node.op])
    op = OPS.get(node.op)
    if node.op in AGGREGATIONS:
        return op.fn(_value(node.children[0], stats), stats.mask)
    return op.fn(*(_value(c, stats) for c in node.children))


def _non_finite(values: np.ndarray, where: str) -> Evaluation | None:
    if np.isnan(values).any():
        return Evaluation(None, "nan", f"NaN {where}")
    if np.isinf(values).any():
        return Evaluation(None, "inf", f"infinite value {where}")
    return None


def evaluate(node: Node, stats: Stats) -> Evaluation:
    """The expression's score of every architecture in ``stats`` (never raises on a bad expression)."""
    if node.op not in AGGREGATIONS:
        return Evaluation(None, "error", f"the root {node.op!r} is not an aggregation over layers")
    try:
        with np.errstate(all="ignore"):
            per_layer = _value(node.children[0], stats)
            if isinstance(per_layer, Tensor):
                return Evaluation(None, "error", "the aggregated operand is not a per-layer scalar")
            bad = _non_finite(np.where(stats.mask, per_layer, 0.0), "in a layer's value")
            if bad is not None:
                return bad
            scores = np.asarray(OPS.get(node.op).fn(per_layer, stats.mask), dtype=np.float64)
    except (ShapeError, KeyError, ValueError, np.linalg.LinAlgError) as exc:
        return Evaluation(None, "error", f"{type(exc).__name__}: {exc}")
    except MemoryError:
        return Evaluation(None, "oom", "out of memory")
    return _non_finite(scores, "in a score") or Evaluation(scores, "ok")
