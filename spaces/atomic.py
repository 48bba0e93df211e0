"""The one way archbench writes files and folders: build beside the target, then rename into place.

:func:`atomic_file` and :func:`atomic_folder` hand out a hidden temporary sibling of the target and
rename it over the target only when the block succeeds, so a reader sees the old version or the new
one, never half of one, and a failed or killed writer leaves the target as it was. A folder writer
also holds an exclusive lock on the target (:mod:`spaces.locks`), removes the leftovers of writers
that were killed mid-write, and renames a replaced folder aside before the new one moves in.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spaces.locks import locked


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path``; the file written there replaces ``path`` when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_folder(
    out_dir: str | Path, overwrite: bool = False, exists_error: type[Exception] = FileExistsError
) -> Iterator[Path]:
    """A temporary sibling of ``out_dir`` that replaces it when the block succeeds, and vanishes if not.

    The writer holds an exclusive lock on ``out_dir`` (file ``.NAME.lock`` beside it) for the whole
    write, so two writers of one folder never race: the second stops with one line. Under the lock,
    hidden temporary siblings left by a writer that was killed mid-write are removed first. A
    replaced folder is renamed aside before the new one moves in and deleted after, so the old
    folder exists until the new one is complete. An existing ``out_dir`` without ``overwrite``
    raises ``exists_error``.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with locked(out_dir.parent / f".{out_dir.name}.lock", str(out_dir)):
        remove_leftovers(out_dir)
        if out_dir.exists() and not overwrite:
            raise exists_error(f"{out_dir} already exists (pass overwrite=True / --overwrite to replace it)")
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
        try:
            tmp.chmod(0o755)  # mkdtemp makes it private; a table is meant to be shared
            yield tmp
            if out_dir.exists():
                if not overwrite:
                    raise exists_error(f"{out_dir} appeared while it was being written; nothing was replaced")
                old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
                os.replace(out_dir, old / "replaced")
                os.replace(tmp, out_dir)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, out_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def remove_leftovers(out_dir: str | Path) -> list[Path]:
    """Delete the hidden temporary folders (``.NAME.*``) an interrupted write of ``out_dir`` left.

    Call it only while holding ``out_dir``'s lock (as :func:`atomic_folder` does): then no other
    writer can own them.
    """
    out_dir = Path(out_dir)
    removed = []
    for leftover in out_dir.parent.glob(f".{glob.escape(out_dir.name)}.*"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
            removed.append(leftover)
    return removed
