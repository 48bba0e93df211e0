"""The ``archbench`` command: help and cheap start-up, one-line errors with exit status 2, build then query."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys

import pandas as pd
import pytest
from _bench_helpers import ALL_CONV, DEAD_CONV, MIXED, REP, SPACE, arch, archbench_exe, copy_tree, flip_byte

from benchmarks.cli import main
from benchmarks.schema import RECORD_COLUMNS
from benchmarks.table import open_table

BUILD_FLAGS = [
    "--proxies",
    "params,flops,synflow",
    "--batch-size",
    "8",
    "--resolution",
    "8",
    "--build-options",
    "C=4,N=1",
    "--threads",
    "1",
    "--quiet",
]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [archbench_exe(), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def call(capsys, *argv: object) -> tuple[int, str, str]:
    """Run ``archbench`` in-process; return (exit status, stdout, stderr)."""
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, command: str, *fragments: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"archbench {command}: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``archbench build --archs FILE ...`` run once, in-process: (out folder, stdout)."""
    root = tmp_path_factory.mktemp("cli_build")
    archs = root / "archs.txt"
    archs.write_text(f"# three cells\n{ALL_CONV}\n\n{MIXED}\n{DEAD_CONV}\n{ALL_CONV}\n")
    out = root / "out"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["build", "--archs", str(archs), *BUILD_FLAGS, "--out", str(out)])
    assert code == 0
    return out, stdout.getvalue(), archs


# ---- help and start-up ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [[], ["build"], ["query"], ["demo"], ["spaces"], ["proxies"]])
def test_help_exits_zero(command):
    result = run_cli(*command, "--help", timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: archbench {' '.join(command)}".rstrip())
    assert result.stderr == ""


def test_help_lists_every_command(capsys):
    code, out, _ = call(capsys, "--help")
    assert code == 0
    for command in ("build", "query", "demo", "spaces", "proxies"):
        assert command in out


def test_help_does_not_import_heavy_libraries():
    script = (
        "import sys, contextlib, io\n"
        "from benchmarks.cli import main, make_parser\n"
        "make_parser().format_help()\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in ('torch', 'transformers', 'ray', 'lightgbm') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_version_and_bare_command(capsys):
    code, out, _ = call(capsys, "--version")
    assert code == 0 and out.startswith("archbench ")
    code, out, _ = call(capsys)
    assert code == 0 and out.startswith("usage: archbench")


# ---- bad input: one line on stderr, exit status 2, nothing left behind -----------------------------------------
def _bad_archs_file(tmp_path):
    path = tmp_path / "archs.txt"
    path.write_text(f"{ALL_CONV}\n|bad|\n{MIXED}\n")
    return path


BAD_INPUTS = {
    "unknown-space": (lambda t, b: ["spaces", "parse", "nb999", "x"], "spaces", ["unknown space 'nb999'"]),
    "malformed-arch": (lambda t, b: ["spaces", "parse", "nb201", "|bad|"], "spaces", ["malformed NB201"]),
    "unknown-op": (
        lambda t, b: ["spaces", "parse", "nb201", ALL_CONV.replace("3x3~2", "7x7~2")],
        "spaces",
        ["unknown op 'nor_conv_7x7'"],
    ),
    "unknown-proxy-card": (lambda t, b: ["proxies", "show", "synflw"], "proxies", ["did you mean synflow"]),
    "build-unknown-proxy": (
        lambda t, b: ["build", "--sample", "2", "--proxies", "params,bogus", "--out", t / "out"],
        "build",
        ["unknown proxy 'bogus'"],
    ),
    "build-unknown-space": (
        lambda t, b: [
            "build",
            "--space",
            "nb999",
            "--sample",
            "2",
            "--proxies",
            "params",
            "--out",
            t / "out",
        ],
        "build",
        ["unknown space 'nb999'"],
    ),
    "build-nothing": (
        lambda t, b: ["build", "--sample", "2", "--out", t / "out"],
        "build",
        ["nothing to build"],
    ),
    "build-sample-zero": (
        lambda t, b: ["build", "--sample", "0", "--proxies", "params", "--out", t / "out"],
        "build",
        ["--sample must be >= 1"],
    ),
    "build-sample-too-many": (
        lambda t, b: ["build", "--sample", "7000", "--proxies", "params", "--out", t / "out"],
        "build",
        ["cannot sample 7000", "6466"],
    ),
    "build-missing-archs-file": (
        lambda t, b: ["build", "--archs", t / "nope.txt", "--proxies", "params", "--out", t / "out"],
        "build",
        ["nope.txt", "does not exist"],
    ),
    "build-malformed-archs-line": (
        lambda t, b: ["build", "--archs", _bad_archs_file(t), "--proxies", "params", "--out", t / "out"],
        "build",
        ["archs.txt:2:", "malformed NB201"],
    ),
    "build-zero-workers": (
        lambda t, b: ["build", "--sample", "1", "--proxies", "params", "--workers", "0", "--out", t / "out"],
        "build",
        ["workers must be in [1, "],
    ),
    "query-missing-folder": (
        lambda t, b: ["query", t / "missing"],
        "query",
        ["missing", "no such table folder"],
    ),
    "query-corrupt-table": (lambda t, b: ["query", b], "query", ["records.parquet", "SHA-256"]),
    "query-malformed-arch": (lambda t, b: ["query", b, "--arch", "|bad|"], "query", ["malformed NB201"]),
    "query-absent-arch": (lambda t, b: ["query", b, "--arch", REP], "query", ["is not in table"]),
    "query-absent-index": (lambda t, b: ["query", b, "--index", "0"], "query", ["index 0 is not in table"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gives_one_line_and_status_2(case, capsys, tmp_path, built):
    argv_of, command, fragments = BAD_INPUTS[case]
    table = copy_tree(built[0] / "table", tmp_path / "table")
    if case == "query-corrupt-table":
        flip_byte(table / "records.parquet")
    code, _, err = call(capsys, *argv_of(tmp_path, table))
    assert_one_line_error(code, err, command, *fragments)
    # A failed build leaves no table (and no half-built output) behind.
    assert not (tmp_path / "out" / "table").exists()
    assert not any(p.name.startswith(".table") for p in (tmp_path / "out").glob(".*"))


def test_build_into_a_folder_with_a_garbage_journal(capsys, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "journal.sqlite").write_bytes(b"\x00garbage" * 512)
    code, _, err = call(capsys, "build", "--sample", "1", *BUILD_FLAGS, "--out", out)
    assert_one_line_error(code, err, "build", "journal.sqlite", "not a usable archbench journal")
    assert not (out / "table").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["spaces", "parse", "nb999", "x"],
        ["spaces", "parse", "nb201", "|bad|"],
        ["query", "/nonexistent/archbench/table"],
    ],
)
def test_console_script_exit_status_is_2(argv):
    result = run_cli(*argv, timeout=60)
    assert result.returncode == 2
    assert_one_line_error(result.returncode, result.stderr, argv[0])
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["build", "--sample", "2", "--proxies", "params"], "--out"),
        (["build", "--sample", "2", "--archs", "f", "--out", "o"], "not allowed with"),
        (["build", "--sample", "2", "--build-options", "C=x", "--out", "o"], "needs an integer"),
        (["build", "--sample", "2", "--proxy-seeds", "0,a", "--out", "o"], "comma-separated integers"),
        (["query", "t", "--format", "xml"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(argv, fragment, capsys):
    code, _, err = call(capsys, *argv)
    assert code == 2
    assert fragment in err


def test_archs_file_error_names_the_physical_line(capsys, tmp_path):
    path = tmp_path / "archs.txt"
    path.write_text(f"# header\n\n{ALL_CONV}\n|bad|\n")
    code, _, err = call(capsys, "build", "--archs", path, "--proxies", "params", "--out", tmp_path / "o")
    assert_one_line_error(code, err, "build", f"{path}:4:")


def test_archs_path_that_is_a_directory(capsys, tmp_path):
    code, _, err = call(capsys, "build", "--archs", tmp_path, "--proxies", "params", "--out", tmp_path / "o")
    assert_one_line_error(code, err, "build")


# ---- build, then query ---------------------------------------------------------------------------------------
def test_build_prints_a_summary_and_releases_a_table(built):
    out, stdout, _ = built
    assert "6 units run, 0 already done" in stdout  # 3 cost units + 3 classes x 1 functional unit
    assert str(out / "table") in stdout
    table = open_table(out / "table")
    assert sorted(table.archs["arch"]) == sorted([ALL_CONV, MIXED, DEAD_CONV])
    assert set(table.records["metric"]) == {"params", "flops", "synflow"}
    assert (table.records["status"] == "ok").all()


def test_rerunning_the_build_resumes_with_nothing_to_do(built, capsys):
    out, _, archs = built
    before = open_table(out / "table").records
    code, stdout, err = call(capsys, "build", "--archs", archs, *BUILD_FLAGS, "--out", out)
    assert code == 0, err
    assert "0 units run, 6 already done" in stdout
    after = open_table(out / "table").records
    pd.testing.assert_frame_equal(
        before.drop(columns="created_at").reset_index(drop=True),
        after.drop(columns="created_at").reset_index(drop=True),
    )


def test_query_json_returns_the_expected_metrics(built, capsys):
    out, _, _ = built
    code, stdout, err = call(capsys, "query", out / "table", "--arch", ALL_CONV, "--format", "json")
    assert code == 0, err
    rows = json.loads(stdout)
    assert {r["metric"] for r in rows} == {"params", "flops", "synflow"}
    assert {r["arch_id"] for r in rows} == {arch(ALL_CONV).arch_id}
    assert set(rows[0]) == set(RECORD_COLUMNS)
    expected = open_table(out / "table").lookup(arch=ALL_CONV).set_index("metric")["value"]
    for r in rows:
        assert r["value"] == expected[r["metric"]]
        assert r["status"] == "ok"


def test_query_csv_parses_with_pandas(built, capsys):
    out, _, _ = built
    code, stdout, err = call(capsys, "query", out / "table", "--arch", DEAD_CONV, "--format", "csv")
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(stdout))
    assert list(frame.columns) == list(RECORD_COLUMNS)
    assert sorted(frame["metric"]) == ["flops", "params", "synflow"]
    # Functional metrics answered from the representative, cost metrics of the cell itself.
    assert set(frame.loc[frame["metric"] == "params", "arch"]) == {DEAD_CONV}
    assert set(frame.loc[frame["metric"] == "synflow", "arch"]) == {
        SPACE.representative(arch(DEAD_CONV)).string
    }


def test_query_by_index_and_arch_id_with_metric_filter(built, capsys):
    out, _, _ = built
    index = SPACE.index(arch(MIXED))
    _, by_index, _ = call(
        capsys, "query", out / "table", "--index", index, "--metric", "params,flops", "--format", "json"
    )
    _, by_id, _ = call(
        capsys,
        "query",
        out / "table",
        "--arch-id",
        arch(MIXED).arch_id,
        "--metric",
        "params,flops",
        "--format",
        "json",
    )
    assert json.loads(by_index) == json.loads(by_id)
    assert sorted(r["metric"] for r in json.loads(by_index)) == ["flops", "params"]


def test_query_text_formats(built, capsys):
    out, _, _ = built
    code, summary, _ = call(capsys, "query", out / "table")
    assert code == 0
    assert "Table(" in summary and "synflow" in summary and "ok" in summary
    code, text, _ = call(capsys, "query", out / "table", "--arch", ALL_CONV)
    assert code == 0
    assert "params" in text and "synflow" in text and "metric" in text.splitlines()[0]
    code, text, _ = call(capsys, "query", out / "table", "--arch", ALL_CONV, "--status", "error")
    assert code == 0 and text.strip() == "(no records)"
    code, text, _ = call(capsys, "query", out / "table", "--metric", "params", "--format", "json")
    assert code == 0 and len(json.loads(text)) == 3


# ---- spaces and proxies subcommands ---------------------------------------------------------------------------
def test_spaces_commands(capsys):
    code, out, _ = call(capsys, "spaces", "list")
    rows = {line.split()[0]: line for line in out.strip().splitlines()}
    assert code == 0 and rows["nb201"].split()[1:3] == ["15,625", "archs"]
    code, out, _ = call(capsys, "spaces", "parse", "nb201", ALL_CONV)
    assert code == 0
    assert arch(ALL_CONV).arch_id in out and "1462" in out and "degenerate:     False" in out
    code, out, _ = call(capsys, "spaces", "sample", "nb201", "-n", "3", "--seed", "1")
    assert code == 0 and len(out.strip().splitlines()) == 3
    assert call(capsys, "spaces", "sample", "nb201", "-n", "3", "--seed", "1")[1] == out


def test_proxies_commands(capsys):
    code, out, _ = call(capsys, "proxies", "list")
    assert code == 0
    names = [line.split()[0] for line in out.strip().splitlines()]
    assert {"params", "flops", "synflow", "snip", "nwot"} <= set(names)
    code, out, _ = call(capsys, "proxies", "list", "--filter", "s*")
    filtered = [line.split()[0] for line in out.strip().splitlines()]
    assert code == 0 and {"synflow", "snip"} <= set(filtered)
    assert all(name.startswith("s") for name in filtered) and len(filtered) < len(names)
    code, out, _ = call(capsys, "proxies", "show", "params")
    assert code == 0 and "cost" in out


@pytest.mark.parametrize(
    "flags",
    [["--train-epochs", "1", "--train-seeds", ""], ["--proxies", "synflow", "--proxy-seeds", ""]],
    ids=["train-seeds", "proxy-seeds"],
)
def test_empty_seed_list_is_refused(flags, capsys, tmp_path):
    code, _, err = call(capsys, "build", "--sample", "2", *flags, "--out", tmp_path / "out")
    assert_one_line_error(code, err, "build", "seed")
    assert not (tmp_path / "out" / "table").exists()
