"""SHA-256 commitments to a leaderboard's hidden part, so later tampering with the truth is detectable.

The commitment is ``sha256(salt || for each file, sorted by name: name NUL length NUL bytes)`` where a
file's bytes are its frame's canonical CSV (rows sorted on every column, floats as ``%.17g``, ``\\n``
line ends), so it does not depend on how Parquet was written. The 32-byte random salt lives in the
hidden part: without it, a small or guessable truth could be confirmed by brute force from the public
hash (a hiding commitment). Publishing the salt and the hidden files later lets anyone check the scores.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import pandas as pd

HIDDEN_MANIFEST = "hidden.json"
SALT_BYTES = 32


def canonical_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as canonical CSV bytes (columns in order, rows sorted on all columns)."""
    ordered = frame.sort_values(list(frame.columns), kind="stable").reset_index(drop=True)
    return ordered.to_csv(index=False, float_format="%.17g", lineterminator="\n").encode()


def commit(frames: dict[str, pd.DataFrame], salt: bytes) -> str:
    """``sha256:<hex>`` committing to ``frames`` (name -> frame) under ``salt``."""
    digest = hashlib.sha256(salt)
    for name in sorted(frames):
        body = canonical_bytes(frames[name])
        digest.update(f"{name}\0{len(body)}\0".encode())
        digest.update(body)
    return f"sha256:{digest.hexdigest()}"


def new_salt() -> bytes:
    """A fresh random salt (32 bytes from the OS's CSPRNG)."""
    return secrets.token_bytes(SALT_BYTES)


def write_hidden(folder: Path, frames: dict[str, pd.DataFrame], salt: bytes, board_id: str) -> str:
    """Write the hidden frames and their manifest into ``folder``; return the commitment."""
    import json

    for name, frame in frames.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    commitment = commit(frames, salt)
    manifest = {"board_id": board_id, "salt": salt.hex(), "files": sorted(frames), "commitment": commitment}
    (folder / HIDDEN_MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return commitment


def read_hidden(folder: str | Path, expected: str, board_id: str) -> dict[str, pd.DataFrame]:
    """The hidden frames in ``folder``, checked against the board's ``expected`` commitment.

    Raises ValueError if a file is missing, belongs to another board, or its content (or the salt)
    does not reproduce the commitment published with the board.
    """
    from spaces.jsonio import load_bounded

    folder = Path(folder)
    path = folder / HIDDEN_MANIFEST
    if not path.is_file():
        raise ValueError(f"{folder}: no {HIDDEN_MANIFEST}; give the host-only folder written by 'init'")
    manifest = load_bounded(path, 64 * 1024)
    if not isinstance(manifest, dict) or manifest.get("board_id") != board_id:
        raise ValueError(f"{folder}: this hidden part belongs to another board (board id {board_id})")
    try:
        salt = bytes.fromhex(str(manifest["salt"]))
        names = [str(n) for n in manifest["files"]]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{path}: malformed hidden manifest (needs salt and files)") from None
    frames = {}
    for name in names:
        file = folder / f"{name}.parquet"
        if not file.is_file():
            raise ValueError(f"{folder}: hidden file {file.name} is missing")
        frames[name] = pd.read_parquet(file)
    found = commit(frames, salt)
    if found != expected:
        raise ValueError(
            f"{folder}: the hidden part does not match the board's commitment {expected[:23]}... "
            f"(it hashes to {found[:23]}...): it was changed after the board was published"
        )
    return frames
