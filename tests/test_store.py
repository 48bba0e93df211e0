"""The on-disk store: atomic export to Parquet + manifest, and refusing corrupt or foreign table folders."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _bench_helpers import (
    PROTOCOL,
    PROXIES,
    RECIPE,
    TRAIN_METRICS,
    copy_tree,
    flip_byte,
    rehash,
    shared_build,
)

from benchmarks.journal import Journal
from benchmarks.schema import ARCH_SCHEMA, RECORD_SCHEMA, SCHEMA_VERSION
from benchmarks.store import FORMAT, TableError, export, read_manifest, read_verified
from benchmarks.table import open_table

FILES = ("records.parquet", "architectures.parquet")


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    return shared_build(tmp_path_factory)


@pytest.fixture
def table_copy(shared, tmp_path):
    return copy_tree(shared.table, tmp_path / "table")


def one_line_table_error(path, *fragments: str) -> str:
    with pytest.raises(TableError) as info:
        open_table(path)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


# ---- export ---------------------------------------------------------------------------------------------
def test_export_writes_files_with_row_counts_and_hashes(shared):
    table = shared.table
    assert sorted(p.name for p in table.iterdir()) == sorted([*FILES, "manifest.json"])
    manifest = json.loads((table / "manifest.json").read_text())
    with Journal(shared.journal) as j:
        expected_rows = {"records.parquet": j.count("records"), "architectures.parquet": j.count("archs")}
    for name in FILES:
        entry = manifest["files"][name]
        assert entry["sha256"] == hashlib.sha256((table / name).read_bytes()).hexdigest()
        assert entry["rows"] == expected_rows[name] == pq.read_metadata(table / name).num_rows
        assert entry["bytes"] == (table / name).stat().st_size
    assert pq.read_schema(table / "records.parquet").equals(RECORD_SCHEMA)
    assert pq.read_schema(table / "architectures.parquet").equals(ARCH_SCHEMA)


def test_manifest_has_protocols_recipes_metrics_environment_provenance(shared):
    manifest = read_manifest(shared.table)
    assert manifest["format"] == FORMAT
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["space"] == {"name": "nb201", "version": "1.0"}
    assert manifest["protocols"] == {PROTOCOL.hash: PROTOCOL.to_dict()}
    assert manifest["recipes"] == {RECIPE.hash: RECIPE.to_dict()}
    assert set(manifest["metrics"]) == set(PROXIES) | set(TRAIN_METRICS)
    assert manifest["metrics"]["params"]["kind"] == "cost"
    assert manifest["metrics"]["synflow"]["higher_is_better"] is True
    env = manifest["environment"]
    assert env["python"] and env["platform"] and env["archbench"]
    assert env["packages"]["torch"] and env["packages"]["pyarrow"]
    assert manifest["provenance"]["journal"] == str(shared.journal.resolve())
    assert "git_revision" in manifest["provenance"]
    assert len(manifest["devices"]) == 1 and manifest["devices"][0].startswith("cpu:")


def test_manifest_records_the_torch_thread_counts(shared):
    """Thread counts change float results (~1e-8), so DESIGN asks for them in the manifest."""
    manifest = read_manifest(shared.table)
    threads = manifest["environment"]["torch_threads"]
    assert threads and all(isinstance(t, int) and t >= 1 for t in threads)


def test_export_refuses_an_existing_folder_without_overwrite(shared, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(TableError, match="already exists"):
        export(shared.journal, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    export(shared.journal, out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == sorted([*FILES, "manifest.json"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary sibling left
    assert len(open_table(out).records) == len(open_table(shared.table).records)


def test_failed_export_leaves_nothing_behind(shared, tmp_path, monkeypatch):
    calls = []
    real = pq.write_table

    def failing_write_table(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(pq, "write_table", failing_write_table)
    parent = tmp_path / "releases"
    parent.mkdir()
    with pytest.raises(OSError, match="simulated"):
        export(shared.journal, parent / "table")
    assert len(calls) == 2
    assert list(parent.iterdir()) == []


def test_failed_overwrite_keeps_the_old_release(shared, tmp_path, monkeypatch):
    out = copy_tree(shared.table, tmp_path / "table")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def failing_write_table(*args, **kwargs):
        raise OSError("simulated")

    monkeypatch.setattr(pq, "write_table", failing_write_table)
    with pytest.raises(OSError):
        export(shared.journal, out, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["table"]


def test_export_refuses_a_missing_journal(tmp_path):
    missing = tmp_path / "typo" / "journal.sqlite"
    with pytest.raises((FileNotFoundError, TableError)):
        export(missing, tmp_path / "table")
    assert not missing.exists()
    assert not (tmp_path / "table").exists()


# ---- verification on open ---------------------------------------------------------------------------------
def test_read_verified_returns_tables_with_the_schemas(shared):
    manifest, tables = read_verified(shared.table)
    assert tables["records.parquet"].schema.equals(RECORD_SCHEMA)
    assert tables["architectures.parquet"].num_rows == manifest["files"]["architectures.parquet"]["rows"]


@pytest.mark.parametrize("name", FILES)
def test_flipped_byte_fails_the_hash_check(table_copy, name):
    flip_byte(table_copy / name)
    one_line_table_error(table_copy, name, "SHA-256", "does not match the manifest")


def test_truncated_parquet_with_matching_hash_is_not_readable(table_copy):
    path = table_copy / "records.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    rehash(table_copy, "records.parquet")
    one_line_table_error(table_copy, "records.parquet", "not a readable Parquet file")


def test_parquet_with_wrong_columns_is_refused(table_copy):
    path = table_copy / "records.parquet"
    frame = pq.read_table(path).drop_columns(["seconds"])
    frame = frame.append_column("extra", pa.array([1] * frame.num_rows))
    pq.write_table(frame, path)
    rehash(table_copy, "records.parquet")
    one_line_table_error(table_copy, "records.parquet", "do not match the archbench schema")


def test_parquet_with_a_wrong_column_type_is_refused(table_copy):
    path = table_copy / "architectures.parquet"
    table = pq.read_table(path)
    table = table.set_column(
        table.schema.get_field_index("index"), "index", table["index"].cast(pa.float64())
    )
    pq.write_table(table, path)
    rehash(table_copy, "architectures.parquet")
    one_line_table_error(table_copy, "architectures.parquet", "schema")


def test_row_count_mismatch_is_refused(table_copy):
    rows = json.loads((table_copy / "manifest.json").read_text())["files"]["records.parquet"]["rows"]
    rehash(table_copy, "records.parquet", rows=rows + 1)
    one_line_table_error(table_copy, "records.parquet", f"{rows} rows", f"manifest says {rows + 1}")


def test_missing_data_file_is_refused(table_copy):
    (table_copy / "architectures.parquet").unlink()
    one_line_table_error(table_copy, "architectures.parquet", "missing")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda m: m.update(schema_version=SCHEMA_VERSION + 1), "schema version"),
        (lambda m: m.pop("schema_version"), "schema version"),
        (lambda m: m.update(format="something-else"), "not an archbench-table manifest"),
        (lambda m: m["files"].pop("architectures.parquet"), "expected files"),
    ],
    ids=["future-version", "no-version", "wrong-format", "missing-file-entry"],
)
def test_bad_manifest_content_is_refused(table_copy, change, fragment):
    path = table_copy / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    one_line_table_error(table_copy, fragment)


def test_missing_manifest_is_refused(table_copy):
    (table_copy / "manifest.json").unlink()
    one_line_table_error(table_copy, "manifest.json is missing")


@pytest.mark.parametrize("content", [b'{"format": "archbench-table", ', b"\xff\xfe\x00garbage", b"[1, 2]"])
def test_invalid_manifest_json_is_refused(table_copy, content):
    (table_copy / "manifest.json").write_bytes(content)
    one_line_table_error(table_copy, "manifest.json")


def test_missing_folder_is_refused(tmp_path):
    one_line_table_error(tmp_path / "nope", "no such table folder")
    (tmp_path / "file").write_text("x")
    one_line_table_error(tmp_path / "file", "no such table folder")
