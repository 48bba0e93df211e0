"""What a search queries: the :class:`Truth` of a table (every class's metrics) and the counting :class:`Oracle`.

A search is a consumer of tables (``archbench`` tables, including the surrogate tables of
:mod:`predictors.surrogate`): :class:`Truth` reads the metrics it needs per ``arch_id`` from one or
more tables (:meth:`benchmarks.table.Table.wide`: functional metrics per class, cost metrics from the
class representative), and :meth:`Truth.oracle` hands a strategy an :class:`Oracle` that answers the
*selection objectives only*. Reported metrics (e.g. test accuracy) stay in the :class:`Truth`, which the
runner reads after the search, so a strategy cannot select on them.

A query is one distinct ``arch_id``: asking again for an equivalent cell returns the stored answer and
costs nothing. The budget is enforced: the query past it raises :class:`BudgetExhausted`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from benchmarks.table import Table
    from spaces.base import Architecture, SearchSpace


class BudgetExhausted(RuntimeError):
    """A query past the oracle's budget; ``str()`` is one line naming the budget."""


class NotInTable(KeyError):
    """An architecture whose class the oracle's tables do not hold."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Objective:
    """A metric to optimise and its direction."""

    metric: str
    maximize: bool = True

    @classmethod
    def parse(cls, text: str) -> Objective:
        """``"val_acc"`` (maximised), ``"val_acc:max"`` or ``"latency:min"``."""
        name, _, direction = str(text).partition(":")
        if not name or direction not in ("", "max", "min"):
            raise ValueError(f"objective {text!r} must be METRIC, METRIC:max or METRIC:min")
        return cls(name, direction != "min")

    def __str__(self) -> str:
        return f"{self.metric}:{'max' if self.maximize else 'min'}"


class Truth:
    """Every class's metrics (one row per ``arch_id``) and a representative architecture string for each.

    Args:
        frame: index ``arch_id``, one float column per metric (NaN where the table's records failed).
        archs: ``arch_id`` -> the representative's architecture string.
        sources: where the metrics came from (e.g. table content ids), recorded in results.
    """

    def __init__(self, frame: pd.DataFrame, archs: Mapping[str, str], sources: Sequence[str] = ()) -> None:
        if frame.empty:
            raise ValueError("the truth has no architectures")
        missing = [a for a in frame.index if a not in archs]
        if missing:
            raise ValueError(f"no architecture string for arch_id {missing[0]!r}")
        self.frame = frame.astype(float)
        self.archs = dict(archs)
        self.sources = tuple(sources)

    @classmethod
    def from_tables(
        cls,
        tables: Sequence[Table],
        metrics: Sequence[str],
        task: str | None = None,
        device: str | None = None,
    ) -> Truth:
        """The ``metrics`` of every class, each read from the one table among ``tables`` that holds it.

        ``device`` picks one device in the tables that hold several (a hardware table); ``task`` one
        task. Classes missing a metric in some table are left out (a search needs every objective).
        """
        metrics = list(dict.fromkeys(metrics))
        holders: dict[str, Table] = {}
        for metric in metrics:
            found = [t for t in tables if metric in set(map(str, t.records["metric"].unique()))]
            if not found:
                held = sorted({str(m) for t in tables for m in t.records["metric"].unique()})
                raise ValueError(f"no table holds metric {metric!r} (tables hold: {', '.join(held)})")
            if len(found) > 1:
                raise ValueError(
                    f"metric {metric!r} is in {len(found)} tables ({', '.join(str(t.path) for t in found)}); give one"
                )
            holders[metric] = found[0]
        parts = []
        for table in dict.fromkeys(holders.values()):
            wanted = [m for m, t in holders.items() if t is table]
            filters = {"task": task} if task else {}
            if device is not None:
                devices = set(map(str, table.records["device"].dropna().unique()))
                if len(devices) > 1 or device in devices:
                    table.check_filters(device=device)
                    filters["device"] = device
            wide = table.wide(wanted, **filters)
            parts.append(wide.reindex(columns=wanted))
        frame = pd.concat(parts, axis=1, join="inner")[metrics]
        archs: dict[str, str] = {}
        for table in dict.fromkeys(holders.values()):
            order = table.archs.assign(_i=table.archs["index"].astype(float).fillna(math.inf))
            first = order.sort_values(["_i", "arch"]).drop_duplicates("arch_id")
            for arch_id, arch in zip(first["arch_id"], first["arch"]):
                archs.setdefault(str(arch_id), str(arch))
        frame.index = frame.index.astype(str)
        frame = frame[frame.index.isin(list(archs))]
        return cls(frame, archs, [t.content_id for t in dict.fromkeys(holders.values())])

    @property
    def arch_ids(self) -> list[str]:
        return list(self.frame.index)

    def column(self, metric: str) -> pd.Series:
        """One metric for every class (KeyError naming the metrics held)."""
        if metric not in self.frame.columns:
            raise KeyError(
                f"metric {metric!r} is not in the truth (metrics: {', '.join(self.frame.columns)})"
            )
        return self.frame[metric]

    def best(self, objective: Objective) -> float:
        """The best value of ``objective`` over every class (NaN values skipped)."""
        col = self.column(objective.metric).dropna()
        return float(col.max() if objective.maximize else col.min())

    def optimal_ids(self, objective: Objective) -> list[str]:
        """The classes whose value equals :meth:`best`."""
        col = self.column(objective.metric)
        return sorted(col.index[col == self.best(objective)])

    def oracle(self, space: SearchSpace, objectives: Sequence[Objective], budget: int) -> Oracle:
        """A fresh counting oracle answering ``objectives`` (only those) for the classes held here."""
        objectives = tuple(objectives)
        if not objectives:
            raise ValueError("give at least one objective to select by")
        cols = [self.column(o.metric) for o in objectives]
        values = {a: tuple(float(c[a]) for c in cols) for a in self.frame.index}
        domain = [self.archs[a] for a in self.frame.index]
        return Oracle(space, objectives, values, budget, domain)


class Oracle:
    """Answers the selection objectives of an architecture's class and counts distinct classes queried.

    ``query(arch)`` returns the value (one objective) or a tuple (several); :meth:`score` turns an
    answer into a number to maximise (NaN, a failed record, scores ``-inf``). ``domain`` lists one
    architecture string per class the oracle can answer (a table consumer may sample from it).
    """

    def __init__(
        self,
        space: SearchSpace,
        objectives: tuple[Objective, ...],
        values: Mapping[str, tuple[float, ...]],
        budget: int,
        domain: Sequence[str] | None = None,
    ) -> None:
        if isinstance(budget, bool) or not isinstance(budget, int | np.integer) or budget < 1:
            raise ValueError(f"budget must be a whole number of queries >= 1, got {budget!r}")
        self.space = space
        self.objectives = objectives
        self.budget = int(budget)
        self._values = values
        self._domain = tuple(domain) if domain is not None else None
        self.history: list[tuple[Architecture, tuple[float, ...]]] = []
        self._seen: dict[str, tuple[float, ...]] = {}

    @property
    def domain(self) -> tuple[str, ...] | None:
        """One architecture string per answerable class, or None when every class of the space is."""
        return self._domain

    @property
    def used(self) -> int:
        """Distinct classes queried so far."""
        return len(self.history)

    @property
    def remaining(self) -> int:
        return self.budget - self.used

    def seen(self, arch: Architecture) -> bool:
        """True when ``arch``'s class was already queried (querying it again is free)."""
        return arch.arch_id in self._seen

    def query(self, arch: Architecture) -> float | tuple[float, ...]:
        """The objectives' values for ``arch``'s class; a new class costs one query of the budget."""
        arch_id = self.space.arch_id(arch)
        answer = self._seen.get(arch_id)
        if answer is None:
            answer = self._values.get(arch_id)
            if answer is None:
                raise NotInTable(f"class {arch_id} of {arch.string} is not in the oracle's tables")
            if self.used >= self.budget:
                raise BudgetExhausted(f"the budget of {self.budget} queries is spent")
            self._seen[arch_id] = answer
            self.history.append((arch, answer))
        return answer[0] if len(answer) == 1 else answer

    def score(self, answer: float | tuple[float, ...]) -> float:
        """The first objective of ``answer`` as a number to maximise (``-inf`` for NaN)."""
        value = answer if isinstance(answer, float | int) else answer[0]
        if not math.isfinite(value):
            return -math.inf
        return float(value) if self.objectives[0].maximize else -float(value)
