"""Importers of NASLib zero-cost JSON and HW-NAS-Bench-style hardware tables (small hand-made files)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from _bench_helpers import ALL_CONV, MIXED, REP, SPACE
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.cli import main
from benchmarks.importers import HardwareImport, import_hardware_table, import_zero_cost_json
from benchmarks.table import open_table
from spaces.nb201_naslib import NB201_OPS, naslib_from_nb201, nb201_from_naslib

# Hand-converted: arch-string positions p0..p5 = (avg_pool, conv1x1, skip, none, conv3x3, skip)
# = codes (4, 3, 0, 1, 2, 0); NASLib lists them as (p0, p1, p3, p2, p4, p5) = (4, 3, 1, 0, 2, 0).
HAND_ARCH = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|nor_conv_3x3~1|skip_connect~2|"
HAND_KEY = "(4, 3, 1, 0, 2, 0)"


def test_known_key_converts_both_ways():
    assert nb201_from_naslib(HAND_KEY) == HAND_ARCH
    assert naslib_from_nb201(HAND_ARCH) == HAND_KEY
    assert nb201_from_naslib("(2, 2, 2, 2, 2, 2)") == ALL_CONV
    # p2 (edge 1->2) and p3 (edge 0->3) are the ones NASLib swaps.
    assert (
        nb201_from_naslib("(1, 1, 0, 1, 1, 1)") == "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    )
    assert nb201_from_naslib("(1,1,1,0,1,1)") == "|none~0|+|none~0|skip_connect~1|+|none~0|none~1|none~2|"


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 15624))
def test_every_published_cell_round_trips_through_the_naslib_key(index):
    arch = SPACE.from_index(index).string
    key = naslib_from_nb201(arch)
    assert nb201_from_naslib(key) == arch
    # Independent route: rebuild the key from the string's edge ops in NASLib's edge order.
    ops = [p.split("~")[0] for p in arch.replace("+", "").split("|") if p]
    expected = tuple(NB201_OPS.index(ops[p]) for p in (0, 1, 3, 2, 4, 5))
    assert key == str(expected)


@pytest.mark.parametrize(
    "bad", ["(5, 0, 0, 0, 0, 0)", "(0, 0, 0, 0, 0)", "[0, 0, 0, 0, 0, 0]", "0,0,0,0,0,0", ""]
)
def test_bad_keys_are_refused(bad):
    with pytest.raises(ValueError, match="not a NASLib NB201 key"):
        nb201_from_naslib(bad)


def _zc_file(tmp_path, data, name="zc_nasbench201.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def _entry(scale: float) -> dict:
    return {
        "id": 7,
        "jacov": {"score": -60.5 * scale, "time": 0.25},
        "synflow": {"score": 1.5e30 * scale, "time": 0.5},
        "flops": {"score": 222.86 * scale, "time": 0.01},
        "params": {"score": 1.53 * scale, "time": 0.01},
        "foo": {"score": 3.0, "time": 0.1},
        "val_accuracy": 90.0 * scale,
    }


def test_zero_cost_json_import_maps_names_tasks_and_keeps_provenance(tmp_path):
    data = {
        "cifar10": {HAND_KEY: _entry(1.0), "(2, 2, 2, 2, 2, 2)": _entry(0.5)},
        "ImageNet16-120": {HAND_KEY: {"nwot": {"score": float("nan"), "time": 1.0}, "val_accuracy": 40.0}},
    }
    path = tmp_path / "zc.json"
    path.write_text(json.dumps(data))  # json writes NaN, as NASLib's files do
    table = open_table(import_zero_cost_json(path, tmp_path / "out"))
    rec = table.records
    assert set(rec["task"]) == {"cifar10", "imagenet16-120"}
    assert set(rec["metric"]) == {
        "jacob_cov",
        "synflow",
        "flops_naslib",
        "params",
        "naslib_foo",
        "val_acc",
        "nwot",
    }
    assert table.value(arch=HAND_ARCH, metric="jacob_cov", task="cifar10") == -60.5
    assert table.value(arch=ALL_CONV, metric="flops_naslib") == pytest.approx(111.43)
    assert table.value(arch=ALL_CONV, metric="val_acc", task="cifar10") == 45.0
    nan_row = table.filter(metric="nwot").iloc[0]
    assert nan_row["status"] == "nan" and pd.isna(nan_row["value"]) and "source file" in nan_row["message"]
    assert math.isnan(table.value(arch=HAND_ARCH, metric="nwot"))
    seconds = table.filter(metric="synflow", arch=HAND_ARCH)["seconds"].tolist()
    assert seconds == [0.5]
    assert set(rec["device"]) == {"imported"}
    # Two protocols, both naming the source file and its hash; accuracies at fidelity 200.
    protocols = table.manifest["protocols"]
    assert {p["field"] for p in protocols.values()} == {"score", "val_accuracy"}
    assert all(p["source"] == "zc.json" and len(p["source_sha256"]) == 64 for p in protocols.values())
    assert set(table.filter(metric="val_acc")["fidelity"]) == {200}
    # Cards: archbench's own for mapped names, NASLib's FLOPs kept apart, unknown names marked.
    assert table.metrics["jacob_cov"]["paper"] and table.metrics["params"]["kind"] == "cost"
    assert table.metrics["flops_naslib"]["kind"] == "cost"
    assert table.metrics["naslib_foo"]["higher_is_better"] is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"svhn": {HAND_KEY: _entry(1)}}, "unknown dataset 'svhn'"),
        ({"cifar10": {"(9, 9)": _entry(1)}}, "not a NASLib NB201 key"),
        ({"cifar10": {HAND_KEY: _entry(1), "(4,3,1,0,2,0)": _entry(1)}}, "are the same cell"),
        ({"cifar10": {HAND_KEY: {"snip": {"score": "big"}}}}, "snip score: expected a number"),
        ({"cifar10": {HAND_KEY: {"snip": 3.0}}}, r"snip: expected \{'score'"),
        ({"cifar10": {HAND_KEY: {"val_accuracy": 140.0}}}, r"not an accuracy in \[0, 100\]"),
        ({"cifar10": {HAND_KEY: {"snip": {"score": 1.0, "time": -1}}}}, "not a duration"),
        ({"cifar10": {}}, "no proxy scores"),
        ([], "expected an object of datasets"),
    ],
)
def test_zero_cost_json_bad_input_is_one_line_and_writes_nothing(tmp_path, data, message):
    path = _zc_file(tmp_path, data)
    with pytest.raises(ValueError, match=message) as info:
        import_zero_cost_json(path, tmp_path / "out")
    assert "\n" not in str(info.value) and "zc_nasbench201.json" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_zero_cost_json_duplicate_keys_and_broken_json(tmp_path):
    path = tmp_path / "zc.json"
    path.write_text('{"cifar10": {"(0, 0, 0, 0, 0, 0)": {}, "(0, 0, 0, 0, 0, 0)": {}}}')
    with pytest.raises(ValueError, match="appears twice"):
        import_zero_cost_json(path, tmp_path / "out")
    path.write_text('{"cifar10": {')
    with pytest.raises(ValueError, match="not valid JSON"):
        import_zero_cost_json(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ---- hardware tables ------------------------------------------------------------------------------------------
def _hw_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "arch": [ALL_CONV, ALL_CONV, MIXED, MIXED, ALL_CONV, MIXED],
            "device": ["edgegpu", "raspi4", "edgegpu", "raspi4", "edgegpu", "edgegpu"],
            "metric": ["latency", "latency", "latency", "latency", "energy", "energy"],
            "value": [5.5, 40.0, 3.25, 21.0, 20.0, 11.0],
            "unit": ["ms", "ms", "ms", "ms", "mJ", "mJ"],
        }
    )


def _hw_spec(**overrides) -> HardwareImport:
    fields = dict(
        space="nb201",
        task="cifar10",
        key_column="arch",
        device_column="device",
        metric_column="metric",
        value_column="value",
        unit_column="unit",
    )
    return HardwareImport(**{**fields, **overrides})


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_hardware_table_import_keeps_devices_apart(tmp_path, suffix):
    path = tmp_path / f"hw.{suffix}"
    frame = _hw_frame()
    frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path)
    table = open_table(import_hardware_table(path, _hw_spec(), tmp_path / "out"))
    assert len(table.records) == 6
    assert set(table.records["device"]) == {"edgegpu", "raspi4"}
    assert table.metrics["latency"] == {
        "unit": "ms",
        "kind": "cost",
        "higher_is_better": False,
        "source": path.name,
    }
    assert table.metrics["energy"]["unit"] == "mJ"
    # One protocol per device: averaging latency across devices is refused, choosing one works.
    assert len(table.manifest["protocols"]) == 2
    with pytest.raises(ValueError, match="several protocols"):
        table.wide(["latency"])
    wide = table.wide(["latency", "energy"], device="edgegpu")
    assert wide.loc[SPACE.parse(MIXED).arch_id, "latency"] == 3.25
    assert wide.loc[SPACE.parse(ALL_CONV).arch_id, "energy"] == 20.0
    with pytest.raises(ValueError, match="several protocol_hash"):
        table.value(arch=ALL_CONV, metric="latency")
    edge = {h for h, p in table.manifest["protocols"].items() if p["device"] == "raspi4"}.pop()
    assert table.value(arch=ALL_CONV, metric="latency", protocol_hash=edge) == 40.0


def test_hardware_table_by_index_with_one_unit(tmp_path):
    path = tmp_path / "hw.csv"
    pd.DataFrame(
        {"idx": [0, 1], "dev": ["pixel3", "pixel3"], "m": ["latency", "latency"], "v": [1.0, 2.0]}
    ).to_csv(path, index=False)
    spec = _hw_spec(key="index", key_column="idx", device_column="dev", metric_column="m", value_column="v")
    spec = HardwareImport(**{**spec.__dict__, "unit_column": None, "unit": "ms"})
    table = open_table(import_hardware_table(path, spec, tmp_path / "out"))
    assert table.value(index=1, metric="latency") == 2.0
    assert set(table.records["unit"]) == {"ms"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.assign(value=[5.5, -1.0, 3.25, 21.0, 20.0, 11.0]), "negative values at rows 2"),
        (
            lambda f: f.assign(value=[5.5, 40.0, float("nan"), 21.0, 20.0, 11.0]),
            "NaN, inf or negative values at rows 3",
        ),
        (lambda f: f.assign(unit=["ms", "s", "ms", "s", "mJ", "mJ"]), "comes in units"),
        (lambda f: f.assign(unit=["ms", "ms", "ms", "ms", "mJ", "J"]), "row 6"),
        (
            lambda f: f.assign(device=["edgegpu", "", "edgegpu", "raspi4", "edgegpu", "edgegpu"]),
            "'device' is empty",
        ),
        (
            lambda f: f.assign(arch=[ALL_CONV, ALL_CONV, "|bad|", MIXED, ALL_CONV, MIXED]),
            "row 3, column 'arch'",
        ),
        (lambda f: pd.concat([f, f.iloc[[0]]]), "rows 1, 7"),
        (lambda f: f.drop(columns="unit"), r"columns \['unit'\] not found"),
    ],
)
def test_hardware_table_bad_input(tmp_path, change, message):
    path = tmp_path / "hw.csv"
    change(_hw_frame()).to_csv(path, index=False)
    with pytest.raises(ValueError, match=message) as info:
        import_hardware_table(path, _hw_spec(), tmp_path / "out")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_hardware_spec_needs_exactly_one_unit_source():
    with pytest.raises(ValueError, match="exactly one of unit_column"):
        _hw_spec(unit="ms")


def test_cli_imports_and_bad_input(tmp_path, capsys):
    path = _zc_file(tmp_path, {"cifar100": {HAND_KEY: _entry(1.0)}})
    assert main(["import", "zc-json", str(path), "--out", str(tmp_path / "zc")]) == 0
    assert open_table(tmp_path / "zc" / "table").value(arch=HAND_ARCH, metric="val_acc") == 90.0
    hw = tmp_path / "hw.csv"
    _hw_frame().to_csv(hw, index=False)
    args = [
        "import",
        "hw-table",
        str(hw),
        "--task",
        "cifar10",
        "--key-column",
        "arch",
        "--device-column",
        "device",
    ]
    args += ["--metric-column", "metric", "--value-column", "value", "--unit-column", "unit", "--out"]
    assert main([*args, str(tmp_path / "hw")]) == 0
    assert main([*args, str(tmp_path / "hw")]) == 2  # the folder already holds a journal
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already holds a journal" in err[0]
    assert main(["import", "zc-json", str(tmp_path / "missing.json"), "--out", str(tmp_path / "x")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert REP  # the hand-made files use published cells only
