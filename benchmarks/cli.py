"""The ``archbench`` command: a thin argparse root whose subcommands come from entry points.

Each package contributes its subcommands from its own ``cli.py`` through the entry-point group
``archbench.commands`` (a callable taking the subparsers object), so the root never imports a higher
layer. Heavy libraries are imported inside command bodies, so ``--help`` answers at once. Errors
print one line naming the problem and exit with status 2; nothing half-written is left behind.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

_BUILTIN_COMMANDS = {
    "spaces": "spaces.cli:register",
    "proxies": "proxies.cli:register",
    "build": "benchmarks.cli:register_build",
    "status": "benchmarks.cli:register_status",
    "query": "benchmarks.cli:register_query",
    "demo": "benchmarks.cli:register_demo",
    "import": "benchmarks.cli_evaluate:register_import",
    "proxies-evaluate": "benchmarks.cli_evaluate:register_proxies_evaluate",
    "proxies-sensitivity": "benchmarks.cli_evaluate:register_proxies_sensitivity",
    "profile": "benchmarks.cli_profile:register",
    "release": "benchmarks.cli_release:register_release",
    "export": "benchmarks.cli_release:register_export",
}


class CLIError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def _command_loaders() -> dict[str, str]:
    found = {ep.name: ep.value for ep in entry_points(group="archbench.commands")}
    return found or dict(_BUILTIN_COMMANDS)


def _load(target: str):
    import importlib

    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _one_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(text.split()) or type(exc).__name__


def make_parser() -> argparse.ArgumentParser:
    """The root parser with every registered subcommand."""
    from benchmarks.schema import archbench_version

    parser = argparse.ArgumentParser(
        prog="archbench",
        description="NAS benchmark tables: search spaces, zero-cost proxies, reduced training, rank correlations.",
    )
    parser.add_argument("--version", action="version", version=f"archbench {archbench_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for _name, target in sorted(_command_loaders().items()):
        _load(target)(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``archbench`` console script."""
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from benchmarks.journal import JournalError
    from benchmarks.store import TableError

    try:
        return int(args.func(args) or 0)
    except (CLIError, ValueError, KeyError, TypeError, OSError, TableError, JournalError) as exc:
        print(f"archbench {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"archbench {args.command}: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


# ---- shared argument helpers ------------------------------------------------------------------------
def int_list(text: str) -> tuple[int, ...]:
    """Parse ``"0,1,2"`` into integers (argparse type)."""
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def name_list(text: str) -> tuple[str, ...]:
    """Parse ``"a,b"`` into names (argparse type)."""
    return tuple(v.strip() for v in text.split(",") if v.strip())


def field_values(text: str) -> tuple[str, tuple[object, ...]]:
    """Parse ``"batch_size=16,128"`` into a protocol field and typed values (argparse type)."""
    field, sep, values = text.partition("=")
    if not sep or not values:
        raise argparse.ArgumentTypeError(f"expected FIELD=V1,V2, got {text!r}")

    def typed(value: str) -> object:
        return int(value) if value.lstrip("-").isdigit() else value

    return field.strip(), tuple(typed(v) for v in name_list(values))


def key_values(text: str) -> dict[str, int]:
    """Parse ``"C=8,N=1"`` into integer build options (argparse type)."""
    out = {}
    for item in name_list(text):
        key, sep, value = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"build option {key!r} needs an integer, got {value!r}"
            ) from None
    return out


# ---- archbench build ----------------------------------------------------------------------------------
def register_build(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench build``."""
    p = sub.add_parser("build", help="build a benchmark table (resumable)", description=_build_doc)
    p.add_argument("--space", default="nb201", help="search space (default: nb201)")
    p.add_argument("--task", default="mnist5k", help="task (default: mnist5k, the embedded data)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--sample", type=int, metavar="N", help="N architectures with distinct arch_ids, seeded"
    )
    which.add_argument(
        "--archs", type=Path, metavar="FILE", help="file with one architecture string per line"
    )
    which.add_argument(
        "--all-unique",
        action="store_true",
        help="every equivalence class once, on its representative (cost metrics for representatives only)",
    )
    which.add_argument(
        "--all",
        action="store_true",
        help="every cell of the space: functional metrics once per class, cost metrics per cell",
    )
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    p.add_argument("--proxies", type=name_list, default=(), help="comma-separated proxies, e.g. synflow,snip")
    p.add_argument("--proxy-seeds", type=int_list, default=(0,), help="seeds of the proxy runs (default: 0)")
    p.add_argument("--batch-size", type=int, default=64, help="proxy batch size (default: 64)")
    p.add_argument("--resolution", type=int, default=None, help="input resolution (default: the task's)")
    p.add_argument("--init", default="default", help="weight init scheme (default: the space's own)")
    p.add_argument("--bn-mode", default="train", choices=("train", "eval"), help="BatchNorm mode for proxies")
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
    p.add_argument(
        "--executor", default="local", help="where units run: local (process pool) or ray (default: local)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local worker processes (default: one per core, 1 thread each)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads per worker or Ray task (default: cores/workers; 1 on Ray)",
    )
    p.add_argument(
        "--address", default=None, help="Ray cluster to join: auto or HOST:PORT (default: start a local one)"
    )
    p.add_argument(
        "--num-gpus-per-unit",
        type=float,
        default=None,
        metavar="G",
        help="GPUs each --device cuda unit requests on Ray (default: 1)",
    )
    p.add_argument("--device", default="cpu", help="device the units run on: cpu or cuda (default: cpu)")
    p.add_argument("--out", type=Path, required=True, help="output folder (journal.sqlite + table/)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_build)


_build_doc = (
    "Build a table: proxies and/or reduced training over architectures of a space. Work is journaled in "
    "OUT/journal.sqlite (rerun the same command to resume) and released to OUT/table (Parquet + manifest)."
)


def _archs_for(args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The architectures to build and the further class members to list in the architectures table."""
    import numpy as np

    import spaces

    space = spaces.get(args.space)
    if args.archs is not None:
        if not args.archs.exists():
            raise FileNotFoundError(f"architecture file {args.archs} does not exist")
        parsed = []
        for number, raw in enumerate(args.archs.read_text().splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                parsed.append(space.parse(line).string)
            except ValueError as exc:
                raise CLIError(f"{args.archs}:{number}: {exc}") from None
        return tuple(dict.fromkeys(parsed)), ()
    if args.all or args.all_unique:
        try:
            cells = list(spaces.requires(space, spaces.EnumerableSpace, "--all / --all-unique").enumerate())
        except spaces.MissingCapability as exc:
            raise CLIError(str(exc)) from None
        strings = tuple(a.string for a in cells)
        if args.all:
            return strings, ()
        first: dict[str, str] = {}
        for a in cells:  # one representative look-up per class
            if a.arch_id not in first:
                first[a.arch_id] = space.representative(a).string
        return tuple(first.values()), strings
    if args.sample < 1:
        raise CLIError(f"--sample must be >= 1, got {args.sample}")
    return tuple(a.string for a in space.sample_unique(args.sample, np.random.default_rng(args.seed))), ()


def _build(args: argparse.Namespace) -> int:
    from benchmarks.build import BuildSpec, build
    from benchmarks.store import export
    from proxies.protocol import Protocol
    from proxies.training import Recipe

    if not args.proxies and not args.train_epochs:
        raise CLIError("nothing to build: give --proxies and/or --train-epochs")
    if args.derive:
        from benchmarks.derived import DERIVATIONS

        if not args.train_epochs:
            raise CLIError("--derive reads training curves: give --train-epochs too")
        for name in args.derive:
            DERIVATIONS.get(name)  # unknown names fail before any work
    fidelities = sorted(set(args.train_epochs))
    options = tuple(args.build_options.items())
    archs, members = _archs_for(args)
    spec = BuildSpec(
        space=args.space,
        task=args.task,
        archs=archs,
        members=members,
        proxies=args.proxies,
        protocol=Protocol(
            task=args.task,
            batch_size=args.batch_size,
            resolution=args.resolution,
            init=args.init,
            bn_mode=args.bn_mode,
            build=options,
        )
        if args.proxies
        else None,
        proxy_seeds=args.proxy_seeds,
        recipe=Recipe(
            task=args.task,
            epochs=fidelities[0],
            batch_size=args.train_batch_size,
            resolution=args.resolution,
            build=options,
        )
        if fidelities
        else None,
        train_seeds=args.train_seeds if fidelities else (),
        device=args.device,
    )
    specs = [spec]
    if args.vary:
        from dataclasses import replace

        from benchmarks.sensitivity import protocol_variants

        if spec.protocol is None:
            raise CLIError("--vary changes the proxy protocol: give --proxies too")
        variants = protocol_variants(spec.protocol, dict(args.vary))
        specs = [
            replace(
                spec,
                protocol=p,
                recipe=spec.recipe if i == 0 else None,
                train_seeds=spec.train_seeds if i == 0 else (),
            )
            for i, (_, p) in enumerate(variants)
        ]
        print(f"{len(variants)} protocols: " + ", ".join(label for label, _ in variants))
    if len(fidelities) > 1:  # one recipe per fidelity: the same schedule compressed to each budget
        from dataclasses import replace as _replace

        specs += [
            _replace(spec, proxies=(), protocol=None, recipe=spec.recipe.scaled(e)) for e in fidelities[1:]
        ]
    executor = _executor_for(args)
    ran = skipped = 0
    seconds = 0.0
    try:
        for i, one in enumerate(specs, start=1):
            label = f"build {i}/{len(specs)}" if len(specs) > 1 else "build"
            result = build(one, args.out / "journal.sqlite", executor, progress=not args.quiet, label=label)
            ran, skipped, seconds = ran + result.ran, skipped + result.skipped, seconds + result.seconds
    finally:
        close = getattr(executor, "close", None)
        if close is not None:
            close()
    if args.derive:
        from benchmarks.derived import derive, standard_derivations

        recipes = {s.recipe.hash: s.recipe.to_dict() for s in specs if s.recipe is not None}
        written = derive(result.journal, standard_derivations(recipes, args.derive))
        print(f"derived: {written or 'nothing new'}")
    table = export(result.journal, args.out / "table", overwrite=True)
    print(f"{ran} units run, {skipped} already done, {seconds:.1f} s; table: {table}")
    return 0


def _executor_for(args: argparse.Namespace):
    """The executor ``--executor`` names, with the options that apply to it."""
    from benchmarks.executors import EXECUTORS, make_executor

    if args.device not in ("cpu", "cuda") and not args.device.startswith("cuda:"):
        raise CLIError(f"--device must be cpu or cuda, got {args.device!r}")
    if args.executor not in EXECUTORS:
        raise CLIError(f"unknown executor {args.executor!r} (valid: {', '.join(EXECUTORS.names())})")
    if args.executor == "local":
        for flag, value in (("--address", args.address), ("--num-gpus-per-unit", args.num_gpus_per_unit)):
            if value is not None:
                raise CLIError(f"{flag} applies to --executor ray only")
        return make_executor("local", workers=args.workers, threads=args.threads)
    if args.executor == "ray" and args.workers is not None:
        raise CLIError(
            "--workers applies to --executor local; a Ray build runs as many tasks as the cluster fits"
        )
    options = {"threads": args.threads}
    if args.executor == "ray":
        options.update(address=args.address, num_gpus_per_unit=args.num_gpus_per_unit)
    return make_executor(args.executor, **options)


# ---- archbench status ---------------------------------------------------------------------------------
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

    from benchmarks.status import format_status, journal_status

    status = journal_status(args.out)
    print(json.dumps(status, indent=2) if args.json else format_status(status))
    return 0


# ---- archbench query ----------------------------------------------------------------------------------
def register_query(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench query``."""
    p = sub.add_parser("query", help="look up records in a table", description="Query a table folder.")
    p.add_argument("table", type=Path, help="table folder (with manifest.json)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--arch", help="architecture string")
    which.add_argument("--index", type=int, help="published index")
    which.add_argument("--arch-id", help="arch_id")
    p.add_argument("--metric", type=name_list, default=None, help="only these metrics (comma-separated)")
    p.add_argument("--task", default=None, help="only this task")
    p.add_argument("--status", default=None, help="only rows with this status")
    p.add_argument("--format", choices=("text", "csv", "json"), default="text", help="output format")
    p.add_argument("--limit", type=int, default=50, help="rows to show in text format (default: 50)")
    p.set_defaults(func=_query)


def _query(args: argparse.Namespace) -> int:
    from benchmarks.table import open_table

    table = open_table(args.table)
    conditions = {
        "metric": list(args.metric) if args.metric else None,
        "task": args.task,
        "status": args.status,
    }
    if args.arch is None and args.index is None and args.arch_id is None:
        if args.format == "text" and not any(conditions.values()):
            counts = table.records.groupby(["task", "metric", "status"]).size()
            print(f"{table}\n{counts.to_string()}")
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


# ---- archbench demo -------------------------------------------------------------------------------------
def register_demo(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench demo``."""
    from benchmarks.demo import DemoConfig

    d = DemoConfig()
    p = sub.add_parser(
        "demo",
        help="end-to-end demo on the embedded data (offline, minutes)",
        description="Sample NB201 cells, score proxies, reduced-train them with 2 seeds, "
        "build the table and print proxy-vs-accuracy rank correlations with 95%% intervals.",
    )
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder (default: runs/demo)")
    p.add_argument("--archs", type=int, default=d.num_archs, help=f"unique cells (default: {d.num_archs})")
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"training epochs (default: {d.epochs})")
    p.add_argument("--seeds", type=int_list, default=d.train_seeds, help="training seeds (default: 0,1)")
    p.add_argument("--workers", type=int, default=d.workers, help=f"worker processes (default: {d.workers})")
    p.add_argument("--seed", type=int, default=d.sample_seed, help="sampling seed (default: 0)")
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from benchmarks.demo import DemoConfig, run_demo

    config = DemoConfig(
        num_archs=args.archs,
        epochs=args.epochs,
        train_seeds=args.seeds,
        workers=args.workers,
        sample_seed=args.seed,
    )
    run_demo(config, args.out)
    return 0
