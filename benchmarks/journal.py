"""The SQLite build journal: one committed transaction per finished unit of work.

A unit's records and its completion mark are written in one transaction, so a build killed at any
moment (even with SIGKILL) loses at most the units in flight and never duplicates a row; restarting
skips every committed unit. Writes are idempotent by key (``INSERT OR IGNORE``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.schema import ARCH_COLUMNS, RECORD_COLUMNS


def _cols(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


_DDL = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units (key TEXT PRIMARY KEY, finished_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS archs ({_cols(ARCH_COLUMNS)}, PRIMARY KEY (arch));
CREATE TABLE IF NOT EXISTS records (unit_key TEXT NOT NULL, row INTEGER NOT NULL, {_cols(RECORD_COLUMNS)},
    PRIMARY KEY (unit_key, row));
"""

_COLUMNS = {
    "meta": ("key", "value"),
    "units": ("key", "finished_at"),
    "archs": tuple(ARCH_COLUMNS),
    "records": ("unit_key", "row", *RECORD_COLUMNS),
}


class JournalError(RuntimeError):
    """The journal file is unreadable or belongs to a different build."""


class Journal:
    """A build journal at ``path`` (created if missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_DDL)
            for table, expected in _COLUMNS.items():
                found = tuple(row[1] for row in self._db.execute(f"PRAGMA table_info({table})"))
                if found != expected:
                    raise JournalError(
                        f"{self.path}: not an archbench journal (table {table!r} has columns {list(found)})"
                    )
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise JournalError(f"{self.path}: not a usable archbench journal ({exc})") from exc
        except JournalError:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

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
    def bind(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``, or check it equals what an earlier run stored."""
        text = json.dumps(value, sort_keys=True)
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            with self._transaction() as db:
                db.execute("INSERT INTO meta VALUES (?, ?)", (key, text))
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

    def commit_unit(self, key: str, records: Sequence[dict[str, Any]], finished_at: str) -> bool:
        """Write a unit's records and mark it done, atomically; False if it was already done."""
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM units WHERE key = ?", (key,)).fetchone():
                return False
            db.executemany(
                f"INSERT OR IGNORE INTO records VALUES (?, ?, {', '.join('?' * len(RECORD_COLUMNS))})",
                [(key, i, *(r[c] for c in RECORD_COLUMNS)) for i, r in enumerate(records)],
            )
            db.execute("INSERT INTO units VALUES (?, ?)", (key, finished_at))
        return True

    # ---- reading back ---------------------------------------------------------------------------------
    def count(self, table: str) -> int:
        """Row count of ``records``, ``units`` or ``archs``."""
        if table not in ("records", "units", "archs"):
            raise ValueError(f"unknown journal table {table!r}")
        return int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def rows(self, table: str) -> list[dict[str, Any]]:
        """All rows of ``records`` or ``archs`` as dicts in a stable order."""
        columns = {"records": RECORD_COLUMNS, "archs": ARCH_COLUMNS}[table]
        order = "unit_key, row" if table == "records" else "arch"
        cursor = self._db.execute(f"SELECT {_cols(columns)} FROM {table} ORDER BY {order}")
        rows = [dict(zip(columns, row)) for row in cursor]
        if table == "archs":  # SQLite stores booleans as integers
            for r in rows:
                r["degenerate"] = bool(r["degenerate"])
        return rows
