"""The one pipeline: architecture selection, ``build_table`` as a Python call, and a new evaluator plugging in."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _bench_helpers import ALL_CONV, MIXED, PROTOCOL, REP, SPACE

from benchmarks.pipeline import (
    EVALUATORS,
    BuildSpec,
    Evaluator,
    Unit,
    build_table,
    run_spec,
    select_architectures,
)
from benchmarks.pipeline.executors import LocalExecutor
from benchmarks.pipeline.units import unit_context
from benchmarks.storage.schema import make_record
from benchmarks.table import open_table


# ---- select_architectures ----------------------------------------------------------------------------
def test_an_architecture_file_is_read_once_per_cell_with_comments_skipped(tmp_path: Path) -> None:
    path = tmp_path / "archs.txt"
    path.write_text(f"# cells\n{ALL_CONV}\n\n{MIXED}\n{ALL_CONV}\n")
    assert select_architectures("nb201", archs_file=path).archs == (ALL_CONV, MIXED)
    assert select_architectures(SPACE, archs_file=path).members == ()


@pytest.mark.parametrize(
    ("text", "words"),
    [("# nothing\n\n", "lists no architectures"), (f"{ALL_CONV}\n|bogus|\n", "archs.txt:2: ")],
)
def test_a_bad_architecture_file_is_one_line_naming_where(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "archs.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=words):
        select_architectures("nb201", archs_file=path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        select_architectures("nb201", archs_file=tmp_path / "nope.txt")


def test_a_sample_is_seeded_and_of_distinct_classes() -> None:
    first = select_architectures("nb201", sample=5, seed=3).archs
    assert first == select_architectures("nb201", sample=5, seed=3).archs
    assert len({SPACE.parse(a).arch_id for a in first}) == 5
    for bad, words in (
        ({"sample": 0}, "--sample must be >= 1"),
        ({}, "one way"),
        ({"sample": 1, "all_cells": True}, "one way"),
    ):
        with pytest.raises(ValueError, match=words):
            select_architectures("nb201", **bad)


# ---- build_table -------------------------------------------------------------------------------------
class Closing(LocalExecutor):
    closed = 0

    def close(self) -> None:
        Closing.closed += 1


def test_build_table_builds_resumes_and_closes_the_executor_it_made(tmp_path: Path) -> None:
    spec = BuildSpec("nb201", "mnist5k", (ALL_CONV, MIXED), proxies=("params",), protocol=PROTOCOL)
    lines: list[str] = []
    first = build_table(spec, tmp_path, executor=lambda: Closing(1, 1), progress=False, log=lines.append)
    assert (first.ran, first.skipped, first.failed, Closing.closed) == (2, 0, 0, 1)
    assert first.table == tmp_path / "table" and len(open_table(first.table).records) == 2
    again = build_table(
        spec, tmp_path, executor=LocalExecutor(1, 1), progress=False, retry_failed=True, log=lines.append
    )
    assert (again.ran, again.skipped) == (0, 2) and lines == ["retrying 0 failed unit(s)"]
    with pytest.raises(ValueError, match="nothing to build"):
        build_table(BuildSpec("nb201", "mnist5k", (ALL_CONV,)), tmp_path / "empty")
    assert not (tmp_path / "empty").exists()  # refused before anything is written


# ---- a new kind of unit plugs in ---------------------------------------------------------------------
@dataclass(frozen=True)
class CountSpec:
    space: str
    archs: tuple[str, ...]
    members: tuple[str, ...] = ()
    task: str = "cifar10"
    device: str = "cpu"

    def evaluators(self) -> tuple[str, ...]:
        return ("count",)


class CountEvaluator(Evaluator):
    """Counts the non-``none`` edges of each class representative (a stand-in for a predictor)."""

    kind = "count"

    def check(self, spec: Any) -> None:
        if spec.device != "cpu":
            raise ValueError(f"count units run on the cpu, not {spec.device!r}")

    def bindings(self, spec: Any, executor: Any) -> dict[str, Any]:
        return {"count:version": 1}

    def cards(self, spec: Any) -> dict[str, dict[str, Any]]:
        return {"live_edges": {"unit": "count", "kind": "cost", "higher_is_better": True}}

    def plan(self, spec: Any, context: Any) -> tuple[list[Unit], int]:
        units = [
            Unit(f"count|{arch_id}", self.kind, context.space.name, rep.string, spec.task, 0)
            for arch_id, rep in context.representatives.items()
        ]
        return [u for u in units if u.key not in context.done], len(units)

    def run(self, unit: Unit) -> list[dict[str, Any]]:
        base = unit_context(unit)[2]
        value = float(len(unit.arch.split("~")) - 1 - unit.arch.count("none"))
        return [self._record(base, value, "ok", "")]

    def failed(self, unit: Unit, exc: BaseException) -> list[dict[str, Any]]:
        return [self._record(unit_context(unit)[2], None, "error", str(exc))]

    @staticmethod
    def _record(base: dict[str, Any], value: float | None, status: str, message: str) -> dict[str, Any]:
        return make_record(
            **base,
            metric="live_edges",
            value=value,
            unit="count",
            fidelity=0,
            epoch=0,
            device="cpu",
            protocol_hash="count-v1",
            seconds=0.0,
            status=status,
            message=message,
        )


def test_a_registered_evaluator_gets_the_journal_resume_and_executors(tmp_path: Path, monkeypatch) -> None:
    assert EVALUATORS.names() == ["profile", "proxies", "train"]
    monkeypatch.setitem(EVALUATORS._entries, "count", CountEvaluator())
    journal = tmp_path / "journal.sqlite"
    spec = CountSpec("nb201", (ALL_CONV, MIXED, REP))
    first = run_spec(spec, journal, LocalExecutor(1, 1), progress=False)
    assert (first.total, first.ran) == (3, 3)
    assert run_spec(spec, journal, LocalExecutor(1, 1), progress=False).ran == 0
    with sqlite3.connect(journal) as db:
        values = dict(db.execute("SELECT arch, value FROM records"))
        meta = dict(db.execute("SELECT key, value FROM meta"))
    assert values[ALL_CONV] == 6.0 and "metric:live_edges" in meta and "count:version" in meta
    with pytest.raises(ValueError, match="count units run on the cpu, not 'tpu'"):
        run_spec(CountSpec("nb201", (ALL_CONV,), device="tpu"), tmp_path / "bad.sqlite", progress=False)
    assert not (tmp_path / "bad.sqlite").exists()  # checked before the journal is opened


# ---- profile runs share the build's failure handling -------------------------------------------------
class FailingOnce(LocalExecutor):
    """Runs inline; the unit ``victim`` raises (as a worker that keeps crashing would)."""

    def __init__(self, victim: str) -> None:
        super().__init__(1, 1)
        self.victim = victim

    def map_unordered(self, fn, items, on_error=None):
        def run(unit):
            if unit.key == self.victim:
                raise RuntimeError("worker lost")
            return fn(unit)

        return super().map_unordered(run, items, on_error)


def test_a_failed_profile_unit_is_stored_and_measured_again_with_retry_failed(tmp_path: Path) -> None:
    from benchmarks.pipeline import profile_table
    from benchmarks.profile_table import plan
    from hw_profiles.protocol import MeasurementProtocol

    protocol = MeasurementProtocol(
        task="cifar10", resolution=8, build={"C": 4, "N": 1}, metrics=("memory",), warmup=1, repeats=3
    )
    victim = plan("nb201", (ALL_CONV, MIXED), protocol, "label")[0][0]
    first = profile_table(
        "nb201", (ALL_CONV, MIXED), protocol, tmp_path, FailingOnce(victim.key), progress=False
    )
    assert first.ran == 2
    failed = open_table(tmp_path / "table").records.query("status != 'ok'")
    assert list(failed.arch) == [victim.arch] and "worker lost" in failed.message.iloc[0]
    again = profile_table("nb201", (ALL_CONV, MIXED), protocol, tmp_path, progress=False, retry_failed=True)
    assert (again.ran, again.skipped) == (1, 1)
    assert set(open_table(tmp_path / "table").records.status) == {"ok"}
