"""``archbench profile``: latency / memory / energy tables of architectures on a hardware target."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.commands.args import (
    add_executor_arguments,
    add_selection_arguments,
    executor_for,
    int_list,
    key_values,
    name_list,
    selection,
)

_DOC = (
    "Profile architectures on a hardware target (latency median/IQR/p90/CV, peak memory, energy or "
    "'unavailable') at every batch size. Work is journaled in OUT/journal.sqlite (rerun the same command "
    "to resume) and released to OUT/table (Parquet + manifest with the measurement protocol and device)."
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench profile``."""
    p = sub.add_parser(
        "profile", help="profile latency/memory/energy on a device (resumable)", description=_DOC
    )
    p.add_argument("--space", default="nb201", help="search space (default: nb201)")
    p.add_argument("--task", default="cifar10", help="task the networks are built for (default: cifar10)")
    p.add_argument(
        "--device", default="cpu", help="target: cpu, cuda, onnxruntime-cpu or a plugin (default: cpu)"
    )
    p.add_argument(
        "--dtype", default="float32", help="float32, bfloat16, float16 or int8 (dynamic quantisation)"
    )
    p.add_argument("--batch", type=int_list, default=(1,), help="comma-separated batch sizes (default: 1)")
    add_selection_arguments(p, all_unique=False)
    p.add_argument("--resolution", type=int, default=None, help="input resolution (default: the task's)")
    p.add_argument("--build-options", type=key_values, default={}, help="network options, e.g. C=8,N=1")
    p.add_argument("--warmup", type=int, default=5, help="untimed warm-up calls (default: 5)")
    p.add_argument("--repeats", type=int, default=10, help="minimum timing samples (default: 10)")
    p.add_argument("--min-run-time", type=float, default=0.2, help="seconds timed per attempt (default: 0.2)")
    p.add_argument(
        "--cv-threshold", type=float, default=0.1, help="CV above which to re-measure (default: 0.1)"
    )
    p.add_argument("--max-remeasures", type=int, default=2, help="re-measures before flagging (default: 2)")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="interleaved measurement rounds; the table takes each latency's and energy's min over "
        "rounds (default: 1; 4 makes batch-1 CPU latencies repeatable, see docs/hw_profiles.md)",
    )
    p.add_argument("--energy-seconds", type=float, default=0.5, help="energy counter window (default: 0.5)")
    p.add_argument(
        "--metrics", type=name_list, default=("latency", "memory", "energy"), help="latency,memory,energy"
    )
    add_executor_arguments(
        p,
        workers_help="local worker processes (default 1: parallel runs disturb timings)",
        threads_help="backend intra-op threads per unit, also each Ray task's CPU request (default: 1)",
    )
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="measure again the units whose records failed with error or oom",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder (journal.sqlite + table/)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_profile)


def _profile(args: argparse.Namespace) -> int:
    from benchmarks.pipeline.tables import profile_table
    from hw_profiles.protocol import MeasurementProtocol

    threads = 1 if args.threads is None else args.threads
    protocol = MeasurementProtocol(
        task=args.task,
        target=args.device,
        dtype=args.dtype,
        batch_sizes=args.batch,
        resolution=args.resolution,
        threads=threads,
        warmup=args.warmup,
        repeats=args.repeats,
        min_run_time=args.min_run_time,
        cv_threshold=args.cv_threshold,
        max_remeasures=args.max_remeasures,
        energy_seconds=args.energy_seconds,
        rounds=args.rounds,
        metrics=args.metrics,
        build=tuple(args.build_options.items()),
    )
    chosen = selection(args)

    def make() -> object:
        return executor_for(args, workers=1, threads=threads)

    # A local pool is made at once (its worker and thread checks come first, as they always have);
    # a Ray cluster starts only once every setting is checked.
    result = profile_table(
        args.space,
        chosen.archs,
        protocol,
        args.out,
        make() if args.executor == "local" else make,
        progress=not args.quiet,
        retry_failed=args.retry_failed,
    )
    print(
        f"{result.ran} units run, {result.skipped} already done, {result.seconds:.1f} s; "
        f"table: {args.out / 'table'} (protocol {protocol.hash[:12]})"
    )
    return 0
