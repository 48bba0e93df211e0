"""The SQLite build journal: one committed transaction per finished unit of work.

A unit's records and its completion mark are written in one transaction, so a build killed at any
moment (even with SIGKILL) loses at most the units in flight and never duplicates a row; restarting
skips every committed unit. Writes are idempotent by key (``INSERT OR IGNORE``).

Every run that commits units is a *session*: when it started, its plan (units per stage), how many
units it committed and when the last one landed (updated in the unit's own transaction, so a killed
run's row is still right), and how it ended. A build that runs across machines' lifetimes or
sessions keeps its true wall time and pace in the journal (``archbench status``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.storage.schema import ARCH_COLUMNS, LEGACY_PROVENANCE, RECORD_COLUMNS
from spaces.locks import FileLock, LockedError


def _cols(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


_DDL = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units (key TEXT PRIMARY KEY, finished_at TEXT NOT NULL, session INTEGER);
CREATE TABLE IF NOT EXISTS archs ({_cols(ARCH_COLUMNS)}, PRIMARY KEY (arch));
CREATE TABLE IF NOT EXISTS records (unit_key TEXT NOT NULL, row INTEGER NOT NULL, {_cols(RECORD_COLUMNS)},
    PRIMARY KEY (unit_key, row));
CREATE TABLE IF NOT EXISTS sessions (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, last_at TEXT,
    ended_at TEXT, total INTEGER NOT NULL, todo TEXT NOT NULL, ran INTEGER NOT NULL, outcome TEXT,
    runner TEXT NOT NULL);
"""

_COLUMNS = {
    "meta": ("key", "value"),
    "units": ("key", "finished_at", "session"),
    "archs": tuple(ARCH_COLUMNS),
    "records": ("unit_key", "row", *RECORD_COLUMNS),
    "sessions": ("id", "started_at", "last_at", "ended_at", "total", "todo", "ran", "outcome", "runner"),
}
# Journals written before session records: units without the committing session, no sessions table.
_LEGACY_UNITS = ("key", "finished_at")
# Journals written before record provenance (schema version 1): records without the last column.
_LEGACY_RECORDS = ("unit_key", "row", *RECORD_COLUMNS[:-1])


RETRYABLE = ("error", "oom")
"""Statuses of failures worth a retry (a crash, a full memory); ``nan``/``inf`` are results."""


class JournalError(RuntimeError):
    """The journal file is unreadable or belongs to a different build."""


class Journal:
    """A build journal at ``path`` (created if missing).

    ``readonly=True`` opens an existing journal without writing to it (no schema change, no
    migration), also while a build is writing it, and also a journal from before session records.
    """

    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        if readonly and not self.path.is_file():
            raise JournalError(f"{self.path}: no such journal")
        self._lock: FileLock | None = None
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:  # one writer per journal: a second build on the same folder stops here
                self._lock = FileLock(self.path.with_name(self.path.name + ".lock"), str(self.path)).acquire()
            except LockedError as exc:
                raise JournalError(str(exc)) from None
        try:
            if readonly:
                self._db = sqlite3.connect(
                    f"file:{self.path}?mode=ro", uri=True, isolation_level=None, timeout=30
                )
            else:
                self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(_DDL)
                if self._columns("units") == _LEGACY_UNITS:
                    self._db.execute("ALTER TABLE units ADD COLUMN session INTEGER")
                if self._columns("records") == _LEGACY_RECORDS:
                    self._db.execute(
                        f"ALTER TABLE records ADD COLUMN provenance TEXT DEFAULT '{LEGACY_PROVENANCE}'"
                    )
            for table, expected in _COLUMNS.items():
                found = self._columns(table)
                legacy = readonly and (
                    (table == "units" and found == _LEGACY_UNITS)
                    or (table == "sessions" and not found)
                    or (table == "records" and found == _LEGACY_RECORDS)
                )
                if found != expected and not legacy:
                    raise JournalError(
                        f"{self.path}: not an archbench journal (table {table!r} has columns {list(found)})"
                    )
        except sqlite3.DatabaseError as exc:
            self.close()
            raise JournalError(f"{self.path}: not a usable archbench journal ({exc})") from exc
        except JournalError:
            self.close()
            raise

    def _columns(self, table: str) -> tuple[str, ...]:
        return tuple(row[1] for row in self._db.execute(f"PRAGMA table_info({table})"))

    def close(self) -> None:
        """Close the database connection and release the writer's lock."""
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ---- metadata --------------------------------------------------------------------------------
    def bind(self, key: str, value: Any, added_fields: Collection[str] = ()) -> None:
        """Store ``value`` under ``key``, or check it equals what an earlier run stored.

        ``added_fields`` are keys of a dict ``value`` that newer versions added: a stored value that
        lacks only them (a journal written before they existed) is upgraded in place, not refused.
        """
        text = json.dumps(value, sort_keys=True)
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            with self._transaction() as db:
                db.execute("INSERT INTO meta VALUES (?, ?)", (key, text))
        elif row[0] != text and _lacks_only(json.loads(row[0]), value, added_fields):
            with self._transaction() as db:
                db.execute("UPDATE meta SET value = ? WHERE key = ?", (text, key))
        elif row[0] != text:
            raise JournalError(
                f"{self.path}: journal was started with a different {key} ({row[0][:80]}...); "
                "use a new output folder or the same settings"
            )

    def meta(self) -> dict[str, Any]:
        """All stored metadata."""
        return {k: json.loads(v) for k, v in self._db.execute("SELECT key, value FROM meta")}

    # ---- architectures and units -------------------------------------------------------------------
    def add_archs(self, rows: Iterable[dict[str, Any]]) -> None:
        """Record architectures (idempotent)."""
        with self._transaction() as db:
            db.executemany(
                f"INSERT OR IGNORE INTO archs VALUES ({', '.join('?' * len(ARCH_COLUMNS))})",
                [tuple(r[c] for c in ARCH_COLUMNS) for r in rows],
            )

    def done(self) -> set[str]:
        """Keys of the committed units."""
        return {k for (k,) in self._db.execute("SELECT key FROM units")}

    def commit_unit(
        self, key: str, records: Sequence[dict[str, Any]], finished_at: str, session: int | None = None
    ) -> bool:
        """Write a unit's records and mark it done, atomically; False if it was already done.

        With ``session`` (from :meth:`start_session`), that session's count and last time move too.
        """
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM units WHERE key = ?", (key,)).fetchone():
                return False
            db.executemany(
                f"INSERT OR IGNORE INTO records VALUES (?, ?, {', '.join('?' * len(RECORD_COLUMNS))})",
                [(key, i, *(r[c] for c in RECORD_COLUMNS)) for i, r in enumerate(records)],
            )
            db.execute(
                "INSERT INTO units (key, finished_at, session) VALUES (?, ?, ?)", (key, finished_at, session)
            )
            if session is not None:
                db.execute(
                    "UPDATE sessions SET ran = ran + 1, last_at = ? WHERE id = ?", (finished_at, session)
                )
        return True

    def failed_units(self, statuses: Collection[str] = RETRYABLE) -> list[str]:
        """Keys of committed units with at least one record whose status is in ``statuses``."""
        marks = ", ".join("?" * len(statuses))
        cursor = self._db.execute(
            f"SELECT DISTINCT unit_key FROM records WHERE status IN ({marks}) ORDER BY unit_key",
            tuple(statuses),
        )
        return [k for (k,) in cursor]

    def forget_units(self, keys: Collection[str]) -> int:
        """Remove units and their records in one transaction, so the next run computes them again."""
        with self._transaction() as db:
            for key in keys:
                db.execute("DELETE FROM records WHERE unit_key = ?", (key,))
                db.execute("DELETE FROM units WHERE key = ?", (key,))
        return len(keys)

    # ---- sessions -----------------------------------------------------------------------------------
    def start_session(self, started_at: str, total: int, todo: dict[str, int], runner: str) -> int:
        """Record a run that starts now: ``total`` units planned, ``todo`` of them (per stage) not done."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO sessions (started_at, total, todo, ran, runner) VALUES (?, ?, ?, 0, ?)",
                (started_at, total, json.dumps(todo), runner),
            )
        return int(cursor.lastrowid)

    def end_session(self, session: int, ended_at: str, outcome: str) -> None:
        """Record how a session ended (``finished``, ``interrupted``, ``failed: ...``)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE sessions SET ended_at = ?, outcome = ? WHERE id = ?", (ended_at, outcome, session)
            )

    def sessions(self) -> list[dict[str, Any]]:
        """Every recorded session, oldest first (``todo`` decoded; a killed run has no ``ended_at``)."""
        if not self._columns("sessions"):
            return []
        columns = _COLUMNS["sessions"]
        cursor = self._db.execute(f"SELECT {_cols(columns)} FROM sessions ORDER BY id")
        rows = [dict(zip(columns, r)) for r in cursor]
        for r in rows:
            r["todo"] = json.loads(r["todo"])
        return rows

    def unit_times(self) -> list[tuple[str, str, int | None]]:
        """``(key, finished_at, session)`` of every committed unit, in commit order (session ``None``:
        committed before session records, or outside a session, e.g. by an importer)."""
        session = "session" if "session" in self._columns("units") else "NULL"
        return list(self._db.execute(f"SELECT key, finished_at, {session} FROM units ORDER BY rowid"))

    # ---- reading back ---------------------------------------------------------------------------------
    def count(self, table: str) -> int:
        """Row count of ``records``, ``units``, ``archs`` or ``sessions``."""
        if table not in ("records", "units", "archs", "sessions"):
            raise ValueError(f"unknown journal table {table!r}")
        return int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def rows(self, table: str) -> list[dict[str, Any]]:
        """All rows of ``records`` or ``archs`` as dicts in a stable order."""
        columns = {"records": RECORD_COLUMNS, "archs": ARCH_COLUMNS}[table]
        order = "unit_key, row" if table == "records" else "arch"
        select = _cols(columns)
        if table == "records" and "provenance" not in self._columns("records"):  # read-only legacy journal
            select = f"{_cols(columns[:-1])}, '{LEGACY_PROVENANCE}'"
        cursor = self._db.execute(f"SELECT {select} FROM {table} ORDER BY {order}")
        rows = [dict(zip(columns, row)) for row in cursor]
        if table == "archs":  # SQLite stores booleans as integers
            for r in rows:
                r["degenerate"] = bool(r["degenerate"])
        return rows


def _lacks_only(stored: Any, value: Any, added_fields: Collection[str]) -> bool:
    """Whether ``stored`` is the dict ``value`` without some of ``added_fields``."""
    if not added_fields or not isinstance(stored, dict) or not isinstance(value, dict):
        return False
    return stored == {k: v for k, v in value.items() if k not in added_fields or k in stored}
