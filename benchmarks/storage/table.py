"""`Table`: the query API over a verified table folder (pandas views, lookups, filters, wide views).

Opening reads the records as categoricals (see :func:`benchmarks.storage.store.read_frames`). Point queries
use an index built on the first lookup: dictionaries from architecture string, published index and
``arch_id`` to rows of the architectures table, and the records sorted by (owner, metric), where the
owner is the concrete architecture for cost metrics and the ``arch_id`` class for functional ones,
so a query is a binary search plus a slice instead of a scan over every record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from benchmarks.storage.schema import STATUSES, seed_combiner
from benchmarks.storage.shipped import looks_like_name
from benchmarks.storage.shipped import resolve as resolve_shipped
from benchmarks.storage.store import content_id, read_frames


class ArchEntry(NamedTuple):
    """One row of the architectures table."""

    arch: str
    arch_id: str
    index: int | None
    degenerate: bool


@dataclass(frozen=True)
class _Index:
    """Lookup structures built once per table (see the module docstring)."""

    by_arch: dict[str, int]
    by_index: dict[int, int]
    by_id: dict[str, list[int]]
    entries: list[ArchEntry]
    id_number: dict[str, int]
    metric_code: dict[str, int]
    n_metrics: int
    n_archs: int
    sorted_keys: np.ndarray
    order: np.ndarray
    columns: dict[str, np.ndarray]
    categories: dict[str, dict[str, int]]


def _codes(series: pd.Series) -> tuple[np.ndarray, dict[str, int]]:
    """Integer codes of a column and the code of each distinct value (categorical or not)."""
    cat = series if isinstance(series.dtype, pd.CategoricalDtype) else series.astype("category")
    return cat.cat.codes.to_numpy(), {str(v): i for i, v in enumerate(cat.cat.categories)}


NAME_COLUMNS = ("metric", "task", "device", "space")
"""Columns whose filter values must name something the table holds."""


class Table:
    """A benchmark table opened from disk; every file was hash-checked on open.

    Functional metrics are stored once per ``arch_id`` (on the class representative) and answered for
    every member of the class; cost metrics are stored per concrete architecture. Opens the flat
    layout of ``archbench build``, releases (``archbench release``) and, through
    :func:`open_table`, Hugging Face ``save_to_disk`` folders written by ``archbench export``.
    """

    def __init__(self, path: str | Path, expect: str | None = None) -> None:
        self.path = Path(path)
        self.manifest, self.records, self.archs = read_frames(self.path, expect)
        self._index: _Index | None = None

    @classmethod
    def from_frames(
        cls, path: str | Path, manifest: dict[str, Any], records: pd.DataFrame, archs: pd.DataFrame
    ) -> Table:
        """A table over frames already read and verified elsewhere (e.g. a Hugging Face folder)."""
        table = cls.__new__(cls)
        table.path, table.manifest, table.records, table.archs = Path(path), manifest, records, archs
        table._index = None
        return table

    def __repr__(self) -> str:
        return f"Table({str(self.path)!r}, records={len(self.records)}, archs={len(self.archs)})"

    @property
    def content_id(self) -> str:
        """``sha256:...`` pinning exactly this table (see :func:`benchmarks.storage.store.content_id`)."""
        return content_id(self.manifest)

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        """Metric name -> card (unit, kind, direction) from the manifest."""
        return self.manifest.get("metrics", {})

    def _cost_metrics(self) -> list[str]:
        return [m for m, card in self.metrics.items() if card.get("kind") == "cost"]

    def seed_combiner(self, metric: str) -> str:
        """How ``metric``'s records combine over seeds (:func:`seed_combiner` of its card)."""
        return seed_combiner(self.metrics.get(metric, {}), metric)

    # ---- the index ------------------------------------------------------------------------------------
    @property
    def index(self) -> _Index:
        """The lookup index (built on first use, about 0.1 s for 780k records)."""
        if self._index is None:
            self._index = self._build_index()
        return self._index

    def _build_index(self) -> _Index:
        archs = self.archs
        entries = [
            ArchEntry(a, i, None if pd.isna(x) else int(x), bool(d))
            for a, i, x, d in zip(archs["arch"], archs["arch_id"], archs["index"], archs["degenerate"])
        ]
        by_arch = {e.arch: row for row, e in enumerate(entries)}
        by_index = {e.index: row for row, e in enumerate(entries) if e.index is not None}
        by_id: dict[str, list[int]] = {}
        for row, e in enumerate(entries):
            by_id.setdefault(e.arch_id, []).append(row)
        for rows in by_id.values():  # the representative (lowest published index) first
            rows.sort(key=lambda r: (entries[r].index is None, entries[r].index or 0, entries[r].arch))
        id_number = {arch_id: n for n, arch_id in enumerate(by_id)}

        records = self.records
        columns, categories = {}, {}
        for name in ("arch", "arch_id", "metric", "task", "status", "protocol_hash"):
            columns[name], categories[name] = _codes(records[name])
        for name in ("value", "seed", "epoch", "fidelity"):
            columns[name] = records[name].to_numpy()
        metric_code = categories["metric"]
        cost = np.zeros(len(metric_code) + 1, dtype=bool)
        for metric in self._cost_metrics():
            if metric in metric_code:
                cost[metric_code[metric]] = True
        # owner: the architecture's row for cost metrics, n_archs + class number for functional ones.
        arch_row = np.array([by_arch.get(a, -1) for a in categories["arch"]] + [-1], dtype=np.int64)
        id_num = np.array([id_number.get(i, -1) for i in categories["arch_id"]] + [-1], dtype=np.int64)
        metric = columns["metric"].astype(np.int64)
        owner = np.where(cost[metric], arch_row[columns["arch"]], len(entries) + id_num[columns["arch_id"]])
        n_metrics = max(len(metric_code), 1)
        keys = np.where(owner >= 0, owner * n_metrics + metric, -1)
        order = np.argsort(keys, kind="stable")
        return _Index(
            by_arch=by_arch,
            by_index=by_index,
            by_id=by_id,
            entries=entries,
            id_number=id_number,
            metric_code=metric_code,
            n_metrics=n_metrics,
            n_archs=len(entries),
            sorted_keys=keys[order],
            order=order,
            columns=columns,
            categories=categories,
        )

    def _rows(self, arch: str | None, index: int | None, arch_id: str | None) -> list[int]:
        """Architectures-table rows for exactly one of ``arch``, ``index`` or ``arch_id``."""
        given = [(k, v) for k, v in (("arch", arch), ("index", index), ("arch_id", arch_id)) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of arch, index or arch_id")
        column, value = given[0]
        ix = self.index
        if column == "arch":
            row = ix.by_arch.get(value)
            if row is None and len(self.archs):  # another spelling of a stored architecture?
                import spaces

                value = spaces.get(str(self.archs["space"].iloc[0])).parse(value).string
                row = ix.by_arch.get(value)
            rows = [] if row is None else [row]
        elif column == "index":
            row = ix.by_index.get(int(value)) if isinstance(value, int | np.integer) else None
            rows = [] if row is None else [row]
        else:
            rows = ix.by_id.get(value, [])
        if not rows:
            raise KeyError(f"{column} {value!r} is not in table {self.path}")
        return rows

    def locate(
        self, arch: str | None = None, index: int | None = None, arch_id: str | None = None
    ) -> ArchEntry:
        """The architectures-table entry for a string (any spelling), published index or ``arch_id``.

        For an ``arch_id`` it is the class representative (lowest published index).
        """
        return self.index.entries[self._rows(arch, index, arch_id)[0]]

    def resolve(
        self, arch: str | None = None, index: int | None = None, arch_id: str | None = None
    ) -> pd.DataFrame:
        """Rows of the architectures table matching exactly one of ``arch``, ``index`` or ``arch_id``."""
        return self.archs.iloc[sorted(self._rows(arch, index, arch_id))]

    def _span(self, owner: int, metric: int | None = None) -> np.ndarray:
        """Record positions of one owner (and one metric), from the sorted keys."""
        ix = self.index
        low = owner * ix.n_metrics + (0 if metric is None else metric)
        high = low + (ix.n_metrics if metric is None else 1)
        keys = ix.sorted_keys
        return ix.order[np.searchsorted(keys, low) : np.searchsorted(keys, high)]

    def _positions(self, rows: list[int], metric: int | None = None, cost: bool | None = None) -> np.ndarray:
        ix = self.index
        arch_id = ix.entries[rows[0]].arch_id
        parts = []
        if cost is not False:
            parts += [self._span(row, metric) for row in rows]
        if cost is not True:
            parts.append(self._span(ix.n_archs + ix.id_number[arch_id], metric))
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    # ---- queries --------------------------------------------------------------------------------------
    def lookup(
        self, arch: str | None = None, index: int | None = None, arch_id: str | None = None, **filters: Any
    ) -> pd.DataFrame:
        """Every record for one architecture: its class's functional metrics and its own cost metrics.

        Looked up by ``arch_id`` it answers for the whole class, so cost rows of every member come back.
        """
        positions = np.sort(self._positions(self._rows(arch, index, arch_id)))
        return self.filter(self.records.iloc[positions], **filters)

    def value(
        self,
        arch: str | None = None,
        index: int | None = None,
        arch_id: str | None = None,
        *,
        metric: str,
        task: str | None = None,
        seed: int | None = None,
        epoch: int | str = "last",
        protocol_hash: str | None = None,
    ) -> float:
        """One number: the ``ok`` values of ``metric`` for one architecture, combined over seeds.

        Seeds combine by the metric card's ``combine_seeds`` (the mean unless it says otherwise: the
        min over a hardware table's measurement rounds).

        Same rules as :meth:`wide`: the last curve point unless ``epoch`` is given, cost metrics of an
        ``arch_id`` from its lowest-indexed member, several protocols or tasks refused unless chosen.
        Returns NaN when every matching record failed (its status and message are in :meth:`lookup`);
        raises KeyError when the architecture or the metric has no records at all.
        """
        ix = self.index
        rows = self._rows(arch, index, arch_id)
        code = ix.metric_code.get(metric)
        if code is None:
            raise KeyError(
                f"metric {metric!r} is not in table {self.path} (metrics: {', '.join(ix.metric_code)})"
            )
        cost = self.metrics.get(metric, {}).get("kind") == "cost"
        found = matched = False
        ok = np.empty(0, dtype=np.int64)
        # cost metrics: the lowest-indexed member with ok matching records, as in wide()
        for row in rows if cost else rows[:1]:
            pos = self._positions([row], code, cost)
            found = found or bool(len(pos))
            pos = self._matching(pos, metric, task, seed, epoch, protocol_hash)
            matched = matched or bool(len(pos))
            ok = pos[ix.columns["status"][pos] == ix.categories["status"].get("ok", -2)]
            if len(ok):
                break
        if not found:
            raise KeyError(f"no {metric!r} records for {ix.entries[rows[0]].arch!r} in table {self.path}")
        if not matched:
            raise KeyError(
                f"no {metric!r} records match task={task!r}, seed={seed!r}, protocol_hash={protocol_hash!r}"
            )
        combine = getattr(np, self.seed_combiner(metric))
        return float(combine(ix.columns["value"][ok])) if len(ok) else math.nan

    def _matching(
        self,
        pos: np.ndarray,
        metric: str,
        task: str | None,
        seed: int | None,
        epoch: int | str,
        protocol_hash: str | None,
    ) -> np.ndarray:
        """The record positions among ``pos`` that match the filters of :meth:`value`."""
        ix = self.index
        cols = ix.columns
        for name, wanted in (("task", task), ("protocol_hash", protocol_hash)):
            codes = cols[name][pos]
            if wanted is not None:
                pos = pos[codes == ix.categories[name].get(wanted, -2)]
            elif len(codes) > 1 and (codes != codes[0]).any():
                raise ValueError(
                    f"{metric!r} has records under several {name} values in {self.path}; choose with {name}=..."
                )
        if seed is not None:
            pos = pos[cols["seed"][pos] == seed]
        if epoch == "last":
            return pos[cols["epoch"][pos] == cols["epoch"][pos].max()] if len(pos) else pos
        return pos[cols["epoch"][pos] == epoch]

    def first_members(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Records of ``frame`` from, per ``arch_id`` and metric, the member with the lowest published index.

        Cost metrics differ between the members of a class; a class's cost value is its representative's.
        """
        published = dict(zip(self.archs["arch"], self.archs["index"]))
        order = frame["arch"].map(published).astype(float).fillna(float("inf"))
        ranked = frame.assign(_order=order).sort_values("_order", kind="stable")
        first = ranked.groupby(["arch_id", "metric"], observed=True)["arch"].transform("first")
        return ranked[ranked["arch"] == first].drop(columns="_order")

    def filter(self, frame: pd.DataFrame | None = None, **conditions: Any) -> pd.DataFrame:
        """Records where each column equals the value (or is in it, for lists/tuples/sets).

        Values the table does not hold match nothing (see :meth:`check_filters` for a strict check).
        """
        frame = self.records if frame is None else frame
        for column, value in conditions.items():
            if column not in frame.columns:
                raise KeyError(f"unknown column {column!r} (valid: {', '.join(frame.columns)})")
            if value is None:
                continue
            mask = (
                frame[column].isin(value) if isinstance(value, list | tuple | set) else frame[column] == value
            )
            frame = frame[mask]
        return frame

    def check_filters(self, **conditions: Any) -> None:
        """Refuse filter values naming nothing the table holds (a metric, task, device or space) and
        statuses that do not exist, with the valid choices; ``None`` values are skipped."""
        for column, value in conditions.items():
            if value is not None:
                self._check_names(column, value)

    def _check_names(self, column: str, value: Any) -> None:
        if column == "status":
            valid = list(STATUSES)
        elif column in NAME_COLUMNS:
            valid = sorted(map(str, self.records[column].dropna().unique()))
        else:
            return
        wanted = value if isinstance(value, list | tuple | set) else [value]
        unknown = [v for v in wanted if v not in valid]
        if unknown:
            shown = ", ".join(valid[:40]) + (f" and {len(valid) - 40} more" if len(valid) > 40 else "")
            raise KeyError(f"unknown {column} {unknown[0]!r} in table {self.path} (valid: {shown or 'none'})")

    def wide(self, metrics: list[str] | None = None, epoch: str = "last", **conditions: Any) -> pd.DataFrame:
        """One row per ``arch_id``, one column per metric: ``ok`` values combined over seeds.

        Seeds combine as in :meth:`value` (each metric card's ``combine_seeds``, default the mean).

        ``epoch="last"`` keeps each metric's final curve point; failures are left out (NaN cells).
        A metric measured under several protocols is refused unless ``protocol_hash=`` picks them:
        numbers from different protocols are never averaged silently.
        """
        frame = self.filter(status="ok", **conditions)
        if metrics is not None:
            frame = frame[frame["metric"].isin(metrics)]
        # Plain strings from here: categoricals would carry unobserved categories into groupby/pivot.
        frame = frame.astype({c: str for c in ("metric", "arch_id", "arch", "protocol_hash")})
        protocols = frame.groupby("metric")["protocol_hash"].nunique()
        mixed = sorted(protocols[protocols > 1].index)
        if mixed:
            raise ValueError(
                f"metrics {mixed} were measured under several protocols in {self.path}; "
                "choose with protocol_hash=... (see the manifest's protocols)"
            )
        if epoch == "last":
            last = frame.groupby("metric")["epoch"].transform("max")
            frame = frame[frame["epoch"] == last]
        cost = frame["metric"].isin(self._cost_metrics())
        frame = pd.concat([frame[~cost], self.first_members(frame[cost])])
        combiners = frame["metric"].map({m: self.seed_combiner(m) for m in frame["metric"].unique()})
        parts = [
            frame[combiners == name].pivot_table(
                index="arch_id", columns="metric", values="value", aggfunc=name
            )
            for name in sorted(set(combiners))
        ]
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return frame.pivot_table(index="arch_id", columns="metric", values="value")
        wide = pd.concat(parts, axis=1).sort_index()  # several combiners: one frame, columns sorted
        return wide[sorted(wide.columns)]


def open_table(path: str | Path, expect: str | None = None) -> Table:
    """Open and verify a table folder: a build's table, a release, or a Hugging Face export.

    Every file is hash-checked against the manifest and nothing unlisted may sit beside them. With
    ``expect`` (a content id, ``sha256:`` plus 16 to 64 hex digits) the manifest itself is pinned: a
    table whose :attr:`Table.content_id` differs is refused. A shipped table opens by its name
    (``"nb201-fmnist"``, ``"nb201-fmnist-1.0.0"``, ``"nb201-fmnist@1.0.0"``; see ``archbench tables list``)
    wherever no folder of that name exists.
    """
    if not Path(path).exists() and looks_like_name(str(path)):
        path = resolve_shipped(str(path))
    return Table(path, expect)
