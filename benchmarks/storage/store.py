"""Tables on disk: a journal exported to Parquet plus a hash-checked ``manifest.json``.

Two layouts share one manifest format and one reader:

* **table** (``archbench build`` / :func:`export`): ``records.parquet``, ``architectures.parquet`` and
  ``manifest.json`` in one folder.
* **release** (``archbench release``, :mod:`benchmarks.storage.release`): records partitioned by task under
  ``records/``, ``architectures.parquet``, a generated dataset card ``README.md`` and ``manifest.json``
  with ``"layout": "release"``, a name and a version.

Every manifest lists each file's SHA-256, byte size, row count and role, plus the protocols and
recipes, metric cards, an environment lock and provenance. Writers build the folder in a temporary
sibling and rename it into place, so a failed write leaves nothing behind. Readers re-hash every file
and refuse a mismatch with one line. No pickle is ever read.

Reading is built for size: string columns are stored dictionary-encoded (one dictionary page per
column chunk, so each architecture string is stored once per file, not once per row) and are read as
pandas categoricals, column by column, which keeps a 780k-record NB201-sized table to tens of MB.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distributions, version
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchmarks.storage.journal import Journal
from benchmarks.storage.schema import (
    ARCH_SCHEMA,
    LEGACY_PROVENANCE,
    READABLE_SCHEMA_VERSIONS,
    RECORD_SCHEMA,
    SCHEMA_VERSION,
    archbench_version,
    record_schema,
    upgrade_records,
    utc_now,
)
from spaces.atomic import atomic_folder as _atomic_folder
from spaces.atomic import remove_leftovers as remove_leftovers  # re-exported: its old home
from spaces.jsonio import JSONInputError, load_bounded
from spaces.registry import Registry
from spaces.specs import sha256_of

if TYPE_CHECKING:
    import pandas as pd

FORMAT = "archbench-table"
FILES = {"records.parquet": RECORD_SCHEMA, "architectures.parquet": ARCH_SCHEMA}
"""Files of the flat ``table`` layout."""
LAYOUTS = ("table", "release", "hf")
ROLES = {"records": RECORD_SCHEMA, "architectures": ARCH_SCHEMA, "card": None, "hf": None}
"""What each listed file is; ``card`` and ``hf`` (Hugging Face ``save_to_disk``) files are hashed, not read as Parquet."""
_LOCKED_PACKAGES = ("torch", "numpy", "pandas", "pyarrow", "scipy", "datasets")
# Parquet falls back from dictionary to plain encoding when a column chunk's dictionary passes this
# size (1 MiB by default); 15,625 NB201 strings need ~1.5 MB, so allow 64 MiB.
_DICTIONARY_PAGE_LIMIT = 1 << 26


class TableError(ValueError):
    """A table folder is missing, corrupt, or fails its manifest check."""


@dataclass(frozen=True)
class LayoutReader:
    """How to read a layout this module does not write itself: its verified Arrow tables and frames."""

    arrow: Callable[[Path, dict[str, Any]], dict[str, pa.Table]]
    frames: Callable[[Path, dict[str, Any]], tuple[pd.DataFrame, pd.DataFrame]]


LAYOUT_READERS: Registry[LayoutReader] = Registry("table layout reader")
"""Readers of further layouts by name, imported on first use (so this module imports none of them)."""
LAYOUT_READERS.register("hf", "benchmarks.storage.hf:HF_LAYOUT")


@dataclass(frozen=True)
class Source:
    """What a table is made of before it is written: records, architectures and the journal's metadata."""

    records: pa.Table
    archs: pa.Table
    meta: dict[str, Any]
    provenance: dict[str, Any]


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_revision() -> str | None:
    """The archbench checkout's git revision, or None outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


_ISA_FLAGS = (
    "fma",
    "avx",
    "avx2",
    "avx512f",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
)
"""CPU flags that change which float kernels PyTorch and oneDNN dispatch to."""


def cpu_model() -> str:
    """The CPU's model name and the vector ISA flags that select kernels, e.g. ``Intel(R) Xeon(R) ... [avx2 fma]``.

    Recorded because float results are bit-identical only on the same kernels and thread count; cloud
    CPUs often share one generic model name across generations, so the flags are part of it.
    """
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    isa = [f for f in _ISA_FLAGS if f in flags]
    return f"{model} [{' '.join(isa)}]" if isa else model


def environment(lock: bool = False) -> dict[str, Any]:
    """Python, platform and the versions of the packages that produce the numbers.

    With ``lock=True`` it also lists every installed distribution (name -> version), the environment
    lock a release keeps so that a number can be traced to the exact library set that made it.
    """
    packages = {}
    for name in _LOCKED_PACKAGES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "archbench": archbench_version(),
        "packages": packages,
    }
    if lock:
        found = {}
        for dist in distributions():
            name = dist.metadata["Name"]
            if name:
                found[name.lower().replace("_", "-")] = dist.version
        env["lock"] = dict(sorted(found.items()))
    return env


# ---- sources ------------------------------------------------------------------------------------------
def from_journal(journal_path: str | Path) -> Source:
    """Records, architectures and metadata of the journal at ``journal_path``."""
    journal_path = Path(journal_path)
    if not journal_path.is_file():
        raise TableError(f"{journal_path}: no such journal")
    with Journal(journal_path) as journal:
        records = pa.Table.from_pylist(journal.rows("records"), schema=RECORD_SCHEMA)
        archs = pa.Table.from_pylist(journal.rows("archs"), schema=ARCH_SCHEMA)
        meta = journal.meta()
    from benchmarks.storage.status import journal_status

    status = journal_status(journal_path)
    # Hashed after closing: the last connection checkpoints the WAL into the main file.
    provenance = {
        "journal": str(journal_path.resolve()),
        "journal_sha256": sha256_file(journal_path),
        # Sessions without their runner line: a release should not publish host names and Ray addresses.
        "build": {
            "wall_s": status["wall_s"],
            "sessions": [{k: v for k, v in s.items() if k != "runner"} for s in status["sessions"]],
            "unrecorded_units": status["unrecorded_units"],
            "unrecorded_span_s": status["unrecorded_span_s"],
        },
    }
    return Source(records, archs, meta, provenance)


def from_table(path: str | Path) -> Source:
    """Records, architectures and metadata of a verified table folder (either layout)."""
    manifest, tables = read_verified(path)
    meta: dict[str, Any] = {"space": manifest.get("space")}
    for section in ("protocols", "recipes", "metrics"):
        for key, value in manifest.get(section, {}).items():
            meta[f"{section[:-1]}:{key}"] = value
    for threads in manifest.get("environment", {}).get("torch_threads", []):
        meta[f"threads:{threads}"] = threads
    for descriptor in manifest.get("hw_devices", []):
        meta[f"hw_device:{sha256_of(descriptor)[:16]}"] = descriptor
    provenance = {
        "table": str(Path(path).resolve()),
        "table_manifest_sha256": sha256_file(Path(path) / "manifest.json"),
        "table_provenance": manifest.get("provenance"),
    }
    return Source(tables["records.parquet"], tables["architectures.parquet"], meta, provenance)


def manifest_body(source: Source) -> dict[str, Any]:
    """The manifest sections every layout shares (everything except ``files`` and the layout's own keys)."""
    meta = source.meta
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "created_at": utc_now(),
        "space": meta.get("space"),
        "protocols": {k.split(":", 1)[1]: v for k, v in meta.items() if k.startswith("protocol:")},
        "recipes": {k.split(":", 1)[1]: v for k, v in meta.items() if k.startswith("recipe:")},
        "metrics": {k.split(":", 1)[1]: v for k, v in meta.items() if k.startswith("metric:")},
        "devices": sorted({d for d in source.records.column("device").to_pylist() if d is not None}),
        "environment": {
            **environment(),
            "torch_threads": sorted({v for k, v in meta.items() if k.startswith("threads:")}, key=str),
        },
        "provenance": {**source.provenance, "git_revision": git_revision()},
        **device_descriptors(meta),
    }


def recorded_build(provenance: dict[str, Any]) -> dict[str, Any] | None:
    """The build record (wall time, sessions) a source's or manifest's provenance holds: its own, or the
    table's it was read from (:func:`from_table`); None when none was recorded."""
    return provenance.get("build") or (provenance.get("table_provenance") or {}).get("build")


def device_descriptors(meta: dict[str, Any]) -> dict[str, Any]:
    """``{"hw_devices": [...]}``: the descriptor (versions, memory, allocator, governor) of every device
    that profiled units of the journal (its ``hw_device:<digest>`` entries); empty for no profiling."""
    found = [v for k, v in sorted(meta.items()) if k.startswith("hw_device:")]
    return {"hw_devices": found} if found else {}


# ---- writing ---------------------------------------------------------------------------------------------
def write_parquet(table: pa.Table, path: Path) -> dict[str, Any]:
    """Write ``table`` (zstd, dictionary-encoded strings) and return its manifest entry."""
    pq.write_table(table, path, compression="zstd", dictionary_pagesize_limit=_DICTIONARY_PAGE_LIMIT)
    return {"sha256": sha256_file(path), "rows": table.num_rows, "bytes": path.stat().st_size}


def atomic_folder(out_dir: Path, overwrite: bool = False) -> AbstractContextManager[Path]:
    """:func:`spaces.atomic.atomic_folder` (lock, leftover clean-up, rename-aside) raising :class:`TableError`."""
    return _atomic_folder(out_dir, overwrite, exists_error=TableError)


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json`` (sorted keys, indented) into ``folder``."""
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def export(
    journal_path: str | Path,
    out_dir: str | Path,
    overwrite: bool = False,
) -> Path:
    """Export the journal to a table folder at ``out_dir`` (atomic: all files or none)."""
    out_dir = Path(out_dir)
    if not Path(journal_path).is_file():
        raise TableError(f"{journal_path}: no such journal")
    if out_dir.exists() and not overwrite:
        raise TableError(f"{out_dir} already exists (pass overwrite=True / --overwrite to replace it)")
    with atomic_folder(out_dir, overwrite) as tmp:
        source = from_journal(journal_path)
        files = {
            "records.parquet": write_parquet(source.records, tmp / "records.parquet"),
            "architectures.parquet": write_parquet(source.archs, tmp / "architectures.parquet"),
        }
        write_manifest(tmp, {**manifest_body(source), "layout": "table", "files": files})
    return out_dir


# ---- reading -----------------------------------------------------------------------------------------------
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_MANIFEST_BYTES = 64 << 20
"""A manifest over this size is refused unread (a whole-space release's is a few hundred KB)."""


def _check_listed_files(path: Path, files: Any, layout: str) -> None:
    """Every entry a plain relative name with a SHA-256 (and a role outside the flat layout)."""
    if not isinstance(files, dict):
        raise TableError(f"{path}/manifest.json: 'files' must be an object")
    if layout == "table" and set(files) != set(FILES):
        raise TableError(f"{path}/manifest.json: expected files {sorted(FILES)}")
    roles = []
    for name, entry in files.items():
        pure = PurePosixPath(name)
        if (
            pure.is_absolute()
            or ".." in pure.parts
            or not name
            or name != str(pure)
            or name == "manifest.json"
        ):
            raise TableError(f"{path}/manifest.json: file name {name!r} is not a plain relative path")
        if not isinstance(entry, dict) or not _SHA256.match(str(entry.get("sha256", ""))):
            raise TableError(f"{path}/manifest.json: file {name!r} has no valid SHA-256 (64 hex digits)")
        if "rows" in entry and (isinstance(entry["rows"], bool) or not isinstance(entry["rows"], int)):
            raise TableError(f"{path}/manifest.json: file {name!r} has a row count that is not an integer")
        if layout != "table" and entry.get("role") not in ROLES:
            raise TableError(f"{path}/manifest.json: file {name!r} needs a role in {sorted(ROLES)}")
        roles.append(entry.get("role"))
    if layout == "release":
        for role in ("architectures", "card"):
            if roles.count(role) != 1:
                raise TableError(
                    f"{path}/manifest.json: a release lists exactly one {role!r} file, found {roles.count(role)}"
                )
    if layout == "hf" and (not roles or set(roles) != {"hf"}):
        raise TableError(f"{path}/manifest.json: expected files with the 'hf' role only")


def _check_release_records(path: Path, manifest: dict[str, Any]) -> None:
    """A release's records files are exactly the task partitions its summary counts, row for row."""
    summary = manifest.get("summary")
    tasks = summary.get("tasks") if isinstance(summary, dict) else None
    if not isinstance(tasks, dict):
        raise TableError(f"{path}/manifest.json: a release needs its summary of records per task")
    listed: dict[Any, Any] = {}
    for name, entry in manifest["files"].items():
        if entry.get("role") == "records":
            if entry.get("task") in listed or name != partition_name(str(entry.get("task"))):
                raise TableError(
                    f"{path}/manifest.json: records file {name!r} is not its task's one partition"
                )
            listed[entry["task"]] = entry.get("rows")
    if listed != tasks:
        raise TableError(
            f"{path}/manifest.json: the records files ({_counts(listed)}) do not match the summary's "
            f"records per task ({_counts(tasks)})"
        )


def _counts(rows: dict[Any, Any]) -> str:
    return ", ".join(f"{task}: {n}" for task, n in sorted(rows.items(), key=str)) or "none"


def partition_name(task: str) -> str:
    """File name of a task's partition in a release (the task, percent-encoded where not file-name safe)."""
    return f"records/{quote(task, safe='')}.parquet"


def check_no_unlisted_files(path: Path, manifest: dict[str, Any]) -> None:
    """Refuse any file in the folder that the manifest does not list, and any link.

    A reader that globs the folder (``pd.read_parquet("REL/records")``, the card's loading recipe)
    would read an unlisted file that archbench never checked: a table is exactly its manifest.
    """
    listed = set(manifest["files"]) | {"manifest.json"}
    for found in sorted(path.rglob("*")):
        name = found.relative_to(path).as_posix()
        if found.is_symlink():
            raise TableError(f"{path}: {name} is a link; a table holds plain files only")
        if found.is_file() and name not in listed:
            raise TableError(
                f"{path}: {name} is not listed in manifest.json (remove it, or rebuild the table)"
            )


def content_id(manifest: dict[str, Any]) -> str:
    """The table's content id: SHA-256 of its manifest's canonical JSON, without the dataset card's entry.

    The manifest pins every data file by SHA-256, so the id pins the whole table; the card shows the
    id, so it cannot be covered by it (the card is still checked against its manifest entry).
    """
    files = {k: v for k, v in manifest.get("files", {}).items() if v.get("role") != "card"}
    return "sha256:" + sha256_of({**manifest, "files": files})


def check_content_id(path: Path, manifest: dict[str, Any], expect: str) -> None:
    """Refuse a table whose content id is not ``expect`` (the full id, or 16+ hex digits of it)."""
    wanted = expect.removeprefix("sha256:").lower()
    if not re.fullmatch(r"[0-9a-f]{16,64}", wanted):
        raise TableError(f"expected content id {expect!r} is not sha256:<16 to 64 hex digits>")
    found = content_id(manifest)
    if not found.removeprefix("sha256:").startswith(wanted):
        raise TableError(f"{path}: content id {found} is not the expected {expect}: not the table you pinned")


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read and validate a table folder's manifest (format, schema version, layout, listed files).

    The folder must hold exactly the files the manifest lists (plus ``manifest.json``) and every role
    its layout needs; the JSON is read with bounds on size and depth.
    """
    path = Path(path)
    if not path.is_dir():
        raise TableError(f"{path}: no such table folder")
    if not (path / "manifest.json").is_file():
        raise TableError(f"{path}: manifest.json is missing")
    try:
        manifest = load_bounded(path / "manifest.json", MAX_MANIFEST_BYTES)
    except JSONInputError as exc:
        raise TableError(str(exc)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise TableError(f"{path}/manifest.json: not an {FORMAT} manifest")
    if manifest.get("schema_version") not in READABLE_SCHEMA_VERSIONS:
        readable = ", ".join(str(v) for v in READABLE_SCHEMA_VERSIONS)
        raise TableError(
            f"{path}: schema version {manifest.get('schema_version')} is not supported (this archbench reads {readable})"
        )
    layout = manifest.get("layout", "table")
    if layout not in LAYOUTS:
        raise TableError(f"{path}/manifest.json: unknown layout {layout!r} (known: {', '.join(LAYOUTS)})")
    _check_listed_files(path, manifest.get("files"), layout)
    if layout == "release":
        _check_release_records(path, manifest)
    check_no_unlisted_files(path, manifest)
    return manifest


def data_files(manifest: dict[str, Any]) -> list[tuple[str, str, pa.Schema | None]]:
    """``(file name, role, schema)`` of every file a manifest lists, records files in name order."""
    records = record_schema(manifest.get("schema_version", SCHEMA_VERSION))
    if manifest.get("layout", "table") == "table":
        return [
            ("records.parquet", "records", records),
            ("architectures.parquet", "architectures", ARCH_SCHEMA),
        ]
    files = manifest["files"]
    roles = {**ROLES, "records": records}
    return [(name, files[name]["role"], roles[files[name]["role"]]) for name in sorted(files)]


_Opened = list[tuple[Path, pq.ParquetFile]]


def _verified_parquet(path: Path, manifest: dict[str, Any]) -> dict[str, _Opened]:
    """Hash-check every listed file and open the Parquet ones, grouped by role (records, architectures)."""
    opened: dict[str, _Opened] = {"records": [], "architectures": []}
    for name, role, schema in data_files(manifest):
        file = path / name
        if not file.is_file():
            raise TableError(f"{file}: missing")
        entry = manifest["files"][name]
        expected, actual = entry["sha256"], sha256_file(file)
        if actual != expected:
            raise TableError(
                f"{file}: SHA-256 {actual[:12]}... does not match the manifest's {expected[:12]}..."
            )
        if schema is None:
            continue
        try:
            strings = [f.name for f in schema if f.type == pa.string()]
            parquet = pq.ParquetFile(file, read_dictionary=strings)
            found = pq.read_schema(file)
        except (pa.ArrowInvalid, OSError) as exc:
            raise TableError(f"{file}: not a readable Parquet file ({' '.join(str(exc).split())})") from None
        if not found.equals(schema):
            raise TableError(f"{file}: columns {found.names} do not match the archbench schema")
        if parquet.metadata.num_rows != entry.get("rows"):
            raise TableError(f"{file}: {parquet.metadata.num_rows} rows, manifest says {entry.get('rows')}")
        opened[role].append((file, parquet))
    return opened


def _read_column(files: _Opened, name: str, schema: pa.Schema) -> pa.ChunkedArray:
    if name == "provenance" and "provenance" not in files_schema(files):  # a schema-1 table
        rows = sum(parquet.metadata.num_rows for _, parquet in files)
        return pa.chunked_array([pa.array([LEGACY_PROVENANCE] * rows, type=pa.string())])
    chunks = []
    for file, parquet in files:
        try:
            chunks.extend(parquet.read(columns=[name], use_threads=False).column(0).chunks)
        except (pa.ArrowInvalid, OSError) as exc:
            raise TableError(f"{file}: not a readable Parquet file ({' '.join(str(exc).split())})") from None
    field = schema.field(name)
    if not chunks:
        return pa.chunked_array(
            [], type=pa.dictionary(pa.int32(), pa.string()) if field.type == pa.string() else field.type
        )
    return pa.chunked_array(chunks)


def files_schema(files: _Opened) -> list[str]:
    """Column names of the opened Parquet files (all of one schema, checked on opening; empty if none)."""
    return files[0][1].schema_arrow.names if files else list(RECORD_SCHEMA.names)


def _read_all(files: _Opened, schema: pa.Schema) -> pa.Table:
    tables = []
    for file, parquet in files:
        try:
            table = parquet.read(use_threads=False)
            if schema is RECORD_SCHEMA:  # records of an older schema version gain their new columns
                table = upgrade_records(table)
            tables.append(table.cast(schema))
        except (pa.ArrowInvalid, OSError) as exc:
            raise TableError(
                f"{file}: not a readable Parquet file ({' '.join(str(exc).split())})"
            ) from None  # dictionary-encoded strings back to plain strings
    return pa.concat_tables(tables) if tables else schema.empty_table()


def read_verified(path: str | Path) -> tuple[dict[str, Any], dict[str, pa.Table]]:
    """The manifest and the Arrow tables of a table folder (either layout), after checking hashes and schemas.

    The tables come under their logical names ``records.parquet`` and ``architectures.parquet``; a
    release's task partitions are concatenated in file-name order.
    """
    path = Path(path)
    manifest = read_manifest(path)
    if manifest.get("layout") in LAYOUT_READERS:
        return manifest, LAYOUT_READERS.get(manifest["layout"]).arrow(path, manifest)
    opened = _verified_parquet(path, manifest)
    return manifest, {
        "records.parquet": _read_all(opened["records"], RECORD_SCHEMA),
        "architectures.parquet": _read_all(opened["architectures"], ARCH_SCHEMA),
    }


def verify_files(path: Path, manifest: dict[str, Any]) -> dict[str, _Opened]:
    """Check every file the manifest lists (SHA-256, and schema and rows for Parquet); the opened Parquet files."""
    return _verified_parquet(path, manifest)


def _categorical(chunked: pa.ChunkedArray) -> pd.Series:
    """A dictionary-encoded column as a pandas categorical whose categories are sorted (codes remapped in numpy)."""
    import numpy as np
    import pandas as pd

    chunks = pa.table({"c": chunked}).unify_dictionaries().column(0).chunks
    if not chunks:
        return pd.Series(pd.Categorical([], categories=pd.Index([], dtype="str")))
    words = chunks[0].dictionary.to_numpy(zero_copy_only=False).astype(object)
    order = np.argsort(words, kind="stable")
    rank = np.empty(len(words) + 1, dtype=np.int64)
    rank[order] = np.arange(len(words))
    rank[-1] = -1  # null -> code -1
    width = np.int8 if len(words) < 127 else np.int16 if len(words) < 32767 else np.int32
    parts = [(c.indices.fill_null(-1) if c.null_count else c.indices).to_numpy() for c in chunks]
    indices = parts[0] if len(parts) == 1 else np.concatenate(parts)
    if (order == np.arange(len(words))).all():  # already sorted (e.g. one distinct value): keep the codes
        codes = indices.astype(width, copy=False)
    else:
        codes = rank[indices].astype(width)
    dtype = pd.CategoricalDtype(pd.Index(words[order], dtype="str"))
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype, validate=False))


def records_frame(column: Callable[[str], pa.ChunkedArray]) -> pd.DataFrame:
    """Records as a DataFrame built one column at a time; strings become categoricals with sorted categories."""
    import pandas as pd

    columns = {}
    for name in RECORD_SCHEMA.names:
        chunked = column(name)
        if pa.types.is_string(chunked.type) or pa.types.is_large_string(chunked.type):
            chunked = pc.dictionary_encode(chunked)
        columns[name] = _categorical(chunked) if pa.types.is_dictionary(chunked.type) else chunked.to_pandas()
    return pd.DataFrame(columns)


def read_frames(
    path: str | Path, expect: str | None = None
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """The manifest, the records and the architectures of a verified table folder as pandas frames.

    Records' string columns are categoricals (codes plus one copy of each distinct string), read one
    column at a time so the peak memory stays near the final frame's size.
    """
    path = Path(path)
    manifest = read_manifest(path)
    if expect is not None:
        check_content_id(path, manifest, expect)
    if manifest.get("layout") in LAYOUT_READERS:
        return manifest, *LAYOUT_READERS.get(manifest["layout"]).frames(path, manifest)
    opened = _verified_parquet(path, manifest)
    records = records_frame(lambda name: _read_column(opened["records"], name, RECORD_SCHEMA))
    archs = _read_all(opened["architectures"], ARCH_SCHEMA).to_pandas()
    pa.default_memory_pool().release_unused()  # hand the decode buffers back (mimalloc keeps them otherwise)
    return manifest, records, archs
