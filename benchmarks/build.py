"""Old home of table builds; the pipeline now lives in :mod:`benchmarks.pipeline` (this path re-exports it).

``BuildSpec`` and ``preflight`` are in :mod:`benchmarks.pipeline.specs`, the proxies and training
evaluators in :mod:`benchmarks.pipeline.proxy_units` and :mod:`benchmarks.pipeline.train_units`, the
journal set-up and driver in :mod:`benchmarks.pipeline.run`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.pipeline.executors import Executor
from benchmarks.pipeline.proxy_units import PROXY_SEPARATOR, _proxy_key, finished_proxies, unit_group
from benchmarks.pipeline.run import failed_units, forget_failed, metric_cards, plan_spec, run_spec
from benchmarks.pipeline.specs import DEVICE_KINDS, BuildSpec, _dry_run, preflight
from benchmarks.pipeline.train_units import eval_metric
from benchmarks.pipeline.units import RunResult, Unit, failed_unit, run_unit
from benchmarks.pipeline.units import unit_context as _unit_context
from benchmarks.storage.schema import TRAIN_METRICS

BuildResult = RunResult

__all__ = [
    "DEVICE_KINDS",
    "PROXY_SEPARATOR",
    "TRAIN_METRICS",
    "BuildResult",
    "BuildSpec",
    "Unit",
    "_dry_run",
    "_plan",
    "_unit_context",
    "build",
    "eval_metric",
    "failed_unit",
    "failed_units",
    "finished_proxies",
    "forget_failed",
    "metric_cards",
    "plan",
    "preflight",
    "run_unit",
    "unit_group",
]


def _plan(spec: BuildSpec, done: dict[str, set[str]]) -> tuple[list[Unit], list[dict[str, Any]], int]:
    """:func:`plan` plus the number of units a plan without ``done`` would have."""
    keys = frozenset(_proxy_key(group, tuple(names)) for group, names in done.items() if names)
    return plan_spec(spec, keys)


def plan(spec: BuildSpec, done: dict[str, set[str]] | None = None) -> tuple[list[Unit], list[dict[str, Any]]]:
    """The units of ``spec`` and the rows of its architectures table.

    With ``done`` (from :func:`finished_proxies`) a proxy unit computes only the proxies its group
    still lacks, and a group that lacks none is left out.
    """
    units, arch_rows, _ = _plan(spec, done or {})
    return units, arch_rows


def build(
    spec: BuildSpec,
    journal_path: str | Path,
    executor: Executor | None = None,
    progress: bool = True,
    label: str = "build",
) -> RunResult:
    """Run every unit of ``spec`` not yet in the journal (see :func:`benchmarks.pipeline.run.run_spec`)."""
    return run_spec(spec, journal_path, executor, progress, label)
