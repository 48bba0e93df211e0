"""A space-independent encoding traced from the built PyTorch module (``torch.fx``): an op-typed DAG.

GENNAPE (Mills et al., AAAI 2023) and ONNX-Net (2025) encode any network as the graph of its computation
with coarse op types, so one predictor can be trained across search spaces. Here the module is traced
with ``torch.fx.symbolic_trace`` (standard ``torch.nn`` layers are leaves, everything else is traced
through) and its graph is reduced to a canonical *expression DAG* by hash-consing:

* every value is an expression ``(op signature, operands)``, identified by a hash of its content
  (Merkle-style), so two equal computations are one node whatever the module, weights or trace order;
* identity layers (``nn.Identity``, dropout) pass their operand through; a multiplication by the literal
  0 is the zero value, an op all of whose tensor operands are zero is zero (the rule of NAS-Bench-201's
  canonical form, Dong & Yang, ICLR 2020: conv, ReLU, BN at init and pooling map 0 to 0);
* additions are one n-ary ``sum`` whose operands are flattened (nested sums) and sorted, zeros dropped
  (a one-operand sum is its operand), since addition is associative and commutative;
* only what the output depends on is kept.

So cells of one NB201 equivalence class (equal canonical expressions) give *identical* DAGs: the
encoding is a function of the computation, never of the architecture string. Node labels come from a
fixed vocabulary :data:`OP_TYPES` (``conv3x3``, ``norm``, ``relu``, ``sum``, ``gap``, ``linear`` ...),
the same for every space. Nodes are ordered by depth, then by content hash (a canonical order).
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

OP_TYPES = (
    "input",
    "output",
    "conv1x1",
    "conv3x3",
    "conv5x5",
    "conv7x7",
    "conv",
    "dwconv",
    "norm",
    "relu",
    "act",
    "avgpool",
    "maxpool",
    "gap",
    "linear",
    "sum",
    "mul",
    "cat",
    "reshape",
    "matmul",
    "softmax",
    "embedding",
    "attention",
    "constant",
    "zero",
    "other",
)
"""Op types of traced graphs (the GNN's node vocabulary, the count features' columns)."""

STATS = (
    "nodes",
    "edges",
    "depth",
    "shortest_path",
    "conv_depth_max",
    "conv_depth_min",
    "strided",
    "max_fan_in",
)
"""Graph statistics after the op-type counts in :func:`fx_vector` (parameters are left out: a dead
conv still has them, so they would differ inside an equivalence class)."""

_CONVS = {1: "conv1x1", 3: "conv3x3", 5: "conv5x5", 7: "conv7x7"}
_ACTS = ("ReLU6", "GELU", "SiLU", "Hardswish", "Hardsigmoid", "Sigmoid", "Tanh", "LeakyReLU", "ELU", "Mish")
_FUNCTIONS = {
    "relu": "relu",
    "relu_": "relu",
    "gelu": "act",
    "silu": "act",
    "sigmoid": "act",
    "tanh": "act",
    "mul": "mul",
    "cat": "cat",
    "concat": "cat",
    "flatten": "reshape",
    "view": "reshape",
    "reshape": "reshape",
    "permute": "reshape",
    "transpose": "reshape",
    "contiguous": "reshape",
    "matmul": "matmul",
    "bmm": "matmul",
    "softmax": "softmax",
    "mean": "gap",
    "adaptive_avg_pool2d": "gap",
    "avg_pool2d": "avgpool",
    "max_pool2d": "maxpool",
}
_ADDS = {"add", "add_", "iadd", "__add__", "__iadd__"}
_PASS_THROUGH = ("Identity", "Dropout", "Dropout2d", "DropPath")


@dataclass(frozen=True)
class TracedGraph:
    """A canonical op-typed DAG: ``adjacency[i, j]`` counts uses of node ``i`` by node ``j`` (i < j)."""

    adjacency: np.ndarray
    ops: tuple[str, ...]
    strided: int


def _module_op(module: Any) -> tuple[str, str] | None:
    """``(op type, signature)`` of a leaf module; None for a pass-through (identity, dropout)."""
    import torch.nn as nn

    kind = type(module).__name__
    if kind in _PASS_THROUGH:
        return None
    if isinstance(module, nn.modules.conv._ConvNd):
        depthwise = module.groups > 1 and module.groups == module.in_channels
        op = "dwconv" if depthwise else _CONVS.get(module.kernel_size[0], "conv")
        return op, f"{op}/k{module.kernel_size}/s{module.stride}/d{module.dilation}/g{module.groups > 1}"
    if isinstance(module, nn.modules.batchnorm._NormBase | nn.LayerNorm | nn.GroupNorm):
        return "norm", "norm"
    if isinstance(module, nn.ReLU):
        return "relu", "relu"
    if kind in _ACTS:
        return "act", kind
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveAvgPool1d):
        return "gap", "gap"
    if isinstance(module, nn.AvgPool2d | nn.AvgPool1d | nn.MaxPool2d | nn.MaxPool1d):
        op = "avgpool" if "Avg" in kind else "maxpool"
        return op, f"{op}/k{module.kernel_size}/s{module.stride}"
    if isinstance(module, nn.Linear):
        return "linear", "linear"
    if isinstance(module, nn.Embedding):
        return "embedding", "embedding"
    if isinstance(module, nn.MultiheadAttention):
        return "attention", "attention"
    if isinstance(module, nn.Flatten):
        return "reshape", "flatten"
    return "other", kind


def _is_zero_literal(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


def _stride_of(module: Any) -> int:
    stride = getattr(module, "stride", 1)
    stride = stride[0] if isinstance(stride, tuple | list) else stride
    return int(stride) if isinstance(stride, int) else 1


class _Builder:
    """Hash-consed expressions: id -> (op type, signature, operand ids)."""

    ZERO = "zero"

    def __init__(self) -> None:
        self.exprs: dict[str, tuple[str, str, tuple[str, ...]]] = {}
        self.strided: set[str] = set()

    def make(self, op: str, signature: str, operands: tuple[str, ...]) -> str:
        key = hashlib.sha256(repr((signature, operands)).encode()).hexdigest()[:20]
        self.exprs.setdefault(key, (op, signature, operands))
        return key

    def op(self, op: str, signature: str, operands: list[str]) -> str:
        if operands and all(o == self.ZERO for o in operands):
            return self.ZERO
        parts = [self.make("zero", "zero", ()) if o == self.ZERO else o for o in operands]
        return self.make(op, signature, tuple(parts))

    def sum(self, operands: list[str]) -> str:
        terms: list[str] = []
        for o in operands:
            if o == self.ZERO:
                continue
            if self.exprs[o][0] == "sum":
                terms.extend(self.exprs[o][2])
            else:
                terms.append(o)
        if not terms:
            return self.ZERO
        if len(terms) == 1:
            return terms[0]
        return self.make("sum", "sum", tuple(sorted(terms)))


def _tensor_args(args: Any, values: dict[str, str]) -> list[str]:
    import torch.fx

    found: list[str] = []
    for a in args if isinstance(args, list | tuple) else [args]:
        if isinstance(a, torch.fx.Node):
            if a.name in values:
                found.append(values[a.name])
        elif isinstance(a, list | tuple):
            found.extend(_tensor_args(a, values))
    return found


def trace_graph(module: Any) -> TracedGraph:
    """The canonical op-typed DAG of ``module`` (a ``torch.nn.Module``) traced by ``torch.fx``.

    Raises ValueError (one line) when the module cannot be traced symbolically.
    """
    import torch.fx

    try:
        traced = torch.fx.symbolic_trace(module)
    except Exception as exc:  # torch.fx raises TraceError, TypeError, RuntimeError... on dynamic code
        raise ValueError(
            f"cannot trace {type(module).__name__} with torch.fx ({' '.join(str(exc).split())[:200]})"
        ) from None
    modules = dict(traced.named_modules())
    b = _Builder()
    values: dict[str, str] = {}
    output: list[str] = []
    for node in traced.graph.nodes:
        args = _tensor_args(list(node.args) + list(node.kwargs.values()), values)
        if node.op == "placeholder":
            values[node.name] = b.make("input", f"input/{node.name}", ())
        elif node.op == "get_attr":
            values[node.name] = b.make("constant", f"constant/{node.target}", ())
        elif node.op == "output":
            output = args
        elif node.op == "call_module":
            described = _module_op(modules[node.target])
            if described is None:
                if args:
                    values[node.name] = args[0]
                continue
            values[node.name] = b.op(*described, args)
            if _stride_of(modules[node.target]) > 1 and values[node.name] != b.ZERO:
                b.strided.add(values[node.name])
        else:  # call_function, call_method
            target = node.target
            name = target if isinstance(target, str) else getattr(target, "__name__", str(target))
            if name in _ADDS or target is operator.add:
                values[node.name] = b.sum(args)
            elif name in ("mul", "__mul__", "mul_") and any(_is_zero_literal(a) for a in node.args):
                values[node.name] = b.ZERO
            elif not args or name in ("size", "dim", "numel"):
                continue  # shape queries and constants built from shapes are not tensors
            else:
                op = _FUNCTIONS.get(name, "other")
                values[node.name] = b.op(op, f"{op}/{name}" if op == "other" else op, args)
    return _as_graph(b, output)


def _as_graph(b: _Builder, output: list[str]) -> TracedGraph:
    live: dict[str, None] = {}
    stack = [o for o in output if o != b.ZERO]
    while stack:
        key = stack.pop()
        if key not in live:
            live[key] = None
            stack.extend(b.exprs[key][2])
    depth: dict[str, int] = {}

    def level(key: str) -> int:  # longest distance from a source; operands are older, so no deep cycle
        if key not in depth:
            depth[key] = 1 + max((level(o) for o in b.exprs[key][2]), default=-1)
        return depth[key]

    for key in sorted(live):
        level(key)
    order = sorted(live, key=lambda k: (depth[k], b.exprs[k][0] != "input", k))
    inputs = [k for k in order if b.exprs[k][0] == "input"]
    if not inputs:  # the output ignores the input: keep an input node anyway
        order = ["<input>", *order]
        b.exprs["<input>"] = ("input", "input", ())
    position = {k: i for i, k in enumerate(order)}
    n = len(order) + 1
    adjacency = np.zeros((n, n), dtype=np.float64)
    for k in order:
        for o in b.exprs[k][2]:
            adjacency[position[o], position[k]] += 1
    for o in output:
        if o != b.ZERO:
            adjacency[position[o], n - 1] += 1
    ops = (*(b.exprs[k][0] for k in order), "output")
    strided = sum(1 for k in order if k in b.strided)
    return TracedGraph(adjacency, ops, strided)


def _path_extremes(graph: TracedGraph, weight: Callable[[str], int]) -> tuple[float, float]:
    """Max and min over input->output paths of the summed node ``weight`` (0, 0 when none exists)."""
    n = len(graph.ops)
    best = np.full(n, -np.inf)
    worst = np.full(n, np.inf)
    best[0] = worst[0] = 0
    for j in range(1, n):
        preds = np.flatnonzero(graph.adjacency[:, j])
        if len(preds):
            w = weight(graph.ops[j])
            best[j] = best[preds].max() + w
            worst[j] = worst[preds].min() + w
    if not np.isfinite(best[-1]):
        return 0.0, 0.0
    return float(best[-1]), float(worst[-1])


def fx_vector(graph: TracedGraph) -> np.ndarray:
    """Fixed-length features of a traced graph: counts per :data:`OP_TYPES`, then :data:`STATS`."""
    counts = np.array([graph.ops.count(op) for op in OP_TYPES], dtype=np.float64)
    depth, shortest = _path_extremes(graph, lambda op: int(op != "output"))
    conv_max, conv_min = _path_extremes(graph, lambda op: int(op.startswith(("conv", "dwconv"))))
    fan_in = graph.adjacency.sum(axis=0)
    stats = [
        len(graph.ops),
        float(graph.adjacency.sum()),
        depth,
        shortest,
        conv_max,
        conv_min,
        graph.strided,
        float(fan_in.max()) if len(fan_in) else 0.0,
    ]
    return np.concatenate([counts, np.asarray(stats, dtype=np.float64)])


def fx_columns() -> tuple[str, ...]:
    """Column names of :func:`fx_vector`."""
    return (*(f"fx_count_{op}" for op in OP_TYPES), *(f"fx_{s}" for s in STATS))
