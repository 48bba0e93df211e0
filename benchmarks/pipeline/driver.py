"""The driver loop every journaled run shares: run units on an executor, commit each, keep the session.

``archbench build``, ``archbench profile`` and any future table builder hand their pending units
here. The driver alone writes the journal (executors only return records), records the run as a
journal session (plan, pace, how it ended) and shows progress with a per-stage ETA.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.pipeline.executors import Executor, OnError
from benchmarks.storage.journal import Journal
from benchmarks.storage.progress import RunProgress, stage_counts
from benchmarks.storage.schema import utc_now


def runner_description(executor: Executor) -> str:
    """Who ran a session: executor, host and command line (kept with the session's row)."""
    return f"{executor!r} on {socket.gethostname()}: {' '.join(sys.argv)}"


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    text = " ".join(str(exc).split())[:200]
    return f"failed: {type(exc).__name__}" + (f": {text}" if text else "")


def drive(
    journal: Journal,
    executor: Executor,
    fn: Callable[[Any], list[dict[str, Any]]],
    todo: Sequence[Any],
    total: int,
    label: str,
    progress: bool = True,
    on_error: OnError | None = None,
) -> int:
    """Run ``fn`` over the pending units ``todo`` (each with a ``key``) of a ``total``-unit plan.

    Every finished unit is committed with its records at once; returns how many were committed.
    """
    if not todo:
        return 0
    keys = [u.key for u in todo]
    session = journal.start_session(utc_now(), total, stage_counts(keys), runner_description(executor))
    committed = 0
    try:
        with RunProgress(label, total, keys, enabled=progress) as advance:
            for unit, records in executor.map_unordered(fn, todo, on_error=on_error):
                committed += journal.commit_unit(unit.key, records, utc_now(), session=session)
                advance(unit.key)
    except BaseException as exc:
        # Best effort: a journal that failed (locked, disk full) must not hide the original error.
        with contextlib.suppress(Exception):
            journal.end_session(session, utc_now(), _outcome(exc))
        raise
    journal.end_session(session, utc_now(), "finished")
    return committed
