"""Build throughput (``make bench``): 1 vs 2 local workers on a proxy build, and whole-space planning.

Both workers settings run in the same process, one after the other, so their ratio is comparable even
on a noisy shared machine; absolute times are not.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
import pytest

import proxies
import spaces
from benchmarks.build import BuildSpec, build, plan, run_unit
from benchmarks.executors import LocalExecutor

FIRST_SET = ("params", "flops", "synflow", "snip", "grad_norm", "jacob_cov", "nwot")
# The published network size at batch 64 on the task's own resolution (mnist5k: 28 px).
PROTOCOL = proxies.Protocol(task="mnist5k", batch_size=64, build={"C": 16, "N": 5})
# 24 by default; ARCHBENCH_PERF_BUILD_CELLS picks another count (e.g. a quicker run on a busy machine).
CELLS = int(os.environ.get("ARCHBENCH_PERF_BUILD_CELLS", "24"))


@pytest.fixture(scope="module")
def nb201():
    return spaces.get("nb201")


def _spec(nb201, cells: int) -> BuildSpec:
    archs = nb201.sample_unique(cells, np.random.default_rng(0))
    return BuildSpec(
        space="nb201",
        task="mnist5k",
        archs=tuple(a.string for a in archs),
        proxies=FIRST_SET,
        protocol=PROTOCOL,
    )


def _timed_run(executor: LocalExecutor, units) -> tuple[float, float]:
    """Wall time of the whole run (pool start included) and steady-state units/s after the first result."""
    start = time.perf_counter()
    stamps = [time.perf_counter() for _ in executor.map_unordered(run_unit, units)]
    wall = time.perf_counter() - start
    return wall, (len(stamps) - 1) / (stamps[-1] - stamps[0])


def test_one_vs_two_workers_throughput(benchmark, nb201, tmp_path):
    """First proxy set on CELLS published-size cells: 1 worker x 1 thread vs 2 workers x 1 thread."""
    units = plan(_spec(nb201, CELLS))[0]
    one_wall, one_rate = _timed_run(LocalExecutor(1, 1), units)
    two_wall, two_rate = benchmark.pedantic(
        _timed_run, args=(LocalExecutor(2, 1), units), rounds=1, iterations=1
    )
    benchmark.extra_info.update(
        {
            "units": len(units),
            "one_worker_wall_s": round(one_wall, 2),
            "two_workers_wall_s": round(two_wall, 2),
            "wall_speedup": round(one_wall / two_wall, 3),
            "steady_state_speedup": round(two_rate / one_rate, 3),
        }
    )
    print(f"\n1 vs 2 workers on {len(units)} units: {benchmark.extra_info}")
    if two_rate / one_rate < 1.8:  # the goal on an otherwise idle machine with >= 2 free cores
        warnings.warn(
            f"2 workers ran {two_rate / one_rate:.2f}x the units/s of 1 (goal 1.8x); is the machine busy?",
            stacklevel=1,
        )


def test_plan_whole_space(benchmark, nb201):
    """Planning all 15,625 cells (cost per cell, functional per class): the goal is under 2 s."""
    cells = tuple(a.string for a in nb201.enumerate())
    spec = BuildSpec(space="nb201", task="mnist5k", archs=cells, proxies=FIRST_SET, protocol=PROTOCOL)
    plan(spec)  # warm the space's one-off index tables
    units, rows = benchmark.pedantic(plan, args=(spec,), rounds=3, iterations=1)
    assert (len(units), len(rows)) == (15_625 + 6_466, 15_625)


def test_build_of_a_finished_whole_space_journal_is_quick(benchmark, nb201, tmp_path):
    """A resumed whole-space build whose journal holds every unit: planning + skipping, no work."""
    import sqlite3

    from benchmarks.journal import Journal
    from benchmarks.schema import utc_now

    cells = tuple(a.string for a in nb201.enumerate())
    spec = BuildSpec(space="nb201", task="mnist5k", archs=cells, proxies=("params",), protocol=PROTOCOL)
    journal = tmp_path / "journal.sqlite"
    Journal(journal).close()  # the schema; then every unit marked done in one transaction
    with sqlite3.connect(journal) as db:
        db.executemany(
            "INSERT INTO units (key, finished_at) VALUES (?, ?)", [(u.key, utc_now()) for u in plan(spec)[0]]
        )
    result = benchmark.pedantic(
        build, args=(spec, journal, LocalExecutor(1, 1)), kwargs={"progress": False}, rounds=1, iterations=1
    )
    assert (result.ran, result.skipped) == (0, 15_625)


def test_commit_cost_of_session_records(benchmark, tmp_path):
    """Each commit also moves its session's count and last time (same transaction): the cost of that,
    as a ratio against plain commits in the same process (interleaved blocks of 500 units)."""
    from benchmarks.journal import Journal
    from benchmarks.schema import RECORD_COLUMNS, utc_now

    record = dict.fromkeys(RECORD_COLUMNS)
    records = [dict(record, metric=f"m{i}") for i in range(7)]  # a first-proxy-set unit's 7 records
    times = {"plain": 0.0, "session": 0.0}
    with Journal(tmp_path / "journal.sqlite") as journal:
        session = journal.start_session(utc_now(), 10_000, {"proxies": 10_000}, "bench")

        def blocks() -> None:
            for block in range(5):
                for mode in ("plain", "session"):
                    start = time.perf_counter()
                    for i in range(500):
                        key = f"proxies|{mode}|{block}|{i}|{time.perf_counter_ns()}"
                        journal.commit_unit(
                            key, records, utc_now(), session=session if mode == "session" else None
                        )
                    times[mode] += time.perf_counter() - start

        benchmark.pedantic(blocks, rounds=1, iterations=1)
    ratio = times["session"] / times["plain"]
    benchmark.extra_info.update(
        {
            "plain_ms_per_commit": 1e3 * times["plain"] / 2500,
            "session_ms_per_commit": 1e3 * times["session"] / 2500,
            "session_over_plain": ratio,
        }
    )
    assert ratio < 3  # an UPDATE by primary key beside the inserts, in one fsynced transaction


def test_status_of_a_whole_space_journal(benchmark, nb201, tmp_path):
    """``archbench status`` on a journal the size of a whole-space build (22,091 units, 3 sessions)."""
    from benchmarks.journal import Journal
    from benchmarks.status import journal_status

    cells = tuple(a.string for a in nb201.enumerate())
    spec = BuildSpec(space="nb201", task="mnist5k", archs=cells, proxies=FIRST_SET, protocol=PROTOCOL)
    keys = [u.key for u in plan(spec)[0]]
    path = tmp_path / "journal.sqlite"
    with Journal(path) as journal:
        for n, part in enumerate((keys[:8000], keys[8000:16000], keys[16000:])):
            session = journal.start_session(f"2026-01-01T0{n}:00:00+00:00", len(keys), {"cost": 1}, "bench")
            journal._db.execute("BEGIN")
            journal._db.executemany(
                "INSERT INTO units VALUES (?, ?, ?)",
                [
                    (k, f"2026-01-01T0{n}:{i // 1000 % 60:02d}:{i % 60:02d}+00:00", session)
                    for i, k in enumerate(part)
                ],
            )
            journal._db.execute("COMMIT")
    status = benchmark.pedantic(journal_status, args=(path,), rounds=3, iterations=1)
    assert status["units"] == len(keys) == 22_091 and len(status["sessions"]) == 3
