"""What a submission is: a JSON metadata block (a JSON Schema) and rows of typed columns (CSV or Parquet).

Reading never executes or unpickles anything: CSV is parsed as text, Parquet through pyarrow, and every
cell is checked against its column's kind. Each problem is reported as one line naming the file, the
column and the first offending data rows (1-based).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

METADATA_MAX_BYTES = 64 * 1024
"""A metadata block larger than this is refused before it is read."""
ROWS_MAX_BYTES = 32 * 1024 * 1024
"""Default size limit of a rows file (a board may set its own, ``max_bytes`` in ``board.json``)."""
ROW_SUFFIXES = (".csv", ".parquet")
MAX_ROWS = 5_000_000
"""More data rows than this are refused before they are read (a compressed Parquet file can be small)."""

METADATA_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://archbench.invalid/schemas/leaderboard-submission-1.json",
    "title": "archbench leaderboard submission metadata",
    "type": "object",
    "additionalProperties": False,
    "required": ["method", "authors", "code_url", "compute", "archbench_version", "command", "release"],
    "properties": {
        "method": {"type": "string", "minLength": 1, "maxLength": 120},
        "authors": {
            "type": "array",
            "minItems": 1,
            "maxItems": 50,
            "items": {"type": "string", "minLength": 1, "maxLength": 200},
        },
        "code_url": {"type": "string", "maxLength": 500, "pattern": "^https?://[^\\s]+$"},
        "compute": {
            "type": "object",
            "additionalProperties": False,
            "required": ["hardware", "hours"],
            "properties": {
                "hardware": {"type": "string", "minLength": 1, "maxLength": 200},
                "hours": {"type": "number", "minimum": 0, "maximum": 1e6},
            },
        },
        "archbench_version": {"type": "string", "minLength": 1, "maxLength": 64},
        "command": {"type": "string", "minLength": 1, "maxLength": 4000},
        "release": {"type": "string", "pattern": "^sha256:[0-9a-f]{16,64}$"},
        "description": {"type": "string", "maxLength": 4000},
    },
}
"""JSON Schema (draft 2020-12) of a submission's metadata block."""

KINDS = ("id", "int", "float")


@dataclass(frozen=True)
class Column:
    """A submission column: ``id`` (non-empty text), ``int`` (an integer) or ``float`` (a finite number)."""

    name: str
    kind: str
    doc: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}")


class SubmissionError(ValueError):
    """A submission that was refused; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}" if problems else "submission refused")


def rows_text(rows: list[int], shown: int = 5) -> str:
    """``[3, 9, 12]`` as ``3, 9, 12``, cut after ``shown`` with a count of the rest."""
    head = ", ".join(str(r) for r in rows[:shown])
    return head + (f" and {len(rows) - shown} more" if len(rows) > shown else "")


def check_metadata(meta: Any, where: str) -> list[str]:
    """Problems of ``meta`` against :data:`METADATA_SCHEMA`, one line each (empty when valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(METADATA_SCHEMA)
    problems = []
    for error in sorted(validator.iter_errors(meta), key=lambda e: list(map(str, e.absolute_path))):
        field = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
        problems.append(f"{where}: metadata field {field}: {message}")
    return problems


def read_metadata(path: str | Path) -> tuple[dict[str, Any] | None, list[str]]:
    """The metadata block at ``path`` (bounded JSON) and its problems."""
    from spaces.jsonio import JSONInputError, load_bounded

    path = Path(path)
    if not path.is_file():
        return None, [f"{path}: metadata file not found"]
    try:
        meta = load_bounded(path, METADATA_MAX_BYTES, max_depth=8)
    except JSONInputError as exc:
        return None, [" ".join(str(exc).split())]
    problems = check_metadata(meta, str(path))
    return (meta if not problems else None), problems


def _read_raw(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".csv":
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8", nrows=MAX_ROWS + 1
        )
        if len(frame) > MAX_ROWS:
            raise ValueError(f"more than {MAX_ROWS:,} data rows")
        return frame
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(path).metadata.num_rows
    if rows > MAX_ROWS:
        raise ValueError(f"{rows:,} data rows, over the limit of {MAX_ROWS:,}")
    return pq.read_table(path).to_pandas()


def _coerce(values: pd.Series, column: Column, where: str) -> tuple[pd.Series | None, list[str]]:
    """``values`` as the column's kind, or the problems (wrong types, empty ids, NaN/inf)."""
    wrong, empty, nonfinite, out = [], [], [], []
    for row, value in enumerate(values.tolist(), start=1):
        if column.kind == "id":
            if not isinstance(value, str):
                wrong.append(row)
            elif not value.strip():
                empty.append(row)
            out.append(value)
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            nonfinite.append(row)
            out.append(None)
            continue
        if isinstance(value, bool):
            wrong.append(row)
            out.append(None)
            continue
        try:
            number = float(value) if not isinstance(value, str) else float(value.strip())
        except (TypeError, ValueError):
            wrong.append(row)
            out.append(None)
            continue
        if not math.isfinite(number):
            nonfinite.append(row)
        elif column.kind == "int" and not float(number).is_integer():
            wrong.append(row)
        out.append(number)
    what = {"id": "text", "int": "an integer", "float": "a number"}[column.kind]
    problems = []
    if wrong:
        problems.append(f"{where}: column {column.name!r} must be {what}; not at rows {rows_text(wrong)}")
    if empty:
        problems.append(f"{where}: column {column.name!r} is empty at rows {rows_text(empty)}")
    if nonfinite:
        problems.append(
            f"{where}: column {column.name!r} has missing, NaN or inf values at rows {rows_text(nonfinite)}"
        )
    if problems:
        return None, problems
    series = pd.Series(out, index=values.index, name=column.name)
    if column.kind == "int":
        return series.astype("int64"), []
    return (series.astype("float64") if column.kind == "float" else series.astype(str)), []


def read_rows(
    path: str | Path, columns: tuple[Column, ...], max_bytes: int = ROWS_MAX_BYTES
) -> tuple[pd.DataFrame | None, list[str]]:
    """The rows file at ``path`` with exactly ``columns``, typed; or ``None`` and its problems."""
    path = Path(path)
    if path.suffix.lower() not in ROW_SUFFIXES:
        return None, [f"{path}: rows must be a .csv or .parquet file"]
    if not path.is_file():
        return None, [f"{path}: rows file not found"]
    size = path.stat().st_size
    if size > max_bytes:
        return None, [f"{path}: {size:,} bytes is over this board's {max_bytes:,}-byte limit"]
    try:
        raw = _read_raw(path)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        return None, [f"{path}: unreadable ({' '.join(str(exc).split())[:200]})"]
    except Exception as exc:  # pyarrow raises its own error types on corrupt files
        return None, [f"{path}: unreadable ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"]
    names = [str(c) for c in raw.columns]
    wanted = [c.name for c in columns]
    problems = []
    missing = [n for n in wanted if n not in names]
    extra = [n for n in names if n not in wanted]
    if missing:
        problems.append(f"{path}: missing columns {missing} (a submission has exactly {wanted})")
    if extra:
        problems.append(f"{path}: unexpected columns {[n[:40] for n in extra[:5]]} (allowed: {wanted})")
    if len(set(names)) != len(names):
        problems.append(f"{path}: a column name appears twice")
    if problems:
        return None, problems
    if raw.empty:
        return None, [f"{path}: no data rows"]
    typed = {}
    for column in columns:
        series, found = _coerce(raw[column.name], column, str(path))
        problems.extend(found)
        typed[column.name] = series
    if problems:
        return None, problems
    return pd.DataFrame(typed).reset_index(drop=True), []
