"""Hugging Face datasets export and load-back (exact round trip, verified hashes) and CSV export."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from _bench_helpers import copy_tree, flip_byte, shared_build

from benchmarks.cli import main
from benchmarks.hf import from_hf_dataset, save_hf, to_hf_dataset
from benchmarks.importers import import_zero_cost_json
from benchmarks.store import TableError, read_verified
from benchmarks.table import open_table


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """The shared build's table and an imported table with nulls (failed scores, missing times)."""
    root = tmp_path_factory.mktemp("hf")
    data = {
        "cifar10": {
            "(2, 2, 2, 2, 2, 2)": {"snip": {"score": float("nan"), "time": 0.5}, "val_accuracy": 91.0},
            "(4, 3, 1, 0, 2, 0)": {"snip": {"score": 2.5}, "val_accuracy": 80.0},
        }
    }
    (root / "zc.json").write_text(json.dumps(data))
    return {
        "build": shared_build(tmp_path_factory).table,
        "nulls": import_zero_cost_json(root / "zc.json", root / "imp"),
    }


@pytest.mark.parametrize("which", ["build", "nulls"])
def test_hf_round_trip_is_exact(tables, which, tmp_path):
    table = open_table(tables[which])
    dataset = to_hf_dataset(table)
    assert set(dataset) == {"records", "architectures"}
    assert dataset["records"].num_rows == len(table.records)
    assert dataset["records"].features["value"].dtype == "float64"
    assert dataset["architectures"].features["degenerate"].dtype == "bool"
    # In memory ...
    back = from_hf_dataset(dataset, table.manifest)
    pd.testing.assert_frame_equal(back.records, table.records)
    pd.testing.assert_frame_equal(back.archs, table.archs)
    # ... and through save_to_disk, opened by open_table with its hashes checked.
    saved = open_table(save_hf(table, tmp_path / "hf"))
    pd.testing.assert_frame_equal(saved.records, table.records)
    pd.testing.assert_frame_equal(saved.archs, table.archs)
    assert saved.metrics == table.metrics
    pd.testing.assert_frame_equal(saved.wide(), table.wide())
    _, arrow = read_verified(tmp_path / "hf")
    _, original = read_verified(tables[which])
    assert arrow["records.parquet"].equals(original["records.parquet"])


def test_nulls_survive(tables, tmp_path):
    saved = open_table(save_hf(open_table(tables["nulls"]), tmp_path / "hf"))
    snip = saved.filter(metric="snip").set_index("status")
    assert pd.isna(snip.loc["nan", "value"]) and snip.loc["nan", "seconds"] == 0.5
    assert snip.loc["ok", "value"] == 2.5 and pd.isna(snip.loc["ok", "seconds"])


def test_tampered_hf_export_is_refused(tables, tmp_path):
    saved = save_hf(open_table(tables["build"]), tmp_path / "hf")
    copy = copy_tree(saved, tmp_path / "copy")
    arrow = next(copy.glob("records/*.arrow"))
    flip_byte(arrow)
    with pytest.raises(TableError, match="does not match the manifest") as info:
        open_table(copy)
    assert arrow.name in str(info.value)


def test_hf_dataset_without_the_splits_is_refused(tables):
    import datasets

    dataset = to_hf_dataset(open_table(tables["build"]))
    with pytest.raises(TableError, match=r"no split\(s\) \['architectures'\]"):
        from_hf_dataset(datasets.DatasetDict({"records": dataset["records"]}))


def test_cli_export_csv_and_hf(tables, tmp_path, capsys):
    src = str(tables["build"])
    assert main(["export", src, "--format", "csv", "--out", str(tmp_path / "csv")]) == 0
    csv = pd.read_csv(tmp_path / "csv" / "records.csv")
    table = open_table(src)
    assert len(csv) == len(table.records)
    assert sorted(csv["value"].dropna()) == pytest.approx(sorted(table.records["value"].dropna()))
    assert json.loads((tmp_path / "csv" / "source_manifest.json").read_text()) == table.manifest
    assert main(["export", src, "--format", "hf", "--out", str(tmp_path / "hf")]) == 0
    assert main(["query", str(tmp_path / "hf"), "--index", "1462", "--format", "json"]) == 0
    capsys.readouterr()
    assert main(["export", src, "--format", "hf", "--out", str(tmp_path / "hf")]) == 2
    assert "already exists" in capsys.readouterr().err
