"""hw_profiles.lut: block decomposition, LUT sums against hand values, correction fit, accuracy, I/O."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import spaces
from hw_profiles.lut import (
    CALIBRATIONS,
    BlockSpec,
    CalibrationError,
    LatencyLUT,
    accuracy,
    choose_calibration,
    combine_rounds,
    merge_rounds,
    profile_lut,
)
from hw_profiles.protocol import MeasurementProtocol
from spaces.nb201_blocks import CELL_OPS, block_module
from spaces.nb201_blocks import block_set as nb201_blocks

NB201 = spaces.get("nb201")
PROTOCOL = MeasurementProtocol(
    task="cifar10",
    batch_sizes=(2,),
    resolution=8,
    build={"C": 4, "N": 1},
    warmup=1,
    repeats=3,
    min_run_time=0.005,
    metrics=("latency",),
)


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    "ops",
    [("nor_conv_3x3",) * 6, ("none", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "nor_conv_3x3", "none")],
)
@pytest.mark.parametrize(("C", "N"), [(4, 1), (8, 2)])
def test_blocks_compose_the_network(ops: tuple[str, ...], C: int, N: int) -> None:
    """Independent route: the blocks' parameter counts add up to the built network's."""
    blocks = {b.key: b for b in nb201_blocks(C, 16, 3, 10)}
    assert len(blocks) == 1 + 3 * (len(CELL_OPS) + 1) + 2 + 1
    total = 0
    for b in blocks.values():
        count = _params(block_module(b))
        if b.kind == "cell_op":
            total += N * count * ops.count(b.op)
        elif b.kind != "add":
            total += count
    net = NB201.build(NB201.from_ops(ops), "cifar10", C=C, N=N)
    assert total == _params(net)


def _synthetic_lut(values: dict[str, float]) -> LatencyLUT:
    lut = LatencyLUT(PROTOCOL, C=4, N=2, resolution=8)
    for b in nb201_blocks(4, 8, 3, 10):
        lut.rows.append(
            {"key": b.key, "kind": b.kind, "batch": 2, "latency_ms": values.get(b.op, 0.0) * (b.c_in / 4)}
        )
    return lut


def test_raw_sum_matches_hand_count() -> None:
    # every block costs (its op's value) x (channels / 4); stages have 4, 8, 16 channels -> factors 1, 2, 4
    values = {
        "nor_conv_3x3": 1.0,
        "add": 0.5,
        "conv3x3_bn": 7.0,
        "resnet_basic": 3.0,
        "bn_relu_pool_linear10": 2.0,
    }
    lut = _synthetic_lut(values)
    ops = ("nor_conv_3x3", "none", "nor_conv_3x3", "skip_connect", "none", "none")
    cell = 2 * 1.0 + 3 * 0.5  # two convs and three additions at factor 1
    expected = 7.0 * (3 / 4) + 2.0 * 16 / 4 + 3.0 * (4 / 4) + 3.0 * (8 / 4) + 2 * cell * (1 + 2 + 4)
    assert lut.raw(ops, 2) == pytest.approx(expected)
    with pytest.raises(KeyError, match="no entries at batch 3"):
        lut.raw(ops, 3)


@settings(max_examples=25, deadline=None)
@given(st.floats(0.2, 5.0), st.floats(-3.0, 10.0))
def test_correction_recovers_an_exact_linear_overhead(a: float, b: float) -> None:
    lut = _synthetic_lut(
        {"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.3, "avg_pool_3x3": 0.2, "none": 0.05, "add": 0.1}
    )
    cells = [NB201.ops_of(NB201.from_index(i)) for i in range(0, 15625, 977)]
    measured = [a * lut.raw(ops, 2) + b for ops in cells]
    *scales, intercept = lut.fit(cells, measured, 2)
    # raw = sum_k T_k + the fixed blocks, so every op kind's scale is a and the fixed part folds into b
    assert scales == [pytest.approx(a, rel=1e-6)] * len(scales)
    fixed = lut.raw(cells[0], 2) - sum(lut.op_times(cells[0], 2))
    assert intercept == pytest.approx(a * fixed + b, rel=1e-6, abs=1e-6)
    assert lut.predict(cells[3], 2) == pytest.approx(measured[3])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.1, 4.0), min_size=4, max_size=4), st.floats(0.0, 20.0))
def test_calibration_recovers_per_op_kind_scales(scales: list[float], b: float) -> None:
    lut = _synthetic_lut({"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.3, "avg_pool_3x3": 0.2, "none": 0.05})
    cells = [NB201.ops_of(NB201.from_index(i)) for i in range(0, 15625, 301)]
    measured = [sum(s * t for s, t in zip(scales, lut.op_times(ops, 2))) + b for ops in cells]
    *found, intercept = lut.fit(cells, measured, 2)
    assert found == [pytest.approx(s, rel=1e-6) for s in scales]
    assert intercept == pytest.approx(b, abs=1e-6)
    with pytest.raises(ValueError, match=r"\(kind\) needs >= 5 measured networks"):
        lut.fit(cells[:3], measured[:3], 2)


NODE_CELLS = [NB201.ops_of(NB201.from_index(i)) for i in range(0, 15625, 97)]  # 162 cells


def _node_truth(lut: LatencyLUT, scales: dict[str, float], b: float) -> list[float]:
    """Latencies exactly linear in the kind_node groups' LUT times."""
    groups = CALIBRATIONS["kind_node"]
    return [
        sum(scales[g] * t for g, t in zip(groups, lut.op_times(ops, 2, "kind_node"))) + b
        for ops in NODE_CELLS
    ]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(0.1, 4.0), min_size=12, max_size=12), st.floats(0.0, 20.0))
def test_kind_node_calibration_recovers_per_node_scales(scales: list[float], b: float) -> None:
    lut = _synthetic_lut({"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.3, "avg_pool_3x3": 0.2, "none": 0.05})
    truth = dict(zip(CALIBRATIONS["kind_node"], scales))
    measured = _node_truth(lut, truth, b)
    *found, intercept = lut.fit(NODE_CELLS, measured, 2, "kind_node")
    assert found == [pytest.approx(s, rel=1e-6) for s in scales]
    assert intercept == pytest.approx(b, abs=1e-6)
    assert lut.calibration[2] == "kind_node"
    assert lut.predict(NODE_CELLS[7], 2) == pytest.approx(measured[7])


def test_kind_node_groups_split_each_kinds_time_by_the_node_fed() -> None:
    lut = _synthetic_lut({"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.3, "avg_pool_3x3": 0.2, "none": 0.05})
    ops = ("nor_conv_3x3", "nor_conv_3x3", "none", "skip_connect", "nor_conv_3x3", "avg_pool_3x3")
    by_node = dict(zip(CALIBRATIONS["kind_node"], lut.op_times(ops, 2, "kind_node")))
    stage_sum = 2 * (1 + 2 + 4)  # N=2 cells x channel factors 1, 2, 4 of the three stages
    assert by_node["nor_conv_3x3>1"] == by_node["nor_conv_3x3>2"] == by_node["nor_conv_3x3>3"] == stage_sum
    assert by_node["none>2"] == pytest.approx(0.05 * stage_sum) and by_node[
        "avg_pool_3x3>3"
    ] == pytest.approx(0.2 * stage_sum)
    assert sum(v > 0 for v in by_node.values()) == 5  # skip_connect runs no kernel
    kinds = dict(zip(CALIBRATIONS["kind"], lut.op_times(ops, 2)))
    for kind, total in kinds.items():  # the kind_node groups partition each kind's time
        assert total == pytest.approx(sum(v for g, v in by_node.items() if g.startswith(kind + ">")))
    with pytest.raises(ValueError, match="unknown LUT calibration 'stage'"):
        lut.op_times(ops, 2, "stage")
    with pytest.raises(ValueError, match="6 edge ops, got 5"):
        lut.op_times(ops[:5], 2)


def test_edge_positions_follow_the_nb201_cell() -> None:
    """The node each edge op's block feeds (its calibration position) is the edge's destination."""
    ops = ("nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3")
    for group in NB201.blocks(NB201.from_ops(ops), "cifar10", 8, C=4, N=2)[1:]:
        cell = [(u.block.op, u.position) for u in group.uses if u.block.kind == "cell_op"]
        assert cell == [(op, dst) for op, (_, dst) in zip(ops, NB201.cell.edges)]


def test_calibration_refuses_a_group_no_network_has() -> None:
    lut = _synthetic_lut({"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.3, "avg_pool_3x3": 0.2, "none": 0.05})
    no_pool_into_1 = [ops for ops in NODE_CELLS if ops[0] != "avg_pool_3x3"]
    measured = [sum(lut.op_times(ops, 2)) for ops in no_pool_into_1]
    with pytest.raises(CalibrationError, match=r"groups in none of them: avg_pool_3x3>1"):
        lut.fit(no_pool_into_1, measured, 2, "kind_node")
    assert lut.fit(no_pool_into_1, measured, 2, "kind") == pytest.approx((1.0, 1.0, 1.0, 1.0, 0.0), abs=1e-9)
    # so cross-validation only scores kind on them
    assert set(choose_calibration(lut, no_pool_into_1, measured, 2)[1]) == {"kind"}


def test_choose_calibration_by_cross_validation_on_the_fit_cells() -> None:
    lut = _synthetic_lut({"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.3, "avg_pool_3x3": 0.2, "none": 0.05})
    rng = np.random.default_rng(0)
    noise = 1 + 0.02 * rng.standard_normal(len(NODE_CELLS))
    # truth per kind only (with 2 % noise): the 12-scale model only fits noise, so kind wins
    by_kind = [1.2 * sum(lut.op_times(ops, 2)) + 3.0 for ops in NODE_CELLS] * noise
    chosen, scores = choose_calibration(lut, NODE_CELLS, list(by_kind), 2)
    assert chosen == "kind" and scores["kind"] < scores["kind_node"]
    # truth where edges into node 3 cost twice as much: kind_node wins, and by a wide margin
    scales = {g: (2.4 if g.endswith(">3") else 1.2) for g in CALIBRATIONS["kind_node"]}
    by_node = np.array(_node_truth(lut, scales, 3.0)) * noise
    chosen, scores = choose_calibration(lut, NODE_CELLS, list(by_node), 2)
    assert chosen == "kind_node" and scores["kind_node"] < 0.5 * scores["kind"]
    assert lut.correction == {}  # choosing fits nothing into the LUT
    # too few cells for kind_node's folds: only kind is scored
    assert set(choose_calibration(lut, NODE_CELLS[:12], list(by_node[:12]), 2)[1]) == {"kind"}
    assert choose_calibration(lut, NODE_CELLS[:5], list(by_node[:5]), 2) == ("kind", {})  # none scorable
    with pytest.raises(ValueError, match="2 <= folds <= networks"):
        choose_calibration(lut, NODE_CELLS[:5], list(by_node[:5]), 2, folds=1)


def test_accuracy_hand_values() -> None:
    found = accuracy([1.0, 2.2, 2.9, 5.0], [1.05, 2.0, 3.0, 4.0])
    assert found["within"] == 0.5  # 1.0 vs 1.05 and 2.9 vs 3.0 are within 10 %; 2.2 vs 2.0 is exactly 10 %
    assert found["rmse_ms"] == pytest.approx(math.sqrt((0.05**2 + 0.2**2 + 0.1**2 + 1.0**2) / 4))
    assert found["spearman"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match=">= 2 paired"):
        accuracy([1.0], [1.0])


def test_profile_lut_measures_every_block_and_round_trips(tmp_path: Path) -> None:
    lut = profile_lut(PROTOCOL)
    assert len(lut.rows) == len(nb201_blocks(4, 8, 3, 10))
    assert all(r["latency_ms"] > 0 and r["runs"] >= 3 and r["batch"] == 2 for r in lut.rows)
    ops = NB201.ops_of(NB201.from_index(123))
    lut.correction[2] = (1.5, 1.5, 1.5, 1.5, 0.25)
    loaded = LatencyLUT.load(lut.save(tmp_path / "lut.parquet"))
    assert loaded.protocol == PROTOCOL and loaded.predict(ops, 2) == pytest.approx(lut.predict(ops, 2))
    assert loaded.predict(ops, 2) == pytest.approx(1.5 * sum(lut.op_times(ops, 2)) + 0.25)
    # a file written before calibration choices existed has no calibration key: it is per kind
    meta = json.loads(pq.read_schema(tmp_path / "lut.parquet").metadata[b"archbench_lut"])
    assert meta.pop("calibration") == {}
    older = pq.read_table(tmp_path / "lut.parquet")
    pq.write_table(
        older.replace_schema_metadata({b"archbench_lut": json.dumps(meta).encode()}), tmp_path / "old.parquet"
    )
    old = LatencyLUT.load(tmp_path / "old.parquet")
    assert old.calibration == {} and old.predict(ops, 2) == pytest.approx(lut.predict(ops, 2))
    (tmp_path / "old.parquet").unlink()
    lut.correction[2], lut.calibration[2] = (*range(1, 13), 0.5), "kind_node"
    loaded = LatencyLUT.load(lut.save(tmp_path / "lut.parquet"))
    assert loaded.calibration == {2: "kind_node"} and loaded.predict(ops, 2) == pytest.approx(
        lut.predict(ops, 2)
    )
    assert list(tmp_path.iterdir()) == [tmp_path / "lut.parquet"]  # no temporary file left behind


def test_load_refuses_a_foreign_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1]}), tmp_path / "x.parquet")
    with pytest.raises(ValueError, match="not an archbench latency LUT"):
        LatencyLUT.load(tmp_path / "x.parquet")


def test_block_key_is_stable() -> None:
    assert BlockSpec("cell_op", "nor_conv_3x3", 16, 16, 32).key == "cell_op|nor_conv_3x3|16>16|r32|s1"


# ---- measurement rounds --------------------------------------------------------------------------------
def test_combine_rounds() -> None:
    assert combine_rounds([3.0, 1.0, 2.0]) == 1.0  # min: interference only ever adds time
    assert combine_rounds([3.0, 1.0, 2.0, 10.0], "median") == 2.5
    with pytest.raises(ValueError, match="unknown round statistic 'mean'"):
        combine_rounds([1.0], "mean")
    with pytest.raises(ValueError, match="at least one"):
        combine_rounds([])
    nan = float("nan")
    # a failed round is left out wherever it sits; all failed is NaN
    assert combine_rounds([nan, 2.0, 1.0]) == combine_rounds([2.0, nan, 1.0]) == 1.0
    assert combine_rounds([nan, 3.0, 1.0], "median") == 2.0
    assert math.isnan(combine_rounds([nan, nan]))


def test_merge_rounds_takes_each_entrys_statistic() -> None:
    base = {"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.3, "avg_pool_3x3": 0.2, "none": 0.05}
    slow = _synthetic_lut({k: 2 * v for k, v in base.items()})
    fast = _synthetic_lut(base)
    merged = merge_rounds([slow, fast, slow])
    ops = ("nor_conv_3x3", "none", "avg_pool_3x3", "nor_conv_1x1", "skip_connect", "nor_conv_3x3")
    assert merged.raw(ops, 2) == pytest.approx(fast.raw(ops, 2))
    assert merge_rounds([slow, fast, slow], "median").raw(ops, 2) == pytest.approx(slow.raw(ops, 2))
    measured = [r for r in merged.rows if r["latency_ms"] > 0]
    assert all(r["rounds"] == 3 and r["round_spread"] == pytest.approx(2.0) for r in measured)
    for row in fast.rows:
        row["cv"] = 0.01
    for row in slow.rows:
        row["cv"] = 0.5
    remerged = merge_rounds([slow, fast, slow]).rows
    assert {r["cv"] for r in remerged if r["latency_ms"] > 0} == {0.01}  # the fast round's spread
    other = LatencyLUT(PROTOCOL, C=4, N=1, resolution=8, rows=list(fast.rows))
    with pytest.raises(ValueError, match="one protocol and network shape"):
        merge_rounds([fast, other])
    short = _synthetic_lut(base)
    short.rows.pop()
    with pytest.raises(ValueError, match="same blocks"):
        merge_rounds([fast, short])


def test_lut_accuracy_script_end_to_end(tmp_path: Path, capsys) -> None:
    """The evaluation script on tiny networks: interleaved rounds, held-out split, ceiling, report."""
    import importlib.util

    path = Path(__file__).parents[1] / "scripts" / "lut_accuracy.py"
    spec = importlib.util.spec_from_file_location("lut_accuracy", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    args = ["--batch", "1,2", "--cells", "4", "--fit", "6", "--rounds", "2", "--C", "4", "--N", "1"]
    args += ["--resolution", "8", "--min-run-time", "0.002", "--out", str(tmp_path)]
    assert script.main(args) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["rounds"], report["statistic"]) == (2, "min")
    assert report["device"]["kind"] == "cpu" and dict(report["device"]["allocator"])["libc"]
    for batch in ("1", "2"):
        found = report["batches"][batch]
        assert found["corrected"]["n"] == 4 and found["measurement_ceiling"]["n"] == 4
        assert len(found["blocks"]) == 22 and all(len(b["rounds_ms"]) == 2 for b in found["blocks"])
        cells = found["cells"]
        assert len(cells) == 10 and sum(c["fit"] for c in cells) == 6
        for c in cells:
            assert len(c["rounds_ms"]) == 2 and c["measured_ms"] == min(c["rounds_ms"])
    lut = LatencyLUT.load(tmp_path / "lut.parquet")
    assert set(lut.correction) == {1, 2} and all(r["rounds"] == 2 for r in lut.rows)
    out = capsys.readouterr().out
    assert "round 2/2 done" in out and "the measurement's own halves agree" in out
    assert "calibration kind: none " in out  # 6 fit cells: too few to cross-validate, the simplest
    assert (
        report["batches"]["1"]["calibration"] == "kind"
        and report["batches"]["1"]["cv_rms_relative_error"] == {}
    )
    for bad, message in (
        (["--rounds", "0"], "rounds must be an integer >= 1"),
        (["--batch", "1,,64"], "expected comma-separated batch sizes"),
        (["--statistic", "mean"], "invalid choice: 'mean'"),
        (["--calibration", "stage"], "invalid choice: 'stage'"),
        (["--calibration", "kind_node", "--fit", "10"], "needs >= 13 fit cells"),
        (["--cells", "15000", "--fit", "1000"], "the space has 15625 cells"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            script.main(bad)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


def test_lut_study_recovers_the_truth_through_disturbed_rounds() -> None:
    """Known answer: each cell's latency is exactly linear in the LUT; disturbance only ever adds time.

    Every cell has at least one undisturbed round, so the min of rounds is the truth and the corrected
    model is exact; the LUT rounds merge to the fast one; the even rounds of half the held-out cells are
    30 % slow, so the even-vs-odd ceiling is exactly one half.
    """
    from hw_profiles.lut_study import RoundsMeasured, block_rounds, evaluate, sample_split

    base = {"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.3, "avg_pool_3x3": 0.2, "none": 0.05, "add": 0.1}
    fast = _synthetic_lut(base)
    slow = _synthetic_lut({k: 1.5 * v for k, v in base.items()})
    split = sample_split(NB201, 10, 20, np.random.default_rng(3))
    assert len(split.fit) == 10 and len(split.held_out) == 20 and len(split.cells) == 30
    assert {a.string for a in split.fit}.isdisjoint(a.string for a in split.held_out)
    truth = {a.string: 1.3 * fast.raw(NB201.ops_of(a), 2) + 0.5 for a in split.cells}
    disturbed = {a.string for a in split.held_out[::2]}
    cells = {
        a: [
            t * (1.3 if a in disturbed and r % 2 == 0 else 1.0) + (0.2 if r == 1 else 0.0) * (a in disturbed)
            for r in range(4)
        ]
        for a, t in truth.items()
    }
    for a in disturbed:  # round 3 is the clean one of the disturbed cells, round 1 carries a small delay
        assert min(cells[a]) == cells[a][3] == truth[a]
    measured = RoundsMeasured([slow, fast, slow, fast], {2: cells})
    lut, reports = evaluate(NB201, measured, split.fit, split.held_out)
    assert [r["latency_ms"] for r in lut.rows] == [r["latency_ms"] for r in fast.rows]
    found = reports[2]
    assert found["corrected"]["within"] == 1.0 and found["corrected"]["rmse_ms"] == pytest.approx(0, abs=1e-9)
    assert found["uncorrected"]["within"] < 1.0  # the raw sum misses the 1.3x and the 0.5 ms
    assert found["measurement_ceiling"]["within"] == 0.5
    fast_ms = {r["key"]: r["latency_ms"] for r in fast.rows if r["batch"] == 2}
    assert {b["key"]: b["rounds_ms"][1] for b in found["blocks"]} == fast_ms
    for block in found["blocks"]:
        assert (
            block["rounds_ms"] == [pytest.approx(1.5 * block["rounds_ms"][1]), *block["rounds_ms"][1:2]] * 2
        )
    for factor, flagged in ((1.4, set()), (1.6, {k for k, v in fast_ms.items() if v > 0})):
        other = _synthetic_lut({k: factor * v for k, v in base.items()})
        blocks = block_rounds(RoundsMeasured([fast, other], {2: cells}), 2)
        assert {b["key"] for b in blocks if b["unsteady"]} == flagged
        assert all(b["round_spread"] == pytest.approx(factor) for b in blocks if b["key"] in flagged)
    # 10 fit cells cannot fit kind_node's 13 coefficients in a CV fold: auto keeps kind
    assert found["calibration"] == "kind" and set(found["cv_rms_relative_error"]) == {"kind"}
    assert found["coefficients"]["nor_conv_3x3"] == pytest.approx(1.3)
    assert {c["arch"]: c["measured_ms"] for c in found["cells"]} == truth
    odd = RoundsMeasured([slow, fast, fast], {2: {a: v[:3] for a, v in cells.items()}})
    assert evaluate(NB201, odd, split.fit, split.held_out)[1][2]["measurement_ceiling"] is None
    ragged = RoundsMeasured([slow, fast, fast], {2: {a: v[: 3 - (a in disturbed)] for a, v in cells.items()}})
    with pytest.raises(ValueError, match=r"one latency per round \(3\), found counts \[2, 3\]"):
        evaluate(NB201, ragged, split.fit, split.held_out)


def test_lut_study_chooses_kind_node_when_the_node_matters() -> None:
    """Known answer: edges into node 3 cost twice their LUT time; auto finds kind_node on the fit cells."""
    from hw_profiles.lut_study import RoundsMeasured, evaluate, sample_split

    lut = _synthetic_lut({"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.3, "avg_pool_3x3": 0.2, "none": 0.05})
    split = sample_split(NB201, 60, 40, np.random.default_rng(4), "kind_node")
    scales = {g: (2.0 if g.endswith(">3") else 1.0) for g in CALIBRATIONS["kind_node"]}
    groups = CALIBRATIONS["kind_node"]
    truth = {
        a.string: sum(scales[g] * t for g, t in zip(groups, lut.op_times(NB201.ops_of(a), 2, "kind_node")))
        + 1.0
        for a in split.cells
    }
    measured = RoundsMeasured([lut, lut], {2: {a: [t, 1.1 * t] for a, t in truth.items()}})
    auto = evaluate(NB201, measured, split.fit, split.held_out)[1][2]
    assert auto["calibration"] == "kind_node"
    assert auto["cv_rms_relative_error"]["kind_node"] < 1e-9 < auto["cv_rms_relative_error"]["kind"]
    assert auto["corrected"]["within"] == 1.0 and auto["coefficients"]["none>3"] == pytest.approx(2.0)
    kind = evaluate(NB201, measured, split.fit, split.held_out, calibration="kind")[1][2]
    assert kind["calibration"] == "kind" and kind["cv_rms_relative_error"] is None
    assert kind["corrected"]["rmse_ms"] > auto["corrected"]["rmse_ms"]
    with pytest.raises(
        ValueError, match="unknown LUT calibration 'stage' \\(valid: auto, kind, kind_node\\)"
    ):
        evaluate(NB201, measured, split.fit, split.held_out, calibration="stage")


def test_lut_study_split_refuses_impossible_sizes() -> None:
    from hw_profiles.lut_study import sample_split

    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=">= 5 fit cells and >= 2 held-out"):
        sample_split(NB201, 4, 10, rng)
    with pytest.raises(ValueError, match=">= 13 fit cells"):
        sample_split(NB201, 12, 10, rng, "kind_node")
    with pytest.raises(ValueError, match="the space has 15625 cells"):
        sample_split(NB201, 1000, 15000, rng)
