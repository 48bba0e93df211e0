"""The demo's latency step: the best demo classes' published-size latencies from the shipped nb201-cpu."""

from __future__ import annotations

import types

import pandas as pd
import pytest
from rich.console import Console

import benchmarks.storage.table as table_module
from benchmarks.storage.table import open_table
from hw_profiles.demo import demo_latency


def test_the_demo_answers_latency_from_the_shipped_cpu_table(tmp_path):
    """Five best classes by val accuracy; every LUT figure is the shipped table's own record."""
    demo = open_table("nb201-fmnist")
    cpu = open_table("nb201-cpu")
    console = Console(record=True, width=300)
    path = demo_latency(demo.path, tmp_path, (), "fmnist14k", console)
    frame = pd.read_csv(path)
    best = demo.wide(["val_acc"], task="fmnist14k")["val_acc"].dropna().sort_values(ascending=False)
    assert list(frame["val_acc"]) == pytest.approx(list(best.head(5)))
    records = cpu.records
    for row in frame.to_dict("records"):
        for batch in (1, 64):
            shipped = records[
                (records["arch"] == row["arch"]) & (records["metric"] == f"lut_latency_b{batch}")
            ]
            assert row[f"lut_latency_b{batch}[predicted]"] == pytest.approx(
                float(shipped["value"].iloc[0]), rel=1e-12
            )
    text = console.export_text()
    assert "nothing measured live" in text and "held-out cells within +-10 %" in text


def test_the_latency_step_refuses_a_table_of_another_space(tmp_path, monkeypatch):
    """A demo table of another space is refused with one line (the demo then says the step was skipped)."""
    fake = types.SimpleNamespace(manifest={"space": {"name": "fbnet", "version": "1"}})
    monkeypatch.setattr(table_module, "open_table", lambda path: fake)
    with pytest.raises(ValueError, match="not an NB201 table"):
        demo_latency(tmp_path, tmp_path, (), "fmnist14k", Console(width=200))


def test_the_demo_compares_only_the_classes_it_rebuilt():
    """The live comparison sees only the rebuilt classes' records: an OUT folder that holds an earlier
    run's other classes (a --live demo's 60, say) no longer makes the shipped answer fail."""
    from benchmarks.commands.demo import _only

    table = open_table("nb201-fmnist-1.0.0")
    archs = tuple(table.records["arch"].astype(str).drop_duplicates().iloc[[3, 700]])
    cut = _only(table, archs)
    assert set(cut.records["arch"]) == set(archs) == set(cut.archs["arch"])
    assert len(cut.records) == len(table.records[table.records["arch"].isin(archs)])
