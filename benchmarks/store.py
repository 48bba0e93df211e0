"""Releases on disk: a journal exported to Parquet plus a hash-checked ``manifest.json``.

A table folder holds ``records.parquet``, ``architectures.parquet`` and ``manifest.json`` (schema
version, per-file SHA-256 and row counts, protocols and recipes, metric cards, environment and
provenance). Export writes into a temporary sibling folder and renames it into place, so a failed or
interrupted export leaves no partial table. Opening re-hashes every file and refuses a mismatch.
No pickle is ever read.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.journal import Journal
from benchmarks.schema import ARCH_SCHEMA, RECORD_SCHEMA, SCHEMA_VERSION, archbench_version, utc_now

FORMAT = "archbench-table"
FILES = {"records.parquet": RECORD_SCHEMA, "architectures.parquet": ARCH_SCHEMA}
_LOCKED_PACKAGES = ("torch", "numpy", "pandas", "pyarrow", "scipy", "datasets")


class TableError(ValueError):
    """A table folder is missing, corrupt, or fails its manifest check."""


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment() -> dict[str, Any]:
    """Python, platform and the versions of the packages that produce the numbers."""
    packages = {}
    for name in _LOCKED_PACKAGES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "archbench": archbench_version(),
        "packages": packages,
    }


def export(journal_path: str | Path, out_dir: str | Path, overwrite: bool = False) -> Path:
    """Export the journal to a table folder at ``out_dir`` (atomic: all files or none)."""
    out_dir = Path(out_dir)
    if not Path(journal_path).is_file():
        raise TableError(f"{journal_path}: no such journal")
    if out_dir.exists() and not overwrite:
        raise TableError(f"{out_dir} already exists (pass overwrite=True / --overwrite to replace it)")
    with Journal(journal_path) as journal:
        records = pa.Table.from_pylist(journal.rows("records"), schema=RECORD_SCHEMA)
        archs = pa.Table.from_pylist(journal.rows("archs"), schema=ARCH_SCHEMA)
        meta = journal.meta()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; a release is meant to be shared
        pq.write_table(records, tmp / "records.parquet", compression="zstd")
        pq.write_table(archs, tmp / "architectures.parquet", compression="zstd")
        manifest = {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "created_at": utc_now(),
            "space": meta.get("space"),
            "files": {
                name: {
                    "sha256": sha256_file(tmp / name),
                    "rows": table.num_rows,
                    "bytes": (tmp / name).stat().st_size,
                }
                for name, table in (("records.parquet", records), ("architectures.parquet", archs))
            },
            "protocols": {k.split(":", 1)[1]: v for k, v in meta.items() if k.startswith("protocol:")},
            "recipes": {k.split(":", 1)[1]: v for k, v in meta.items() if k.startswith("recipe:")},
            "metrics": {k.split(":", 1)[1]: v for k, v in meta.items() if k.startswith("metric:")},
            "devices": sorted(set(records.column("device").to_pylist())),
            "environment": {
                **environment(),
                "torch_threads": sorted({v for k, v in meta.items() if k.startswith("threads:")}, key=str),
            },
            "provenance": {"journal": str(Path(journal_path).resolve()), "git_revision": _git_revision()},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read and validate a table folder's manifest (format, schema version, listed files)."""
    path = Path(path)
    if not path.is_dir():
        raise TableError(f"{path}: no such table folder")
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except FileNotFoundError:
        raise TableError(f"{path}: manifest.json is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TableError(f"{path}/manifest.json: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise TableError(f"{path}/manifest.json: not an {FORMAT} manifest")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise TableError(
            f"{path}: schema version {manifest.get('schema_version')} is not supported (this archbench reads {SCHEMA_VERSION})"
        )
    if set(manifest.get("files", {})) != set(FILES):
        raise TableError(f"{path}/manifest.json: expected files {sorted(FILES)}")
    return manifest


def read_verified(path: str | Path) -> tuple[dict[str, Any], dict[str, pa.Table]]:
    """The manifest and the Parquet tables of a table folder, after checking hashes and schemas."""
    path = Path(path)
    manifest = read_manifest(path)
    tables = {}
    for name, schema in FILES.items():
        file = path / name
        if not file.exists():
            raise TableError(f"{file}: missing")
        expected = manifest["files"][name]["sha256"]
        actual = sha256_file(file)
        if actual != expected:
            raise TableError(
                f"{file}: SHA-256 {actual[:12]}... does not match the manifest's {expected[:12]}..."
            )
        try:
            table = pq.read_table(file)
        except (pa.ArrowInvalid, OSError) as exc:
            raise TableError(f"{file}: not a readable Parquet file ({exc})") from None
        if not table.schema.equals(schema):
            raise TableError(f"{file}: columns {table.schema.names} do not match the archbench schema")
        if table.num_rows != manifest["files"][name]["rows"]:
            raise TableError(
                f"{file}: {table.num_rows} rows, manifest says {manifest['files'][name]['rows']}"
            )
        tables[name] = table
    return manifest, tables
