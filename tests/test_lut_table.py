"""A LUT's predictions as a table (hw_profiles.lut_table) and a release combined from several sources."""

from __future__ import annotations

import json

import numpy as np
import pytest

import spaces
from benchmarks.pipeline import profile_table
from benchmarks.pipeline.select import select_architectures
from benchmarks.storage.combine import combine_sources
from benchmarks.storage.release import release, resolve_source
from benchmarks.storage.store import TableError
from benchmarks.table import open_table
from hw_profiles.lut_table import measured_rounds, measurement_protocol, write_lut_table
from hw_profiles.protocol import MeasurementProtocol

NB201 = spaces.get("nb201")
PROTOCOL = MeasurementProtocol(
    task="cifar10",
    batch_sizes=(1, 2),
    resolution=8,
    build={"C": 4, "N": 1},
    warmup=1,
    repeats=3,
    min_run_time=0.002,
    metrics=("latency",),
    rounds=2,
)


@pytest.fixture(scope="module")
def profiled(tmp_path_factory):
    """A small measured profile (16 sampled cells, 2 rounds, batch 1 and 2) and its LUT table."""
    root = tmp_path_factory.mktemp("lut")
    archs = select_architectures(NB201, sample=16, seed=4).archs
    profile_table("nb201", archs, PROTOCOL, root / "eager", progress=False)
    folder, reports = write_lut_table(
        root / "eager" / "table", root / "lut", n_fit=10, seed=0, calibration="kind"
    )
    return root, archs, folder, reports


def test_the_lut_table_predicts_every_cell_and_says_how_good_it_is(profiled):
    """Every cell of the space gets lut_latency_b<B> marked predicted; the protocol records the held-out check."""
    root, _, folder, reports = profiled
    table = open_table(folder)
    records = table.records
    assert set(records.metric) == {"lut_latency_b1", "lut_latency_b2"}
    assert set(records.provenance) == {"predicted"}
    assert len(records) == 2 * NB201.size and records.arch.nunique() == NB201.size
    assert np.isfinite(records.value).all()
    settings = next(iter(table.manifest["protocols"].values()))
    assert settings["kind"] == "lut" and settings["fit_architectures"] == 10
    assert settings["held_out_architectures"] == 6
    assert settings["measured_table"] == open_table(root / "eager" / "table").content_id
    for batch, report in reports.items():
        held = [c for c in report["cells"] if not c["fit"]]
        assert len(held) == 6 and report["corrected"]["n"] == 6
        # the table's values are the LUT's predictions, cell by cell
        for cell in report["cells"]:
            assert table.value(arch=cell["arch"], metric=f"lut_latency_b{batch}") == pytest.approx(
                cell["predicted_ms"], rel=1e-12
            )
        # the held-out figures are recomputed from the cells: share within +-10 % of measured
        within = np.mean([abs(c["predicted_ms"] - c["measured_ms"]) <= 0.1 * c["measured_ms"] for c in held])
        assert report["corrected"]["within"] == pytest.approx(within)
        assert settings["held_out"][str(batch)]["corrected"] == report["corrected"]
    assert (folder.parent / "lut.parquet").is_file()
    assert json.loads((folder.parent / "report.json").read_text()).keys() == {"1", "2"}


def test_measured_rounds_keeps_cells_with_every_round(profiled):
    """Each measured cell has one latency per round at every batch size, from the profile's own records."""
    root, archs, _, _ = profiled
    table = open_table(root / "eager" / "table")
    protocol = measurement_protocol(table)
    assert protocol == PROTOCOL
    rounds = measured_rounds(table, protocol)
    assert set(rounds) == {1, 2}
    assert set(rounds[1]) == {NB201.parse(a).string for a in archs}
    assert all(len(v) == 2 and min(v) > 0 for v in rounds[2].values())


def test_a_release_combines_a_profile_and_its_lut(profiled, tmp_path):
    """Measured and predicted latencies in one release: each keeps its protocol, provenance and device."""
    root, archs, folder, _ = profiled
    out = release([root / "eager" / "table", folder], "tiny-cpu", "0.1.0", tmp_path)
    table = open_table(out)
    assert set(table.records.provenance) == {"measured", "predicted"}
    assert len(table.manifest["protocols"]) == 2
    assert table.manifest["hw_devices"] and "allocator" in table.manifest["hw_devices"][0]
    card = (out / "README.md").read_text()
    assert "Hardware (the device descriptors" in card
    # one settings table per kind; the LUT's block latencies are summarised, not dumped into the card
    assert "### Protocols (lut)" in card and "### Protocols (measurement)" in card
    assert "entries: in manifest.json)" in card and max(len(line) for line in card.splitlines()) < 4000
    arch = NB201.parse(archs[0]).string
    measured = table.value(arch=arch, metric="latency_b1")
    predicted = table.value(arch=arch, metric="lut_latency_b1")
    assert measured > 0 and predicted > 0
    sources = table.manifest["provenance"]["sources"]
    assert [s["name"] for s in sources] == [str(root / "eager" / "table"), str(folder)]


def test_combining_refuses_what_would_be_ambiguous(profiled, tmp_path):
    """The same records twice, two spaces, or one protocol hash with two meanings: one clear error each."""
    root, _, folder, _ = profiled
    eager = resolve_source(root / "eager" / "table")
    with pytest.raises(TableError, match="same record twice"):
        combine_sources([eager, eager])
    other = type(eager)(
        eager.records, eager.archs, {**eager.meta, "space": {"name": "nb101", "version": "1"}}, {}
    )
    with pytest.raises(TableError, match="'space'"):
        combine_sources([resolve_source(folder), other])
    hash_key = next(k for k in eager.meta if k.startswith("protocol:"))
    changed = type(eager)(eager.records.slice(0, 0), eager.archs, {**eager.meta, hash_key: {"x": 1}}, {})
    with pytest.raises(TableError, match=hash_key):
        combine_sources([eager, changed])
    with pytest.raises(TableError, match="at least one"):
        combine_sources([])
    assert not list(tmp_path.iterdir())


def test_the_lut_table_refuses_too_few_cells_and_an_existing_folder(profiled, tmp_path):
    """Too few measured cells to hold any out, or an output folder that exists: one line, nothing written."""
    root, _, folder, _ = profiled
    with pytest.raises(ValueError, match="leaves too few"):
        write_lut_table(root / "eager" / "table", tmp_path / "x", n_fit=15)
    with pytest.raises(ValueError, match="already exists"):
        write_lut_table(root / "eager" / "table", folder.parent)
    assert not (tmp_path / "x").exists()


def test_reverify_recomputes_lut_predictions_and_leaves_measurements_out(profiled, tmp_path):
    """A LUT record is recomputed bit-identically from the settings its manifest holds; a measured latency
    is left out with its reason; a changed block latency in the manifest changes the recomputation."""
    from benchmarks.pipeline.reverify import comparable, pick_records, recompute
    from hw_profiles.lut_table import lut_from_settings, predict_record

    root, _, folder, _ = profiled
    table = open_table(release([root / "eager" / "table", folder], "tiny-cpu", "0.1.0", tmp_path))
    rows, why = comparable(table, pick_records(table, 3, seed=1))
    assert set(rows.metric) == {"lut_latency_b1", "lut_latency_b2"} and len(rows) == 6
    assert "hardware measurements" in why and "latency_b1" in why
    checks = recompute(table, rows)
    assert len(checks) == 6 and all(c.agrees and c.exact_expected for c in checks)
    settings = next(s for s in table.manifest["protocols"].values() if s["kind"] == "lut")
    arch = rows.arch.iloc[0]
    before = predict_record(settings, arch, "lut_latency_b1")
    lut = lut_from_settings(settings)
    used = {u.block.key for g in lut.blocks(NB201.parse(arch)) for u in g.uses}
    for block in settings["lut"]["blocks"]:
        if block["key"] in used and block["batch"] == 1:
            block["latency_ms"] *= 2
    assert predict_record(settings, arch, "lut_latency_b1") != before
    with pytest.raises(ValueError, match="not a LUT prediction"):
        predict_record(settings, arch, "latency_b1")


def test_lut_table_script_prints_held_out_figures_and_refuses_bad_input(profiled, tmp_path, capsys):
    """scripts/lut_table.py: the held-out figures per batch, then the table; a bad profile path exits 2."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "scripts" / "lut_table.py"
    spec = importlib.util.spec_from_file_location("lut_table_script", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    root, _, _, _ = profiled
    assert (
        script.main(
            [
                str(root / "eager" / "table"),
                "--fit",
                "10",
                "--calibration",
                "kind",
                "--out",
                str(tmp_path / "l"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "batch 1: kind; held-out 6: within +-10 %" in out and "halves ceiling" in out
    assert script.main([str(tmp_path / "missing"), "--out", str(tmp_path / "m")]) == 2
    assert "lut_table: error:" in capsys.readouterr().err and not (tmp_path / "m").exists()
