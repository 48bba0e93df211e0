"""``archbench predictors``: list, evaluate, fit, predict; one-line errors, exit 2, nothing half-written."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from _predictor_helpers import needs_shared_data, truth_table_path

from benchmarks.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
SMALL = ["--test-size", "40", "--train-sizes", "5,12", "--seeds", "0,1", "--n-boot", "20"]


@pytest.fixture(scope="module")
def truth():
    needs_shared_data()
    return str(truth_table_path())


def call(capsys, *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_listing_needs_no_heavy_import(capsys):
    code, out, _ = call(capsys, "predictors", "list")
    assert code == 0 and "lightgbm" in out and "gnn" in out and "graph" in out
    probe = "import sys, predictors.cli, predictors.base; print(sorted({'torch', 'lightgbm', 'sklearn'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_evaluate_writes_curves_and_plots(capsys, truth, tmp_path):
    out = tmp_path / "ev"
    code, text, err = call(
        capsys,
        "predictors",
        "evaluate",
        "--truth",
        truth,
        "--models",
        "lightgbm:path,best_feature:onehot",
        *SMALL,
        "--out",
        out,
    )
    assert code == 0, err
    assert "lightgbm[path]" in text and "splits " in text
    curves = pd.read_csv(out / "curves.csv")
    assert set(curves["model"]) == {"lightgbm[path]", "best_feature[onehot]"} and len(curves) == 4
    assert (out / "curves.png").stat().st_size > 0 and (out / "curves.svg").stat().st_size > 0


def test_fit_then_predict_and_a_tampered_artefact_is_refused(capsys, truth, tmp_path):
    model = tmp_path / "model"
    code, text, err = call(
        capsys,
        "predictors",
        "fit",
        "--truth",
        truth,
        "--predictor",
        "lightgbm",
        "--encoding",
        "path",
        "--train-size",
        "100",
        "--out",
        model,
    )
    assert code == 0, err
    assert "fitted lightgbm on 100 classes" in text
    code, text, err = call(
        capsys, "predictors", "predict", "--model", model, "--arch", ALL_CONV, "--arch", NONE
    )
    assert code == 0, err
    rows = [line.split(",") for line in text.strip().splitlines()]
    assert rows[0] == ["arch", "arch_id", "mean", "std"] and len(rows) == 3
    assert float(rows[1][2]) > float(rows[2][2])  # all-conv cell over the degenerate one, from 100 classes
    (model / "model.txt").write_text((model / "model.txt").read_text().replace("tree", "tre", 1))
    code, _, err = call(capsys, "predictors", "predict", "--model", model, "--arch", ALL_CONV)
    assert code == 2 and "the artefact was modified" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--models", "lgbm"], "unknown predictor 'lgbm'"),
        (["--models", "lightgbm:paths"], "unknown encoding 'paths'"),
        (["--models", "lightgbm", "--target", "val_acc"], "has no metric 'val_acc'"),
        (["--models", "lightgbm", "--train-sizes", "10,6500"], "at most 6426 classes remain for training"),
        (["--models", "lightgbm:zc"], "encoding 'zc' needs a table"),
    ],
)
def test_bad_evaluate_input_exits_2_with_one_line_and_writes_nothing(capsys, truth, tmp_path, args, message):
    out = tmp_path / "ev"
    code, _, err = call(capsys, "predictors", "evaluate", "--truth", truth, *SMALL[:2], *args, "--out", out)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_fit_refuses_a_train_size_larger_than_the_pool_and_an_existing_folder(capsys, truth, tmp_path):
    code, _, err = call(
        capsys,
        "predictors",
        "fit",
        "--truth",
        truth,
        "--predictor",
        "lightgbm",
        "--train-size",
        "6000",
        "--out",
        tmp_path / "m",
    )
    assert code == 2 and "at most 5466 classes remain" in err and not (tmp_path / "m").exists()
    (tmp_path / "m").mkdir()
    code, _, err = call(
        capsys,
        "predictors",
        "fit",
        "--truth",
        truth,
        "--predictor",
        "lightgbm",
        "--train-size",
        "10",
        "--out",
        tmp_path / "m",
    )
    assert code == 2 and "already exists" in err


def test_surrogate_table_answers_every_cell_with_mean_std_and_provenance(capsys, truth, tmp_path):
    from benchmarks.table import open_table
    from predictors.surrogate import answer

    model, out = tmp_path / "rf", tmp_path / "sur"
    fit = ["predictors", "fit", "--truth", truth, "--predictor", "random_forest", "--encoding", "path"]
    assert call(capsys, *fit, "--train-size", "10", "--out", model)[0] == 0
    code, printed, err = call(
        capsys, "predictors", "surrogate", "--model", model, "--truth", truth, "--out", out
    )
    assert code == 0, err
    assert "held out (1000 test classes): kendall" in printed and "68 %:" in printed and "95 %:" in printed
    table = open_table(out / "table")
    wide = table.wide()
    assert wide.shape == (6466, 2) and (wide["test_acc_200ep_std"] >= 0).all()
    member = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    got = answer(table, member, metric="test_acc_200ep")
    assert got.value == pytest.approx(wide.loc[table.locate(arch=member).arch_id, "test_acc_200ep"])
    assert got.std == pytest.approx(wide.loc[table.locate(arch=member).arch_id, "test_acc_200ep_std"])
    assert got.provenance == "predicted"
    assert answer(open_table(truth), member, metric="test_acc_200ep").provenance == "imported"
    assert table.metrics["test_acc_200ep"]["unit"] == "%"
    assert set(table.records["provenance"].astype(str)) == {"predicted"}
    (settings,) = table.manifest["protocols"].values()
    assert settings["trained_on"]["truth_table"] == open_table(truth).content_id
    held = settings["held_out"]
    assert held["test_classes"] == 1000 and 0 < held["kendall"] < 1
    assert set(held["coverage"]) == {"68", "95"} and held["coverage"]["68"] <= held["coverage"]["95"]
    code, _, err = call(capsys, "predictors", "surrogate", "--model", model, "--truth", truth, "--out", out)
    assert code == 2 and "already exists" in err


def test_surrogate_refuses_a_model_without_std(capsys, truth, tmp_path):
    model = tmp_path / "lgbm"
    fit = ["predictors", "fit", "--truth", truth, "--predictor", "lightgbm", "--encoding", "path"]
    assert call(capsys, *fit, "--train-size", "10", "--out", model)[0] == 0
    code, _, err = call(
        capsys, "predictors", "surrogate", "--model", model, "--truth", truth, "--out", tmp_path / "s"
    )
    assert code == 2 and "no standard deviation" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


def test_a_deeply_nested_predictor_manifest_is_one_line_not_a_recursion_error(tmp_path):
    from predictors.base import MANIFEST, ArtefactError, load_predictor

    (tmp_path / MANIFEST).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ArtefactError, match=r"nested too deeply|nested .* levels deep") as info:
        load_predictor(tmp_path)
    assert "\n" not in str(info.value)


def test_zc_features_from_another_task_fit_and_predict(capsys, truth, tmp_path):
    """nb201-fmnist's Fashion-MNIST proxies as features for CIFAR-10 accuracy: refused on the target's
    task (the table has none there), accepted with --features-task, which the artefact records for predict."""
    from benchmarks.storage.table import open_table

    fmnist = open_table("nb201-fmnist").path
    args = ["predictors", "fit", "--truth", truth, "--predictor", "lightgbm", "--encoding", "path+zc"]
    args += ["--features-table", fmnist, "--features", "synflow,nwot", "--train-size", "50"]
    code, _, err = call(capsys, *args, "--out", tmp_path / "refused")
    assert (
        code == 2 and "no ok values for ['nwot', 'synflow'] on task 'cifar10'" in err and err.count("\n") == 1
    )
    assert not (tmp_path / "refused").exists()
    code, _, err = call(capsys, *args, "--features-task", "fmnist14k", "--out", tmp_path / "model")
    assert code == 0, err
    predict = ["predictors", "predict", "--model", tmp_path / "model", "--features-table", fmnist]
    code, text, err = call(capsys, *predict, "--arch", ALL_CONV)
    assert code == 0, err
    assert float(text.strip().splitlines()[1].split(",")[2]) > 0


def test_predictor_report_script_refuses_bad_tables_with_one_line(tmp_path, capsys):
    """scripts/predictor_report.py: a missing truth or features table exits 2 with one line, writing nothing."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "scripts" / "predictor_report.py"
    spec = importlib.util.spec_from_file_location("predictor_report_script", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "out"
    for argv in (
        ["--truth", str(tmp_path / "no-truth")],
        ["--truth", "nb201-fmnist", "--features-table", str(tmp_path / "no-features")],
    ):
        assert script.main(["--out", str(out), "--models", "lightgbm:path", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("predictor_report: error:"), err
        assert not out.exists()
