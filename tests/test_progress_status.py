"""Per-stage ETA, plain progress lines, journal sessions, the shared driver loop and ``archbench status``."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.cli import main
from benchmarks.driver import drive
from benchmarks.journal import Journal
from benchmarks.progress import RunProgress, StageEta, format_duration, stage_counts, unit_stage
from benchmarks.status import format_status, journal_status


class Clock:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# ---- StageEta -------------------------------------------------------------------------------------------
def test_stage_of_a_key_is_its_first_field():
    assert unit_stage("cost|mnist5k|arch|abc|proxies=flops") == "cost"
    assert unit_stage("train") == "train"
    assert stage_counts(["cost|a", "proxies|b", "cost|c"]) == {"cost": 2, "proxies": 1}


def test_eta_uses_each_stages_own_pace():
    eta = StageEta({"cost": 4, "proxies": 3}, start=0.0)
    eta.record("cost", 1.0)
    eta.record("cost", 2.0)
    # proxies have work left and no pace yet: unknown, not a guess from the cost units' pace
    assert eta.eta() is None
    eta.record("proxies", 12.0)  # charged the 10 s since the last unit
    assert eta.eta() == pytest.approx(2 * 1.0 + 2 * 10.0)
    eta.record("cost", 13.0)
    eta.record("cost", 14.0)
    assert eta.eta() == pytest.approx(2 * 10.0)
    assert eta.left() == "proxies 2 left"


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.floats(0, 100)), min_size=1, max_size=40))
def test_charges_add_up_to_the_elapsed_time(events):
    eta = StageEta({"a": 50, "b": 50, "c": 50}, start=0.0)
    now = 0.0
    for stage, gap in events:
        now += gap
        eta.record(stage, now)
    assert sum(eta.charged.values()) == pytest.approx(now)
    assert sum(eta.finished.values()) == len(events)


def test_format_duration():
    assert format_duration(None) == "?"
    assert format_duration(3725.4) == "1:02:05"
    assert format_duration(-3) == "0:00:00"


# ---- RunProgress without a terminal ------------------------------------------------------------------------
def test_plain_lines_once_per_interval_and_at_the_end():
    clock, stream = Clock(), io.StringIO()
    keys = [f"cost|{i}" for i in range(5)] + ["proxies|0", "proxies|1"]
    with RunProgress("build", 9, keys, interval=60, stream=stream, clock=clock) as advance:
        for i, key in enumerate(keys):
            clock.now = 25.0 * (i + 1)  # a unit every 25 s: lines at >= 60 s, then >= 60 s later
            advance(key)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4  # the opening line, at 75 s, at 150 s, and the final line at 175 s
    assert lines.pop(0).endswith("build: 7 units to run of a 9-unit plan (cost 5 left, proxies 2 left)")
    # no proxy unit has finished yet: their pace (and so the ETA) is unknown, not guessed
    assert "build: 5/9 units (55.6%), elapsed 0:01:15, eta ? (cost 2 left, proxies 2 left)" in lines[0]
    assert "build: 8/9 units (88.9%), elapsed 0:02:30, eta 0:00:25 (proxies 1 left)" in lines[1]
    assert lines[-1].endswith("build: 9/9 units (100.0%), elapsed 0:02:55, eta 0:00:00")


def test_disabled_progress_writes_nothing():
    stream = io.StringIO()
    with RunProgress("build", 2, ["a|1"], enabled=False, stream=stream) as advance:
        advance("a|1")
    assert stream.getvalue() == ""


# ---- journal sessions ------------------------------------------------------------------------------------
def test_sessions_count_commits_in_the_units_transaction(tmp_path):
    with Journal(tmp_path / "j.sqlite") as j:
        sid = j.start_session("2026-01-01T00:00:00+00:00", 3, {"cost": 2, "proxies": 1}, "test")
        assert j.commit_unit("cost|1", [], "2026-01-01T00:00:05+00:00", session=sid)
        assert not j.commit_unit("cost|1", [], "2026-01-01T00:00:06+00:00", session=sid)  # already done
        (row,) = j.sessions()
        assert (row["ran"], row["last_at"], row["ended_at"], row["outcome"]) == (
            1,
            "2026-01-01T00:00:05+00:00",
            None,
            None,
        )
        j.end_session(sid, "2026-01-01T00:00:09+00:00", "finished")
        assert j.sessions()[0]["outcome"] == "finished"
        assert j.count("sessions") == 1


def test_a_journal_from_before_sessions_opens_and_gains_the_table(tmp_path):
    path = tmp_path / "old.sqlite"
    with Journal(path) as j:
        j.commit_unit("cost|1", [], "2026-01-01T00:00:05+00:00")
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE sessions")
    with Journal(path) as j:
        assert j.sessions() == [] and j.done() == {"cost|1"}


# ---- the driver loop -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FakeUnit:
    key: str


class InlineExecutor:
    """Runs inline; raises ``stop_with`` after ``stop_after`` units to simulate an aborted run."""

    workers = threads = 1

    def __init__(self, stop_after: int | None = None, stop_with: BaseException | None = None) -> None:
        self.stop_after, self.stop_with = stop_after, stop_with

    def map_unordered(self, fn, items, on_error=None):
        for i, item in enumerate(items):
            if i == self.stop_after:
                raise self.stop_with
            yield item, fn(item)


UNITS = [FakeUnit("cost|a"), FakeUnit("cost|b"), FakeUnit("proxies|a")]


def test_drive_commits_every_unit_and_closes_its_session(tmp_path):
    with Journal(tmp_path / "j.sqlite") as j:
        assert drive(j, InlineExecutor(), lambda u: [], UNITS, total=4, label="t", progress=False) == 3
        (s,) = j.sessions()
        assert j.done() == {u.key for u in UNITS}
        assert (s["total"], s["todo"], s["ran"], s["outcome"]) == (
            4,
            {"cost": 2, "proxies": 1},
            3,
            "finished",
        )
        assert drive(j, InlineExecutor(), lambda u: [], [], total=4, label="t", progress=False) == 0
        assert j.count("sessions") == 1  # nothing to do: no session


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (KeyboardInterrupt(), "interrupted"),
        (RuntimeError("pool\n broke"), "failed: RuntimeError: pool broke"),
    ],
)
def test_an_aborted_run_records_how_it_ended(tmp_path, error, outcome):
    with Journal(tmp_path / "j.sqlite") as j:
        with pytest.raises(type(error)):
            drive(j, InlineExecutor(2, error), lambda u: [], UNITS, total=3, label="t", progress=False)
        (s,) = j.sessions()
        assert (s["ran"], s["outcome"]) == (2, outcome)
        assert s["ended_at"] is not None


# ---- archbench status --------------------------------------------------------------------------------------
def stamp(seconds: int) -> str:
    return f"2026-01-01T{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}+00:00"


@pytest.fixture
def two_session_journal(tmp_path):
    """Units from before session records, a killed session, and a running (or killed) one."""
    path = tmp_path / "build" / "journal.sqlite"
    with Journal(path) as j:
        j.commit_unit("cost|old1", [], stamp(0))
        j.commit_unit("cost|old2", [], stamp(30))
        first = j.start_session(stamp(100), 8, {"cost": 4, "proxies": 2}, "test")
        for i, t in enumerate((102, 104, 106, 108)):  # 2 s per cost unit
            j.commit_unit(f"cost|{i}", [], stamp(t), session=first)
        j.commit_unit("proxies|0", [], stamp(128), session=first)  # 20 s per proxy unit; then killed
        second = j.start_session(stamp(1000), 8, {"proxies": 1}, "test")
        j.commit_unit("proxies|1", [], stamp(1020), session=second)  # pace 20 s again
    return path


def test_status_sums_session_spans_and_counts_older_units_apart(two_session_journal):
    status = journal_status(two_session_journal.parent)
    assert status["units"] == 8
    assert status["units_by_stage"] == {"cost": 6, "proxies": 2}
    assert (status["unrecorded_units"], status["unrecorded_span_s"]) == (2, 30.0)
    first, second = status["sessions"]
    assert (first["wall_s"], second["wall_s"]) == (28.0, 20.0)  # to the last commit: neither ended cleanly
    assert first["committed_by_stage"] == {"cost": 4, "proxies": 1}
    assert status["wall_s"] == 48.0
    assert second["state"].startswith("no clean end")
    assert status["left_by_stage"] == {"proxies": 0}
    assert status["eta_s"] == 0.0
    text = format_status(status)
    assert "wall time over recorded sessions: 0:00:48" in text
    assert "2 of them predate session records" in text
    assert "latest plan: 8 units, complete" in text


def test_status_eta_from_the_recorded_pace(tmp_path):
    path = tmp_path / "journal.sqlite"
    with Journal(path) as j:
        sid = j.start_session(stamp(0), 10, {"cost": 6, "proxies": 4}, "test")
        for t in (1, 2, 3, 4, 5, 6):
            j.commit_unit(f"cost|{t}", [], stamp(t), session=sid)
        j.commit_unit("proxies|1", [], stamp(16), session=sid)
    status = journal_status(path)
    assert status["left_by_stage"] == {"cost": 0, "proxies": 3}
    assert status["eta_s"] == pytest.approx(3 * 10.0)
    assert "3 left (proxies 3); eta 0:00:30" in format_status(status)


def test_status_cli(two_session_journal, tmp_path, capsys):
    assert main(["status", str(two_session_journal), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["units"] == 8
    assert main(["status", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"archbench status: error: no build journal at {tmp_path / 'missing'}"]


def test_status_tolerates_untimed_units(tmp_path):
    """Units whose commit time is not ISO-8601 (hand-made journals) are counted, not timed."""
    path = tmp_path / "journal.sqlite"
    with Journal(path) as j:
        j.commit_unit("cost|x", [], "t")
        j.commit_unit("cost|y", [], stamp(5))
    status = journal_status(path)
    assert status["units"] == 2 and status["unrecorded_units"] == 2 and status["sessions"] == []
    assert status["unrecorded_span_s"] == 0.0


def test_units_belong_to_the_session_that_committed_them(tmp_path):
    """Times have one-second resolution: a session starting in the second of the previous one's last
    commit must not take that unit, and overlapping runs count their common time once."""
    path = tmp_path / "journal.sqlite"
    with Journal(path) as j:
        a = j.start_session(stamp(0), 4, {"cost": 2}, "a")
        j.commit_unit("cost|1", [], stamp(5), session=a)
        b = j.start_session(stamp(5), 4, {"cost": 1, "proxies": 2}, "b")  # same second, overlapping
        j.commit_unit("cost|2", [], stamp(5), session=a)
        j.end_session(a, stamp(6), "finished")
        j.commit_unit("proxies|1", [], stamp(15), session=b)
    status = journal_status(path)
    first, second = status["sessions"]
    assert first["committed_by_stage"] == {"cost": 2} and first["ran"] == 2
    assert second["committed_by_stage"] == {"proxies": 1}
    assert status["left_by_stage"] == {"cost": 1, "proxies": 1}
    assert status["wall_s"] == 15.0  # [0, 6] and [5, 15]: 15 s of wall time, not 6 + 10


def test_a_session_followed_by_others_without_a_clean_end_was_killed(tmp_path):
    path = tmp_path / "journal.sqlite"
    with Journal(path) as j:
        a = j.start_session(stamp(0), 2, {"cost": 2}, "a")
        j.commit_unit("cost|1", [], stamp(3), session=a)
        b = j.start_session(stamp(100), 2, {"cost": 1}, "b")
        j.commit_unit("cost|2", [], stamp(101), session=b)
    first, second = journal_status(path)["sessions"]
    assert first["state"].startswith("killed") and second["state"].startswith("no clean end")


LEGACY_DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE units (key TEXT PRIMARY KEY, finished_at TEXT NOT NULL);
CREATE TABLE archs ("space", "space_version", "arch", "arch_id", "index", "degenerate", PRIMARY KEY (arch));
CREATE TABLE records (unit_key TEXT NOT NULL, row INTEGER NOT NULL, "space", "space_version", "arch_id", "arch",
    "task", "metric", "value", "unit", "fidelity", "epoch", "seed", "device", "protocol_hash", "seconds",
    "status", "message", "archbench_version", "created_at", PRIMARY KEY (unit_key, row));
"""


def test_status_reads_a_journal_from_before_sessions_without_changing_it(tmp_path):
    path = tmp_path / "journal.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(LEGACY_DDL)
        db.execute("INSERT INTO units VALUES ('cost|1', ?), ('cost|2', ?)", (stamp(0), stamp(40)))
    before = path.read_bytes()
    status = journal_status(path)
    assert (status["units"], status["unrecorded_units"], status["unrecorded_span_s"]) == (2, 2, 40.0)
    assert path.read_bytes() == before  # read-only: no sessions table, no new column
    with Journal(path) as j:  # a build opening it migrates: units gain their session column
        assert j.done() == {"cost|1", "cost|2"}
        assert j.unit_times()[0] == ("cost|1", stamp(0), None)
        j.commit_unit("cost|3", [], stamp(50), session=j.start_session(stamp(45), 3, {"cost": 1}, "t"))
    assert journal_status(path)["sessions"][0]["committed_by_stage"] == {"cost": 1}


def test_units_of_a_legacy_session_are_attributed_by_time(tmp_path):
    """Units committed by a version that recorded sessions but not each unit's session."""
    path = tmp_path / "journal.sqlite"
    with Journal(path) as j:
        sid = j.start_session(stamp(10), 3, {"cost": 3}, "t")
        for t in (11, 12):
            j.commit_unit(f"cost|{t}", [], stamp(t))  # no session recorded with the unit
            j._db.execute("UPDATE sessions SET ran = ran + 1, last_at = ? WHERE id = ?", (stamp(t), sid))
        j.commit_unit("cost|0", [], stamp(2))  # before any session
    status = journal_status(path)
    assert status["sessions"][0]["committed_by_stage"] == {"cost": 2}
    assert status["unrecorded_units"] == 1 and status["left_by_stage"] == {"cost": 1}


def test_the_heartbeat_writes_while_a_long_unit_runs():
    stream = io.StringIO()
    with RunProgress("train", 1, ["train|a"], interval=0.05, stream=stream) as advance:
        time.sleep(0.3)  # one unit that takes six intervals
        advance("train|a")
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 4 and "train: 0/1 units (0.0%)" in lines[1]
    assert lines[-1].split(" ", 1)[1].startswith("train: 1/1 units (100.0%)")
