"""The local process pool survives dead workers: retry alone, then fail the unit and go on.

The OOM killer ends a worker with SIGKILL, which breaks a ``ProcessPoolExecutor`` for every unit in
flight. These tests kill workers on purpose (a unit that SIGKILLs its own process) and check that no
result is lost, the guilty unit is named, and an innocent unit that shared the pool is not blamed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from _bench_helpers import archbench_exe

from benchmarks.executors import LocalExecutor, WorkerDied
from benchmarks.table import open_table

pytestmark = pytest.mark.slow


def _die_on(item: tuple[int, str]) -> int:
    """Square the number; SIGKILL the worker for the item tagged ``die`` (every time it runs)."""
    number, tag = item
    if tag == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if tag == "slow":
        time.sleep(0.5)
    return number * number


def _die_once(item: tuple[int, str]) -> int:
    """SIGKILL the worker the first time the item with a marker path runs; succeed afterwards."""
    number, marker = item
    if marker and not Path(marker).exists():
        Path(marker).write_text("died once")
        os.kill(os.getpid(), signal.SIGKILL)
    return number + 1


def _failed(item, exc: BaseException) -> str:
    return f"failed: {exc}"


def test_a_unit_that_kills_its_worker_every_time_is_failed_and_the_rest_finish():
    items = [(i, "slow" if i % 3 else "") for i in range(10)]
    items[4] = (4, "die")
    executor = LocalExecutor(workers=2, threads=1, max_retries=1)
    results = dict(executor.map_unordered(_die_on, items, on_error=_failed))
    assert set(results) == set(items)
    for (number, tag), result in results.items():
        if tag == "die":
            assert result.startswith("failed: the worker process died on all 2 attempts")
            assert "SIGKILL" in result
        else:
            assert result == number * number  # no innocent unit shared the blame


def test_a_unit_whose_worker_died_once_succeeds_on_its_retry(tmp_path):
    items = [(i, "") for i in range(6)]
    items[2] = (2, str(tmp_path / "marker"))
    results = dict(LocalExecutor(workers=2, threads=1).map_unordered(_die_once, items, on_error=_failed))
    assert results == {item: item[0] + 1 for item in items}
    assert (tmp_path / "marker").exists()


def test_without_on_error_a_unit_that_always_kills_its_worker_raises_worker_died():
    executor = LocalExecutor(workers=2, threads=1, max_retries=0)
    with pytest.raises(WorkerDied, match="died on all 1 attempts"):
        dict(executor.map_unordered(_die_on, [(1, ""), (2, "die"), (3, "")]))


def test_max_retries_is_checked():
    with pytest.raises(ValueError, match="max_retries"):
        LocalExecutor(workers=2, max_retries=-1)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to find the pool workers")
def test_kill_9_of_a_pool_worker_does_not_stop_the_build(tmp_path):
    """The hostile-user case of the hardening issue: ``kill -9`` of one worker of ``--workers 2``."""
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            archbench_exe(),
            "build",
            "--sample",
            "10",
            "--proxies",
            "params,synflow,snip",
            "--batch-size",
            "8",
            "--resolution",
            "8",
            "--build-options",
            "C=4,N=1",
            "--train-epochs",
            "1",
            "--train-batch-size",
            "256",
            "--workers",
            "2",
            "--threads",
            "1",
            "--quiet",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        victims: list[int] = []
        while time.monotonic() < deadline and proc.poll() is None:
            # Pool workers are the driver's children running python (skip its resource tracker).
            victims = [
                p
                for p in _children(proc.pid)
                if "resource_tracker" not in Path(f"/proc/{p}/cmdline").read_text(errors="replace")
            ]
            if victims and (out / "journal.sqlite").exists():
                break
            time.sleep(0.2)
        assert victims, "no pool worker appeared"
        time.sleep(1.0)
        os.kill(victims[0], signal.SIGKILL)
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "BrokenProcessPool" not in stderr
    table = open_table(out / "table")
    # The killed worker's units were rerun alone and finished: nothing failed, nothing is missing.
    assert set(table.records["status"]) == {"ok"}
    assert set(table.records["metric"]) >= {"params", "synflow", "snip", "val_acc"}
    assert table.records.groupby("metric", observed=True).size()["val_acc"] == 10
