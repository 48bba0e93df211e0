"""Importers for tables users already hold (no pickles): published accuracies keyed by arch or index.

An imported table is a normal archbench table (journal -> Parquet + manifest) whose records say
where they came from: ``device`` is ``imported``, and ``protocol_hash`` hashes the import settings
together with the source file's SHA-256, which the manifest keeps under ``protocols``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from benchmarks.journal import Journal
from benchmarks.schema import arch_row, make_record, utc_now
from benchmarks.store import export, sha256_file
from proxies.protocol import sha256_of

KEYS = ("arch", "index")


@dataclass(frozen=True)
class AccuracyImport:
    """How to read a table of published accuracies (columns are named by the user)."""

    space: str
    task: str
    metric: str
    key_column: str
    value_column: str
    key: str = "arch"
    fidelity: int = 200
    unit: str = "%"
    seed_column: str | None = None

    def __post_init__(self) -> None:
        if self.key not in KEYS:
            raise ValueError(f"key must be one of {', '.join(KEYS)}, got {self.key!r}")
        if self.fidelity < 0:
            raise ValueError(f"fidelity must be >= 0 epochs, got {self.fidelity}")


def read_frame(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame (chosen by suffix)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise ValueError(f"{path}: unreadable {suffix[1:]} file ({' '.join(str(exc).split())})") from None
    raise ValueError(f"{path}: unsupported file type {suffix!r} (use .csv or .parquet)")


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:5])
    return shown + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")


def import_accuracies(path: str | Path, spec: AccuracyImport, out: str | Path) -> Path:
    """Validate ``path`` and release it as a table in ``out/table`` (journal at ``out/journal.sqlite``).

    Raises ValueError naming the file, the column and the offending rows (1-based data rows) on
    missing columns, unknown architectures or indices, duplicate keys, and NaN/inf values.
    """
    import spaces

    path, out = Path(path), Path(out)
    frame = read_frame(path)
    wanted = [spec.key_column, spec.value_column] + ([spec.seed_column] if spec.seed_column else [])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{path}: columns {missing} not found (columns: {', '.join(map(str, frame.columns))})"
        )
    if frame.empty:
        raise ValueError(f"{path}: no rows")
    space = spaces.get(spec.space)
    archs = []
    for row, key in enumerate(frame[spec.key_column], start=1):
        try:
            archs.append(space.from_index(key) if spec.key == "index" else space.parse(key))
        except ValueError as exc:
            raise ValueError(f"{path}: row {row}, column {spec.key_column!r}: {exc}") from None
    values = pd.to_numeric(frame[spec.value_column], errors="coerce")
    bad = [i + 1 for i, v in enumerate(values) if not math.isfinite(v)]
    if bad:
        raise ValueError(
            f"{path}: column {spec.value_column!r} has missing, NaN or inf values at rows {_rows_text(bad)}"
        )
    seeds = frame[spec.seed_column].astype(int).tolist() if spec.seed_column else [0] * len(frame)
    keys = pd.Series([(a.string, s) for a, s in zip(archs, seeds)])
    duplicated = [i + 1 for i in keys.index[keys.duplicated(keep=False)]]
    if duplicated:
        raise ValueError(f"{path}: architectures listed twice (same seed) at rows {_rows_text(duplicated)}")

    settings = {
        "import": "accuracy-table",
        **asdict(spec),
        "source_sha256": sha256_file(path),
        "source": path.name,
    }
    protocol_hash = sha256_of(settings)
    journal_path = out / "journal.sqlite"
    if journal_path.exists():
        raise ValueError(f"{out} already holds a journal; import into a new folder")
    with Journal(journal_path) as journal:
        journal.bind("space", {"name": space.name, "version": space.version})
        journal.bind(f"protocol:{protocol_hash}", settings)
        journal.bind(
            f"metric:{spec.metric}",
            {"unit": spec.unit, "kind": "functional", "higher_is_better": True, "source": path.name},
        )
        journal.add_archs(arch_row(space, a) for a in dict.fromkeys(archs))
        records = [
            make_record(
                space=space.name,
                space_version=space.version,
                arch_id=a.arch_id,
                arch=a.string,
                task=spec.task,
                metric=spec.metric,
                value=float(v),
                unit=spec.unit,
                fidelity=spec.fidelity,
                epoch=spec.fidelity,
                seed=int(s),
                device="imported",
                protocol_hash=protocol_hash,
                seconds=None,
                status="ok",
            )
            for a, v, s in zip(archs, values, seeds)
        ]
        journal.commit_unit(f"import|{protocol_hash[:16]}", records, utc_now())
    return export(journal_path, out / "table")
