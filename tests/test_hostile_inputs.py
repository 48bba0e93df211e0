"""Open-ended bad input, generated: manifests, imported files and CLI values get one line and lose nothing.

Each property says what any input may lead to: the normal result, or one error of the documented
type with a one-line message, and never a traceback of another type or a half-written folder.
"""

from __future__ import annotations

import json
import math

import pytest
from _bench_helpers import copy_tree, shared_build
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.cli import main
from benchmarks.importers import AccuracyImport, HardwareImport, import_accuracies, import_hardware_table
from benchmarks.store import TableError
from benchmarks.table import open_table
from spaces import get as get_space

SPACE = get_space("nb201")
ARCHS = [SPACE.from_index(i).string for i in range(6)]
FIXTURE = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def table_dir(tmp_path_factory):
    return shared_build(tmp_path_factory).root / "table"


def one_line(text: str) -> bool:
    return bool(text) and "\n" not in text


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE)
@given(
    path=st.lists(
        st.sampled_from(
            [
                "files",
                "records.parquet",
                "sha256",
                "rows",
                "layout",
                "format",
                "schema_version",
                "metrics",
                "x",
            ]
        ),
        min_size=1,
        max_size=3,
    ),
    value=json_values,
)
def test_any_edit_of_a_manifest_opens_the_same_table_or_fails_in_one_line(
    table_dir, tmp_path_factory, path, value
):
    copy = copy_tree(table_dir, tmp_path_factory.mktemp("t") / "t")
    manifest = json.loads((copy / "manifest.json").read_text())
    node = manifest
    for key in path[:-1]:
        if not isinstance(node.get(key) if isinstance(node, dict) else None, dict):
            break
        node = node[key]
    if isinstance(node, dict):
        node[path[-1]] = value
    (copy / "manifest.json").write_text(json.dumps(manifest))
    try:
        table = open_table(copy)
    except TableError as exc:
        assert one_line(str(exc)), str(exc)
        return
    reference = open_table(table_dir)
    assert table.records["value"].equals(reference.records["value"])


cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.text(max_size=8),
    st.none(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE)
@given(
    indices=st.lists(
        st.one_of(st.integers(-3, 20), st.floats(-2, 20), st.text(max_size=4)), min_size=1, max_size=6
    ),
    values=st.lists(cells, min_size=6, max_size=6),
)
def test_any_accuracy_file_imports_in_range_or_fails_in_one_line(tmp_path_factory, indices, values):
    root = tmp_path_factory.mktemp("imp")
    rows = ["index,acc"] + [f"{i},{'' if v is None else v}" for i, v in zip(indices, values)]
    (root / "acc.csv").write_text("\n".join(rows) + "\n")
    spec = AccuracyImport(
        space="nb201", task="cifar10", metric="test_acc", key_column="index", value_column="acc", key="index"
    )
    try:
        out = import_accuracies(root / "acc.csv", spec, root / "out")
    except ValueError as exc:
        assert one_line(str(exc)), str(exc)
        assert not (root / "out").exists()  # nothing half-written
        return
    values = open_table(out).records["value"]
    assert ((values >= 0) & (values <= 100)).all()
    assert len(values) == len(indices)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["index,acc", "0,101.5"], "outside [0, 100] %"),
        (["index,acc", "0,-1"], "outside [0, 100] %"),
        (["index,acc", "1.5,90"], "index 1.5 is not a whole number"),
        (["index,acc,acc", "0,90,91"], "column names ['acc'] appear more than once"),
    ],
)
def test_impossible_accuracy_files_are_refused(tmp_path, rows, message):
    (tmp_path / "acc.csv").write_text("\n".join(rows) + "\n")
    spec = AccuracyImport(
        space="nb201", task="cifar10", metric="test_acc", key_column="index", value_column="acc", key="index"
    )
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        import_accuracies(tmp_path / "acc.csv", spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"metric": ""}, "metric '' is not a valid name"),
        ({"metric": 'x" onerror="y'}, "is not a valid name"),
        ({"task": "nope"}, "unknown task 'nope'"),
        ({"fidelity": 1.5}, "fidelity must be an integer"),
    ],
)
def test_impossible_import_settings_are_refused(fields, message):
    base = {"space": "nb201", "task": "cifar10", "metric": "test_acc", "key_column": "i", "value_column": "v"}
    with pytest.raises((ValueError, KeyError), match=message):
        AccuracyImport(**{**base, **fields})


def test_hardware_rows_with_bad_names_are_refused(tmp_path):
    (tmp_path / "hw.csv").write_text(f"arch,device,metric,value\n{ARCHS[0]},pixel<3>,latency,1.0\n")
    spec = HardwareImport(
        space="nb201",
        task="cifar10",
        key_column="arch",
        device_column="device",
        metric_column="metric",
        value_column="value",
        unit="ms",
    )
    with pytest.raises(ValueError, match="row 1: device 'pixel<3>' is not a valid name"):
        import_hardware_table(tmp_path / "hw.csv", spec, tmp_path / "out")


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE)
@given(
    flag=st.sampled_from(
        [
            "--sample",
            "--proxy-seeds",
            "--batch-size",
            "--resolution",
            "--build-options",
            "--train-epochs",
            "--seed",
            "--workers",
            "--threads",
            "--init",
            "--task",
            "--device",
        ]
    ),
    value=st.one_of(
        st.integers(-(2**40), 2**40).map(str),
        st.text(min_size=1, max_size=12).filter(lambda t: not t.startswith("-")),
    ),
)
def test_any_cli_value_runs_or_fails_in_one_line_with_nothing_written(tmp_path_factory, capsys, flag, value):
    out = tmp_path_factory.mktemp("cli") / "out"
    args = [
        "build",
        "--sample",
        "2",
        "--proxies",
        "params",
        "--resolution",
        "8",
        "--build-options",
        "C=2,N=1",
        "--workers",
        "1",
        "--quiet",
    ]
    if flag in args:
        position = args.index(flag)
        del args[position : position + 2]
    try:
        code = main([*args, flag, value, "--out", str(out)])
    except SystemExit as exc:  # argparse's own refusal (exit 2, usage line + one error line)
        code = exc.code
        assert code == 2
        err = capsys.readouterr().err
        assert err.strip().splitlines()[-1].startswith("archbench build: error:")
        assert not out.exists()
        return
    err = capsys.readouterr().err
    if code == 0:
        assert (out / "table" / "manifest.json").is_file()
    else:
        assert code == 2 and one_line(err.strip()), err
        assert not out.exists()
    assert not math.isnan(float(code))
