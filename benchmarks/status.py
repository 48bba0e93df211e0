"""Where a journaled build stands: units per stage, its sessions, total wall time, pace and ETA.

A whole-space build runs for hours, often across several sessions (the journal is the checkpoint),
so its wall time is the sum of its sessions' spans, not the last run's. Each session's span runs
from its start to its clean end, or, for a run that was killed (or is still running), to its last
committed unit. Units committed by archbench versions that predate session records are counted
apart, and their span is estimated from their own commit times.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.journal import Journal
from benchmarks.progress import StageEta, format_duration, stage_counts, unit_stage


def _t(text: str) -> float:
    """Seconds since the epoch of an ISO-8601 time; NaN for anything else (such units are not timed)."""
    try:
        return datetime.fromisoformat(text).timestamp()
    except (TypeError, ValueError):
        return float("nan")


def journal_status(path: str | Path) -> dict[str, Any]:
    """The status of the journal at ``path`` (a build folder or its ``journal.sqlite``)."""
    path = Path(path)
    if path.is_dir():
        path = path / "journal.sqlite"
    if not path.is_file():
        raise FileNotFoundError(f"no build journal at {path}")
    with Journal(path) as journal:
        sessions = journal.sessions()
        units = journal.unit_times()
    times = [(key, _t(text)) for key, text in units]
    first_start = _t(sessions[0]["started_at"]) if sessions else float("inf")
    unrecorded = [t for _, t in times if t < first_start]
    pace = StageEta({}, 0.0)
    rows = []
    for i, s in enumerate(sessions):
        start = _t(s["started_at"])
        end_text = s["ended_at"] or s["last_at"] or s["started_at"]
        upto = _t(sessions[i + 1]["started_at"]) if i + 1 < len(sessions) else float("inf")
        mine = [(k, t) for k, t in times if start <= t < upto]
        pace.restart(start)
        for key, t in mine:
            pace.record(unit_stage(key), t)
        rows.append(
            {
                **s,
                "wall_s": _t(end_text) - start,
                "state": s["outcome"] or "no clean end: running now, or killed",
                "committed_by_stage": stage_counts(k for k, _ in mine),
            }
        )
    status: dict[str, Any] = {
        "journal": str(path),
        "units": len(units),
        "units_by_stage": stage_counts(k for k, _ in units),
        "sessions": rows,
        "wall_s": sum(r["wall_s"] for r in rows),
        "unrecorded_units": len(unrecorded),
        "unrecorded_span_s": (max(unrecorded) - min(unrecorded)) if unrecorded else 0.0,
    }
    if rows:
        last = rows[-1]
        left = {
            stage: max(0, n - last["committed_by_stage"].get(stage, 0)) for stage, n in last["todo"].items()
        }
        pace.remaining.clear()
        pace.remaining.update({k: v for k, v in left.items() if v})
        status.update(
            planned=last["total"], left_by_stage=left, eta_s=pace.eta() if any(left.values()) else 0.0
        )
    return status


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
