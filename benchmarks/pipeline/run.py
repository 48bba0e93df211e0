"""Run a spec into its journal: the one journal set-up, plan and driver loop every table build shares.

:func:`run_spec` binds the space, each evaluator's settings and metric cards in the journal (a resume
with other settings is refused), plans the units the journal still lacks, adds the architectures
table and hands the pending units to :func:`~benchmarks.pipeline.driver.drive`, which alone writes
the journal. :func:`export_journal` releases a journal as a table folder.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks.pipeline.driver import drive
from benchmarks.pipeline.executors import Executor, LocalExecutor
from benchmarks.pipeline.specs import preflight
from benchmarks.pipeline.units import EVALUATORS, PlanContext, RunResult, Spec, Unit, failed_unit, run_unit
from benchmarks.storage.journal import Journal
from benchmarks.storage.schema import arch_row


def plan_spec(
    spec: Spec, done: frozenset[str] = frozenset(), meta: dict[str, Any] | None = None
) -> tuple[list[Unit], list[dict[str, Any]], int]:
    """The pending units of ``spec``, the rows of its architectures table and the plan's total size.

    ``done`` (committed unit keys) and ``meta`` (journal metadata) come from the journal of a resumed
    run; a unit whose work is done is left out, but counts in the total.
    """
    import spaces

    space = spaces.get(spec.space)
    archs = tuple(dict.fromkeys(space.parse(s) for s in spec.archs))
    members = [space.parse(s) for s in spec.members]
    classes = {a.arch_id for a in archs}
    for m in members:
        if m.arch_id not in classes:
            raise ValueError(f"member {m.string} belongs to no class of the build (arch_id {m.arch_id})")
    arch_rows = [arch_row(space, a) for a in dict.fromkeys([*archs, *members])]
    representatives: dict[str, Any] = {}
    for a in archs:  # one representative look-up per class, not per member
        if a.arch_id not in representatives:
            representatives[a.arch_id] = space.representative(a)
    context = PlanContext(space, archs, representatives, frozenset(done), meta or {})
    units: list[Unit] = []
    total = 0
    for kind in spec.evaluators():
        planned, size = EVALUATORS.get(kind).plan(spec, context)
        units += planned
        total += size
    return units, arch_rows, total


def metric_cards(spec: Spec) -> dict[str, dict[str, Any]]:
    """Unit, kind and direction of every metric the spec's evaluators write (stored in the manifest)."""
    cards: dict[str, dict[str, Any]] = {}
    for kind in spec.evaluators():
        cards.update(EVALUATORS.get(kind).cards(spec))
    return cards


def run_spec(
    spec: Spec,
    journal_path: str | Path,
    executor: Executor | None = None,
    progress: bool = True,
    label: str = "build",
) -> RunResult:
    """Run every unit of ``spec`` not yet in the journal at ``journal_path``; resumable at any point.

    Args:
        spec: a :class:`~.specs.BuildSpec`, a :class:`~.profile_units.ProfileSpec` or any spec whose
            ``evaluators()`` name registered evaluators.
        journal_path: the SQLite journal (created if missing).
        executor: where units run (default: a local pool; one inline worker for profiling).
        progress: show a progress bar.
        label: names the run in progress lines (``build 2/3`` when one command runs several specs).

    Returns:
        The plan's size, the units skipped as done and run now, and the wall time.
    """
    import spaces

    start = time.perf_counter()
    if executor is None:
        profiling = spec.evaluators() == ("profile",)  # one unit at a time: parallel runs disturb timings
        executor = LocalExecutor(1, spec.protocol.threads) if profiling else LocalExecutor()  # type: ignore[attr-defined]
    preflight(spec, executor)
    space = spaces.get(spec.space)
    evaluators = [EVALUATORS.get(kind) for kind in spec.evaluators()]
    with Journal(journal_path) as journal:
        journal.bind("space", {"name": space.name, "version": space.version})
        for evaluator in evaluators:
            for key, value in evaluator.bindings(spec, executor).items():
                journal.bind(key, value)
        for evaluator in evaluators:
            for name, card in evaluator.cards(spec).items():
                journal.bind(f"metric:{name}", card, added_fields=evaluator.card_added_fields)
        todo, arch_rows, total = plan_spec(spec, frozenset(journal.done()), journal.meta())
        journal.add_archs(arch_rows)
        drive(journal, executor, run_unit, todo, total, label, progress, on_error=failed_unit)
    return RunResult(total, total - len(todo), len(todo), time.perf_counter() - start, Path(journal_path))


def failed_units(journal_path: str | Path) -> list[str]:
    """Keys of the units in the journal at ``journal_path`` holding ``error``/``oom`` records."""
    if not Path(journal_path).is_file():
        return []
    with Journal(journal_path, readonly=True) as journal:
        return journal.failed_units()


def forget_failed(journal_path: str | Path) -> int:
    """Remove the failed units (see :func:`failed_units`) so that the next run computes them again."""
    if not Path(journal_path).is_file():
        return 0
    with Journal(journal_path) as journal:
        return journal.forget_units(journal.failed_units())


def export_journal(journal_path: str | Path, table_dir: str | Path) -> Path:
    """Release the journal as a table folder (replacing an older one atomically).

    A journal that profiled hardware adds ``hw_devices`` to the manifest: the descriptor (versions,
    memory, frequency governor) of every device that ran its units.
    """
    from benchmarks.storage.store import export

    return export(journal_path, table_dir, overwrite=True)
