"""The hardware-transfer track on real measurements: a practice board from the published NB201 latencies
(HELP, Lee et al., NeurIPS 2021; a 400-cell sample of 18 device settings), a phone and a server CPU held
out with 10 shots each, scored against submissions made by archbench's own predictors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _leaderboard_helpers import write_submission
from _predictor_helpers import latency_sample_table

from leaderboards.board import init_board, submit
from leaderboards.scoring import score_board
from predictors.base import make_predictor

HELD_OUT = ["gold_6240", "samsung_a50"]
SHOTS = 10
BOOT = 300


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hw-board")
    params = {"metric": "latency", "hidden_devices": ",".join(HELD_OUT), "k": SHOTS}
    made = init_board(
        latency_sample_table(), "hardware", folder / "board", folder / "host", params, practice=True
    )
    return made, folder


def test_published_latencies_make_only_a_practice_board(tmp_path):
    with pytest.raises(ValueError, match="published numbers"):
        init_board(latency_sample_table(), "hardware", tmp_path / "b", tmp_path / "h", {"metric": "latency"})


def test_the_held_out_devices_show_only_their_shots(board):
    made, folder = board
    public = made.public
    assert sorted(made.params["hidden_devices"]) == HELD_OUT
    assert not set(public["train"]["device"]) & set(HELD_OUT)
    assert public["shots"].groupby("device").size().to_dict() == dict.fromkeys(HELD_OUT, SHOTS)
    hidden = pd.read_parquet(folder / "host" / "truth.parquet")
    assert len(hidden) == 2 * (len(public["archs"]) - SHOTS)
    shot_pairs = set(zip(public["shots"]["device"], public["shots"]["arch_id"]))
    assert not shot_pairs & set(zip(hidden["device"], hidden["arch_id"]))


def _submission(made, name, folder, predict):
    ids = made.public["archs"]["arch_id"]
    rows = pd.concat(
        [pd.DataFrame({"device": d, "arch_id": ids, "latency": predict(d, ids)}) for d in HELD_OUT]
    )
    rows_path, meta_path = write_submission(folder / f"sub-{name}", rows, made.info["release"], method=name)
    submit(made, rows_path, meta_path)


def test_transfer_from_public_devices_beats_noise_on_both_held_out_devices(board):
    made, folder = board
    ids = made.public["archs"]["arch_id"]
    train = made.public["train"]
    features = np.log(train.pivot(index="arch_id", columns="device", values="value").reindex(ids))

    def forest(device, _ids):
        shots = made.public["shots"].query("device == @device").set_index("arch_id")["value"]
        model = make_predictor("random_forest", seed=0).fit(
            features.loc[shots.index].to_numpy(), np.log(shots.to_numpy())
        )
        return model.predict(features.to_numpy()).mean

    _submission(made, "forest-on-public-devices", folder, forest)
    _submission(made, "zero-shot-mean", folder, lambda d, _ids: features.mean(axis=1).to_numpy())
    rng = np.random.default_rng(0)
    _submission(made, "noise", folder, lambda d, ids_: rng.normal(size=len(ids_)))
    result = score_board(made, folder / "host", BOOT)
    entries = {e["metadata"]["method"]: e for e in result["entries"]}
    noise = entries["noise"]["hidden"]
    assert noise["low"] < 0 < noise["high"]
    for method in ("forest-on-public-devices", "zero-shot-mean"):
        hidden = entries[method]["hidden"]
        assert hidden["low"] > noise["high"], (method, hidden, noise)
        for device in HELD_OUT:
            assert entries[method]["extra"][f"spearman[{device}]"]["value"] > 0.5, (method, device)
    assert entries["noise"]["rank"] == 3
