"""``archbench search``: list strategies, run one over seeds against tables (query logs, curves, plots)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench search`` and its actions."""
    p = sub.add_parser(
        "search",
        help="search strategies over benchmark tables (random, rea, local, bananas, nsga2_predictor)",
        description="Run NAS strategies against tables under a query budget; write query logs, curves and plots.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="registered strategies (the default)")
    listing.add_argument("--filter", default=None, help="fnmatch pattern, e.g. 'r*'")
    listing.set_defaults(func=_list)
    run = actions.add_parser("run", help="run a strategy for several seeds")
    run.add_argument("--table", type=Path, action="append", required=True, help="table (repeat for several)")
    run.add_argument("--strategy", required=True, help="registered strategy (see 'archbench search list')")
    run.add_argument("--budget", type=int, required=True, help="queries (distinct classes) per seed")
    run.add_argument("--seeds", type=int, default=1, help="number of seeds: 0 .. N-1 from --seed-start")
    run.add_argument("--seed-start", type=int, default=0)
    run.add_argument("--select", required=True, help="selection objective: METRIC[:max|:min]")
    run.add_argument(
        "--objective",
        action="append",
        default=[],
        help="further objective METRIC[:max|:min] (multi-objective runs; repeatable)",
    )
    run.add_argument("--report", action="append", default=[], help="metric reported, never selected on")
    run.add_argument("--task", default=None, help="task of the metrics when a table holds several")
    run.add_argument("--device", default=None, help="device of a hardware table holding several")
    run.add_argument("--param", action="append", default=[], help="strategy parameter KEY=JSON_VALUE")
    run.add_argument("--out", type=Path, required=True, help="new output folder")
    run.set_defaults(func=_run)
    p.set_defaults(func=_list, filter=None)


def _list(args: argparse.Namespace) -> int:
    from predictors.search import get_searcher_class, list_searchers

    for name in list_searchers(args.filter):
        card = get_searcher_class(name).card
        print(f"{name:16s} {card.objectives:6s} {card.summary}  [{card.paper}]")
    return 0


def parse_params(items: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` pairs; values are JSON where they parse (``3``, ``true``), else strings."""
    params: dict[str, object] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--param {item!r} must be KEY=VALUE")
        try:
            params[key] = json.loads(text)
        except json.JSONDecodeError:
            params[key] = text
    return params


def _run(args: argparse.Namespace) -> int:
    import spaces
    from benchmarks.store import atomic_folder
    from benchmarks.table import open_table
    from predictors.search.base import get_searcher_class
    from predictors.search.oracle import Objective, Truth
    from predictors.search.report import run_many, write_results

    if args.budget < 1 or args.seeds < 1 or args.seed_start < 0:
        raise ValueError("--budget and --seeds must be >= 1 and --seed-start >= 0")
    if args.out.exists():
        raise ValueError(f"{args.out} already exists; choose a new folder")
    get_searcher_class(args.strategy)  # unknown names fail before any table is read
    params = parse_params(args.param)
    objectives = [Objective.parse(args.select), *(Objective.parse(o) for o in args.objective)]
    tables = [open_table(t) for t in args.table]
    space_names = {str(s) for t in tables for s in t.archs["space"].unique()}
    if len(space_names) != 1:
        raise ValueError(
            f"the tables hold architectures of {sorted(space_names) or 'no'} spaces; give one space"
        )
    space = spaces.get(space_names.pop())
    truth = Truth.from_tables(
        tables, [o.metric for o in objectives] + list(args.report), task=args.task, device=args.device
    )
    seeds = list(range(args.seed_start, args.seed_start + args.seeds))
    log = run_many(space, truth, args.strategy, objectives, args.budget, seeds, args.report, params)
    with atomic_folder(args.out) as tmp:
        summary = write_results(tmp, log, truth, args.strategy, objectives, args.budget, args.report, params)
    for key, value in summary["figures"].items():
        print(f"{key:42s} {value}")
    print(f"outputs: {args.out}")
    return 0
