"""`archbench build --train-epochs 1,2 --derive ...`: several fidelities and derived curve metrics.

One tiny in-process build (one NB201 cell, C=4, N=1, 8 px, one minibatch of 3,000 images per
epoch) checks that every fidelity gets its own recipe hash and full curve and that SoTL is derived
from each; bad flags are refused with one line and nothing written.
"""

from __future__ import annotations

import pytest

from benchmarks.cli import main
from benchmarks.table import open_table
from proxies.training import Recipe

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"
TINY = ["--resolution", "8", "--build-options", "C=4,N=1", "--train-batch-size", "3000", "--threads", "1"]


def test_several_fidelities_and_derived_sotl(tmp_path, capsys):
    archs = tmp_path / "archs.txt"
    archs.write_text(ARCH + "\n")
    out = tmp_path / "out"
    argv = ["build", "--archs", str(archs), "--train-epochs", "2,1", "--derive", "sotl,early_acc"]
    assert main([*argv, *TINY, "--quiet", "--out", str(out)]) == 0
    assert "derived: {'sotl': 2, 'early_acc': 2}" in capsys.readouterr().out
    table = open_table(out / "table")
    base = Recipe(task="mnist5k", epochs=1, batch_size=3000, resolution=8, build={"C": 4, "N": 1})
    measured = table.filter(metric="val_acc", status="ok")
    by_fidelity = {f: set(g["protocol_hash"]) for f, g in measured.groupby("fidelity")}
    assert by_fidelity == {1: {base.hash}, 2: {base.scaled(2).hash}}
    assert sorted(measured["epoch"]) == [1, 1, 2]
    assert set(table.manifest["recipes"]) == {base.hash, base.scaled(2).hash}
    loss = table.filter(metric="train_loss_sum", status="ok")
    for fidelity in (1, 2):
        (row,) = table.filter(metric="sotl", fidelity=fidelity).itertuples()
        assert row.status == "ok" and row.epoch == fidelity
        assert row.value == pytest.approx(loss[loss["fidelity"] == fidelity]["value"].sum(), rel=1e-12)
        assert table.manifest["protocols"][row.protocol_hash]["source_recipe"] == base.scaled(fidelity).hash
    # a rerun trains nothing and derives nothing new
    assert main([*argv, *TINY, "--quiet", "--out", str(out)]) == 0
    assert "0 units run, 2 already done" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--proxies", "params", "--derive", "sotl"], "--derive reads training curves"),
        (["--train-epochs", "1", "--derive", "sotl3"], "unknown derivation 'sotl3'"),
        (["--train-epochs", "0,1"], "recipe epochs must be an integer in [1, 1,000], got 0"),
    ],
)
def test_bad_training_flags_are_one_line_errors(flags, needle, tmp_path, capsys):
    assert main(["build", "--sample", "2", *flags, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_malformed_fidelity_list_is_an_argparse_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["build", "--sample", "2", "--train-epochs", "1,x", "--out", str(tmp_path / "out")])
    assert exit_.value.code == 2
    assert "expected comma-separated integers, got '1,x'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
