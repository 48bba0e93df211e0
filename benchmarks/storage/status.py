"""Where a journaled build stands: units per stage, its sessions, total wall time, pace and ETA.

A whole-space build runs for hours, often across several sessions (the journal is the checkpoint),
so its wall time is the sum of its sessions' spans, not the last run's. Each session's span runs
from its start to its clean end, or, for a run that was killed (or is still running), to its last
committed unit; overlapping runs (two builds on one folder) count their common time once. Each unit
records the session that committed it; units from archbench versions that did not are attributed by
time, and units from before any session record are counted apart, with the span of their commit
times.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.storage.journal import Journal
from benchmarks.storage.progress import StageEta, format_duration, stage_counts, unit_stage


def _t(text: str) -> float:
    """Seconds since the epoch of an ISO-8601 time; NaN for anything else (such units are not timed)."""
    try:
        return datetime.fromisoformat(text).timestamp()
    except (TypeError, ValueError):
        return float("nan")


def _attribute(
    units: list[tuple[str, float, int | None]], sessions: list[dict[str, Any]]
) -> list[int | None]:
    """The session of each unit: the one that committed it, or, for units from archbench versions
    that did not record it, the latest session whose span (start to last commit) holds its time."""
    spans = [
        (s["id"], _t(s["started_at"]), _t(s["ended_at"] or s["last_at"] or s["started_at"])) for s in sessions
    ]
    found = []
    for _, t, session in units:
        if session is None:
            session = next((sid for sid, a, b in reversed(spans) if a <= t <= b), None)
        found.append(session)
    return found


def _union_seconds(spans: list[tuple[float, float]]) -> float:
    """Total length of the union of ``[start, end]`` spans (overlapping runs are not counted twice)."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def journal_status(path: str | Path) -> dict[str, Any]:
    """The status of the journal at ``path`` (a build folder or its ``journal.sqlite``), read-only."""
    path = Path(path)
    if path.is_dir():
        path = path / "journal.sqlite"
    if not path.is_file():
        raise FileNotFoundError(f"no build journal at {path}")
    with Journal(path, readonly=True) as journal:
        sessions = journal.sessions()
        units = [(key, _t(text), session) for key, text, session in journal.unit_times()]
    owners = _attribute(units, sessions)
    unrecorded = [t for (_, t, _), owner in zip(units, owners) if owner is None]
    pace = StageEta({}, 0.0)
    rows, spans = [], []
    for i, s in enumerate(sessions):
        start = _t(s["started_at"])
        mine = sorted(
            ((key, t) for (key, t, _), owner in zip(units, owners) if owner == s["id"]), key=lambda u: u[1]
        )
        pace.restart(start)
        for key, t in mine:
            pace.record(unit_stage(key), t)
        if s["outcome"]:
            state = s["outcome"]
        elif i + 1 < len(sessions):
            state = "killed (no clean end; later runs followed)"
        else:
            state = "no clean end: running now, or killed"
        end = _t(s["ended_at"] or s["last_at"] or s["started_at"])
        spans.append((start, end))
        rows.append(
            {
                **s,
                "wall_s": end - start,
                "state": state,
                "committed_by_stage": stage_counts(k for k, _ in mine),
            }
        )
    status: dict[str, Any] = {
        "journal": str(path),
        "units": len(units),
        "units_by_stage": stage_counts(k for k, _, _ in units),
        "sessions": rows,
        "wall_s": _union_seconds([(a, b) for a, b in spans if b == b and a == a]),
        "unrecorded_units": len(unrecorded),
        "unrecorded_span_s": _span(unrecorded),
    }
    if rows:
        last = rows[-1]
        left = {
            stage: max(0, n - last["committed_by_stage"].get(stage, 0)) for stage, n in last["todo"].items()
        }
        pace.set_remaining(left)
        status.update(
            planned=last["total"], left_by_stage=left, eta_s=pace.eta() if any(left.values()) else 0.0
        )
    return status


def _span(times: list[float]) -> float:
    timed = [t for t in times if t == t]  # NaN: an unparseable time
    return max(timed) - min(timed) if timed else 0.0


def format_status(status: dict[str, Any]) -> str:
    """The status as the lines ``archbench status`` prints."""
    by_stage = ", ".join(f"{k} {v:,}" for k, v in status["units_by_stage"].items())
    lines = [f"journal: {status['journal']}", f"units committed: {status['units']:,} ({by_stage or 'none'})"]
    if status["unrecorded_units"]:
        lines.append(
            f"  {status['unrecorded_units']:,} of them predate session records "
            f"(first to last commit: {format_duration(status['unrecorded_span_s'])})"
        )
    if status["sessions"]:
        lines.append("sessions:")
        for s in status["sessions"]:
            lines.append(
                f"  #{s['id']} {s['started_at']}  wall {format_duration(s['wall_s'])}  "
                f"{s['ran']:,} units  {s['state']}"
            )
        lines.append(f"wall time over recorded sessions: {format_duration(status['wall_s'])}")
        left = sum(status["left_by_stage"].values())
        if left:
            stages = ", ".join(f"{k} {v:,}" for k, v in status["left_by_stage"].items() if v)
            lines.append(
                f"latest plan: {status['planned']:,} units, {left:,} left ({stages}); "
                f"eta {format_duration(status['eta_s'])} at the recorded per-stage pace"
            )
        else:
            lines.append(f"latest plan: {status['planned']:,} units, complete")
    return "\n".join(lines)
