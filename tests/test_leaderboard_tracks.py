"""The four leaderboard tracks end to end on a small built table, with submissions made by archbench's
own pieces: a table metric as a proxy, a fitted random forest and GP, and the REA and random searches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import spaces
from benchmarks.storage.table import open_table
from leaderboards.board import init_board, load_board, submit
from leaderboards.scoring import score_board
from predictors.base import make_predictor
from predictors.search import Objective, Truth
from predictors.search.run import run_search
from tests._leaderboard_helpers import write_submission, write_table

BOOT = 200


@pytest.fixture(scope="module")
def table_path(tmp_path_factory):
    return write_table(tmp_path_factory.mktemp("lb-table") / "t", n=40)


def _board(table_path, tmp_path, track, **params):
    return init_board(table_path, track, tmp_path / "board", tmp_path / "host", params)


def _submit(board, tmp_path, name, rows):
    rows_path, meta_path = write_submission(
        tmp_path / f"sub-{name}", rows, board.info["release"], method=name
    )
    return submit(board, rows_path, meta_path)


def _by_method(result):
    return {e["metadata"]["method"]: e for e in result["entries"]}


def test_proxy_track_ranks_the_informative_proxy_first(table_path, tmp_path):
    board = _board(table_path, tmp_path, "proxy", task="toy")
    ids = board.public["archs"]["arch_id"]
    table = open_table(table_path)
    seed0 = table.filter(metric="val_acc", seed=0).astype({"arch_id": str}).set_index("arch_id")["value"]
    rng = np.random.default_rng(1)
    _submit(
        board,
        tmp_path,
        "seed0-accuracy",
        pd.DataFrame({"arch_id": ids, "score": seed0.reindex(ids).to_numpy()}),
    )
    _submit(
        board,
        tmp_path,
        "flops",
        pd.DataFrame({"arch_id": ids, "score": table.wide(["flops"])["flops"].reindex(ids).to_numpy()}),
    )
    _submit(board, tmp_path, "noise", pd.DataFrame({"arch_id": ids, "score": rng.normal(size=len(ids))}))
    result = score_board(board, tmp_path / "host", BOOT)
    entries = _by_method(result)
    assert result["entries"][0]["metadata"]["method"] == "seed0-accuracy"
    assert entries["seed0-accuracy"]["hidden"]["value"] > 0.8
    assert entries["noise"]["rank"] == 3
    # The near-perfect proxy is separable from the one below it; intervals bracket the point.
    second = result["entries"][1]
    assert second["separable_from_above"] is True and second["win_rate_of_above"] >= 0.95
    for e in result["entries"]:
        assert e["hidden"]["low"] <= e["hidden"]["value"] <= e["hidden"]["high"]
        assert e["rank_delta"] == e["public_rank"] - e["rank"]
        assert {"spearman", "top0.1"} <= set(e["extra"])
    # Hidden truth is not in the public folder: the test arch_ids have no public values.
    test_ids = set(board.public["archs"].query("split == 'test'")["arch_id"])
    assert not test_ids & set(board.public["dev_truth"]["arch_id"])
    assert len(test_ids) == 28


def test_predictor_track_scores_fitted_predictors(table_path, tmp_path):
    board = _board(table_path, tmp_path, "predictor", task="toy", sizes="8,16")
    space = spaces.get("nb201")
    archs = board.public["archs"].set_index("arch_id")["arch"]
    train = board.public["train"]
    wanted = board.public["archs"].query("split in ['dev', 'test']")["arch_id"]
    X_all = np.stack([space.encode(space.parse(archs[i]), "path") for i in wanted])
    parts = {"random_forest": [], "noise": []}
    for size in board.params["sizes"]:
        part = train[train["first_size"] <= size]
        X = np.stack([space.encode(space.parse(a), "path") for a in part["arch"]])
        model = make_predictor("random_forest", seed=0).fit(X, part["value"].to_numpy())
        parts["random_forest"].append(
            pd.DataFrame({"train_size": size, "arch_id": wanted, "prediction": model.predict(X_all).mean})
        )
        noise = np.random.default_rng(size).normal(size=len(wanted))
        parts["noise"].append(pd.DataFrame({"train_size": size, "arch_id": wanted, "prediction": noise}))
    for name, frames in parts.items():
        _submit(board, tmp_path, name, pd.concat(frames))
    entries = _by_method(score_board(board, tmp_path / "host", BOOT))
    assert entries["random_forest"]["rank"] == 1
    assert entries["random_forest"]["hidden"]["value"] > 0.3
    assert {"kendall@8", "kendall@16", "spearman@16"} <= set(entries["noise"]["extra"])


def test_search_track_replays_archbench_searches(table_path, tmp_path):
    board = _board(table_path, tmp_path, "search", task="toy", cost="flops", budget=12)
    public = board.public["truth"].set_index("arch_id")
    truth = Truth(public[["value", "cost"]].rename(columns={"value": "val"}), public["arch"].to_dict())
    space = spaces.get("nb201")
    for strategy in ("rea", "random"):
        logs = [
            run_search(space, truth, strategy, [Objective.parse("val:max")], 12, seed) for seed in range(4)
        ]
        rows = pd.concat(
            [
                pd.DataFrame({"run": log["seed"], "step": log["step"], "arch_id": log["arch_id"]})
                for log in logs
            ]
        )
        _submit(board, tmp_path, strategy, rows)
    # The whole table as one run is over the budget; one query of the hidden best has regret 0 on hidden truth.
    result = score_board(board, tmp_path / "host", BOOT)
    for e in result["entries"]:
        assert e["hidden"]["value"] >= 0 and 0 <= e["extra"]["hv_ratio"]["value"] <= 1
    assert result["higher_is_better"] is False and result["paired"] is False
    assert board.params["hidden_seeds"] == [1] and board.params["public_seed"] == 0


def test_search_regret_uses_the_answer_the_run_saw(table_path, tmp_path):
    board = _board(table_path, tmp_path, "search", task="toy", budget=3)
    public = board.public["truth"].sort_values("value", ascending=False)
    best_public = public["arch_id"].iloc[0]
    _submit(board, tmp_path, "best-public", pd.DataFrame({"run": [0], "step": [1], "arch_id": [best_public]}))
    entry = score_board(board, tmp_path / "host", BOOT)["entries"][0]
    assert entry["public"] == 0.0  # it found the public optimum
    hidden = pd.read_parquet(tmp_path / "host" / "truth.parquet").set_index("arch_id")["value"]
    assert entry["hidden"]["value"] == pytest.approx(hidden.max() - hidden[best_public], abs=1e-6)


def test_hardware_track_transfers_from_shots(table_path, tmp_path):
    board = _board(table_path, tmp_path, "hardware", k=6)
    assert board.params["hidden_devices"] == ["gpu-c", "gpu-d"]
    assert not set(board.public["train"]["device"]) & {"gpu-c", "gpu-d"}
    ids = board.public["archs"]["arch_id"]
    features = board.public["train"].pivot(index="arch_id", columns="device", values="value").reindex(ids)
    frames, noise = [], []
    for device in board.params["hidden_devices"]:
        shots = board.public["shots"].query("device == @device").set_index("arch_id")["value"]
        model = make_predictor("gp", seed=0).fit(features.loc[shots.index].to_numpy(), shots.to_numpy())
        frames.append(
            pd.DataFrame(
                {"device": device, "arch_id": ids, "latency": model.predict(features.to_numpy()).mean}
            )
        )
        noise.append(
            pd.DataFrame(
                {"device": device, "arch_id": ids, "latency": np.random.default_rng(0).normal(size=len(ids))}
            )
        )
    _submit(board, tmp_path, "gp-on-public-devices", pd.concat(frames))
    _submit(board, tmp_path, "noise", pd.concat(noise))
    entries = _by_method(score_board(board, tmp_path / "host", BOOT))
    assert entries["gp-on-public-devices"]["rank"] == 1
    assert entries["gp-on-public-devices"]["hidden"]["value"] > 0.8
    assert set(entries["noise"]["extra"]) == {"spearman[gpu-c]", "spearman[gpu-d]"}


def test_board_reloads_and_scores_deterministically(table_path, tmp_path):
    board = _board(table_path, tmp_path, "proxy", task="toy")
    ids = board.public["archs"]["arch_id"]
    _submit(board, tmp_path, "a", pd.DataFrame({"arch_id": ids, "score": np.arange(len(ids), dtype=float)}))
    first = score_board(load_board(tmp_path / "board"), tmp_path / "host", BOOT)
    second = score_board(load_board(tmp_path / "board"), tmp_path / "host", BOOT)
    assert first["entries"] == second["entries"]
