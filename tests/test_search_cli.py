"""``archbench search`` on real (imported) tables, one-line errors, and the published NB201 facts."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import spaces
from benchmarks.cli import main
from benchmarks.importers import AccuracyImport, import_accuracies
from benchmarks.table import open_table
from predictors.search.oracle import Objective, Truth
from tests._predictor_helpers import ACCURACY, needs_shared_data, truth_table_path

NB201 = spaces.get("nb201")


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """Two small imported tables (val, test) over 12 distinct classes; class 3 has the best val."""
    import numpy as np

    folder = tmp_path_factory.mktemp("search_tables")
    archs = NB201.sample_unique(12, np.random.default_rng(0))
    val = [50.0 + i for i in range(12)]
    val[3] = 90.0
    paths = []
    for metric, values in (("val_acc", val), ("test_acc", [v - 1 for v in val])):
        csv = folder / f"{metric}.csv"
        pd.DataFrame({"arch": [a.string for a in archs], "acc": values}).to_csv(csv, index=False)
        spec = AccuracyImport("nb201", "cifar10", metric, "arch", "acc")
        paths.append(import_accuracies(csv, spec, folder / metric))
    return paths, archs


def test_truth_from_imported_tables_reads_each_metric_from_its_table(tables):
    paths, archs = tables
    truth = Truth.from_tables([open_table(p) for p in paths], ["val_acc", "test_acc"])
    assert len(truth.frame) == 12 and truth.best(Objective("val_acc")) == 90.0
    assert truth.optimal_ids(Objective("val_acc")) == [archs[3].arch_id]
    assert (truth.frame["val_acc"] - truth.frame["test_acc"] == 1).all()
    assert len(truth.sources) == 2 and all(s.startswith("sha256:") for s in truth.sources)
    with pytest.raises(ValueError, match="no table holds metric 'latency'"):
        Truth.from_tables([open_table(p) for p in paths], ["latency"])


def test_cli_run_writes_the_query_log_curves_and_summary(tables, tmp_path, capsys):
    paths, archs = tables
    out = tmp_path / "rs"
    argv = ["search", "run", "--table", str(paths[0]), "--table", str(paths[1]), "--strategy", "random"]
    argv += [
        "--budget",
        "12",
        "--seeds",
        "3",
        "--select",
        "val_acc",
        "--report",
        "test_acc",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    assert "median_queries_to_best" in capsys.readouterr().out
    names = {"queries.parquet", "queries.csv", "seeds.csv", "curves.csv", "curves.png", "summary.json"}
    assert names <= {p.name for p in out.iterdir()}
    log = pd.read_parquet(out / "queries.parquet")
    assert set(log["seed"]) == {0, 1, 2} and (log.groupby("seed")["arch_id"].nunique() == 12).all()
    assert (log.groupby("seed")["regret"].last() == 0).all()
    best = log[log["arch_id"] == archs[3].arch_id]
    assert (best["value"] == 90.0).all() and (best["test_acc"] == 89.0).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["best_classes"] == [archs[3].arch_id] and summary["budget"] == 12
    seeds = pd.read_csv(out / "seeds.csv")
    assert seeds["queries_to_best"].tolist() == best.sort_values("seed")["step"].tolist()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--strategy", "reaa"], "did you mean rea"),
        (["--strategy", "rea", "--param", "population"], "KEY=VALUE"),
        (["--strategy", "rea", "--param", "pop=3"], "unknown parameters"),
        (["--strategy", "rea", "--select", "latency"], "no table holds metric 'latency'"),
        (["--strategy", "rea", "--budget", "0"], "--budget and --seeds must be >= 1"),
        (["--strategy", "rea", "--objective", "test_acc:min"], "single-objective"),
        (["--strategy", "random", "--select", "val_acc:up"], "METRIC:min"),
    ],
)
def test_cli_errors_are_one_line_and_write_nothing(tables, tmp_path, capsys, extra, message):
    paths, _ = tables
    argv = ["search", "run", "--table", str(paths[0]), "--table", str(paths[1]), "--budget", "5"]
    argv += ["--select", "val_acc", "--out", str(tmp_path / "o")]
    argv = argv + extra  # later options win
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_cli_refuses_an_existing_output_folder(tables, tmp_path, capsys):
    paths, _ = tables
    (tmp_path / "o").mkdir()
    argv = ["search", "run", "--table", str(paths[0]), "--strategy", "random", "--budget", "3"]
    assert main([*argv, "--select", "val_acc", "--out", str(tmp_path / "o")]) == 2
    assert "already exists" in capsys.readouterr().err


def test_cli_lists_strategies(capsys):
    assert main(["search", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("random", "rea", "local", "bananas", "nsga2_predictor"))


def test_published_nb201_truth_through_the_importer(tmp_path):
    """The anchors the search figures rest on, read from the published file through the importer."""
    needs_shared_data()
    spec = AccuracyImport(
        "nb201", "cifar10", "val_acc_200ep", "nb201_index", "cifar10_val_acc_200ep", key="index"
    )
    val = open_table(import_accuracies(ACCURACY, spec, tmp_path / "val"))
    truth = Truth.from_tables([val, open_table(truth_table_path())], ["val_acc_200ep", "test_acc_200ep"])
    assert len(truth.frame) == 6466
    assert truth.best(Objective("val_acc_200ep")) == 91.57
    assert len(truth.optimal_ids(Objective("val_acc_200ep"))) == 1
    assert round(truth.best(Objective("test_acc_200ep")), 3) == 94.373
    k = len(truth.optimal_ids(Objective("test_acc_200ep")))
    assert k == 2
    assert (len(truth.frame) + 1) / (k + 1) == pytest.approx(2155.67, abs=0.01)
    assert not truth.frame.isna().any().any()


def test_a_multi_device_hardware_table_needs_a_device_and_the_mo_run_writes_fronts(tables, tmp_path, capsys):
    from benchmarks.importers import HardwareImport, import_hardware_table

    paths, archs = tables
    rows = [
        (a.string, d, "latency", 1.0 + i + (5 if d == "b" else 0)) for i, a in enumerate(archs) for d in "ab"
    ]
    csv = tmp_path / "lat.csv"
    pd.DataFrame(rows, columns=["arch", "device", "metric", "value"]).to_csv(csv, index=False)
    spec = HardwareImport("nb201", "cifar10", "arch", "device", "metric", "value", unit="ms")
    lat = import_hardware_table(csv, spec, tmp_path / "lat")
    with pytest.raises(ValueError, match="several protocols"):
        Truth.from_tables([open_table(paths[0]), open_table(lat)], ["val_acc", "latency"])
    truth = Truth.from_tables([open_table(paths[0]), open_table(lat)], ["val_acc", "latency"], device="b")
    assert truth.frame["latency"].min() == 6.0
    argv = ["search", "run", "--table", str(paths[0]), "--table", str(lat), "--device", "a"]
    argv += ["--strategy", "random", "--budget", "12", "--select", "val_acc", "--objective", "latency:min"]
    assert main([*argv, "--out", str(tmp_path / "mo")]) == 0
    log = pd.read_parquet(tmp_path / "mo" / "queries.parquet")
    assert log["hv_ratio"].iloc[-1] == pytest.approx(1.0)  # every class queried: the true front is found
    true = pd.read_csv(tmp_path / "mo" / "true_front.csv")
    assert {"fronts.csv", "fronts.png"} <= {p.name for p in (tmp_path / "mo").iterdir()} and len(true) >= 1
    assert main([*argv[:6], "--device", "c", *argv[8:], "--out", str(tmp_path / "mo2")]) == 2
    assert "unknown device 'c'" in capsys.readouterr().err
