"""Builds check every setting before work, allow one writer per folder, clean up after kills, and retry failures.

The hardening issue's classes: settings accepted and turned into ``error`` records (exit 0), two builds
on one ``--out`` both computing everything, hidden temporary folders left by a killed export, a real
out-of-memory recorded as ``error``, and failed units that a rerun never retried.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pytest
import torch

from benchmarks.cli import main
from benchmarks.journal import Journal, JournalError
from benchmarks.locks import FileLock, LockedError
from benchmarks.store import export
from benchmarks.table import open_table
from spaces.failures import failure_status, is_out_of_memory

BASE = [
    "build",
    "--sample",
    "3",
    "--proxies",
    "params,snip",
    "--batch-size",
    "4",
    "--resolution",
    "8",
    "--build-options",
    "C=4,N=1",
    "--workers",
    "1",
    "--quiet",
]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--task", "nope"], "unknown task 'nope'"),
        (["--init", "nope"], "unknown init scheme 'nope'"),
        (["--build-options", "C=0,N=1"], "nb201 cannot build a network with build options C=0, N=1"),
        (["--build-options", "C=4,X=3"], "unknown build options for nb201: ['X']"),
        (["--proxy-seeds", "-1"], "proxy seed must be an integer in [0, 4,294,967,295], got -1"),
        (["--proxy-seeds", str(2**40)], "proxy seed must be an integer"),
        (["--train-epochs", "1", "--train-seeds", "-3"], "training seed must be an integer"),
        (["--train-epochs", "100000"], "recipe epochs must be an integer in [1, 1,000]"),
        (["--batch-size", "0"], "protocol batch_size must be an integer in [1, 65,536]"),
        (["--batch-size", str(10**9)], "protocol batch_size must be an integer in [1, 65,536]"),
        (["--resolution", "10"], "nb201 needs an input resolution divisible by 4, got 10"),
        (["--device", "cuda:7"], "unknown device kind 'cuda:7' (valid: cpu, cuda)"),
        (["--proxies", "params,nope"], "unknown proxy 'nope'"),
    ],
)
def test_bad_settings_fail_before_anything_is_written(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    assert main([*BASE, *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message for a machine without CUDA")
def test_cuda_without_a_cuda_device_fails_before_work(tmp_path, capsys):
    assert main([*BASE, "--device", "cuda", "--out", str(tmp_path / "out")]) == 2
    assert "torch sees no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _hold_lock_in_another_process(path) -> subprocess.Popen:
    """A child process that takes the FileLock on ``path``, says so, and waits for its stdin to close."""
    code = textwrap.dedent(
        f"""
        import sys
        from benchmarks.locks import FileLock
        FileLock({str(path)!r}, "x").acquire()
        print("held", flush=True)
        sys.stdin.read()
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_second_build_on_the_same_folder_stops_with_one_line(tmp_path, capsys):
    out = tmp_path / "out"
    child = _hold_lock_in_another_process(out / "journal.sqlite.lock")
    try:
        assert main([*BASE, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"is in use by another archbench process (pid {child.pid})" in err
        assert err.count("\n") == 1
        assert not (out / "journal.sqlite").exists()  # the second build wrote nothing
    finally:
        child.communicate("", timeout=30)
    # Once the first process is gone, the folder is free again (a SIGKILLed holder frees it too).
    assert main([*BASE, "--out", str(out)]) == 0
    assert not (out / "journal.sqlite.lock").exists()  # the lock file goes with its holder


def test_the_journal_refuses_a_second_writer_but_not_readers(tmp_path):
    path = tmp_path / "journal.sqlite"
    Journal(path).close()
    child = _hold_lock_in_another_process(path.with_name("journal.sqlite.lock"))
    try:
        with pytest.raises(JournalError, match="in use by another archbench process"):
            Journal(path)
        with Journal(path, readonly=True) as journal:  # `archbench status` while a build runs
            assert journal.count("units") == 0
    finally:
        child.communicate("", timeout=30)


def test_locks_are_reentrant_in_one_process_and_exclusive_across_processes(tmp_path):
    path = tmp_path / "x.lock"
    first = FileLock(path, "x").acquire()
    second = FileLock(path, "x").acquire()  # a command holding a folder's lock opens its journal
    second.release()
    assert path.exists()
    first.release()
    assert not path.exists()
    child = _hold_lock_in_another_process(path)
    try:
        with pytest.raises(LockedError, match=f"pid {child.pid}"):
            FileLock(path, "x").acquire()
    finally:
        child.communicate("", timeout=30)
    FileLock(path, "x").acquire().release()


def test_concurrent_export_of_one_table_is_refused_and_leftovers_are_cleaned(tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*BASE, "--out", str(out)]) == 0
    # What a kill -9 during an export leaves: hidden temporary siblings (old and new naming).
    for leftover in (".table.tmp-abc123", ".table.q8x7w2", ".table.old-zzz"):
        (out / leftover / "records.parquet").parent.mkdir(parents=True)
        (out / leftover / "records.parquet").write_bytes(b"half")
    (out / ".tablet.tmp-keep").mkdir()  # another folder's: not ours to delete
    child = _hold_lock_in_another_process(out / ".table.lock")
    try:
        with pytest.raises(LockedError, match="in use by another archbench process"):
            export(out / "journal.sqlite", out / "table", overwrite=True)
    finally:
        child.communicate("", timeout=30)
    export(out / "journal.sqlite", out / "table", overwrite=True)
    left = sorted(p.name for p in out.iterdir() if not p.name.startswith("journal.sqlite"))
    assert left == [".tablet.tmp-keep", "table"]
    open_table(out / "table")


def test_retry_failed_recomputes_error_units_and_leaves_results_alone(tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*BASE, "--out", str(out)]) == 0
    journal = out / "journal.sqlite"
    db = sqlite3.connect(journal)
    with db:  # a unit that failed with error (e.g. its worker was killed on every attempt)
        (key,) = db.execute("SELECT unit_key FROM records WHERE metric = 'snip' LIMIT 1").fetchone()
        db.execute(
            "UPDATE records SET status = 'error', value = NULL, message = 'WorkerDied: x' WHERE unit_key = ?",
            (key,),
        )
    db.close()
    capsys.readouterr()
    assert main([*BASE, "--out", str(out)]) == 0
    output = capsys.readouterr().out
    assert "0 units run" in output and "1 unit(s) hold error/oom records; rerun with --retry-failed" in output
    assert main([*BASE, "--retry-failed", "--out", str(out)]) == 0
    output = capsys.readouterr().out
    assert "retrying 1 failed unit(s)" in output and "1 units run" in output
    assert set(open_table(out / "table").records["status"]) == {"ok"}


def test_a_real_out_of_memory_is_recorded_as_oom():
    with pytest.raises(RuntimeError) as cpu:  # the CPU allocator's own error, not a made-up one
        torch.empty(2**50)
    assert is_out_of_memory(cpu.value) and failure_status(cpu.value) == "oom"
    assert failure_status(MemoryError()) == "oom"
    assert failure_status(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")) == "oom"
    assert failure_status(RuntimeError("mat1 and mat2 shapes cannot be multiplied")) == "error"
    assert failure_status(ValueError("out of memory")) == "error"  # only runtime/memory errors count


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--threads", "100000"], "threads must be in [1, "),
        (["--workers", "100000"], "workers must be in [1, "),
        (["--seed", "-5"], "--seed must be an integer in [0, 4,294,967,295], got -5"),
    ],
)
def test_absurd_executor_settings_fail_before_work(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    assert main([*[a for a in BASE if a not in ("--workers", "1")], *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (KeyError(b"task"), "missing field 'task' in the input"),
        (KeyError("sha256"), "missing field 'sha256' in the input"),
        (KeyError("unknown task 'x' (valid: a, b)"), "unknown task 'x' (valid: a, b)"),
        (ValueError("two\nlines"), "two lines"),
    ],
)
def test_cli_errors_name_the_problem_not_an_internal(exc, line):
    from benchmarks.cli import _one_line

    assert _one_line(exc) == line
