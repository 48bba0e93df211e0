"""``archbench leaderboard`` end to end through the CLI, the demo's leaderboard step, and a practice board
on the published NB201 accuracies (skipped where ``../shared/data`` is absent)."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from benchmarks.cli import main
from benchmarks.storage.table import open_table
from leaderboards.board import init_board, load_board, submit
from leaderboards.demo import demo_leaderboard
from leaderboards.scoring import score_board
from leaderboards.site import render_site
from tests._leaderboard_helpers import write_submission, write_table
from tests._predictor_helpers import needs_shared_data, truth_table_path


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return write_table(tmp_path_factory.mktemp("lb-cli") / "t", n=20)


def test_cli_init_submit_score_render(table, tmp_path, capsys):
    board, host = tmp_path / "board", tmp_path / "host"
    args = [
        "leaderboard",
        "init",
        str(table),
        "--track",
        "proxy",
        "--param",
        "task=toy",
        "--out",
        str(board),
        "--hidden",
        str(host),
    ]
    assert main(args) == 0
    assert "commitment sha256:" in capsys.readouterr().out
    assert main(args) == 2  # the folder exists: refused, not overwritten
    assert "already exists" in capsys.readouterr().err
    info = json.loads((board / "board.json").read_text())
    ids = pd.read_parquet(board / "public" / "archs.parquet")["arch_id"]
    rows_path, meta_path = write_submission(
        tmp_path / "s",
        pd.DataFrame({"arch_id": ids, "score": np.arange(len(ids), dtype=float)}),
        info["release"],
    )
    for action in ("validate", "submit"):
        assert (
            main(["leaderboard", action, str(board), "--rows", str(rows_path), "--meta", str(meta_path)]) == 0
        )
    assert (
        main(["leaderboard", "submit", str(board), "--rows", str(rows_path), "--meta", str(meta_path)]) == 2
    )
    assert "already accepted" in capsys.readouterr().err
    assert main(["leaderboard", "score", str(board), "--hidden", str(host), "--boot", "200"]) == 0
    assert main(["leaderboard", "score", str(board), "--hidden", str(host), "--boot", "5"]) == 2
    assert main(["leaderboard", "render", str(board), "--out", str(tmp_path / "site")]) == 0
    out = capsys.readouterr().out
    assert f"site {tmp_path / 'site' / 'index.html'}" in out
    assert len(list((tmp_path / "site").rglob("*.html"))) == 3
    assert main(["leaderboard", "tracks"]) == 0
    assert {"proxy", "predictor", "search", "hardware"} <= {
        line.split()[0] for line in capsys.readouterr().out.splitlines() if line[:1].strip()
    }


def test_hidden_folder_must_stay_outside_the_board(table, tmp_path):
    with pytest.raises(ValueError, match="must lie outside"):
        init_board(table, "proxy", tmp_path / "board", tmp_path / "board" / "hidden", {"task": "toy"})


def test_demo_step_renders_a_proxy_leaderboard(table, tmp_path):
    text = io.StringIO()
    index = demo_leaderboard(
        table, tmp_path, ("flops", "missing_proxy"), "toy", Console(file=text, width=200), 200
    )
    assert index.is_file() and f"leaderboard site: {index.resolve()}" in text.getvalue()
    board = load_board(tmp_path / "leaderboard" / "board")
    methods = {
        json.loads((p / "metadata.json").read_text())["metadata"]["method"] for p in board.submissions()
    }
    assert methods == {"flops"}
    assert "skipped (missing or failed on some cells): missing_proxy" in text.getvalue()


def test_practice_board_on_published_nb201(tmp_path):
    needs_shared_data()
    published = truth_table_path()
    params = {"metric": "test_acc_200ep", "task": "cifar10"}
    with pytest.raises(ValueError, match="published numbers"):
        init_board(published, "proxy", tmp_path / "b", tmp_path / "h", params)
    board = init_board(published, "proxy", tmp_path / "b", tmp_path / "h", params, practice=True)
    assert len(board.public["archs"]) == 6466  # every NB201 class, one row each
    ids = board.public["archs"]["arch_id"]
    index = open_table(published).archs.drop_duplicates("arch_id").set_index("arch_id")["index"]
    rows_path, meta_path = write_submission(
        tmp_path / "s",
        pd.DataFrame({"arch_id": ids, "score": -index.reindex(ids).to_numpy(float)}),
        board.info["release"],
        method="minus published index",
    )
    submit(board, rows_path, meta_path)
    entry = score_board(board, tmp_path / "h", 100)["entries"][0]
    assert -0.2 < entry["hidden"]["value"] < 0.2  # the published index carries little rank information
    page = render_site([board], tmp_path / "site")
    assert (
        "Practice board" in next((tmp_path / "site").glob("proxy*/index.html")).read_text() and page.is_file()
    )
