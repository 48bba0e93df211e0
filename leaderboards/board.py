"""A leaderboard on disk: ``init`` (public folder + host-only hidden folder), load, validate, submit.

Public folder::

    board.json            track, task, parameters, release id of the source table, SHA-256 of every
                          public file, the commitment to the hidden part, submission columns, limits
    public/*.parquet      what entrants receive (architecture list, public truth, training splits, shots)
    submissions/<id>/     accepted submissions: rows.parquet (typed, normalised) and metadata.json
    scores.json           written by ``score``

The hidden folder holds the hidden truth and its salt (:mod:`leaderboards.commitment`); it is written
next to nothing public and must never be published with the board.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from leaderboards.commitment import new_salt, read_hidden, write_hidden
from leaderboards.schema import ROWS_MAX_BYTES, SubmissionError, read_metadata, read_rows
from leaderboards.tracks import Track, get_track

FORMAT = "archbench-leaderboard/1"
BOARD_FILE = "board.json"


@dataclass(frozen=True)
class Board:
    """A loaded, hash-checked public board folder."""

    path: Path
    info: dict[str, Any]
    public: dict[str, pd.DataFrame]

    @property
    def track(self) -> Track:
        """The board's track."""
        return get_track(self.info["track"])

    @property
    def params(self) -> dict[str, Any]:
        """The track parameters resolved at ``init``."""
        return self.info["params"]

    def submissions(self) -> list[Path]:
        """Accepted submission folders, oldest id first."""
        folder = self.path / "submissions"
        return (
            sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
            if folder.is_dir()
            else []
        )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def init_board(
    table_path: str | Path,
    track_name: str,
    out: str | Path,
    hidden_out: str | Path,
    params: dict[str, Any] | None = None,
    practice: bool = False,
    title: str | None = None,
    max_bytes: int = ROWS_MAX_BYTES,
) -> Board:
    """Split the table at ``table_path`` for ``track_name`` into a public board and a hidden folder.

    Published numbers (imported tables) may only make practice boards (``practice=True``): their
    "hidden" truth is public elsewhere, so a scored board on them would rank memorisation.
    """
    from benchmarks.storage.schema import archbench_version, utc_now
    from benchmarks.storage.table import open_table
    from spaces.atomic import atomic_folder

    track = get_track(track_name)
    resolved = track.params(dict(params or {}))
    out, hidden_out = Path(out), Path(hidden_out)
    if out.resolve() == hidden_out.resolve() or hidden_out.resolve().is_relative_to(out.resolve()):
        raise ValueError(f"the hidden folder {hidden_out} must lie outside the public board {out}")
    table = open_table(table_path)
    published = [m for m in track.truth_metrics(resolved) if _published(table, m)]
    if published and not practice:
        raise ValueError(
            f"{published[0]!r} in {table_path} comes from published numbers; it can only make a practice "
            "board (pass --practice); scored boards need truth archbench built and never released"
        )
    split = track.make_split(table, resolved)
    board_id = secrets.token_hex(8)
    salt = new_salt()
    with atomic_folder(hidden_out) as hidden_tmp, atomic_folder(out) as tmp:
        commitment = write_hidden(hidden_tmp, split.hidden, salt, board_id)
        (tmp / "public").mkdir()
        (tmp / "submissions").mkdir()
        for name, frame in split.public.items():
            frame.to_parquet(tmp / "public" / f"{name}.parquet", index=False)
        info = {
            "format": FORMAT,
            "board_id": board_id,
            "track": track.name,
            "title": title
            or f"{track.name} track: {resolved.get('metric')} on {resolved.get('task') or 'all tasks'}",
            "task": resolved.get("task") or _tasks(table),
            "practice": bool(practice),
            "release": table.content_id,
            "space": sorted(str(s) for s in table.archs["space"].unique()),
            "params": _jsonable(split.params),
            "columns": [{"name": c.name, "kind": c.kind, "doc": c.doc} for c in track.columns],
            "main": track.main,
            "higher_is_better": track.higher_is_better,
            "max_bytes": int(max_bytes),
            "public_files": {
                f"public/{n}.parquet": _sha256(tmp / "public" / f"{n}.parquet") for n in sorted(split.public)
            },
            "commitment": commitment,
            "archbench_version": archbench_version(),
            "created_at": utc_now(),
        }
        (tmp / BOARD_FILE).write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    return load_board(out)


def _published(table: Any, metric: str) -> bool:
    from leaderboards.tracks.base import is_published

    return is_published(table, metric)


def _tasks(table: Any) -> str:
    return ",".join(sorted(str(t) for t in table.records["task"].dropna().unique())) or "none"


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


def load_board(path: str | Path) -> Board:
    """Open a board folder, checking every public file against the SHA-256 in ``board.json``."""
    from spaces.jsonio import load_bounded

    path = Path(path)
    if not (path / BOARD_FILE).is_file():
        raise ValueError(f"{path} is not a leaderboard (no {BOARD_FILE}; create one with 'leaderboard init')")
    info = load_bounded(path / BOARD_FILE, 1024 * 1024)
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ValueError(f"{path / BOARD_FILE}: not an {FORMAT} board file")
    public = {}
    for name, digest in info["public_files"].items():
        file = path / name
        if not file.is_file() or _sha256(file) != digest:
            raise ValueError(f"{file}: missing or changed since the board was created (SHA-256 mismatch)")
        public[Path(name).stem] = pd.read_parquet(file)
    get_track(info["track"])
    return Board(path, info, public)


def validate(
    board: Board, rows_path: str | Path, meta_path: str | Path
) -> tuple[pd.DataFrame | None, dict | None, list[str]]:
    """Read and check a submission; the typed rows, the metadata, and one line per problem."""
    track = board.track
    meta, problems = read_metadata(meta_path)
    if meta is not None and meta["release"] != board.info["release"]:
        problems.append(
            f"{meta_path}: release {meta['release'][:23]}... is not this board's table {board.info['release'][:23]}..."
        )
    rows, row_problems = read_rows(rows_path, track.columns, int(board.info["max_bytes"]))
    problems += row_problems
    if rows is not None:
        problems += track.check(rows, board.public, board.params)
    return rows, meta, problems


def submit(board: Board, rows_path: str | Path, meta_path: str | Path) -> Path:
    """Validate and store a submission under ``submissions/<id>``; SubmissionError lists every problem."""
    from benchmarks.storage.schema import utc_now
    from spaces.atomic import atomic_folder

    rows, meta, problems = validate(board, rows_path, meta_path)
    if problems or rows is None or meta is None:
        raise SubmissionError(problems)
    digest = submission_digest(rows, meta)
    existing = [p for p in board.submissions() if p.name.endswith(digest[:12])]
    if existing:
        raise SubmissionError([f"this submission was already accepted as {existing[0].name}"])
    folder = board.path / "submissions" / f"{len(board.submissions()) + 1:04d}-{digest[:12]}"
    with atomic_folder(folder) as tmp:
        rows.to_parquet(tmp / "rows.parquet", index=False)
        record = {"metadata": meta, "submitted_at": utc_now(), "rows": len(rows), "sha256": digest}
        (tmp / "metadata.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return folder


def submission_digest(rows: pd.DataFrame, meta: dict[str, Any]) -> str:
    """SHA-256 of a submission's canonical rows and metadata (its identity on the board)."""
    from leaderboards.commitment import canonical_bytes

    digest = hashlib.sha256(canonical_bytes(rows))
    digest.update(json.dumps(meta, sort_keys=True).encode())
    return digest.hexdigest()


def read_submission(folder: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """An accepted submission's rows and its stored record (metadata, time, hash)."""
    from spaces.jsonio import load_bounded

    return pd.read_parquet(folder / "rows.parquet"), load_bounded(folder / "metadata.json", 256 * 1024)


def hidden_part(board: Board, hidden_dir: str | Path) -> dict[str, pd.DataFrame]:
    """The hidden frames, checked against the board's commitment."""
    return read_hidden(hidden_dir, board.info["commitment"], board.info["board_id"])
