"""Importing published accuracies and ``archbench proxies evaluate`` (report files, joins, bad input)."""

from __future__ import annotations

import pandas as pd
import pytest
from _bench_helpers import ALL_CONV, ALL_NONE, MIXED, REP, SPACE, arch, shared_build

from benchmarks.cli import main
from benchmarks.importers import AccuracyImport, import_accuracies
from benchmarks.report import correlation_report
from benchmarks.table import open_table


def _spec(**overrides) -> AccuracyImport:
    fields = dict(
        space="nb201", task="mnist5k", metric="pub_acc", key_column="arch", value_column="acc", fidelity=200
    )
    return AccuracyImport(**{**fields, **overrides})


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    return shared_build(tmp_path_factory)


def test_import_by_arch_string_keeps_values_and_provenance(tmp_path):
    csv = tmp_path / "acc.csv"
    pd.DataFrame({"arch": [ALL_CONV, MIXED, REP], "acc": [93.5, 91.25, 88.0]}).to_csv(csv, index=False)
    table = open_table(import_accuracies(csv, _spec(), tmp_path / "out"))
    got = table.records.set_index("arch")["value"].to_dict()
    assert got == {ALL_CONV: 93.5, MIXED: 91.25, REP: 88.0}
    assert set(table.records["device"]) == {"imported"}
    assert set(table.records["fidelity"]) == {200}
    (settings,) = table.manifest["protocols"].values()
    assert settings["source"] == "acc.csv" and len(settings["source_sha256"]) == 64
    assert table.metrics["pub_acc"]["kind"] == "functional"


def test_import_by_published_index_from_parquet(tmp_path):
    path = tmp_path / "acc.parquet"
    pd.DataFrame({"idx": [0, 1, 2], "top1": [70.0, 80.0, 90.0]}).to_parquet(path)
    table = open_table(
        import_accuracies(path, _spec(key="index", key_column="idx", value_column="top1"), tmp_path / "o")
    )
    by_index = table.archs.set_index("index")["arch"].to_dict()
    assert by_index == {i: SPACE.from_index(i).string for i in (0, 1, 2)}


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (
            pd.DataFrame({"arch": [ALL_CONV], "acc": [1.0]}),
            {"value_column": "top1"},
            r"columns \['top1'\] not found",
        ),
        (pd.DataFrame({"arch": ["|bad|"], "acc": [1.0]}), {}, "row 1, column 'arch'"),
        (pd.DataFrame({"idx": [15625], "acc": [1.0]}), {"key": "index", "key_column": "idx"}, "out of range"),
        (
            pd.DataFrame({"arch": [ALL_CONV, MIXED], "acc": [1.0, float("nan")]}),
            {},
            "NaN or inf values at rows 2",
        ),
        (
            pd.DataFrame({"arch": [ALL_CONV, MIXED, ALL_CONV], "acc": [1.0, 2.0, 3.0]}),
            {},
            "listed twice.*rows 1, 3",
        ),
    ],
)
def test_bad_input_is_named_and_nothing_is_written(tmp_path, frame, kwargs, message):
    csv = tmp_path / "acc.csv"
    frame.to_csv(csv, index=False)
    with pytest.raises(ValueError, match=message):
        import_accuracies(csv, _spec(**kwargs), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_seed_column_allows_repeated_architectures(tmp_path):
    csv = tmp_path / "acc.csv"
    pd.DataFrame({"arch": [ALL_CONV, ALL_CONV], "acc": [90.0, 92.0], "seed": [777, 888]}).to_csv(
        csv, index=False
    )
    table = open_table(import_accuracies(csv, _spec(seed_column="seed"), tmp_path / "out"))
    assert sorted(table.records["seed"]) == [777, 888]


def test_unsupported_file_type_is_refused(tmp_path):
    path = tmp_path / "acc.json"
    path.write_text("{}")
    with pytest.raises(ValueError, match="unsupported file type"):
        import_accuracies(path, _spec(), tmp_path / "out")


def test_imported_truth_reproduces_the_built_truth(shared, tmp_path):
    """Importing a table's own val accuracies as 'published' gives exactly the same correlations."""
    table = open_table(shared.table)
    acc = table.filter(metric="val_acc", status="ok")
    acc = acc[acc["epoch"] == acc["epoch"].max()]
    csv = tmp_path / "pub.csv"
    acc[["arch", "value", "seed"]].rename(columns={"value": "acc"}).to_csv(csv, index=False)
    truth = open_table(import_accuracies(csv, _spec(seed_column="seed"), tmp_path / "imp"))
    own = correlation_report(table, "val_acc", n_boot=50)
    joined = correlation_report(table, "pub_acc", n_boot=50, truth=truth)
    columns = ["proxy", "n", "spearman", "kendall", "n_degenerate", "spearman_low", "kendall_high"]
    pd.testing.assert_frame_equal(own[columns], joined[columns])


def test_evaluate_writes_markdown_html_and_pngs(shared, tmp_path, capsys):
    out = tmp_path / "report"
    assert (
        main(
            [
                "proxies",
                "evaluate",
                "--table",
                str(shared.table),
                "--target",
                "val_acc",
                "--n-boot",
                "50",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "| synflow |" in printed and "outputs:" in printed
    names = {p.name for p in out.iterdir()}
    assert {"correlations.parquet", "report.md", "report.html", "heatmap.png"} <= names
    for proxy in ("params", "synflow", "snip"):  # file names: a safe slug plus a hash of the raw name
        assert len(list(out.glob(f"scatter_mnist5k-*_{proxy}-*.png"))) == 1
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "report.html").read_text()
    synflow_png = next(out.glob("scatter_mnist5k-*_synflow-*.png")).name
    assert "heatmap.png" in html and synflow_png in html
    report = pd.read_parquet(out / "correlations.parquet")
    assert {"top1_precision", "top5_precision", "top10_precision"} <= set(report.columns)
    assert arch(ALL_NONE).arch_id  # the degenerate cell is in the shared build
    assert (report.loc[report["proxy"] == "synflow", "n_degenerate"] == 1).all()


def test_evaluate_unknown_proxy_is_one_line_error(shared, tmp_path, capsys):
    code = main(
        [
            "proxies",
            "evaluate",
            "--table",
            str(shared.table),
            "--target",
            "val_acc",
            "--proxies",
            "nope",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "nope" in err[0]
    assert not (tmp_path / "r").exists()


def test_cli_import_then_evaluate_against_it(shared, tmp_path, capsys):
    table = open_table(shared.table)
    csv = tmp_path / "pub.csv"
    acc = table.filter(metric="val_acc", status="ok", seed=0)
    acc[["arch", "value"]].to_csv(csv, index=False)
    assert (
        main(
            [
                "import",
                "accuracies",
                str(csv),
                "--task",
                "mnist5k",
                "--key-column",
                "arch",
                "--value-column",
                "value",
                "--metric",
                "pub_acc",
                "--out",
                str(tmp_path / "imp"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "proxies",
                "evaluate",
                "--table",
                str(shared.table),
                "--truth",
                str(tmp_path / "imp" / "table"),
                "--target",
                "pub_acc",
                "--n-boot",
                "50",
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    assert "pub_acc" in (tmp_path / "r" / "report.md").read_text()
