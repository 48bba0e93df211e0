"""End to end: ``archbench build`` killed with SIGKILL mid-run resumes to the same table as a clean build.

The builds run on a 2-process pool: the killed driver's workers must exit with it (they hold its
output pipes, so reading the victim's output to the end proves they are gone).
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from _bench_helpers import SPACE, archbench_exe

from benchmarks.build import BuildSpec, plan
from benchmarks.journal import Journal
from benchmarks.progress import unit_stage
from benchmarks.table import open_table
from proxies.protocol import Protocol
from proxies.training import Recipe

pytestmark = pytest.mark.slow

SAMPLE = 12
PROXIES = ("params", "flops", "synflow", "snip")
ARGS = [
    "build",
    "--sample",
    str(SAMPLE),
    "--proxies",
    ",".join(PROXIES),
    "--batch-size",
    "8",
    "--resolution",
    "8",
    "--build-options",
    "C=4,N=1",
    "--train-epochs",
    "1",
    "--train-seeds",
    "0",
    "--train-batch-size",
    "256",
    "--workers",
    "2",
    "--threads",
    "1",
    "--quiet",
]
# Records each kind of unit writes: cost proxies, functional proxies, one epoch of training.
UNIT_METRICS = {
    "cost": {"params", "flops"},
    "proxies": {"synflow", "snip"},
    "train": {"train_loss", "train_acc", "train_loss_sum", "val_acc"},
}
# Kill once every cost unit and a few class units are done, well before the end (36 units).
KILL_AFTER = 14


def planned_keys() -> set[str]:
    """The unit keys the command above plans (same sampling as the CLI)."""
    options = (("C", 4), ("N", 1))
    archs = SPACE.sample_unique(SAMPLE, np.random.default_rng(0))
    spec = BuildSpec(
        space="nb201",
        task="mnist5k",
        archs=tuple(a.string for a in archs),
        proxies=PROXIES,
        protocol=Protocol(task="mnist5k", batch_size=8, resolution=8, build=options),
        recipe=Recipe(task="mnist5k", epochs=1, batch_size=256, resolution=8, build=options),
        train_seeds=(0,),
    )
    return {u.key for u in plan(spec)[0]}


def committed_units(journal: Path) -> int:
    """Units committed so far, read without write access (0 while the journal is being created)."""
    if not journal.exists():
        return 0
    try:
        db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return 0
    try:
        return int(db.execute("SELECT COUNT(*) FROM units").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        db.close()


def start(out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [archbench_exe(), *ARGS, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def sorted_values(table, metrics) -> tuple[list, np.ndarray]:
    frame = table.filter(metric=list(metrics)).sort_values(["arch_id", "arch", "metric", "seed", "epoch"])
    keys = list(zip(frame["arch_id"], frame["arch"], frame["metric"], frame["seed"], frame["epoch"]))
    return keys, frame["value"].to_numpy()


def test_sigkill_then_resume_matches_a_clean_build(tmp_path):
    keys = planned_keys()
    assert len(keys) == 3 * SAMPLE
    victim_dir, clean_dir = tmp_path / "victim", tmp_path / "clean"
    journal = victim_dir / "journal.sqlite"
    clean = start(clean_dir)  # runs beside the victim (2 workers x 1 thread each)
    victim = start(victim_dir)
    try:
        deadline = time.monotonic() + 120
        while committed_units(journal) < KILL_AFTER:
            assert victim.poll() is None, "the build ended before it could be killed: make it slower"
            assert time.monotonic() < deadline, "the build made no progress"
            time.sleep(0.02)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        assert victim.returncode == -signal.SIGKILL
        # EOF on the victim's pipes: every orphaned pool worker has exited too.
        victim.communicate(timeout=30)
    finally:
        stop(victim)
    assert not (victim_dir / "table").exists()

    # The killed journal opens, is intact, and every committed unit has all of its records.
    with sqlite3.connect(journal) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Journal(journal) as j:
        done = j.done()
        records = j.rows("records")
    assert 2 <= len(done) < len(keys)
    assert done <= keys
    with sqlite3.connect(journal) as db:
        by_unit = {}
        for key, row, metric in db.execute(
            "SELECT unit_key, row, metric FROM records ORDER BY unit_key, row"
        ):
            by_unit.setdefault(key, []).append((row, metric))
    assert set(by_unit) == done  # no records of unfinished units
    for key, rows in by_unit.items():
        assert [r for r, _ in rows] == list(range(len(rows))), key
        assert sorted(m for _, m in rows) == sorted(UNIT_METRICS[key.split("|")[0]]), key
    assert len(records) == sum(len(v) for v in by_unit.values())

    # Restarting the same command finishes the job, skipping exactly the committed units.
    resumed = subprocess.run(
        [archbench_exe(), *ARGS, "--out", str(victim_dir)], capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    match = re.search(r"(\d+) units run, (\d+) already done", resumed.stdout)
    assert match, resumed.stdout
    assert (int(match[1]), int(match[2])) == (len(keys) - len(done), len(done))

    _, err = clean.communicate(timeout=300)
    assert clean.returncode == 0, err

    with Journal(journal) as j:
        assert j.done() == keys
        rows = j.rows("records")
        killed, finished = j.sessions()
    # The killed run's session still counts what it committed; the resumed one ended cleanly.
    assert (killed["ran"], killed["ended_at"], killed["outcome"]) == (len(done), None, None)
    assert killed["total"] == len(keys) and sum(killed["todo"].values()) == len(keys)
    assert (finished["ran"], finished["outcome"]) == (len(keys) - len(done), "finished")
    left = {stage: n - sum(unit_stage(k) == stage for k in done) for stage, n in killed["todo"].items()}
    assert finished["todo"] == {stage: n for stage, n in left.items() if n}
    with sqlite3.connect(journal) as db:
        assert db.execute("SELECT COUNT(*) FROM (SELECT DISTINCT unit_key, row FROM records)").fetchone()[
            0
        ] == len(rows)
    logical = Counter((r["arch"], r["metric"], r["seed"], r["epoch"], r["protocol_hash"]) for r in rows)
    assert max(logical.values()) == 1

    resumed_table, clean_table = open_table(victim_dir / "table"), open_table(clean_dir / "table")
    assert len(resumed_table.records) == len(clean_table.records) == len(rows)
    assert sorted(resumed_table.archs["arch"]) == sorted(clean_table.archs["arch"])
    for metrics in (PROXIES, ("train_loss", "train_acc", "val_acc")):
        resumed_keys, resumed_values = sorted_values(resumed_table, metrics)
        clean_keys, clean_values = sorted_values(clean_table, metrics)
        assert resumed_keys == clean_keys
        assert np.array_equal(resumed_values, clean_values), metrics
