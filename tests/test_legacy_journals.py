"""Journals written before the pipeline refactoring (archbench at 66bef20) resume with nothing to run.

``tests/data/legacy/*.sqlite`` were written by ``tests/data/legacy/make_journals.py`` with the old
``benchmarks.build`` and ``benchmarks.profile_table``. Today's planner must name the same unit keys,
bind the same settings and metric cards (a difference would refuse the resume), and a unit computed
again must give the records the old code wrote.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from benchmarks.build import build, plan
from benchmarks.executors import LocalExecutor
from benchmarks.journal import Journal
from benchmarks.profile_table import profile_table
from benchmarks.table import open_table

DATA = Path(__file__).parent / "data" / "legacy"
_spec = importlib.util.spec_from_file_location("make_journals", DATA / "make_journals.py")
legacy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(legacy)
COMPARED = "unit_key, row, arch, arch_id, metric, value, unit, fidelity, epoch, seed, protocol_hash, status"


def _rows(journal: Path, columns: str = COMPARED) -> list[tuple]:
    with sqlite3.connect(journal) as db:
        return db.execute(f"SELECT {columns} FROM records ORDER BY unit_key, row").fetchall()


def _units(journal: Path) -> set[str]:
    with sqlite3.connect(journal) as db:
        return {k for (k,) in db.execute("SELECT key FROM units")}


def _copy(name: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(DATA / f"{name}_journal.sqlite", folder / "journal.sqlite"))


def test_a_build_journal_of_the_old_code_resumes_with_nothing_to_run(tmp_path: Path) -> None:
    journal = _copy("build", tmp_path)
    assert {u.key for u in plan(legacy.BUILD)[0]} == _units(journal)
    before = _rows(journal)
    result = build(legacy.BUILD, journal, LocalExecutor(1, 1), progress=False)
    assert (result.total, result.ran, result.skipped) == (6, 0, 6)
    assert _rows(journal) == before


def test_a_build_unit_computed_again_gives_the_old_records(tmp_path: Path) -> None:
    journal = _copy("build", tmp_path)
    before = _rows(journal)
    with Journal(journal) as j:
        assert j.forget_units(sorted(_units(journal))) == 6
    assert build(legacy.BUILD, journal, LocalExecutor(1, 1), progress=False).ran == 6
    assert _rows(journal) == before


def _same_device(journal: Path) -> None:
    """The fixture was profiled on another machine: adopt this machine's label (it pins the device)."""
    from hw_profiles.targets import get_target

    label = get_target("cpu").device(legacy.PROFILE.threads).label
    with sqlite3.connect(journal) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'hw_device_label'", (json.dumps(label),))


def test_a_profile_journal_of_the_old_code_resumes_with_nothing_to_run(tmp_path: Path) -> None:
    journal = _copy("profile", tmp_path)
    _same_device(journal)
    columns = "unit_key, row, arch, arch_id, metric, unit, fidelity, epoch, seed, protocol_hash"
    before = _rows(journal, columns)
    result = profile_table("nb201", legacy.ARCHS, legacy.PROFILE, tmp_path, progress=False)
    assert (result.total, result.ran, result.skipped) == (4, 0, 4)
    assert _rows(journal, columns) == before
    table = open_table(tmp_path / "table")
    assert table.metrics["latency_b1"]["combine_seeds"] == "min"
    assert sorted(set(table.records.seed)) == [0, 1]
    manifest = json.loads((tmp_path / "table" / "manifest.json").read_text())
    assert len(manifest["hw_devices"]) >= 1


@pytest.mark.parametrize("name", ["build", "profile"])
def test_old_journals_export_to_tables_that_open(tmp_path: Path, name: str) -> None:
    from benchmarks.pipeline.run import export_journal

    table = open_table(export_journal(_copy(name, tmp_path), tmp_path / "table"))
    assert len(table.records) == len(_rows(tmp_path / "journal.sqlite"))


def test_a_table_folder_of_the_old_code_opens_and_releases(tmp_path: Path) -> None:
    from benchmarks.release import release

    old = open_table(DATA / "profile_table")  # every SHA-256 in its manifest checked
    assert len(old.records) == 4 * 6 and old.content_id.startswith("sha256:")
    released = open_table(release(DATA / "profile_table", "legacy", "0.1.0", tmp_path / "release"))

    def rows(table) -> list[tuple]:
        frame = table.records[["arch", "metric", "seed", "value"]].astype({"arch": str, "metric": str})
        return sorted(frame.itertuples(index=False, name=None))

    assert rows(released) == rows(old)
