"""Few-shot latency transfer, leave-one-device-out, on a 400-cell sample of the published 18-device table."""

from __future__ import annotations

import pandas as pd
import pytest
from _predictor_helpers import latency_sample_table

from benchmarks.cli import main
from predictors.transfer import device_group


@pytest.fixture(scope="module")
def latency_table():
    return latency_sample_table()


def test_device_groups_strip_batch_sizes_only():
    assert device_group("1080ti_256") == "1080ti" and device_group("essential_ph_1") == "essential_ph"
    assert device_group("gold_6240") == "gold_6240" and device_group("samsung_a50") == "samsung_a50"


def test_transfer_beats_the_shots_alone_on_held_out_devices(capsys, latency_table, tmp_path):
    out = tmp_path / "tr"
    args = [
        "predictors",
        "transfer",
        "--latency",
        latency_table,
        "--source-cells",
        "200",
        "--groups",
        "titanx,silver_4114",
        "--out",
        out,
    ]
    assert main([str(a) for a in args]) == 0, capsys.readouterr().err
    frame = pd.read_csv(out / "transfer.csv")
    assert sorted(frame["setting"]) == ["silver_4114", "titanx_1", "titanx_256", "titanx_32"]
    assert (frame["transfer"] > frame["shots_only"]).all() and (frame["transfer"] > 0.6).all(), frame
    assert (frame["test_cells"] >= 10).all()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--groups", "pixel3"], "unknown device groups ['pixel3']"),
        (["--metric", "energy"], "has no metric 'energy'"),
        (["--source-cells", "5000"], "need 5010 training cells"),  # the later option wins
        (["--shots", "1"], "--shots must be >= 3"),
    ],
)
def test_bad_transfer_input_exits_2(capsys, latency_table, tmp_path, extra, message):
    out = tmp_path / "tr"
    args = ["predictors", "transfer", "--latency", str(latency_table), "--source-cells", "200", *extra]
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()
