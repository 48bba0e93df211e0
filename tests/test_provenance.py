"""Record provenance (schema version 2): new rows carry it, tables and journals from schema 1 still open.

``tests/data/legacy/`` holds a table and a journal written before the column existed; both must open
with every row reading ``measured``, and a writable legacy journal gains the column in place.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from benchmarks.journal import Journal
from benchmarks.schema import (
    PROVENANCES,
    RECORD_COLUMNS,
    RECORD_SCHEMAS,
    SCHEMA_VERSION,
    make_record,
    record_schema,
)
from benchmarks.store import export
from benchmarks.table import open_table
from predictors.calibration import interval_coverage, z_score

LEGACY = Path(__file__).parent / "data" / "legacy"


def test_schema_version_2_adds_provenance_as_the_last_column():
    assert SCHEMA_VERSION == 2 and RECORD_COLUMNS[-1] == "provenance"
    assert "provenance" not in record_schema(1).names
    assert record_schema(2).names == [*record_schema(1).names, "provenance"]
    with pytest.raises(ValueError, match="schema version 3 is not supported"):
        record_schema(3)
    assert set(RECORD_SCHEMAS) == {1, 2}


def _record(**extra):
    return make_record(
        space="nb201",
        space_version="1",
        arch_id="a",
        arch="x",
        task="t",
        metric="m",
        value=1.0,
        unit="",
        fidelity=0,
        epoch=0,
        seed=0,
        device="cpu",
        protocol_hash="p",
        status="ok",
        **extra,
    )


def test_records_default_to_measured_and_refuse_unknown_provenance():
    assert _record()["provenance"] == "measured"
    assert _record(provenance="predicted")["provenance"] == "predicted"
    with pytest.raises(ValueError, match="provenance 'guessed' is not one of " + ", ".join(PROVENANCES)):
        _record(provenance="guessed")


def test_a_schema_1_table_opens_and_reads_as_measured():
    manifest = json.loads((LEGACY / "profile_table" / "manifest.json").read_text())
    assert manifest["schema_version"] == 1
    assert "provenance" not in pq.read_schema(LEGACY / "profile_table" / "records.parquet").names
    table = open_table(LEGACY / "profile_table")
    assert list(table.records.columns) == list(RECORD_COLUMNS) and len(table.records) > 0
    assert set(table.records["provenance"].astype(str)) == {"measured"}


def test_a_schema_1_journal_reads_as_measured_and_migrates_when_written(tmp_path):
    journal = tmp_path / "journal.sqlite"
    shutil.copy(LEGACY / "build_journal.sqlite", journal)
    with sqlite3.connect(journal) as db:
        assert "provenance" not in {row[1] for row in db.execute("PRAGMA table_info(records)")}
    with Journal(journal, readonly=True) as old:
        rows = old.rows("records")
    assert rows and {r["provenance"] for r in rows} == {"measured"}
    with Journal(journal) as migrated:  # a writer adds the column; old rows get the default
        assert {r["provenance"] for r in migrated.rows("records")} == {"measured"}
    table = open_table(export(journal, tmp_path / "table"))
    assert table.manifest["schema_version"] == SCHEMA_VERSION
    assert set(table.records["provenance"].astype(str)) == {"measured"} and len(table.records) == len(rows)


def test_coverage_of_a_calibrated_gaussian_matches_its_levels():
    rng = np.random.default_rng(0)
    n = 40_000
    mean, std = rng.normal(size=n), rng.uniform(0.5, 2.0, size=n)
    truth = mean + std * rng.normal(size=n)
    got = interval_coverage(mean, std, truth)
    # binomial standard error at n = 40,000 is <= 0.0025; 4 of them
    assert got["68"] == pytest.approx(0.68, abs=0.01) and got["95"] == pytest.approx(0.95, abs=0.01)
    # intervals half as wide: P(|Z| <= z/2) = 2 Phi(z/2) - 1 (0.381 and 0.673)
    from scipy.stats import norm

    narrow = interval_coverage(mean, std / 2, truth)
    for level in ("68", "95"):
        expected = 2 * norm.cdf(z_score(int(level) / 100) / 2) - 1
        assert narrow[level] == pytest.approx(expected, abs=0.01)
    assert z_score(0.95) == pytest.approx(1.959964, abs=1e-5)


def test_coverage_counts_exactly_on_a_hand_made_case():
    mean, std = np.zeros(4), np.ones(4)
    truth = np.array([0.5, -0.99, 1.5, -3.0])  # inside 68 %: 2; inside 95 % (z = 1.96): 3
    assert interval_coverage(mean, std, truth) == {"68": 0.5, "95": 0.75}
    with pytest.raises(ValueError, match="same non-zero length"):
        interval_coverage([0.0], [1.0, 1.0], [0.0])
    with pytest.raises(ValueError, match=">= 0"):
        interval_coverage([0.0], [-1.0], [0.0])
