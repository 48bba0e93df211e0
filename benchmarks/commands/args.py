"""Argument helpers every ``archbench`` subcommand shares: one-line errors, list parsers, executor flags."""

from __future__ import annotations

import argparse
import math
from typing import Any


class CLIError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


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


def key_values(text: str) -> dict[str, int | float]:
    """Parse ``"C=8,N=1"`` or ``"width=0.25"`` into numeric build options (argparse type).

    A value is an integer where it reads as one, else a finite float (e.g. a width multiplier).
    """
    out: dict[str, int | float] = {}
    for item in name_list(text):
        key, sep, value = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = int(value)
            continue
        except ValueError:
            pass
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise argparse.ArgumentTypeError(f"build option {key!r} needs a number, got {value!r}")
        out[key.strip()] = number
    return out


def add_selection_arguments(p: argparse.ArgumentParser, all_unique: bool = True) -> None:
    """Add the ways to choose architectures (``--sample N``, ``--stratified N``, ``--archs FILE``, ``--all``, and with
    ``all_unique`` ``--all-unique``) and ``--seed``; :func:`selection` reads them."""
    from pathlib import Path

    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--sample", type=int, metavar="N", help="N architectures with distinct arch_ids, seeded"
    )
    which.add_argument(
        "--archs", type=Path, metavar="FILE", help="file with one architecture string per line"
    )
    which.add_argument(
        "--stratified",
        type=int,
        metavar="N",
        help="N class representatives, seeded, in proportion to the space's strata of live-op mix",
    )
    if all_unique:
        which.add_argument(
            "--all-unique",
            action="store_true",
            help="every equivalence class once, on its representative (cost metrics for representatives only)",
        )
    which.add_argument(
        "--all",
        action="store_true",
        help="every cell of the space"
        + (": functional metrics once per class, cost metrics per cell" if all_unique else ""),
    )
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    p.add_argument(
        "--keep",
        type=Path,
        metavar="FILE",
        help="with --stratified N: grow this architecture file's sample (its classes stay, each stratum "
        "topped up to its share of N; its finished units are reused)",
    )


def selection(args: argparse.Namespace) -> Any:
    """The :class:`~benchmarks.pipeline.select.Selection` the arguments of :func:`add_selection_arguments` name."""
    from benchmarks.pipeline.select import select_architectures

    return select_architectures(
        args.space,
        archs_file=args.archs,
        sample=args.sample,
        seed=args.seed,
        all_cells=args.all,
        all_unique=getattr(args, "all_unique", False),
        stratified=args.stratified,
        keep=getattr(args, "keep", None),
    )


def add_executor_arguments(p: argparse.ArgumentParser, workers_help: str, threads_help: str) -> None:
    """Add ``--executor``, ``--workers``, ``--threads``, ``--address`` and ``--num-gpus-per-unit``."""
    p.add_argument(
        "--executor", default="local", help="where units run: local (process pool) or ray (default: local)"
    )
    p.add_argument("--workers", type=int, default=None, help=workers_help)
    p.add_argument("--threads", type=int, default=None, help=threads_help)
    p.add_argument(
        "--address", default=None, help="Ray cluster to join: auto or HOST:PORT (default: start a local one)"
    )
    p.add_argument(
        "--num-gpus-per-unit",
        type=float,
        default=None,
        metavar="G",
        help="GPUs each cuda unit requests on Ray (default: 1)",
    )


def executor_for(args: argparse.Namespace, workers: int | None = None, threads: int | None = None) -> Any:
    """The executor ``--executor`` names, with the options that apply to it.

    ``workers`` and ``threads`` stand in for ``--workers`` and ``--threads`` when those are not given.
    """
    from benchmarks.pipeline.executors import EXECUTORS, make_executor

    if args.executor not in EXECUTORS:
        raise CLIError(f"unknown executor {args.executor!r} (valid: {', '.join(EXECUTORS.names())})")
    threads = args.threads if args.threads is not None else threads
    if args.executor == "local":
        for flag, value in (("--address", args.address), ("--num-gpus-per-unit", args.num_gpus_per_unit)):
            if value is not None:
                raise CLIError(f"{flag} applies to --executor ray only")
        chosen = args.workers if args.workers is not None else workers
        return make_executor("local", workers=chosen, threads=threads)
    if args.workers is not None:
        raise CLIError(
            "--workers applies to --executor local; a Ray build runs as many tasks as the cluster fits"
        )
    options: dict[str, Any] = {"threads": threads}
    if args.executor == "ray":
        options.update(address=args.address, num_gpus_per_unit=args.num_gpus_per_unit)
    return make_executor(args.executor, **options)
