"""Units of work and the evaluators that plan and run them: the one contract every table build shares.

An :class:`Evaluator` owns one kind of unit (``proxies``, ``train``, ``profile``; predictors later):
it checks a spec's settings, names the journal entries that pin them, gives the metric cards, plans
its units for a spec and runs one unit into records (or, for a unit whose worker kept failing, writes
its failure records). Evaluators are registered in :data:`EVALUATORS` (plugins through the
entry-point group ``archbench.evaluators``); :func:`run_unit` and :func:`failed_unit` dispatch on
``unit.kind``, so one picklable function runs every kind of unit on every executor (local pool, Ray).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from spaces.registry import Registry


@dataclass(frozen=True)
class Unit:
    """One picklable unit of work: what it computes (``key``), on which architecture, with what settings.

    ``kind`` names the evaluator that runs it. ``protocol`` is the proxy or measurement protocol and
    ``recipe`` the training recipe (as dicts); ``proxies`` the proxies a proxy unit computes and
    ``batch_size`` a profile unit's batch. ``device`` is the device kind the unit needs (``cpu`` or
    ``cuda``: what an executor schedules on) and ``device_label`` the descriptor its records name,
    when the evaluator fixes it at plan time.
    """

    key: str
    kind: str
    space: str
    arch: str
    task: str
    seed: int
    proxies: tuple[str, ...] = ()
    protocol: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    batch_size: int = 0
    device_label: str = ""

    @property
    def round_index(self) -> int:
        """A profile unit's measurement round (recorded as the records' seed)."""
        return self.seed


@dataclass(frozen=True)
class RunResult:
    """What a run of a spec did: units planned, already done, run now; wall time; the journal."""

    total: int
    skipped: int
    ran: int
    seconds: float
    journal: Path


class Spec(Protocol):
    """What every spec a pipeline run accepts has: a space, architectures, a task, a device kind."""

    space: str
    archs: tuple[str, ...]
    members: tuple[str, ...]

    @property
    def task(self) -> str: ...

    @property
    def device(self) -> str: ...

    def evaluators(self) -> tuple[str, ...]:
        """Names of the evaluators (unit kinds) the spec asks for, in planning order."""
        ...


@dataclass(frozen=True)
class PlanContext:
    """What an evaluator plans from: the parsed architectures, their class representatives, the journal.

    ``archs`` are the spec's architectures parsed and deduplicated (in the given order);
    ``representatives`` maps each ``arch_id`` to its class representative; ``done`` holds the keys
    of the committed units and ``meta`` the journal's metadata (both empty for a fresh plan).
    """

    space: Any
    archs: tuple[Any, ...]
    representatives: dict[str, Any]
    done: frozenset[str] = frozenset()
    meta: dict[str, Any] = field(default_factory=dict)


class Evaluator(ABC):
    """One kind of unit: how a spec's units of that kind are checked, planned, run and described."""

    kind: ClassVar[str]
    card_added_fields: ClassVar[tuple[str, ...]] = ()
    """Metric-card fields newer versions added: journals whose cards lack only these still resume."""

    @abstractmethod
    def check(self, spec: Any) -> None:
        """Raise a one-line ValueError for a setting that cannot run, before anything is written."""

    @abstractmethod
    def bindings(self, spec: Any, executor: Any) -> dict[str, Any]:
        """Journal metadata entries that pin the settings (a resume with other settings is refused)."""

    @abstractmethod
    def cards(self, spec: Any) -> dict[str, dict[str, Any]]:
        """Unit, kind and direction of every metric this evaluator writes for ``spec``."""

    @abstractmethod
    def plan(self, spec: Any, context: PlanContext) -> tuple[list[Unit], int]:
        """The units still to run and the number of units of the whole plan (done ones included)."""

    @abstractmethod
    def run(self, unit: Unit) -> list[dict[str, Any]]:
        """Execute ``unit`` and return its records; failures are records with a status, never raised."""

    @abstractmethod
    def failed(self, unit: Unit, exc: BaseException) -> list[dict[str, Any]]:
        """Error records for a unit whose worker kept failing, so that the failure is stored."""


EVALUATORS: Registry[Evaluator] = Registry("evaluator", entry_point_group="archbench.evaluators")
EVALUATORS.register("proxies", "benchmarks.pipeline.proxy_units:PROXY_EVALUATOR")
EVALUATORS.register("train", "benchmarks.pipeline.train_units:TRAIN_EVALUATOR")
EVALUATORS.register("profile", "benchmarks.pipeline.profile_units:PROFILE_EVALUATOR")


def run_unit(unit: Unit) -> list[dict[str, Any]]:
    """Execute one unit of any kind (the function every executor maps over the pending units)."""
    return EVALUATORS.get(unit.kind).run(unit)


def failed_unit(unit: Unit, exc: BaseException) -> list[dict[str, Any]]:
    """The failure records of a unit of any kind whose worker crashed or raised after every retry."""
    return EVALUATORS.get(unit.kind).failed(unit, exc)


def unit_context(unit: Unit) -> tuple[Any, Any, dict[str, Any]]:
    """The unit's space, parsed architecture, and the record fields every one of its rows shares."""
    import spaces
    from benchmarks.storage.schema import arch_fields

    space = spaces.get(unit.space)
    arch = space.parse(unit.arch)
    base = {**arch_fields(space, arch), "task": unit.task, "seed": unit.seed}
    return space, arch, base
