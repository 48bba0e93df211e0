"""The LUT asks its space: same numbers as before the blocks moved into spaces, and clear refusals.

``tests/data/lut_reference_b71f3d7.json`` holds, as hex floats, the block lists, raw sums, op times,
fitted corrections, predictions and the calibration choice of a synthetic LUT, computed by the
LUT code of b71f3d7 (which named NB201's ops and edge map itself). The same procedure on the live code
must give bit-identical numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _toy_space import ToyCellSpace

import hw_profiles.lut as L
import spaces
from hw_profiles.protocol import MeasurementProtocol
from spaces.capabilities import MissingCapability

NB201 = spaces.get("nb201")
REFERENCE = Path(__file__).parent / "data" / "lut_reference_b71f3d7.json"


def _reference_numbers() -> dict:
    protocol = MeasurementProtocol(task="cifar10", batch_sizes=(2, 4), resolution=8, build={"C": 4, "N": 2})
    out: dict = {}
    out["blocks"] = {
        f"{C},{r},{ic},{nc}": [b.key for b in NB201.block_set(spaces.Task("t", nc, r, ic), None, C=C)]
        for C in (4, 16)
        for r in (8, 32)
        for ic in (1, 3)
        for nc in (10, 120)
    }
    lut = L.LatencyLUT(protocol, 4, 2, 8)
    rng = np.random.default_rng(0)
    for batch in (2, 4):
        for b in NB201.block_set("cifar10", 8, C=4):
            row = {"key": b.key, "kind": b.kind, "op": b.op, "batch": batch}
            lut.rows.append({**row, "latency_ms": float(rng.uniform(0.01, 3.0))})
    cells = [NB201.ops_of(NB201.from_index(i)) for i in range(0, 15625, 311)]
    measured = [float(1.3 * lut.raw(c, 2) + 0.7 + 0.05 * rng.standard_normal()) for c in cells]
    out["raw"] = [lut.raw(c, 2).hex() for c in cells] + [lut.raw(c, 4).hex() for c in cells]
    out["op_times"] = {
        cal: [[t.hex() for t in lut.op_times(c, 2, cal)] for c in cells] for cal in ("kind", "kind_node")
    }
    out["fit_kind"] = [x.hex() for x in lut.fit(cells, measured, 2, "kind")]
    out["fit_node"] = [x.hex() for x in lut.fit(cells, measured, 4, "kind_node")]
    out["predict"] = [lut.predict(c, b).hex() for c in cells for b in (2, 4)]
    chosen, scores = L.choose_calibration(lut, cells, measured, 2)
    out["choose"] = [chosen, {k: v.hex() for k, v in scores.items()}]
    out["calibrations"] = {k: list(v) for k, v in L.CALIBRATIONS.items()}
    return out


def test_lut_numbers_are_bit_identical_to_before_the_move() -> None:
    expected = json.loads(REFERENCE.read_text())
    found = json.loads(json.dumps(_reference_numbers()))
    for key in expected:
        assert found[key] == expected[key], key


def test_architectures_and_edge_ops_give_the_same_numbers() -> None:
    lut = L.LatencyLUT(MeasurementProtocol(task="cifar10", resolution=8), 4, 1, 8)
    for i, b in enumerate(NB201.block_set("cifar10", 8, C=4)):
        lut.rows.append({"key": b.key, "kind": b.kind, "batch": 1, "latency_ms": 0.1 + i / 7})
    arch = NB201.from_index(777)
    assert lut.raw(arch, 1) == lut.raw(NB201.ops_of(arch), 1)
    assert lut.op_times(arch, 1, "kind_node") == lut.op_times(NB201.ops_of(arch), 1, "kind_node")


def test_the_lut_module_names_no_nb201_detail() -> None:
    source = Path(L.__file__).read_text()
    code = source[source.index('"""', 3) :]  # the module docstring may describe NB201 as the example
    for detail in ("nor_conv", "skip_connect", "avg_pool", "EDGE_NODES", "spaces.nb201"):
        assert detail not in code, detail


def test_a_space_without_blocks_is_refused_by_name(monkeypatch) -> None:
    monkeypatch.setitem(spaces.SPACES._entries, "zz_toy_cell", ToyCellSpace)
    monkeypatch.setitem(spaces._instances, "zz_toy_cell", ToyCellSpace())
    lut = L.LatencyLUT(MeasurementProtocol(task="cifar10"), 4, 1, 8, space="zz_toy_cell")
    with pytest.raises(MissingCapability, match="a LUT latency model needs capability 'decomposable'"):
        lut.raw(("conv", "conv", "conv"), 1)
    with pytest.raises(MissingCapability, match="which space 'zz_toy_cell' does not declare"):
        L.profile_lut(MeasurementProtocol(task="cifar10"), space="zz_toy_cell")


def test_the_space_is_saved_and_old_files_read_as_nb201(tmp_path: Path) -> None:
    lut = L.LatencyLUT(MeasurementProtocol(task="cifar10", resolution=8), 4, 1, 8)
    lut.rows.append({"key": "k", "kind": "stem", "batch": 1, "latency_ms": 1.0})
    loaded = L.LatencyLUT.load(lut.save(tmp_path / "lut.parquet"))
    assert loaded.space == "nb201" and loaded.rows == lut.rows
    with pytest.raises(ValueError, match="one protocol and network shape, in one space"):
        L.merge_rounds([lut, L.LatencyLUT(lut.protocol, 4, 1, 8, space="other")])
