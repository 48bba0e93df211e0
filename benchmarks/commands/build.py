"""``archbench build``: parse the arguments, then one call to :func:`benchmarks.pipeline.tables.build_table`."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.commands.args import (
    CLIError,
    add_executor_arguments,
    add_selection_arguments,
    executor_for,
    field_values,
    int_list,
    key_values,
    name_list,
    selection,
)


def register_build(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench build``."""
    p = sub.add_parser("build", help="build a benchmark table (resumable)", description=_build_doc)
    p.add_argument("--space", default="nb201", help="search space (default: nb201)")
    p.add_argument("--task", default="mnist5k", help="task (default: mnist5k, the embedded data)")
    add_selection_arguments(p)
    p.add_argument("--proxies", type=name_list, default=(), help="comma-separated proxies, e.g. synflow,snip")
    p.add_argument("--proxy-seeds", type=int_list, default=(0,), help="seeds of the proxy runs (default: 0)")
    p.add_argument("--batch-size", type=int, default=64, help="proxy batch size (default: 64)")
    p.add_argument("--resolution", type=int, default=None, help="input resolution (default: the task's)")
    p.add_argument("--init", default="default", help="weight init scheme (default: the space's own)")
    p.add_argument("--bn-mode", default="train", choices=("train", "eval"), help="BatchNorm mode for proxies")
    p.add_argument(
        "--input",
        default="data",
        choices=("data", "gaussian", "random"),
        help="proxy batches: a real train batch (data), N(0,1) inputs with real labels (gaussian), or N(0,1) "
        "inputs with uniform random labels, needing no data files (random; NASLib's random mode)",
    )
    p.add_argument("--build-options", type=key_values, default={}, help="network options, e.g. C=8,N=1")
    p.add_argument(
        "--vary",
        type=field_values,
        action="append",
        default=[],
        metavar="FIELD=V1,V2",
        help="also build protocol variants changing one field at a time (repeatable), e.g. bn_mode=eval",
    )
    p.add_argument(
        "--train-epochs",
        type=int_list,
        default=(),
        help="reduced-training budgets in epochs, one fidelity each, e.g. 1,4,12 (default: no training)",
    )
    p.add_argument(
        "--derive",
        type=name_list,
        default=(),
        help="curve metrics derived from every fidelity after training, e.g. sotl,sotl_e,extrap_pow3",
    )
    p.add_argument("--train-seeds", type=int_list, default=(0,), help="training seeds (default: 0)")
    p.add_argument(
        "--train-batch-size", type=int, default=256, help="training batch size (default: 256, NB201's)"
    )
    add_executor_arguments(
        p,
        workers_help="local worker processes (default: one per core, 1 thread each)",
        threads_help="torch threads per worker or Ray task (default: cores/workers; 1 on Ray)",
    )
    p.add_argument("--device", default="cpu", help="device the units run on: cpu or cuda (default: cpu)")
    p.add_argument("--out", type=Path, required=True, help="output folder (journal.sqlite + table/)")
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="compute again the units whose records failed with error or oom (nan/inf are results)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_build)


_build_doc = (
    "Build a table: proxies and/or reduced training over architectures of a space. Work is journaled in "
    "OUT/journal.sqlite (rerun the same command to resume) and released to OUT/table (Parquet + manifest)."
)


def _build(args: argparse.Namespace) -> int:
    from benchmarks.pipeline.specs import BuildSpec
    from benchmarks.pipeline.tables import build_table
    from proxies.protocol import Protocol
    from proxies.training import Recipe

    if not args.proxies and not args.train_epochs:
        raise CLIError("nothing to build: give --proxies and/or --train-epochs")
    if args.derive and not args.train_epochs:
        raise CLIError("--derive reads training curves: give --train-epochs too")
    if args.vary and not args.proxies:
        raise CLIError("--vary changes the proxy protocol: give --proxies too")
    fidelities = sorted(set(args.train_epochs))
    options = tuple(args.build_options.items())
    chosen = selection(args)
    protocol = recipe = None
    if args.proxies:
        protocol = Protocol(
            task=args.task,
            batch_size=args.batch_size,
            resolution=args.resolution,
            init=args.init,
            bn_mode=args.bn_mode,
            input=args.input,
            build=options,
        )
    if fidelities:
        recipe = Recipe(
            task=args.task,
            epochs=fidelities[0],
            batch_size=args.train_batch_size,
            resolution=args.resolution,
            build=options,
        )
    spec = BuildSpec(
        space=args.space,
        task=args.task,
        archs=chosen.archs,
        members=chosen.members,
        proxies=args.proxies,
        protocol=protocol,
        proxy_seeds=args.proxy_seeds,
        recipe=recipe,
        train_seeds=args.train_seeds if fidelities else (),
        device=args.device,
    )
    result = build_table(
        spec,
        args.out,
        fidelities=fidelities,
        vary=dict(args.vary),
        derive=args.derive,
        executor=lambda: executor_for(args),  # made once every setting is checked
        retry_failed=args.retry_failed,
        progress=not args.quiet,
        log=print,
    )
    print(
        f"{result.ran} units run, {result.skipped} already done, {result.seconds:.1f} s; table: {result.table}"
    )
    if result.failed:
        print(
            f"{result.failed} unit(s) hold error/oom records; rerun with --retry-failed to compute them again"
        )
    return 0
