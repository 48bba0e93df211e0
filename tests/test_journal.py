"""The SQLite build journal: atomic, idempotent unit commits, metadata binding, bad files, read-back."""

from __future__ import annotations

import sqlite3

import pytest

from benchmarks.journal import Journal, JournalError
from benchmarks.schema import RECORD_COLUMNS, make_record


def rec(metric: str = "params", value: float | None = 1.5, status: str = "ok", **extra: object) -> dict:
    fields = {
        "space": "nb201",
        "space_version": "1.0",
        "arch_id": "0123456789abcdef",
        "arch": "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "task": "mnist5k",
        "metric": metric,
        "value": value,
        "unit": "M",
        "fidelity": 0,
        "epoch": 0,
        "seed": 0,
        "device": "cpu:test",
        "protocol_hash": "f" * 64,
        "seconds": 0.01,
        "status": status,
        "message": "" if status == "ok" else "why",
    }
    fields.update(extra)
    return make_record(**fields)


def arch_row(arch: str, degenerate: bool, index: int | None = 7) -> dict:
    return {
        "space": "nb201",
        "space_version": "1.0",
        "arch": arch,
        "arch_id": arch[:16].ljust(16, "0"),
        "index": index,
        "degenerate": degenerate,
    }


@pytest.fixture
def journal(tmp_path):
    with Journal(tmp_path / "sub" / "journal.sqlite") as j:
        yield j


def test_new_journal_is_empty_and_creates_parent(tmp_path):
    path = tmp_path / "a" / "b" / "journal.sqlite"
    with Journal(path) as j:
        assert path.exists()
        assert j.done() == set()
        assert j.meta() == {}
        assert (j.count("records"), j.count("units"), j.count("archs")) == (0, 0, 0)


def test_commit_unit_writes_records_and_marks_done(journal):
    records = [rec("params", 1.5), rec("flops", None, status="error")]
    assert journal.commit_unit("cost|a", records, "2024-01-01T00:00:00+00:00") is True
    assert journal.done() == {"cost|a"}
    assert journal.count("records") == 2
    rows = journal.rows("records")
    assert [r["metric"] for r in rows] == ["params", "flops"]
    assert rows[0]["value"] == 1.5 and rows[1]["value"] is None
    assert rows[1]["status"] == "error" and rows[1]["message"] == "why"
    assert set(rows[0]) == set(RECORD_COLUMNS)
    assert {k: rows[0][k] for k in RECORD_COLUMNS} == {k: records[0][k] for k in RECORD_COLUMNS}


def test_commit_unit_is_idempotent(journal):
    assert journal.commit_unit("u1", [rec("params", 1.0)], "t") is True
    # Same key again, even with other records: refused, nothing added.
    assert journal.commit_unit("u1", [rec("params", 2.0), rec("flops", 3.0)], "t") is False
    assert journal.count("records") == 1
    assert journal.count("units") == 1
    assert journal.rows("records")[0]["value"] == 1.0


def test_done_lists_every_committed_key(journal):
    keys = {f"unit|{i}" for i in range(5)}
    for key in sorted(keys):
        journal.commit_unit(key, [rec()], "t")
    journal.commit_unit("empty", [], "t")  # a unit may legitimately produce no records
    assert journal.done() == keys | {"empty"}
    assert journal.count("records") == 5


def test_commit_unit_is_atomic_when_a_record_is_bad(journal):
    journal.commit_unit("good", [rec()], "t")
    broken = [rec("params", 1.0), {k: v for k, v in rec("flops", 2.0).items() if k != "value"}]
    with pytest.raises(KeyError):
        journal.commit_unit("bad", broken, "t")
    unstorable = [rec("params", 1.0), {**rec("flops", 2.0), "value": object()}]
    with pytest.raises((sqlite3.Error, TypeError, ValueError)):
        journal.commit_unit("bad2", unstorable, "t")
    # Neither the first record nor the completion mark of a failed unit was kept.
    assert journal.done() == {"good"}
    assert journal.count("records") == 1
    # The unit can be committed later, and the journal is still usable.
    assert journal.commit_unit("bad", [rec("params", 1.0), rec("flops", 2.0)], "t") is True
    assert journal.count("records") == 3


def test_committed_units_survive_reopening(tmp_path):
    path = tmp_path / "journal.sqlite"
    with Journal(path) as j:
        j.commit_unit("u", [rec("params", 4.25)], "t")
        j.bind("space", {"name": "nb201", "version": "1.0"})
    with Journal(path) as j:
        assert j.done() == {"u"}
        assert j.rows("records")[0]["value"] == 4.25
        assert j.meta() == {"space": {"name": "nb201", "version": "1.0"}}
        assert j.commit_unit("u", [rec()], "t") is False


def test_bind_stores_checks_and_refuses_a_different_value(journal):
    protocol = {"batch_size": 8, "build": {"C": 4, "N": 1}}
    journal.bind("protocol:abc", protocol)
    journal.bind("protocol:abc", {"build": {"N": 1, "C": 4}, "batch_size": 8})  # same JSON, key order free
    assert journal.meta() == {"protocol:abc": protocol}
    journal.bind("space", {"name": "nb201"})
    with pytest.raises(JournalError, match="different space") as info:
        journal.bind("space", {"name": "nb101"})
    message = str(info.value)
    assert "\n" not in message
    assert str(journal.path) in message
    assert journal.meta()["space"] == {"name": "nb201"}


def test_bind_upgrades_a_value_that_lacks_only_added_fields(journal):
    old = {"unit": "ms", "kind": "cost"}
    journal.bind("metric:latency_b1", old)
    new = {**old, "combine_seeds": "min"}
    for different in ({**new, "unit": "s"}, {"unit": "ms", "combine_seeds": "min"}):
        with pytest.raises(JournalError, match="different metric:latency_b1"):
            journal.bind("metric:latency_b1", different, added_fields=("combine_seeds",))
    with pytest.raises(JournalError):  # without added_fields the new key is a difference like any other
        journal.bind("metric:latency_b1", new)
    journal.bind("metric:latency_b1", new, added_fields=("combine_seeds",))
    assert journal.meta()["metric:latency_b1"] == new
    with pytest.raises(JournalError):  # once stored, an added field is checked like the rest
        journal.bind("metric:latency_b1", {**old, "combine_seeds": "mean"}, added_fields=("combine_seeds",))


def test_non_sqlite_file_raises_journal_error(tmp_path):
    path = tmp_path / "journal.sqlite"
    path.write_bytes(b"this is not a database, just garbage bytes \x00\xff" * 100)
    with pytest.raises(JournalError) as info:
        Journal(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert "not a usable archbench journal" in message


def test_rows_round_trip_archs_with_booleans(journal):
    rows = [arch_row("|b|", True, index=None), arch_row("|a|", False, index=3)]
    journal.add_archs(rows)
    journal.add_archs(rows)  # idempotent
    back = journal.rows("archs")
    assert journal.count("archs") == 2
    assert [r["arch"] for r in back] == ["|a|", "|b|"]
    assert [r["degenerate"] for r in back] == [False, True]
    assert all(type(r["degenerate"]) is bool for r in back)
    assert back[0]["index"] == 3 and back[1]["index"] is None
    assert back[1] == rows[0]


def test_rows_and_count_refuse_unknown_tables(journal):
    with pytest.raises(ValueError, match="unknown journal table"):
        journal.count("units; DROP TABLE records")
    with pytest.raises(KeyError):
        journal.rows("units")


def test_records_rows_are_ordered_by_unit_and_row(journal):
    journal.commit_unit("b", [rec("m0", 0.0), rec("m1", 1.0)], "t")
    journal.commit_unit("a", [rec("m2", 2.0)], "t")
    assert [r["metric"] for r in journal.rows("records")] == ["m2", "m0", "m1"]


def test_make_record_enforces_status_and_value():
    with pytest.raises(ValueError, match="status"):
        rec(status="weird")
    with pytest.raises(ValueError, match="exactly when status is ok"):
        rec(value=None, status="ok")
    with pytest.raises(ValueError, match="exactly when status is ok"):
        rec(value=1.0, status="nan")
    with pytest.raises(ValueError, match="unknown record fields"):
        rec(colour="blue")


def test_foreign_sqlite_database_is_refused_on_open(tmp_path):
    path = tmp_path / "journal.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE records (x INTEGER)")
    try:
        journal = Journal(path)
    except JournalError as exc:
        assert str(path) in str(exc)
        return
    with journal, pytest.raises(JournalError):
        journal.commit_unit("u", [rec()], "t")
