"""Architecture encodings for predictors: the space's own encodings, op graphs and table features.

An encoding spec is one or more kinds joined by ``+`` (``"onehot"``, ``"path+zc"``):

* a kind the space declares in ``space.encodings`` (e.g. NB201's ``onehot``, ``adjacency``, ``path``)
  comes from ``space.encode(arch, kind)``: encodings are owned by the space;
* ``graph``: the space's op graph (``space.graph(arch)``) flattened to a row for the GNN (layout in
  :func:`flatten_graphs`); it comes first, and kinds after it (``graph+zc``) become graph-level features;
* ``zc``: zero-cost proxy and cost values read from an archbench table (any proxy set), as in
  Krishnakumar et al., NAS-Bench-Suite-Zero (NeurIPS 2022). The proxies' inputs (task, batch, resolution,
  network size, init, BN mode) are the table's recorded protocols, copied into :attr:`Encoded.provenance`;
* ``fx`` / ``fx_graph``: space-independent, traced from the built module by ``torch.fx``
  (:mod:`predictors.fx_graph`): op-type counts plus graph statistics (a vector for tree models), or the
  op-typed DAG itself over a fixed vocabulary (for the GNN, like ``graph``). The module is built at
  the space's tiny fixture size (its card's ``fixtures.build``): the op structure, not the width, is encoded.

Functional values are per ``arch_id``, so an encoding of an architecture uses its class representative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from benchmarks.table import Table
    from spaces.base import Architecture, SearchSpace

TABLE_KINDS = ("zc",)
GRAPH_KIND = "graph"
TRACED_KINDS = ("fx",)
"""Vector kinds traced from the built module (any space that builds torch modules)."""
GRAPH_KINDS = (GRAPH_KIND, "fx_graph")
"""Kinds giving op graphs for graph predictors: the space's own, or the traced one."""


@dataclass(frozen=True)
class Encoded:
    """Encoded architectures: a float matrix (rows in the order given), its column names and provenance."""

    X: np.ndarray
    columns: tuple[str, ...]
    spec: str
    input: Literal["vector", "graph"]
    provenance: dict[str, Any] = field(default_factory=dict)


def parse_spec(spec: str, space: SearchSpace) -> tuple[str, ...]:
    """The kinds of ``spec`` (``"a+b"``), each checked; ValueError naming an unknown kind and the valid ones."""
    kinds = tuple(k.strip() for k in str(spec).split("+") if k.strip())
    valid = (*space_encodings(space), *GRAPH_KINDS, *TRACED_KINDS, *TABLE_KINDS)
    for kind in kinds:
        if kind not in valid:
            raise ValueError(
                f"unknown encoding {kind!r} for space {space.name!r} (valid: {', '.join(valid)})"
            )
    if not kinds:
        raise ValueError(f"empty encoding spec {spec!r} (valid kinds: {', '.join(valid)})")
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"encoding spec {spec!r} names a kind twice")
    for graph in GRAPH_KINDS:
        if graph in kinds and kinds[0] != graph:
            raise ValueError(
                f"encoding {graph!r} must come first: '{graph}+<graph-level features>' ({spec!r})"
            )
    return kinds


def space_encodings(space: SearchSpace) -> tuple[str, ...]:
    """The encoding kinds the space declares (none if it is not encodable)."""
    return tuple(getattr(space, "encodings", ()))


def _space_encoding(space: SearchSpace, archs: Sequence[Architecture], kind: str) -> np.ndarray:
    rows = [np.asarray(space.encode(a, kind), dtype=np.float64).reshape(-1) for a in archs]
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        raise ValueError(f"space {space.name!r} encoding {kind!r} gave rows of widths {sorted(widths)}")
    return np.stack(rows)


# ---- op graphs ----------------------------------------------------------------------------------------------
def flatten_graphs(
    space: SearchSpace, archs: Sequence[Architecture], extra: np.ndarray | None = None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Op graphs as rows ``[N, V, G, adjacency (N*N), node op one-hot (N*V), graph-level features (G)]``.

    ``N`` is the largest node count among ``archs`` (smaller graphs are zero-padded: a padded node has
    no op), ``V`` the size of the space's node vocabulary (``space.vocab``). Graph predictors take any
    ``N`` (rows of different batches may differ in width); :func:`unflatten_graph` inverts the layout.
    ``extra`` (rows x G) are graph-level features (e.g. zero-cost proxies) a GNN reads beside its pooling.
    """
    return flatten_op_graphs(
        [(g.adjacency, g.ops) for g in map(space.graph, archs)], space.vocab, extra, space.name
    )


def flatten_op_graphs(
    graphs: Sequence[tuple[np.ndarray, Sequence[str]]],
    vocab: Sequence[str],
    extra: np.ndarray | None = None,
    source: str = "the encoder",
) -> tuple[np.ndarray, tuple[str, ...]]:
    """:func:`flatten_graphs` for ``(adjacency, ops)`` pairs over ``vocab`` (``source`` names them in errors)."""
    vocab = tuple(vocab)
    n = max(len(ops) for _, ops in graphs)
    g_width = 0 if extra is None else extra.shape[1]
    rows = np.zeros((len(graphs), 3 + n * n + n * len(vocab) + g_width))
    rows[:, 0], rows[:, 1], rows[:, 2] = n, len(vocab), g_width
    if g_width:
        rows[:, rows.shape[1] - g_width :] = extra
    for r, (graph_adjacency, graph_ops) in enumerate(graphs):
        unknown = sorted(set(graph_ops) - set(vocab))
        if unknown:
            raise ValueError(f"{source} gave graph ops {unknown} outside its vocabulary {vocab}")
        k = len(graph_ops)
        adjacency = np.zeros((n, n))
        adjacency[:k, :k] = np.asarray(graph_adjacency, dtype=np.float64)
        ops = np.zeros((n, len(vocab)))
        ops[np.arange(k), [vocab.index(op) for op in graph_ops]] = 1.0
        rows[r, 3 : 3 + n * n + n * len(vocab)] = np.concatenate([adjacency.ravel(), ops.ravel()])
    columns = (
        "n_nodes",
        "vocab",
        "graph_features",
        *(f"adj_{i}_{j}" for i in range(n) for j in range(n)),
        *(f"op_{i}_{v}" for i in range(n) for v in vocab),
        *(f"graph_feature_{i}" for i in range(g_width)),
    )
    return rows, columns


def unflatten_graph(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adjacency ``(rows, N, N)``, node op one-hot ``(rows, N, V)`` and graph-level features ``(rows, G)``
    of :func:`flatten_graphs` rows."""
    X = np.asarray(X, dtype=np.float64)
    n, v, g = (int(x) for x in X[0, :3])
    if X.shape[1] != 3 + n * n + n * v + g or not (X[:, :3] == X[0, :3]).all():
        raise ValueError("rows are not flattened op graphs (see predictors.encodings.flatten_graphs)")
    adjacency = X[:, 3 : 3 + n * n].reshape(-1, n, n)
    return adjacency, X[:, 3 + n * n : 3 + n * n + n * v].reshape(-1, n, v), X[:, X.shape[1] - g :]


# ---- features from a table ---------------------------------------------------------------------------------
def default_table_features(table: Table, exclude: Sequence[str] = ()) -> list[str]:
    """Metrics of ``table`` that are zero-cost proxies or cost metrics (never imported accuracies).

    A metric qualifies when its name is a registered proxy or a NASLib proxy (``naslib_*``,
    ``flops_naslib``); ``exclude`` (e.g. the target) is always left out.
    """
    import proxies

    known = set(proxies.list_proxies())
    names = [m for m in sorted(table.metrics) if m in known or m.startswith("naslib_") or m == "flops_naslib"]
    return [m for m in names if m not in set(exclude)]


def table_features(
    table: Table,
    archs: Sequence[Architecture],
    metrics: Sequence[str] | None = None,
    task: str | None = None,
    exclude: Sequence[str] = (),
) -> tuple[np.ndarray, tuple[str, ...], dict[str, Any]]:
    """The ``metrics`` of ``archs`` read from ``table`` (one row per architecture, by ``arch_id``).

    Values pass through the signed ``log1p`` (monotone; tames proxies spanning many orders of magnitude);
    a missing or failed value is imputed by its column's median over the whole table (features only,
    never a target), and the count is recorded. Raises ValueError for a metric the table lacks, a metric
    in ``exclude`` (the target), or no metrics at all.
    """
    metrics = list(metrics) if metrics is not None else default_table_features(table, exclude)
    if not metrics:
        raise ValueError(f"table {table.path} has no zero-cost proxy or cost metrics to use as features")
    leaked = sorted(set(metrics) & set(exclude))
    if leaked:
        raise ValueError(f"features {leaked} are the prediction target; leave them out")
    missing = sorted(set(metrics) - set(table.metrics))
    if missing:
        raise ValueError(
            f"table {table.path} has no metrics {missing} (metrics: {', '.join(sorted(table.metrics))})"
        )
    conditions = {} if task is None else {"task": task}
    wide = table.wide(metrics=metrics, **conditions).reindex(columns=metrics)
    values = np.sign(wide) * np.log1p(np.abs(wide))
    medians = values.median(axis=0, skipna=True)
    if medians.isna().any():
        empty = sorted(medians.index[medians.isna()])
        raise ValueError(
            f"table {table.path} has no ok values for {empty}" + (f" on task {task!r}" if task else "")
        )
    rows = values.reindex([a.arch_id for a in archs])
    imputed = {m: int(n) for m, n in rows.isna().sum().items() if n}
    X = rows.fillna(medians).to_numpy(dtype=np.float64)
    protocols = table.manifest.get("protocols", {})
    used = table.filter(metric=metrics, status="ok", **conditions)
    seen = {
        m: {
            h: protocols.get(h, {})
            for h in sorted(set(used[used["metric"] == m]["protocol_hash"].astype(str)))
        }
        for m in metrics
    }
    provenance = {
        "table": str(table.path),
        "task": task,
        "metrics": metrics,
        "protocols": seen,
        "imputed": imputed,
    }
    return X, tuple(f"zc_{m}" for m in metrics), provenance


# ---- one entry point ---------------------------------------------------------------------------------------
def encode(
    space: SearchSpace,
    archs: Sequence[Architecture],
    spec: str,
    table: Table | None = None,
    features: Sequence[str] | None = None,
    task: str | None = None,
    exclude: Sequence[str] = (),
    per_class: bool = True,
) -> Encoded:
    """Encode ``archs`` by ``spec``; see the module docstring.

    ``per_class`` (for functional targets such as accuracy) encodes each architecture as its class
    representative; cost targets (latency: a dead conv still runs) pass ``per_class=False``.

    ``table``/``features``/``task``/``exclude`` serve the ``zc`` kind (features default to every proxy
    and cost metric in the table; ``exclude`` names the target, refused as a feature).
    """
    kinds = parse_spec(spec, space)
    if not archs:
        raise ValueError("no architectures to encode")
    if per_class:
        archs = [space.representative(a) for a in archs]
    graph = kinds[0] in GRAPH_KINDS
    if kinds[0] == GRAPH_KIND and not hasattr(space, "graph"):
        raise ValueError(f"space {space.name!r} has no op graphs (space.graph) for the GNN")
    traced = traced_graphs(space, archs, task) if {"fx", "fx_graph"} & set(kinds) else []
    blocks, columns, provenance = [], [], {"kinds": list(kinds)}
    if traced:
        provenance["fx"] = {"build": _fx_build(space)[1], "task": task}
    for kind in kinds[1:] if graph else kinds:
        if kind == "zc":
            if table is None:
                raise ValueError("encoding 'zc' needs a table of proxy values (--features-table)")
            X, cols, provenance["zc"] = table_features(table, archs, features, task, exclude)
        elif kind == "fx":
            from predictors.fx_graph import fx_columns, fx_vector

            X, cols = np.stack([fx_vector(g) for g in traced]), fx_columns()
        else:
            X = _space_encoding(space, archs, kind)
            cols = tuple(f"{kind}_{i}" for i in range(X.shape[1]))
        blocks.append(X)
        columns.extend(cols)
    if graph:
        extra = np.hstack(blocks) if blocks else None
        if kinds[0] == "fx_graph":
            from predictors.fx_graph import OP_TYPES

            pairs = [(g.adjacency, g.ops) for g in traced]
            X, graph_columns = flatten_op_graphs(pairs, OP_TYPES, extra, "torch.fx tracing")
        else:
            X, graph_columns = flatten_graphs(space, archs, extra)
        return Encoded(X, graph_columns, spec, "graph", provenance)
    return Encoded(np.hstack(blocks), tuple(columns), spec, "vector", provenance)


# ---- traced from the built module ---------------------------------------------------------------------------
def _fx_build(space: SearchSpace) -> tuple[str | None, dict[str, Any]]:
    """The task and build options of the space's tiny fixtures (the size modules are traced at)."""
    fixtures = getattr(getattr(space, "card", None), "fixtures", None)
    if fixtures is None:
        return None, {}
    return fixtures.task, fixtures.build_options()


def traced_graphs(space: SearchSpace, archs: Sequence[Architecture], task: str | None) -> list:
    """The :class:`~predictors.fx_graph.TracedGraph` of each architecture's built module (one trace per
    distinct architecture), built for ``task`` (default: the space's fixture task) at the fixture size."""
    from predictors.fx_graph import trace_graph

    fixture_task, options = _fx_build(space)
    task = task or fixture_task
    if task is None:
        raise ValueError(f"encoding 'fx' needs a task to build space {space.name!r}'s networks")
    done: dict[str, Any] = {}
    for arch in archs:
        if arch.string not in done:
            done[arch.string] = trace_graph(space.build(arch, task, **options))
    return [done[a.string] for a in archs]
