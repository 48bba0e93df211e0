"""``archbench tables``: the tables that ship inside archbench (list them, show one's card and path)."""

from __future__ import annotations

import argparse


def register_tables(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench tables list | show``."""
    p = sub.add_parser(
        "tables",
        help="tables shipped with archbench: list, show",
        description="Tables built by archbench and shipped in the package. Open one by name anywhere a table "
        "folder is accepted: open_table('nb201-fmnist'), archbench query nb201-fmnist ...",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="name, version, tasks, rows, size, build time").set_defaults(func=_list)
    show = actions.add_parser("show", help="print a shipped table's dataset card and folder")
    show.add_argument("name", help="NAME, NAME-X.Y.Z or NAME@X.Y.Z")
    show.set_defaults(func=_show)
    verify = actions.add_parser(
        "verify",
        help="recompute a sample of a table's records with this installation's code",
        description="Pick records (seeded), rebuild each from the manifest's protocol or recipe and run it "
        "again: bit-identical on the CPU model and thread count the table records, within a tolerance "
        "elsewhere. Exit 1 if any disagrees.",
    )
    verify.add_argument("name", help="shipped table name or table folder")
    verify.add_argument(
        "--per-metric", type=int, default=1, help="records per proxy metric and training runs (default: 1)"
    )
    verify.add_argument("--seed", type=int, default=0, help="which records (default: 0)")
    verify.add_argument("--metric", default=None, help="only these metrics (comma-separated)")
    verify.set_defaults(func=_verify)


def _list(args: argparse.Namespace) -> int:
    from benchmarks.storage.shipped import shipped_tables

    tables = shipped_tables()
    if not tables:
        print("no shipped tables in this installation")
        return 0
    print(f"{'name':<16} {'version':<8} {'tasks':<34} {'rows':>9} {'size':>9} {'build':>8}")
    for t in tables:
        wall = "" if t.build_wall_s is None else f"{t.build_wall_s / 60:.0f} min"
        print(
            f"{t.name:<16} {t.version:<8} {','.join(t.tasks):<34} {t.rows:>9,} "
            f"{t.bytes / 1e6:>7.1f}MB {wall:>8}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    from benchmarks.storage.shipped import resolve
    from benchmarks.storage.table import open_table

    table = open_table(resolve(args.name))  # verifies every file before anything is shown
    print((table.path / "README.md").read_text(), end="")
    print(f"\nfolder: {table.path}\ncontent id: {table.content_id}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from benchmarks.commands.args import CLIError
    from benchmarks.pipeline.reverify import comparable, pick_records, recompute
    from benchmarks.storage.table import open_table

    if args.per_metric < 1:
        raise CLIError(f"--per-metric must be >= 1, got {args.per_metric}")
    table = open_table(args.name)
    metrics = None if args.metric is None else [m for m in args.metric.split(",") if m]
    if metrics is not None:
        table.check_filters(metric=metrics)
    rows, left_out = comparable(table, pick_records(table, args.per_metric, args.seed, metrics))
    if left_out:
        print(left_out)
    checks = recompute(table, rows)
    mode = (
        "bit-identical expected" if checks and checks[0].exact_expected else "other CPU or threads: tolerance"
    )
    print(f"{len(checks)} values recomputed ({mode})")
    for c in checks:
        mark = "ok  " if c.agrees else "DIFF"
        print(
            f"{mark} {c.metric:<16} seed {c.seed} epoch {c.epoch:g}  recorded {c.recorded!r}  now {c.recomputed!r}  {c.arch}"
        )
    return 0 if all(c.agrees for c in checks) else 1
