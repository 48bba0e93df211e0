"""``archbench status`` and ``archbench query``: read a build's journal or a table folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.commands.args import CLIError, name_list


def register_status(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench status``."""
    p = sub.add_parser(
        "status",
        help="where a build stands: units, sessions, wall time, ETA",
        description="Read a build's journal (it may be running): units committed per stage, every session "
        "with its wall time and how it ended, the total wall time, and the ETA at the recorded pace.",
    )
    p.add_argument("out", type=Path, help="build folder (with journal.sqlite) or the journal file")
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    p.set_defaults(func=_status)


def _status(args: argparse.Namespace) -> int:
    import json

    from benchmarks.storage.status import format_status, journal_status

    status = journal_status(args.out)
    print(json.dumps(status, indent=2) if args.json else format_status(status))
    return 0


# ---- archbench query ----------------------------------------------------------------------------------
def register_query(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench query``."""
    p = sub.add_parser("query", help="look up records in a table", description="Query a table folder.")
    p.add_argument("table", type=Path, help="table folder (with manifest.json) or a shipped table's name")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--arch", help="architecture string")
    which.add_argument("--index", type=int, help="published index")
    which.add_argument("--arch-id", help="arch_id")
    p.add_argument("--metric", type=name_list, default=None, help="only these metrics (comma-separated)")
    p.add_argument("--task", default=None, help="only this task")
    p.add_argument("--status", default=None, help="only rows with this status")
    p.add_argument("--format", choices=("text", "csv", "json"), default="text", help="output format")
    p.add_argument("--limit", type=int, default=50, help="rows to show in text format (default: 50)")
    p.add_argument(
        "--expect",
        default=None,
        metavar="ID",
        help="refuse the table unless its content id is ID (sha256:...)",
    )
    p.set_defaults(func=_query)


def _query(args: argparse.Namespace) -> int:
    from benchmarks.storage.table import open_table

    if args.limit < 0:
        raise CLIError(f"--limit must be >= 0, got {args.limit}")
    table = open_table(args.table, expect=args.expect)
    conditions = {
        "metric": list(args.metric) if args.metric else None,
        "task": args.task,
        "status": args.status,
    }
    table.check_filters(**conditions)  # a name the table lacks is an error, not "(no records)"
    if args.arch is None and args.index is None and args.arch_id is None:
        if args.format == "text" and not any(conditions.values()):
            counts = table.records.groupby(["task", "metric", "status"]).size()
            print(f"{table}\ncontent id: {table.content_id}\n{counts.to_string()}")
            return 0
        frame = table.filter(**conditions)
    else:
        frame = table.lookup(args.arch, args.index, args.arch_id, **conditions)
    columns = [
        "arch",
        "arch_id",
        "task",
        "metric",
        "value",
        "unit",
        "fidelity",
        "epoch",
        "seed",
        "status",
        "message",
    ]
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(frame.to_json(orient="records"))
    else:
        print(frame[columns].head(args.limit).to_string(index=False) if len(frame) else "(no records)")
    return 0
