"""Exclusive locks that keep two archbench processes from writing the same journal or folder at once.

A lock is ``flock`` on a small lock file beside what it guards (it holds the owner's pid, for the
message); the kernel releases it when the process ends, even on SIGKILL, so a crash never leaves a
stale lock behind (only, at worst, an unlocked lock file). The holder deletes the file when done;
a process that opened it just before checks after locking that the path is still that file.
Locks are re-entrant within a process (a command that holds a folder's lock for its whole run can
open the journal inside it). On a system without ``fcntl`` (Windows) no lock is taken.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LockedError(OSError):
    """Another process holds the lock (an OSError: the resource is busy)."""


_HELD: dict[str, list[int]] = {}  # resolved lock path -> [fd, holders in this process]
_GUARD = threading.Lock()


class FileLock:
    """An exclusive, non-blocking ``flock`` on ``path``; ``acquire`` raises :class:`LockedError` if held."""

    def __init__(self, path: str | Path, what: str) -> None:
        self.path = Path(path)
        self.what = what
        self._key: str | None = None

    def acquire(self) -> FileLock:
        """Take the lock (again, if this process holds it) or raise :class:`LockedError`."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = str(self.path.resolve())
        with _GUARD:
            if key in _HELD:
                _HELD[key][1] += 1
                self._key = key
                return self
            while True:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
                    os.close(fd)
                    raise LockedError(
                        f"{self.what} is in use by another archbench process (pid {holder}); "
                        "wait for it to finish, or use another output folder"
                    ) from None
                if _same_file(fd, self.path):
                    break
                os.close(fd)  # the holder removed this lock file as we opened it: take the new one
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            _HELD[key] = [fd, 1]
            self._key = key
        return self

    def release(self) -> None:
        """Give the lock back; the last holder in this process closes it (releasing the flock)."""
        key, self._key = self._key, None
        if key is None:
            return
        with _GUARD:
            entry = _HELD[key]
            entry[1] -= 1
            if entry[1] == 0:
                del _HELD[key]
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(key)  # still locked: a process that opened it meanwhile retries
                os.close(entry[0])


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


@contextmanager
def locked(path: str | Path, what: str) -> Iterator[None]:
    """Hold :class:`FileLock` on ``path`` for the block."""
    lock = FileLock(path, what).acquire()
    try:
        yield
    finally:
        lock.release()
