"""Releases (partitioned Parquet + manifest + card), verified opening, and the indexed point queries."""

from __future__ import annotations

import io
import json
from importlib.metadata import version

import pandas as pd
import pyarrow.parquet as pq
import pytest
from _bench_helpers import (
    ALL_CONV,
    ARCHS,
    COST_PROXIES,
    DEAD_CONV,
    REP,
    SPACE,
    copy_tree,
    flip_byte,
    shared_build,
)

from benchmarks.cli import main
from benchmarks.importers import import_zero_cost_json
from benchmarks.journal import Journal
from benchmarks.release import SORT_KEYS, partition_name, release
from benchmarks.store import TableError, read_manifest, read_verified, sha256_file
from benchmarks.table import open_table


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    return shared_build(tmp_path_factory)


@pytest.fixture(scope="module")
def released(shared, tmp_path_factory):
    return release(shared.root, "tiny", "1.2.3", tmp_path_factory.mktemp("rel"), command=["archbench", "x"])


@pytest.fixture(scope="module")
def two_tasks(tmp_path_factory):
    """An imported table with two tasks and failed (null) values, released."""
    root = tmp_path_factory.mktemp("two")
    keys = {"(2, 2, 2, 2, 2, 2)": 1.0, "(4, 3, 1, 0, 2, 0)": 2.0, "(0, 0, 0, 0, 0, 0)": 3.0}
    data = {
        ds: {k: {"snip": {"score": v * s, "time": 0.1}, "val_accuracy": 10 * v} for k, v in keys.items()}
        for ds, s in (("cifar10", 1.0), ("cifar100", -1.0))
    }
    data["cifar100"]["(0, 0, 0, 0, 0, 0)"]["nwot"] = {"score": float("inf"), "time": 0.2}
    (root / "zc.json").write_text(json.dumps(data))
    imported = import_zero_cost_json(root / "zc.json", root / "imp")
    return release(imported, "two", "0.1.0", root / "rel")


def frame(table) -> pd.DataFrame:
    return table.records.sort_values([*SORT_KEYS, "task"]).reset_index(drop=True)


def test_release_layout_manifest_and_card(released, shared):
    assert released.name == "tiny-1.2.3"
    names = sorted(p.relative_to(released).as_posix() for p in released.rglob("*") if p.is_file())
    assert names == ["README.md", "architectures.parquet", "manifest.json", "records/mnist5k.parquet"]
    m = read_manifest(released)
    assert (m["layout"], m["name"], m["version"], m["licence"]) == ("release", "tiny", "1.2.3", "CC-BY-4.0")
    for name, entry in m["files"].items():
        assert (
            entry["sha256"] == sha256_file(released / name)
            and entry["bytes"] == (released / name).stat().st_size
        )
    assert (
        m["files"]["records/mnist5k.parquet"]["rows"]
        == pq.read_metadata(released / "records/mnist5k.parquet").num_rows
    )
    assert m["files"]["records/mnist5k.parquet"]["task"] == "mnist5k"
    assert {m["files"][n]["role"] for n in m["files"]} == {"records", "architectures", "card"}
    lock = m["environment"]["lock"]
    assert lock["pyarrow"] == version("pyarrow") and lock["pandas"] == version("pandas")
    assert {"pandas", "numpy", "torch", "archbench"} <= set(lock)
    prov = m["provenance"]
    assert prov["journal_sha256"] == sha256_file(shared.journal)
    assert prov["command"] == ["archbench", "x"] and prov["created_at"] == m["created_at"]
    (session,) = prov["build"]["sessions"]  # what the build cost, from the journal's session record
    with Journal(shared.journal) as journal:
        assert session["outcome"] == "finished" and session["ran"] == len(journal.done())
    assert prov["build"]["wall_s"] == session["wall_s"] >= 0 and prov["build"]["unrecorded_units"] == 0
    assert "runner" not in session  # no host names or cluster addresses in a published release
    assert m["summary"]["records"] == len(open_table(shared.table).records)
    card = (released / "README.md").read_text()
    assert card.startswith("---\nlicense: cc-by-4.0")
    for text in (
        "# tiny 1.2.3",
        "| `synflow` | functional | score | higher | mean |",
        "records/mnist5k.parquet",
        "@misc{",
        "of wall time over 1 session(s), ",
    ):
        assert text in card, text


def test_release_holds_the_same_records_as_the_flat_export(released, shared):
    flat, rel = open_table(shared.table), open_table(released)
    pd.testing.assert_frame_equal(frame(flat), frame(rel))
    pd.testing.assert_frame_equal(flat.archs.sort_values("arch").reset_index(drop=True), rel.archs)
    part = pq.read_table(released / "records/mnist5k.parquet").to_pandas()
    assert list(part["metric"]) == sorted(part["metric"])  # sorted by metric first


def test_two_task_release_partitions_and_reads_back(two_tasks):
    m = read_manifest(two_tasks)
    records = sorted(n for n, e in m["files"].items() if e["role"] == "records")
    assert records == [partition_name("cifar10"), partition_name("cifar100")]
    table = open_table(two_tasks)
    assert table.filter(task="cifar100", metric="nwot")["status"].tolist() == ["inf"]
    assert table.value(arch=ALL_CONV, metric="snip", task="cifar100") == -1.0
    with pytest.raises(ValueError, match="several task values"):
        table.value(arch=ALL_CONV, metric="snip")
    _, tables = read_verified(two_tasks)
    assert tables["records.parquet"].num_rows == m["summary"]["records"] == 13
    assert partition_name("a/b c") == "records/a%2Fb%20c.parquet"


def test_release_is_immutable_and_validates_name_and_version(shared, released, tmp_path):
    before = {p: p.read_bytes() for p in released.rglob("*") if p.is_file()}
    with pytest.raises(TableError, match="immutable"):
        release(shared.root, "tiny", "1.2.3", released.parent)
    assert {p: p.read_bytes() for p in released.rglob("*") if p.is_file()} == before
    with pytest.raises(ValueError, match=r"not X\.Y\.Z"):
        release(shared.root, "tiny", "1.0", tmp_path)
    with pytest.raises(ValueError, match="release name"):
        release(shared.root, "Tiny Table", "1.0.0", tmp_path)
    with pytest.raises(TableError, match="no such journal"):
        release(tmp_path / "nothing", "tiny", "1.0.0", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_failed_release_leaves_nothing(shared, tmp_path, monkeypatch):
    real = pq.write_table
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(pq, "write_table", failing)
    with pytest.raises(OSError, match="simulated"):
        release(shared.journal, "tiny", "1.0.0", tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["records/mnist5k.parquet", "architectures.parquet", "README.md"])
def test_tampered_release_files_are_refused(released, tmp_path, name):
    copy = copy_tree(released, tmp_path / "r")
    flip_byte(copy / name)
    with pytest.raises(TableError, match="does not match the manifest") as info:
        open_table(copy)
    assert name in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda m: m["files"].update({"../x.parquet": {"sha256": "0", "role": "records"}}),
            "plain relative path",
        ),
        (
            lambda m: m["files"].update({"/etc/passwd": {"sha256": "0", "role": "card"}}),
            "plain relative path",
        ),
        (lambda m: m["files"]["README.md"].update(role="pickle"), "needs a role in"),
        (lambda m: m["files"].pop("architectures.parquet"), "exactly one 'architectures'"),
        (lambda m: m.update(layout="zip"), "unknown layout"),
        (lambda m: m["files"]["records/mnist5k.parquet"].update(rows=1), "do not match the summary"),
    ],
)
def test_bad_release_manifests_are_refused(released, tmp_path, change, message):
    copy = copy_tree(released, tmp_path / "r")
    manifest = json.loads((copy / "manifest.json").read_text())
    change(manifest)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TableError, match=message):
        open_table(copy)


# ---- point queries against independent routes ----------------------------------------------------------------
def mask_lookup(table, arch=None, arch_id=None) -> pd.DataFrame:
    """The pre-index lookup: boolean masks over every record."""
    rows = (
        table.archs[table.archs["arch"] == arch] if arch else table.archs[table.archs["arch_id"] == arch_id]
    )
    cost = table.records["metric"].isin(table._cost_metrics())
    ids, strings = set(rows["arch_id"]), set(rows["arch"])
    mask = (~cost & table.records["arch_id"].isin(ids)) | (cost & table.records["arch"].isin(strings))
    return table.records[mask]


@pytest.mark.parametrize("which", ["flat", "release"])
def test_indexed_lookup_equals_the_mask_scan(shared, released, which):
    table = open_table(shared.table if which == "flat" else released)
    for text in ARCHS:
        pd.testing.assert_frame_equal(table.lookup(arch=text), mask_lookup(table, arch=text))
        arch_id = SPACE.parse(text).arch_id
        pd.testing.assert_frame_equal(table.lookup(arch_id=arch_id), mask_lookup(table, arch_id=arch_id))


def test_value_equals_the_wide_view_for_every_arch_and_metric(released):
    table = open_table(released)
    wide = table.wide()
    for text in ARCHS:
        entry = table.locate(arch=text)
        assert entry.arch == text and entry.index == SPACE.index(SPACE.parse(text))
        for metric in wide.columns:
            by_id = table.value(arch_id=entry.arch_id, metric=metric)
            expected = wide.loc[entry.arch_id, metric]
            assert by_id == pytest.approx(expected, nan_ok=True), (text, metric)
            mine = table.value(arch=text, metric=metric)
            if metric not in COST_PROXIES or table.locate(arch_id=entry.arch_id).arch == text:
                assert mine == pytest.approx(expected, nan_ok=True)
    # A non-representative: its own cost metrics, its class's functional ones.
    own = table.lookup(arch=DEAD_CONV, metric="params")["value"].item()
    assert table.value(arch=DEAD_CONV, metric="params") == own != table.value(arch=REP, metric="params")
    assert table.value(index=SPACE.index(SPACE.parse(DEAD_CONV)), metric="synflow") == table.value(
        arch=REP, metric="synflow"
    )
    assert (
        table.value(arch=ALL_CONV, metric="val_acc", seed=1)
        == table.filter(arch=ALL_CONV, metric="val_acc", seed=1)["value"].item()
    )


def test_point_query_errors(released):
    table = open_table(released)
    with pytest.raises(KeyError, match="metric 'nope'"):
        table.value(arch=ALL_CONV, metric="nope")
    with pytest.raises(KeyError, match="index 0"):
        table.locate(index=0)
    with pytest.raises(ValueError, match="exactly one"):
        table.locate()
    with pytest.raises(KeyError, match="no 'val_acc' records match"):
        table.value(arch=ALL_CONV, metric="val_acc", seed=99)


def test_cli_release_and_bad_input(shared, tmp_path, capsys):
    out = tmp_path / "rel"
    assert main(["release", str(shared.root), "--name", "cli", "--version", "2.0.0", "--out", str(out)]) == 0
    assert read_manifest(out / "cli-2.0.0")["provenance"]["command"][:2] == ["archbench", "release"]
    assert capsys.readouterr().out.strip() == f"release: {out / 'cli-2.0.0'}"
    assert (
        main(["query", str(out / "cli-2.0.0"), "--index", "1462", "--metric", "params", "--format", "csv"])
        == 0
    )
    shown = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert shown["metric"].tolist() == ["params"] and shown["arch"].tolist() == [ALL_CONV]
    missing = str(tmp_path / "no-notes.md")
    for argv, fragment in [
        (
            ["release", str(shared.root), "--name", "cli", "--version", "2.0.0", "--out", str(out)],
            "immutable",
        ),
        (["release", str(shared.root), "--name", "cli", "--version", "v2", "--out", str(out)], "not X.Y.Z"),
        (
            ["release", str(tmp_path / "no"), "--name", "cli", "--version", "2.0.1", "--out", str(out)],
            "no such",
        ),
        (
            [
                "release",
                str(shared.root),
                "--name",
                "cli",
                "--version",
                "2.0.2",
                "--out",
                str(out),
                "--notes",
                missing,
            ],
            "--notes",
        ),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and fragment in err[0], err


def test_release_notes_reach_the_card_and_the_content_id(shared, tmp_path):
    """``--notes`` Markdown becomes the card's Notes section and is kept in the manifest (so the content id
    pins it); a bound such as ``x <= 3`` is text, not a tag."""
    notes = tmp_path / "notes.md"
    notes.write_text("Left out: `linear_regions` (saturated, x <= 3).\n\n- one\n- two\n")
    out = tmp_path / "rel"
    argv = ["release", str(shared.root), "--name", "noted", "--version", "1.0.0", "--out", str(out)]
    assert main([*argv, "--notes", str(notes)]) == 0
    folder = out / "noted-1.0.0"
    manifest = read_manifest(folder)
    assert manifest["notes"] == notes.read_text().strip()
    assert manifest["provenance"]["command"][-2:] == ["--notes", str(notes)]
    card = (folder / "README.md").read_text()
    notes_at, files_at = card.index("## Notes\n"), card.index("## Files\n")
    assert notes_at < files_at and notes.read_text().strip() in card[notes_at:files_at]
    plain = release(shared.root, "noted", "1.0.0", tmp_path / "plain")
    assert "## Notes" not in (plain / "README.md").read_text() and "notes" not in read_manifest(plain)
    assert open_table(folder).manifest["notes"] == manifest["notes"]  # opens hash-checked
