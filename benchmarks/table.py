"""`Table`: the query API over a verified table folder (pandas views, lookups, filters, wide views)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.store import read_verified


class Table:
    """A benchmark table opened from disk; every file was hash-checked on open.

    Functional metrics are stored once per ``arch_id`` (on the class representative) and answered for
    every member of the class; cost metrics are stored per concrete architecture.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.manifest, tables = read_verified(self.path)
        self.records: pd.DataFrame = tables["records.parquet"].to_pandas()
        self.archs: pd.DataFrame = tables["architectures.parquet"].to_pandas()

    def __repr__(self) -> str:
        return f"Table({str(self.path)!r}, records={len(self.records)}, archs={len(self.archs)})"

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        """Metric name -> card (unit, kind, direction) from the manifest."""
        return self.manifest.get("metrics", {})

    def _cost_metrics(self) -> list[str]:
        return [m for m, card in self.metrics.items() if card.get("kind") == "cost"]

    def resolve(
        self, arch: str | None = None, index: int | None = None, arch_id: str | None = None
    ) -> pd.DataFrame:
        """Rows of the architectures table matching exactly one of ``arch``, ``index`` or ``arch_id``."""
        given = [(k, v) for k, v in (("arch", arch), ("index", index), ("arch_id", arch_id)) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of arch, index or arch_id")
        column, value = given[0]
        if column == "arch":
            import spaces

            value = spaces.get(self.archs["space"].iloc[0]).parse(value).string if len(self.archs) else value
        rows = self.archs[self.archs[column] == value]
        if rows.empty:
            raise KeyError(f"{column} {value!r} is not in table {self.path}")
        return rows

    def lookup(
        self, arch: str | None = None, index: int | None = None, arch_id: str | None = None, **filters: Any
    ) -> pd.DataFrame:
        """Every record for one architecture: its class's functional metrics and its own cost metrics."""
        rows = self.resolve(arch, index, arch_id)
        ids, strings = set(rows["arch_id"]), set(rows["arch"])
        cost = self.records["metric"].isin(self._cost_metrics())
        mask = (~cost & self.records["arch_id"].isin(ids)) | (cost & self.records["arch"].isin(strings))
        return self.filter(self.records[mask], **filters)

    def filter(self, frame: pd.DataFrame | None = None, **conditions: Any) -> pd.DataFrame:
        """Records where each column equals the value (or is in it, for lists/tuples/sets)."""
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

    def wide(self, metrics: list[str] | None = None, epoch: str = "last", **conditions: Any) -> pd.DataFrame:
        """One row per ``arch_id``, one column per metric: the mean over seeds of ``ok`` values.

        ``epoch="last"`` keeps each metric's final curve point; failures are left out (NaN cells).
        A metric measured under several protocols is refused unless ``protocol_hash=`` picks them:
        numbers from different protocols are never averaged silently.
        """
        frame = self.filter(status="ok", **conditions)
        if metrics is not None:
            frame = frame[frame["metric"].isin(metrics)]
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
        # Cost metrics differ between members of a class: keep the member with the lowest published index.
        cost = frame["metric"].isin(self._cost_metrics())
        order = frame["arch"].map(self.archs.set_index("arch")["index"]).fillna(float("inf"))
        first = frame[cost].assign(_order=order[cost]).sort_values("_order")
        first = first[first["arch"] == first.groupby("arch_id")["arch"].transform("first")].drop(
            columns="_order"
        )
        frame = pd.concat([frame[~cost], first])
        return frame.pivot_table(index="arch_id", columns="metric", values="value", aggfunc="mean")


def open_table(path: str | Path) -> Table:
    """Open and verify a table folder written by ``archbench build`` / :func:`benchmarks.store.export`."""
    return Table(path)
