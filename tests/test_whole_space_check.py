"""scripts/check_whole_space.py on a small table standing in for the whole space.

The space's enumeration is narrowed to the shared build's five cells, so the script's coverage,
closed-form and class-answer checks run on a real build; a table with one wrong ``params`` value
must fail the closed-form check.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

import pytest
from _bench_helpers import ARCHS, SPACE, copy_journal, shared_build

from benchmarks.store import export

SCRIPT = Path(__file__).parents[1] / "scripts" / "check_whole_space.py"


@pytest.fixture
def check(monkeypatch):
    spec = importlib.util.spec_from_file_location("check_whole_space", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cells = [SPACE.parse(a) for a in ARCHS]
    monkeypatch.setattr(type(SPACE), "enumerate", lambda self: iter(cells))
    return module


def test_a_complete_table_passes_every_check(check, tmp_path_factory, capsys):
    shared = shared_build(tmp_path_factory)
    assert check.main([str(shared.table), "--lookups", "5"]) == 0
    out = capsys.readouterr().out
    assert "ok:   params equals the closed form" in out and "on 5 of 5 cells" in out
    assert "ok:   flops equals the closed form" in out
    assert "ok:   synflow: records for each of the 4 classes" in out
    assert "ok:   val_acc: records for each of the 4 classes, none twice; statuses {'ok': 8}" in out
    assert "5 indices x 5 metrics, 0 mismatches" in out  # nwot, snip, synflow + params, flops
    assert out.rstrip().endswith("all checks passed")


def test_one_wrong_cost_value_fails_the_closed_form_check(check, tmp_path_factory, tmp_path, capsys):
    shared = shared_build(tmp_path_factory)
    journal = copy_journal(shared.journal, tmp_path / "journal.sqlite")
    with sqlite3.connect(journal) as db:
        db.execute(
            "UPDATE records SET value = value + 1e-6 WHERE metric = 'params' AND arch = ?", (ARCHS[0],)
        )
    table = export(journal, tmp_path / "table")
    assert check.main([str(table), "--lookups", "5"]) == 1
    out = capsys.readouterr().out
    assert "FAIL: params equals the closed form" in out and f"first wrong: {ARCHS[0]}" in out
    assert "ok:   flops equals the closed form" in out


def test_an_unreadable_table_is_one_line(check, tmp_path, capsys):
    assert check.main([str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("check_whole_space: error: ")
