"""The operators of the discovery expression language, one registry entry each (adding one = one entry).

Values flow through three kinds (a strongly typed GP, Montana, Evolutionary Computation 3(2), 1995):

* ``tensor``: one matrix per layer, a :class:`Tensor` of shape ``(archs, layers, rows, cols)`` that also
  carries each layer's *true* row and column counts (the gathered matrices are fixed-size subsamples;
  ``sum``, ``norm`` and ``trace`` scale their subsample means back to the full layer with these counts);
* ``scalar``: one number per layer, ``(archs, layers)``;
* ``score``: one number per architecture, ``(archs,)``: only an aggregation over layers makes one, and
  every expression's root is an aggregation.

Elementwise operators apply to tensors and scalars alike (the result keeps the first operand's kind).
A binary operator on two tensors needs equal subsample shapes; a mismatch (e.g. ``gram(X) * X``)
raises :class:`ShapeError`, which the evaluator turns into status ``error``, never a crash. Operators do
not guard against overflow: NaN and inf propagate and the evaluator gives them status ``nan``/``inf``.
``log`` and ``sqrt`` are the "safe" forms of GP practice (Koza 1992): on ``|x|`` (plus 1e-12 for log).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from spaces.registry import Registry

Kind = Literal["tensor", "scalar", "score"]
KINDS: tuple[Kind, ...] = ("tensor", "scalar", "score")
ELEMENTWISE = "elementwise"
"""Input kind of the operators that take a tensor or a scalar and keep it."""
LOG_EPS = 1e-12
"""Added to |x| by the safe log, so log(0) is -27.6 instead of -inf."""


class ShapeError(ValueError):
    """Two operands whose subsample shapes differ, or a square-matrix operator on a non-square one."""


class Tensor(NamedTuple):
    """Per-layer matrices ``(archs, layers, r, c)`` with their true row and column counts ``(archs, layers)``."""

    data: np.ndarray
    rows: np.ndarray
    cols: np.ndarray


Value = Tensor | np.ndarray


@dataclass(frozen=True)
class Op:
    """One operator: arity, input and output kinds, the function and how it prints."""

    name: str
    arity: int
    input: str
    """``tensor``, ``scalar`` or :data:`ELEMENTWISE` (a tensor or a scalar, kept as it is)."""
    output: str
    """``tensor``, ``scalar``, ``score`` or :data:`ELEMENTWISE` (the input's kind)."""
    fn: Callable[..., Value] = lambda *a: a[0]
    template: str = "{name}({args})"
    """How the formula prints: ``{0}``, ``{1}`` are the operands, ``{args}`` all of them."""

    def out_kind(self, in_kind: Kind) -> Kind:
        """The kind of the result for operands of ``in_kind``."""
        return in_kind if self.output == ELEMENTWISE else self.output  # type: ignore[return-value]

    def accepts(self, kind: Kind) -> bool:
        """True when operands of ``kind`` are allowed."""
        return kind in ("tensor", "scalar") if self.input == ELEMENTWISE else kind == self.input


OPS: Registry[Op] = Registry("discovery operator")


def _map(f: Callable[[np.ndarray], np.ndarray]) -> Callable[[Value], Value]:
    def apply(x: Value) -> Value:
        return Tensor(f(x.data), x.rows, x.cols) if isinstance(x, Tensor) else f(x)

    return apply


def _zip(f: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Callable[[Value, Value], Value]:
    def apply(x: Value, y: Value) -> Value:
        if isinstance(x, Tensor):
            if x.data.shape != y.data.shape:
                raise ShapeError(f"operand shapes {x.data.shape[2:]} and {y.data.shape[2:]} differ")
            return Tensor(f(x.data, y.data), x.rows, x.cols)
        return f(x, y)

    return apply


def _unary(name: str, f: Callable[[np.ndarray], np.ndarray], template: str = "{name}({args})") -> None:
    OPS.register(name, Op(name, 1, ELEMENTWISE, ELEMENTWISE, _map(f), template))


def _binary(name: str, f: Callable[[np.ndarray, np.ndarray], np.ndarray], template: str) -> None:
    OPS.register(name, Op(name, 2, ELEMENTWISE, ELEMENTWISE, _zip(f), template))


_unary("abs", np.abs, "|{0}|")
_unary("neg", np.negative, "-({0})")
_unary("square", np.square, "({0})^2")
_unary("sqrt", lambda x: np.sqrt(np.abs(x)), "sqrt|{0}|")
_unary("log", lambda x: np.log(np.abs(x) + LOG_EPS), "log|{0}|")
_unary("sign", np.sign)
_unary("relu", lambda x: np.maximum(x, 0))
_unary("sigmoid", lambda x: 1 / (1 + np.exp(-x)))
_unary("inv", lambda x: 1 / x, "1/({0})")
_binary("add", np.add, "({0} + {1})")
_binary("sub", np.subtract, "({0} - {1})")
_binary("mul", np.multiply, "({0} * {1})")
_binary("div", np.divide, "({0} / {1})")
_binary("max", np.maximum, "max({0}, {1})")
_binary("min", np.minimum, "min({0}, {1})")


def _square(x: Tensor, op: str) -> None:
    if x.data.shape[-1] != x.data.shape[-2]:
        raise ShapeError(f"{op} needs a square matrix, got {x.data.shape[2:]}")


def _gram(x: Tensor) -> Tensor:
    """``X X^T / cols``: the rows' inner-product kernel (images x images for per-image statistics)."""
    d = x.data
    return Tensor(np.matmul(d, np.swapaxes(d, -1, -2)) / d.shape[-1], x.rows, x.rows)


def _transpose(x: Tensor) -> Tensor:
    return Tensor(np.ascontiguousarray(np.swapaxes(x.data, -1, -2)), x.cols, x.rows)


def _scaled(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``x / scale`` where the scale is positive, 0 where it is 0 (a zero or constant row stays zeros, as
    MeCo's reference sets undefined correlations to 0: Jiang et al., NeurIPS 2023)."""
    return np.where(scale > 0, x / np.where(scale > 0, scale, 1), 0).astype(x.dtype)


def _rownorm(x: Tensor) -> Tensor:
    """Each row divided by its L2 norm (a zero row stays zeros)."""
    return Tensor(_scaled(x.data, np.sqrt(np.square(x.data).sum(axis=-1, keepdims=True))), x.rows, x.cols)


def _standardise(x: Tensor) -> Tensor:
    """Each row minus its mean, over its standard deviation (gram of this is a correlation matrix)."""
    centred = x.data - x.data.mean(axis=-1, keepdims=True)
    return Tensor(_scaled(centred, np.sqrt(np.square(centred).mean(axis=-1, keepdims=True))), x.rows, x.cols)


for _name, _fn, _tpl in (
    ("gram", _gram, "gram({0})"),
    ("transpose", _transpose, "({0})^T"),
    ("rownorm", _rownorm, "rownorm({0})"),
    ("standardise", _standardise, "standardise({0})"),
):
    OPS.register(_name, Op(_name, 1, "tensor", "tensor", _fn, _tpl))


def _mean(x: Tensor) -> np.ndarray:
    return x.data.mean(axis=(-1, -2))


def _sum(x: Tensor) -> np.ndarray:
    """The sum over the whole layer, estimated as the subsample mean times the true element count."""
    return _mean(x) * x.rows * x.cols


def _norm(x: Tensor) -> np.ndarray:
    """The Frobenius norm over the whole layer, from the subsample's mean square and the true count."""
    return np.sqrt(np.square(x.data).mean(axis=(-1, -2)) * x.rows * x.cols)


def _std(x: Tensor) -> np.ndarray:
    return x.data.std(axis=(-1, -2))


def _trace(x: Tensor) -> np.ndarray:
    _square(x, "trace")
    return np.diagonal(x.data, axis1=-2, axis2=-1).mean(axis=-1) * x.rows


def _logdet(x: Tensor) -> np.ndarray:
    """log|det| of the (square) subsample matrix; a singular one gives -inf (status ``inf``)."""
    _square(x, "logdet")
    return np.linalg.slogdet(x.data.astype(np.float64))[1].astype(np.float32)


def _min_eig(x: Tensor) -> np.ndarray:
    """Smallest eigenvalue of the symmetric part of the (square) subsample matrix (MeCo's statistic)."""
    _square(x, "min_eig")
    sym = (x.data + np.swapaxes(x.data, -1, -2)).astype(np.float64) / 2
    if not np.isfinite(sym).all():  # LAPACK refuses non-finite input: give the status instead
        return np.full(sym.shape[:-2], np.nan, dtype=np.float32)
    return np.linalg.eigvalsh(sym)[..., 0].astype(np.float32)


for _name, _fn in (
    ("mean", _mean),
    ("sum", _sum),
    ("norm", _norm),
    ("std", _std),
    ("trace", _trace),
    ("logdet", _logdet),
    ("min_eig", _min_eig),
):
    OPS.register(_name, Op(_name, 1, "tensor", "scalar", _fn))


def _masked(reduce: Callable[[np.ndarray], np.ndarray], fill: float) -> Callable[..., np.ndarray]:
    def aggregate(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return reduce(np.where(mask, np.asarray(x, dtype=np.float64), fill))

    return aggregate


AGGREGATIONS: dict[str, Callable[..., np.ndarray]] = {
    "layer_mean": lambda x, mask: _masked(lambda v: v.sum(axis=-1), 0.0)(x, mask) / mask.sum(axis=-1),
    "layer_sum": _masked(lambda x: x.sum(axis=-1), 0.0),
    "layer_max": _masked(lambda x: x.max(axis=-1), -np.inf),
    "layer_min": _masked(lambda x: x.min(axis=-1), np.inf),
}
"""Aggregations over an architecture's layers in float64 (padding layers masked out): the root of every
expression. All are symmetric in the layers, so the order the gather records them in changes no value."""
for _name in AGGREGATIONS:
    OPS.register(_name, Op(_name, 1, "scalar", "score", AGGREGATIONS[_name]))


def ops_producing(kind: Kind, arity: int | None = None) -> list[str]:
    """Names of the operators that can give a value of ``kind`` (optionally of one arity), sorted."""
    names = []
    for name in OPS.names():
        op = OPS.get(name)
        makes = (op.output == ELEMENTWISE and kind in ("tensor", "scalar")) or op.output == kind
        if makes and (arity is None or op.arity == arity):
            names.append(name)
    return names


def operand_kind(op: Op, out: Kind) -> Kind:
    """The operand kind ``op`` needs to give a value of kind ``out``."""
    if op.input == ELEMENTWISE:
        return out
    return op.input  # type: ignore[return-value]
