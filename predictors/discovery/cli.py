"""``archbench proxies discover`` (a GP search for a proxy) and ``archbench proxies transfer`` (a saved
expression on another table), registered under ``proxies`` through the ``archbench.commands`` group.

Bad input (an unknown table, target or protocol, a malformed budget, a bad expression file) is one line
and exit 2 through the root CLI. Heavy imports happen inside the command bodies.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from benchmarks.cli import CLIError

UNLIMITED = 10**9
"""The generation cap when only a wall-clock budget is given."""
_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$")


def budget_seconds(text: str) -> float:
    """``"45m"``, ``"1.5h"``, ``"600s"`` or ``"600"`` in seconds (argparse type; a clear error otherwise)."""
    m = _BUDGET.match(str(text))
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(
            f"budget must be a positive duration like 45m, 1h or 600s, got {text!r}"
        )
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench proxies discover`` and ``archbench proxies transfer``."""
    from benchmarks.commands.evaluate import _nested_actions

    actions = _nested_actions(sub, "proxies")
    p = actions.add_parser(
        "discover",
        help="search for a zero-cost proxy by genetic programming (EZNAS idea) on a table's ground truth",
        description="Gathers per-layer statistics of every truth class once (the table's proxy protocol), "
        "evolves expressions for Kendall tau-b on a frozen training split, and reports the best on the "
        "held-out classes beside the hand-made proxies and the vote. Rerunning the command resumes.",
    )
    p.add_argument("--table", required=True, help="table folder or shipped table name, e.g. nb201-fmnist")
    p.add_argument("--target", required=True, help="ground-truth metric, e.g. val_acc")
    p.add_argument("--task", default=None, help="task (default: the table's first)")
    p.add_argument(
        "--protocol", default=None, help="proxy protocol hash prefix (default: the table's only one)"
    )
    p.add_argument("--budget", type=budget_seconds, default=None, help="wall-clock search budget, e.g. 45m")
    p.add_argument("--generations", type=_positive, default=None, help="generation limit (default: none)")
    p.add_argument("--population", type=_positive, default=64, help="population size (default: 64)")
    p.add_argument("--seed", type=int, default=0, help="GP seed (default: 0)")
    p.add_argument("--test-size", type=_positive, default=100, help="held-out classes (default: 100)")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default: 1000)")
    p.add_argument("--out", type=Path, required=True, help="run folder (journal, cache, expression, report)")
    p.set_defaults(func=_discover)

    t = actions.add_parser(
        "transfer",
        help="a discovered expression on another table (held-out task) beside its proxies and the vote",
    )
    t.add_argument("expression", type=Path, help="expression.json written by proxies discover")
    t.add_argument("--table", required=True, help="table with the hand-made proxies")
    t.add_argument("--target", required=True, help="ground-truth metric")
    t.add_argument("--truth", default=None, help="another table holding the target (e.g. imported)")
    t.add_argument("--task", default=None, help="task (default: the table's first)")
    t.add_argument(
        "--protocol", default=None, help="proxy protocol hash prefix (default: the table's only one)"
    )
    t.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default: 1000)")
    t.add_argument("--out", type=Path, required=True, help="output folder")
    t.set_defaults(func=_transfer)


def _open(name: str):
    from benchmarks.table import open_table

    try:
        return open_table(name)
    except FileNotFoundError as exc:
        raise CLIError(f"no table {name!r} ({exc})") from exc


def _discover(args: argparse.Namespace) -> int:
    from predictors.discovery.run import discover
    from predictors.discovery.search import SearchConfig

    if args.budget is None and args.generations is None:
        raise CLIError("give --budget or --generations (the search needs an end)")
    table = _open(args.table)
    if args.target not in table.metrics:
        raise CLIError(f"table {args.table!r} has no metric {args.target!r}")
    config = SearchConfig(population=args.population, seed=args.seed)
    discover(
        table,
        args.target,
        args.out,
        config,
        args.generations or UNLIMITED,
        args.budget,
        args.task,
        args.protocol,
        args.test_size,
        args.n_boot,
        echo=lambda s: print(s, flush=True),
    )
    return 0


def _transfer(args: argparse.Namespace) -> int:
    from predictors.discovery.run import transfer

    if not args.expression.is_file():
        raise CLIError(f"no expression file {args.expression}")
    table = _open(args.table)
    truth = _open(args.truth) if args.truth else None
    transfer(
        args.expression,
        table,
        args.target,
        args.out,
        truth,
        args.task,
        args.protocol,
        args.n_boot,
        echo=lambda s: print(s, flush=True),
    )
    return 0
