"""Hugging Face ``datasets`` and CSV exports of a table, and loading the HF export back.

``to_hf_dataset(table)`` gives a ``datasets.DatasetDict`` with the splits ``records`` and
``architectures`` (the archbench schemas, nulls kept). ``save_hf(table, out)`` writes it with
``save_to_disk`` plus an archbench ``manifest.json`` (layout ``hf``) listing the SHA-256 of every file
``save_to_disk`` wrote, so :func:`benchmarks.storage.table.open_table` verifies and opens the folder like any
other table and the frames come back equal (values, nulls, dtypes). ``export_csv`` writes plain CSV
for people and spreadsheets; it is not meant to be opened again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from benchmarks.storage.schema import (
    ARCH_SCHEMA,
    RECORD_SCHEMA,
    SCHEMA_VERSION,
    record_schema,
    upgrade_records,
)
from benchmarks.storage.store import (
    FORMAT,
    LayoutReader,
    TableError,
    atomic_folder,
    records_frame,
    sha256_file,
    verify_files,
    write_manifest,
)
from benchmarks.storage.table import Table

if TYPE_CHECKING:
    import datasets
    import pandas as pd

SPLITS = {"records": RECORD_SCHEMA, "architectures": ARCH_SCHEMA}
_TABLE_KEYS = ("space", "protocols", "recipes", "metrics", "devices", "environment", "provenance")


def arrow_tables(table: Table) -> dict[str, pa.Table]:
    """The table's records and architectures as Arrow tables with exactly the archbench schemas."""
    return {
        "records": pa.Table.from_pandas(table.records, preserve_index=False).cast(RECORD_SCHEMA),
        "architectures": pa.Table.from_pandas(table.archs, preserve_index=False).cast(ARCH_SCHEMA),
    }


def to_hf_dataset(table: Table) -> datasets.DatasetDict:
    """A ``DatasetDict`` with splits ``records`` and ``architectures`` (Lhoest et al., EMNLP 2021 demos)."""
    import datasets
    from datasets.table import InMemoryTable

    manifest = table.manifest
    name = manifest.get("name") or table.path.name
    info = datasets.DatasetInfo(
        description=f"archbench table {name} {manifest.get('version', '')}".strip(),
        license=manifest.get("licence", ""),
        homepage="",
    )
    return datasets.DatasetDict(
        {
            split: datasets.Dataset(InMemoryTable(arrow), info=info.copy(), split=split)
            for split, arrow in arrow_tables(table).items()
        }
    )


def from_hf_dataset(
    dataset: datasets.DatasetDict, manifest: dict[str, Any] | None = None, path: str | Path = "<hf>"
) -> Table:
    """A :class:`~benchmarks.storage.table.Table` over a ``DatasetDict`` made by :func:`to_hf_dataset`."""
    version = (manifest or {}).get("schema_version", SCHEMA_VERSION)
    records, archs = _frames(_checked_arrow(dataset, path, version))
    return Table.from_frames(path, manifest or {"metrics": {}}, records, archs)


def _checked_arrow(
    dataset: datasets.DatasetDict, path: str | Path, version: int = SCHEMA_VERSION
) -> dict[str, pa.Table]:
    """The dataset's splits as Arrow tables in the archbench schemas (TableError if they do not fit).

    ``version`` is the table schema version the export was written with; older records are upgraded.
    """
    missing = sorted(set(SPLITS) - set(dataset))
    if missing:
        raise TableError(f"{path}: dataset has no split(s) {missing} (found {sorted(dataset)})")
    arrow = {}
    for split, schema in {**SPLITS, "records": record_schema(version)}.items():
        found = dataset[split].data.table
        if found.schema.names != schema.names:
            raise TableError(
                f"{path}: split {split!r} has columns {found.schema.names}, not the archbench schema"
            )
        try:
            arrow[split] = found.cast(schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise TableError(f"{path}: split {split!r} does not fit the archbench schema ({exc})") from None
    arrow["records"] = upgrade_records(arrow["records"])
    return arrow


def _frames(arrow: dict[str, pa.Table]) -> tuple[pd.DataFrame, pd.DataFrame]:
    records = records_frame(lambda name: arrow["records"].column(name))
    return records, arrow["architectures"].to_pandas()


def save_hf(table: Table, out: str | Path) -> Path:
    """``save_to_disk`` the table's ``DatasetDict`` into a new folder ``out`` with a hash manifest (atomic)."""
    out = Path(out)
    dataset = to_hf_dataset(table)
    with atomic_folder(out) as tmp:
        dataset.save_to_disk(str(tmp))
        files = {
            str(f.relative_to(tmp).as_posix()): {
                "sha256": sha256_file(f),
                "bytes": f.stat().st_size,
                "role": "hf",
            }
            for f in sorted(tmp.rglob("*"))
            if f.is_file()
        }
        manifest = {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "created_at": table.manifest.get("created_at"),
            **{k: table.manifest[k] for k in _TABLE_KEYS if k in table.manifest},
            **{k: table.manifest[k] for k in ("name", "version", "licence") if k in table.manifest},
            "layout": "hf",
            "exported_from": {"path": str(table.path), "layout": table.manifest.get("layout", "table")},
            "rows": {"records": len(table.records), "architectures": len(table.archs)},
            "files": files,
        }
        write_manifest(tmp, manifest)
    return out


def _load(path: Path, manifest: dict[str, Any]) -> dict[str, pa.Table]:
    import datasets

    verify_files(path, manifest)
    try:
        dataset = datasets.load_from_disk(str(path))
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        raise TableError(f"{path}: not a readable Hugging Face dataset folder ({exc})") from None
    arrow = _checked_arrow(dataset, path, manifest.get("schema_version", SCHEMA_VERSION))
    for split, table in arrow.items():
        expected = manifest.get("rows", {}).get(split)
        if expected != table.num_rows:
            raise TableError(f"{path}: split {split!r} has {table.num_rows} rows, manifest says {expected}")
    return arrow


def read_hf_arrow(path: Path, manifest: dict[str, Any]) -> dict[str, pa.Table]:
    """The verified Arrow tables of an HF export folder, under the logical names of ``read_verified``."""
    arrow = _load(path, manifest)
    return {"records.parquet": arrow["records"], "architectures.parquet": arrow["architectures"]}


def read_hf_frames(path: Path, manifest: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Records and architectures frames of a verified HF export folder (hashes and row counts checked)."""
    return _frames(_load(path, manifest))


HF_LAYOUT = LayoutReader(read_hf_arrow, read_hf_frames)
"""How :mod:`benchmarks.storage.store` reads the ``hf`` layout (registered there by name)."""


def export_csv(table: Table, out: str | Path) -> Path:
    """``records.csv``, ``architectures.csv`` and ``source_manifest.json`` in a new folder ``out`` (atomic)."""
    out = Path(out)
    with atomic_folder(out) as tmp:
        table.records.to_csv(tmp / "records.csv", index=False)
        table.archs.to_csv(tmp / "architectures.csv", index=False)
        (tmp / "source_manifest.json").write_text(json.dumps(table.manifest, indent=2, sort_keys=True) + "\n")
    return out
