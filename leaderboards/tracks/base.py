"""The track interface: how a table becomes a split, which rows a submission holds, and how it is scored.

A track is one class registered in :data:`TRACKS`. ``make_split`` turns truth read from a table into a
public part (files entrants receive) and a hidden part (files only the host keeps); ``check`` lists the
problems of a submission's typed rows against the public part; ``score`` returns a :class:`Scores`
on the hidden part (with aligned bootstrap draws) and a score on the public part, for the
public-vs-hidden rank delta.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from benchmarks.analysis.metrics import Estimate
from leaderboards import stats
from leaderboards.schema import Column
from spaces.registry import Registry


@dataclass(frozen=True)
class Split:
    """What ``init`` writes: public and hidden frames (file name -> frame) and the resolved parameters."""

    public: dict[str, pd.DataFrame]
    hidden: dict[str, pd.DataFrame]
    params: dict[str, Any]


@dataclass(frozen=True)
class Scores:
    """One submission's scores: the main metric on the hidden part (with draws) and on the public part."""

    hidden: Estimate
    public: float
    draws: np.ndarray
    extra: dict[str, Estimate] = field(default_factory=dict)


@dataclass(frozen=True)
class TruthSource:
    """The truth a track reads from a table: the frame plus where it came from."""

    frame: pd.DataFrame
    published: bool
    note: str


class Track(ABC):
    """A leaderboard track (see the module docstring). Subclasses set the class attributes."""

    name: ClassVar[str]
    summary: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]
    main: ClassVar[str]
    higher_is_better: ClassVar[bool]
    defaults: ClassVar[dict[str, Any]]
    paired: ClassVar[bool] = True

    @classmethod
    def params(cls, given: dict[str, Any]) -> dict[str, Any]:
        """``given`` over :attr:`defaults`; an unknown key is a ValueError naming the valid ones."""
        unknown = sorted(set(given) - set(cls.defaults))
        if unknown:
            raise ValueError(
                f"track {cls.name!r} has no parameter {unknown[0]!r} (valid: {', '.join(sorted(cls.defaults))})"
            )
        return {**cls.defaults, **given}

    def truth_metrics(self, params: dict[str, Any]) -> list[str]:
        """The table metrics a board of this track reads (checked: never published numbers on a scored board)."""
        return [str(params[key]) for key in ("metric", "cost") if params.get(key)]

    @abstractmethod
    def make_split(self, table: Any, params: dict[str, Any]) -> Split:
        """Read truth from ``table`` and split it into public and hidden frames."""

    @abstractmethod
    def check(self, rows: pd.DataFrame, public: dict[str, pd.DataFrame], params: dict[str, Any]) -> list[str]:
        """Problems of typed submission rows against the public part (empty when valid)."""

    @abstractmethod
    def score(
        self,
        rows: pd.DataFrame,
        public: dict[str, pd.DataFrame],
        hidden: dict[str, pd.DataFrame],
        params: dict[str, Any],
        n_boot: int = stats.N_BOOT,
    ) -> Scores:
        """Score valid rows on the hidden part (bootstrap draws aligned across submissions)."""


TRACKS: Registry[type[Track]] = Registry("leaderboard track", entry_point_group="archbench.tracks")


def get_track(name: str) -> Track:
    """An instance of the track registered as ``name``."""
    return TRACKS.get(name)()


def id_problems(given: pd.Series, expected: set[str], what: str, where: str) -> list[str]:
    """Unknown and missing ids of one column against the ids the public part expects."""
    problems = []
    unknown = [i + 1 for i, v in enumerate(given) if v not in expected]
    if unknown:
        shown = ", ".join(repr(str(given.iloc[r - 1])[:40]) for r in unknown[:3])
        problems.append(f"{where}: unknown {what} at rows {_rows(unknown)} ({shown})")
    missing = sorted(expected - set(given))
    if missing:
        problems.append(
            f"{where}: missing {len(missing)} expected {what} values, e.g. {', '.join(missing[:3])}"
        )
    return problems


def duplicate_problems(rows: pd.DataFrame, keys: list[str], where: str) -> list[str]:
    """One line if a key appears on several rows."""
    dup = rows.duplicated(subset=keys, keep=False)
    if not dup.any():
        return []
    lines = [i + 1 for i in np.flatnonzero(dup.to_numpy())]
    return [f"{where}: duplicate {'/'.join(keys)} at rows {_rows(lines)}"]


def _rows(rows: list[int]) -> str:
    from leaderboards.schema import rows_text

    return rows_text(rows)


def truth_by_arch(table: Any, metric: str, task: str | None, device: str | None = None) -> TruthSource:
    """``metric`` per ``arch_id`` (seeds combined as the table's card says) with the arch strings."""
    conditions: dict[str, Any] = {}
    if task is not None:
        conditions["task"] = task
    if device is not None:
        conditions["device"] = device
    table.check_filters(metric=metric, **conditions)
    wide = table.wide([metric], **conditions)
    if metric not in wide:
        raise ValueError(f"table {table.path} has no ok values of {metric!r} for {conditions or 'any task'}")
    values = wide[metric].dropna()
    archs = table.archs.drop_duplicates("arch_id").set_index("arch_id")["arch"].astype(str)
    frame = pd.DataFrame({"arch_id": values.index.astype(str), "value": values.to_numpy(np.float64)})
    frame["arch"] = archs.reindex(frame["arch_id"]).to_numpy()
    return TruthSource(frame, is_published(table, metric), f"{metric} from table {table.content_id}")


def is_published(table: Any, metric: str) -> bool:
    """Whether ``metric`` came from a published file (an import) rather than archbench's own runs."""
    card = table.metrics.get(metric, {})
    imported = table.filter(metric=metric)["device"].astype(str).eq("imported").any()
    return bool(card.get("source") or imported)
