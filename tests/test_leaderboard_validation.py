"""Submissions are refused with one clear line per problem, and nothing is stored; tampering is detected."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from benchmarks.cli import main
from leaderboards.board import init_board, load_board, submit, validate
from leaderboards.schema import SubmissionError, check_metadata
from leaderboards.scoring import score_board
from tests._leaderboard_helpers import META, write_submission, write_table


@pytest.fixture(scope="module")
def boards(tmp_path_factory):
    root = tmp_path_factory.mktemp("lb-valid")
    table = write_table(root / "t", n=24)
    proxy = init_board(table, "proxy", root / "proxy", root / "proxy-host", {"task": "toy"}, max_bytes=4096)
    search = init_board(table, "search", root / "search", root / "search-host", {"task": "toy", "budget": 5})
    return {"table": table, "proxy": proxy, "search": search, "root": root}


def _valid_rows(board) -> pd.DataFrame:
    ids = board.public["archs"]["arch_id"]
    return pd.DataFrame({"arch_id": ids, "score": np.linspace(0, 1, len(ids))})


# ---- malformed rows: each mutation must be named by its own line ------------------------------------
MUTATIONS = {
    "drop": "missing",
    "duplicate": "duplicate arch_id",
    "unknown": "unknown arch_id",
    "nan": "NaN or inf",
    "inf": "NaN or inf",
    "text": "must be a number",
    "empty_id": "is empty",
    "extra_column": "unexpected columns",
    "missing_column": "missing columns",
}


def _mutate(rows: pd.DataFrame, kind: str, row: int, token: str) -> pd.DataFrame:
    rows = rows.astype({c: object for c in rows.columns}).reset_index(drop=True)
    row %= len(rows)
    if kind in ("nan", "inf", "text") and "score" not in rows:
        kind = "missing_column"
    if kind == "drop":
        return rows.drop(index=row)
    if kind == "duplicate":
        return pd.concat([rows, rows.iloc[[row]]])
    if kind == "unknown":
        rows.loc[row, "arch_id"] = "zz" + token
    elif kind == "nan":
        rows.loc[row, "score"] = "nan"
    elif kind == "inf":
        rows.loc[row, "score"] = "-inf"
    elif kind == "text":
        rows.loc[row, "score"] = "x" + token
    elif kind == "empty_id":
        rows.loc[row, "arch_id"] = " "
    elif kind == "extra_column":
        rows["extra" + token] = 1
    elif kind == "missing_column":
        rows = rows.drop(columns=["score"], errors="ignore")
    return rows


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_each_mutation_alone_is_named(boards, tmp_path, kind):
    board = boards["proxy"]
    rows_path, meta_path = write_submission(
        tmp_path, _mutate(_valid_rows(board), kind, 3, "7"), board.info["release"]
    )
    problems = validate(board, rows_path, meta_path)[2]
    assert MUTATIONS[kind] in problems[0], problems
    assert len(problems) == (2 if kind == "unknown" else 1), problems  # a replaced id is also missing


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kinds=st.lists(st.sampled_from(sorted(MUTATIONS)), min_size=1, max_size=3, unique=True),
    row=st.integers(0, 1000),
    token=st.text(alphabet="abcdef0123456789", min_size=1, max_size=6),
)
def test_malformed_rows_are_refused_with_a_line_per_problem(boards, tmp_path_factory, kinds, row, token):
    assume(
        not {"drop", "duplicate"} <= set(kinds)
    )  # dropping the row that was duplicated restores a valid file
    board = boards["proxy"]
    rows = _valid_rows(board)
    for kind in kinds:
        rows = _mutate(rows, kind, row, token)
    folder = tmp_path_factory.mktemp("sub")
    rows_path, meta_path = write_submission(folder, rows, board.info["release"])
    _, _, problems = validate(board, rows_path, meta_path)
    assert problems, kinds
    assert all("\n" not in p and len(p) < 400 for p in problems)
    text = " | ".join(problems)
    # A cell- or column-level problem stops the row-level checks, so at least one mutation is named.
    assert any(MUTATIONS[kind] in text for kind in kinds), text
    before = board.submissions()
    with pytest.raises(SubmissionError):
        submit(board, rows_path, meta_path)
    assert board.submissions() == before


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(
        ["method", "authors", "code_url", "compute", "archbench_version", "command", "release"]
    ),
    value=st.one_of(st.none(), st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=2)),
)
def test_malformed_metadata_is_refused(boards, field, value):
    meta = {**META, "release": boards["proxy"].info["release"], field: value}
    problems = check_metadata(meta, "meta.json")
    valid = {
        "method": isinstance(value, str) and value,
        "archbench_version": isinstance(value, str) and value,
        "command": isinstance(value, str) and value,
    }.get(field, False)
    assert bool(problems) != bool(valid)
    assert all(p.startswith("meta.json: metadata field") for p in problems)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"code_url": "javascript:alert(1)"}, "code_url"),
        ({"release": "sha256:" + "0" * 64}, "is not this board's table"),
        ({"extra": 1}, "Additional properties"),
        ({"compute": {"hardware": "cpu", "hours": -1}}, "compute/hours"),
        ({"authors": []}, "authors"),
    ],
)
def test_metadata_problems_name_the_field(boards, tmp_path, change, expected):
    board = boards["proxy"]
    meta = {"release": board.info["release"], **change}
    rows_path, meta_path = write_submission(tmp_path, _valid_rows(board), **meta)
    _, _, problems = validate(board, rows_path, meta_path)
    assert len(problems) == 1 and expected in problems[0]


def test_unreadable_oversize_and_wrong_format_files(boards, tmp_path):
    board = boards["proxy"]
    _, meta_path = write_submission(tmp_path, _valid_rows(board), board.info["release"])
    big = tmp_path / "big.csv"
    big.write_text("arch_id,score\n" + "a,1\n" * 2000)
    assert "over this board's 4,096-byte limit" in validate(board, big, meta_path)[2][0]
    pickle_like = tmp_path / "rows.pkl"
    pickle_like.write_bytes(b"\x80\x04K\x01.")
    assert "must be a .csv or .parquet" in validate(board, pickle_like, meta_path)[2][0]
    broken = tmp_path / "rows.parquet"
    broken.write_bytes(b"PAR1 not really")
    assert "unreadable" in validate(board, broken, meta_path)[2][0]
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("[" * 100)
    assert "nested" in validate(board, big, bad_json)[2][0] or "JSON" in validate(board, big, bad_json)[2][0]


def test_parquet_with_wrong_types_is_refused(boards, tmp_path):
    board = boards["proxy"]
    rows = _valid_rows(board).assign(score=lambda f: f["arch_id"])  # text where a number belongs
    path = tmp_path / "rows.parquet"
    rows.to_parquet(path)
    _, meta_path = write_submission(tmp_path, rows, board.info["release"])
    problems = validate(board, path, meta_path)[2]
    assert problems == [
        f"{path}: column 'score' must be a number; not at rows 1, 2, 3, 4, 5 and {len(rows) - 5} more"
    ]


def test_search_over_budget_and_bad_steps(boards, tmp_path):
    board = boards["search"]
    ids = list(board.public["truth"]["arch_id"])
    over = pd.DataFrame({"run": 0, "step": range(1, 7), "arch_id": ids[:6]})
    rows_path, meta_path = write_submission(tmp_path / "a", over, board.info["release"])
    assert validate(board, rows_path, meta_path)[2] == [
        "rows: runs 0 query more than the budget of 5 architectures"
    ]
    gap = pd.DataFrame({"run": [1, 1], "step": [1, 3], "arch_id": ids[:2]})
    rows_path, meta_path = write_submission(tmp_path / "b", gap, board.info["release"])
    assert "without gaps" in validate(board, rows_path, meta_path)[2][0]
    repeat = pd.DataFrame({"run": [1, 1], "step": [1, 2], "arch_id": [ids[0], ids[0]]})
    rows_path, meta_path = write_submission(tmp_path / "c", repeat, board.info["release"])
    assert "duplicate run/arch_id" in validate(board, rows_path, meta_path)[2][0]


def test_tampered_hidden_part_is_detected(boards, tmp_path):
    host = tmp_path / "host"
    shutil.copytree(boards["root"] / "proxy-host", host)
    truth = pd.read_parquet(host / "truth.parquet")
    truth.loc[0, "value"] += 0.001
    truth.to_parquet(host / "truth.parquet", index=False)
    with pytest.raises(ValueError, match="does not match the board's commitment"):
        score_board(boards["proxy"], host, 200)
    manifest = json.loads((boards["root"] / "proxy-host" / "hidden.json").read_text())
    manifest["salt"] = "00" * 32  # the right truth with another salt does not open the commitment either
    shutil.copytree(boards["root"] / "proxy-host", tmp_path / "host2")
    (tmp_path / "host2" / "hidden.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="does not match"):
        score_board(boards["proxy"], tmp_path / "host2", 200)
    with pytest.raises(ValueError, match="belongs to another board"):
        score_board(boards["proxy"], boards["root"] / "search-host", 200)


def test_tampered_public_file_is_detected(boards, tmp_path):
    board_dir = tmp_path / "board"
    shutil.copytree(boards["root"] / "proxy", board_dir)
    archs = pd.read_parquet(board_dir / "public" / "archs.parquet")
    archs.iloc[:-1].to_parquet(board_dir / "public" / "archs.parquet", index=False)
    with pytest.raises(ValueError, match="changed since the board was created"):
        load_board(board_dir)


def test_published_truth_makes_only_practice_boards(tmp_path):
    table = write_table(tmp_path / "pub", n=12, published=True)
    with pytest.raises(ValueError, match="comes from published numbers"):
        init_board(table, "proxy", tmp_path / "b", tmp_path / "h", {"task": "toy"})
    assert not (tmp_path / "b").exists() and not (tmp_path / "h").exists()
    board = init_board(table, "proxy", tmp_path / "b", tmp_path / "h", {"task": "toy"}, practice=True)
    assert board.info["practice"] is True


def test_cli_prints_one_line_per_problem_and_exits_2(boards, tmp_path, capsys):
    board = boards["proxy"]
    rows = _valid_rows(board)
    rows.loc[0, "score"] = np.nan
    rows = pd.concat([rows, rows.iloc[[1]]])
    rows_path, meta_path = write_submission(tmp_path, rows, "sha256:" + "1" * 64)
    assert (
        main(["leaderboard", "submit", str(board.path), "--rows", str(rows_path), "--meta", str(meta_path)])
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("archbench leaderboard: refused: ") for line in err)
    assert "is not this board's table" in err[0] and "NaN or inf" in err[1]
    assert (
        main(
            [
                "leaderboard",
                "init",
                str(tmp_path / "nope"),
                "--track",
                "proxy",
                "--out",
                str(tmp_path / "o"),
                "--hidden",
                str(tmp_path / "h"),
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "leaderboard",
                "init",
                str(boards["table"]),
                "--track",
                "poxy",
                "--out",
                str(tmp_path / "o"),
                "--hidden",
                str(tmp_path / "h"),
            ]
        )
        == 2
    )
    assert "did you mean proxy" in capsys.readouterr().err
    assert (
        main(
            [
                "leaderboard",
                "init",
                str(boards["table"]),
                "--track",
                "proxy",
                "--param",
                "bogus=1",
                "--out",
                str(tmp_path / "o"),
                "--hidden",
                str(tmp_path / "h"),
            ]
        )
        == 2
    )
    assert "has no parameter 'bogus'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert (
        main(["leaderboard", "validate", str(tmp_path), "--rows", str(rows_path), "--meta", str(meta_path)])
        == 2
    )
    assert "is not a leaderboard" in capsys.readouterr().err
