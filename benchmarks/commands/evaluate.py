"""``archbench proxies evaluate`` and ``archbench import accuracies``: reports and importers on the CLI.

``evaluate`` hangs under the ``proxies`` command that ``proxies/cli.py`` defines, but lives here:
correlation reports belong to ``benchmarks``, which ``proxies`` must not import.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.commands.args import CLIError, name_list


def _nested_actions(sub: argparse._SubParsersAction, command: str) -> argparse._SubParsersAction:
    parser = sub.choices.get(command)
    if parser is None:
        raise RuntimeError(f"command {command!r} must be registered before its extensions")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError(f"command {command!r} has no sub-actions to extend")


def _report_arguments(p: argparse.ArgumentParser, n_boot: int) -> None:
    p.add_argument(
        "--table",
        type=Path,
        required=True,
        help="table folder or shipped table name (e.g. nb201-fmnist) with the proxy values",
    )
    p.add_argument("--target", required=True, help="ground-truth metric, e.g. val_acc")
    p.add_argument(
        "--truth", type=Path, default=None, help="another table holding the target (e.g. imported)"
    )
    p.add_argument("--proxies", type=name_list, default=None, help="proxies to report (default: all)")
    p.add_argument("--n-boot", type=int, default=n_boot, help=f"bootstrap resamples (default: {n_boot})")
    p.add_argument("--out", type=Path, required=True, help="folder for the report files")


def _open_inputs(args: argparse.Namespace, with_target_fidelities: bool = False):
    """The proxy table, the truth table (or None) and the proxies to report.

    By default every proxy of the table; ``with_target_fidelities`` adds the target itself, so its
    lower fidelities in the table are reported as proxies (``proxies evaluate``).
    """
    from benchmarks.analysis.report import default_proxies, report_proxies
    from benchmarks.storage.table import open_table

    table = open_table(args.table)
    truth = open_table(args.truth) if args.truth else None
    if args.proxies:
        proxies = list(args.proxies)
    elif with_target_fidelities:
        proxies = report_proxies(table, args.target, truth)
    else:
        proxies = default_proxies(table, args.target)
    unknown = sorted(set(proxies) - set(table.records["metric"]))
    if unknown:
        raise CLIError(f"proxies {unknown} have no records in {args.table}")
    return table, truth, proxies


def register_proxies_evaluate(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench proxies evaluate``."""
    p = _nested_actions(sub, "proxies").add_parser(
        "evaluate",
        help="rank correlations of proxies with a ground truth (Markdown + HTML + PNG)",
        description="Spearman, Kendall tau-b and top-1/5/10%% precision of every proxy against a target metric, "
        "over unique non-degenerate arch_ids, with bootstrap 95%% intervals and the noise ceiling of the seed-combined target.",
    )
    _report_arguments(p, n_boot=1000)
    p.add_argument("--task", type=name_list, default=None, help="tasks to report (default: all of the table)")
    p.set_defaults(func=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    import pandas as pd

    from benchmarks.analysis.render import write_report
    from benchmarks.analysis.report import correlation_report, points, to_markdown

    table, truth, proxies = _open_inputs(args, with_target_fidelities=True)
    tasks = list(args.task) if args.task else sorted(table.records["task"].unique())
    reports, plotted = [], []
    for task in tasks:
        reports.append(correlation_report(table, args.target, task, proxies, n_boot=args.n_boot, truth=truth))
        plotted.append(points(table, args.target, task, proxies, truth))
    report, pts = pd.concat(reports, ignore_index=True), pd.concat(plotted, ignore_index=True)
    header = f"table: {args.table}\ntarget: {args.target}" + (f" from {args.truth}" if args.truth else "")
    paths = write_report(report, pts, args.out, header=header)
    print(to_markdown(report), end="")
    print("outputs: " + "  ".join(f"{k} {v}" for k, v in paths.items()))
    return 0


def register_proxies_sensitivity(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench proxies sensitivity``."""
    p = _nested_actions(sub, "proxies").add_parser(
        "sensitivity",
        help="how proxy rankings move with the protocol (batch, BN mode, init, input, seeds)",
        description="On a table built with several protocols (archbench build --vary ...): per proxy and protocol, "
        "Kendall tau-b with the target, the proxy's rank agreement with itself under the base protocol, and "
        "seed-to-seed stability.",
    )
    _report_arguments(p, n_boot=500)
    p.add_argument("--task", default=None, help="task (default: the table's first)")
    p.add_argument("--base", default=None, help="base protocol hash prefix (default: the design's centre)")
    p.set_defaults(func=_sensitivity)


def _sensitivity(args: argparse.Namespace) -> int:
    from benchmarks.analysis.sensitivity import sensitivity_report, to_markdown

    table, truth, proxies = _open_inputs(args)
    task = args.task or str(table.records["task"].iloc[0])
    frames = sensitivity_report(
        table, args.target, task, proxies, truth=truth, base=args.base, n_boot=args.n_boot
    )
    args.out.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_parquet(args.out / f"sensitivity_{name}.parquet", index=False)
    text = to_markdown(frames)
    (args.out / "sensitivity.md").write_text(
        f"# Protocol sensitivity: {args.table}, target {args.target}\n\n{text}"
    )
    print(text, end="")
    print(f"outputs: {args.out / 'sensitivity.md'} and sensitivity_*.parquet")
    return 0


def register_import(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench import``."""
    p = sub.add_parser(
        "import",
        help="import tables you hold (accuracies, zero-cost JSON, hardware tables)",
        description="Import external tables into archbench tables (Parquet + manifest).",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    acc = actions.add_parser("accuracies", help="accuracies keyed by architecture string or published index")
    acc.add_argument("file", type=Path, help="CSV or Parquet file")
    acc.add_argument("--space", default="nb201", help="search space (default: nb201)")
    acc.add_argument("--task", required=True, help="task the accuracies are for, e.g. cifar10")
    acc.add_argument("--key-column", required=True, help="column holding the arch string or index")
    acc.add_argument("--key", choices=("arch", "index"), default="arch", help="what the key column holds")
    acc.add_argument("--value-column", required=True, help="column holding the accuracy")
    acc.add_argument("--metric", required=True, help="metric name to store, e.g. test_acc_200ep")
    acc.add_argument(
        "--fidelity", type=int, default=200, help="training epochs behind the values (default: 200)"
    )
    acc.add_argument("--unit", default="%", help="unit of the values (default: %%)")
    acc.add_argument("--seed-column", default=None, help="column with the training seed, if any")
    acc.add_argument("--out", type=Path, required=True, help="new folder for journal.sqlite and table/")
    acc.set_defaults(func=_import_accuracies)
    from benchmarks.commands.release import register_import_formats

    register_import_formats(actions)


def _import_accuracies(args: argparse.Namespace) -> int:
    from benchmarks.published.importers import AccuracyImport, import_accuracies

    spec = AccuracyImport(
        space=args.space,
        task=args.task,
        metric=args.metric,
        key_column=args.key_column,
        value_column=args.value_column,
        key=args.key,
        fidelity=args.fidelity,
        unit=args.unit,
        seed_column=args.seed_column,
    )
    print(f"imported {args.file} -> {import_accuracies(args.file, spec, args.out)}")
    return 0
