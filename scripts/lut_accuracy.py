"""LUT latency-model accuracy on held-out NB201 cells, beside the measurement's own repeatability.

Profiles the NB201 building blocks and measures ``--fit`` cells (to fit the correction, whose groups
``--calibration auto`` chooses per batch by cross-validation on those cells alone)
and ``--cells`` other cells (to evaluate it) in ``--rounds`` interleaved rounds: each round profiles
every block, then every cell in a fresh random order, so slow drift of the machine's speed reaches
blocks, fit cells and held-out cells alike. Every entry is the ``--statistic`` (default ``min``) of
its rounds' medians. Prints nn-Meter's figures (share within +-10 %, RMSE, Spearman) per batch size,
and, for an even number of rounds, the *measurement ceiling*: how often two independent halves of
the rounds (even vs odd) agree within +-10 % on the held-out cells. Each half combines half the
rounds, so it is a conservative (noisier) stand-in for the full measurement's repeatability.
Writes ``OUT/lut.parquet`` and ``OUT/report.json`` (every block's and cell's rounds included), and
names the blocks whose rounds disagree by more than 1.5x (two speeds: the LUT keeps one of them).

    python scripts/lut_accuracy.py --batch 1,64 --cells 200 --fit 100 --rounds 4 --out runs/lut
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.commands.args import key_values
from hw_profiles.lut import GROUPINGS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="target (default: cpu)")
    p.add_argument("--dtype", default="float32")
    p.add_argument(
        "--batch", type=_batches, default="1,64", help="comma-separated batch sizes (default: 1,64)"
    )
    p.add_argument("--cells", type=int, default=200, help="held-out cells evaluated (default: 200)")
    p.add_argument("--fit", type=int, default=100, help="cells used to fit the correction (default: 100)")
    p.add_argument(
        "--calibration",
        default="auto",
        choices=("auto", *GROUPINGS),
        help="correction groups; auto: chosen per batch by 5-fold CV on the fit cells (default: auto)",
    )
    p.add_argument("--rounds", type=int, default=4, help="interleaved measurement rounds (default: 4)")
    p.add_argument(
        "--statistic", default="min", choices=("min", "median"), help="how rounds combine (default: min)"
    )
    p.add_argument("--space", default="nb201", help="a decomposable space (default: nb201)")
    p.add_argument("--C", type=int, default=16, help="NB201 width (default: 16)")
    p.add_argument("--N", type=int, default=5, help="NB201 cells per stage (default: 5)")
    p.add_argument(
        "--build-options",
        type=key_values,
        default=None,
        help="the space's build options K=V,... (default: C and N; e.g. width=0.25 for fbnet)",
    )
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--min-run-time", type=float, default=0.2, help="seconds timed per measurement")
    p.add_argument("--warmup", type=int, default=5, help="untimed runs before each measurement (default: 5)")
    p.add_argument("--repeats", type=int, default=10, help="minimum timed runs per measurement (default: 10)")
    p.add_argument("--seed", type=int, default=0, help="cell sampling and measuring-order seed")
    p.add_argument("--out", type=Path, default=Path("runs/lut"))
    return p


def _batches(text: str) -> tuple[int, ...]:
    try:
        found = tuple(int(b) for b in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated batch sizes, got {text!r}") from None
    if not found or min(found) < 1:
        raise argparse.ArgumentTypeError(f"batch sizes must be >= 1, got {text!r}")
    return found


def _scores(scores: dict[str, float] | None) -> str:
    if not scores:
        return ""
    return (
        " (CV RMS relative error on the fit cells: "
        + ", ".join(f"{k} {v:.4f}" for k, v in scores.items())
        + ")"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the LUT accuracy experiment and print one line per batch size."""
    parser = _parser()
    args = parser.parse_args(argv)

    import spaces
    from hw_profiles import get_target
    from hw_profiles.lut_study import UNSTEADY_ROUND_SPREAD, evaluate, measure_in_rounds, sample_split
    from hw_profiles.protocol import MeasurementProtocol

    try:
        space = spaces.get(args.space)
        protocol = MeasurementProtocol(
            task="cifar10",
            target=args.device,
            dtype=args.dtype,
            batch_sizes=args.batch,
            resolution=args.resolution,
            threads=args.threads,
            min_run_time=args.min_run_time,
            warmup=args.warmup,
            repeats=args.repeats,
            metrics=("latency",),
            build=args.build_options if args.build_options is not None else {"C": args.C, "N": args.N},
            rounds=args.rounds,
        )
        rng = np.random.default_rng(args.seed)
        split = sample_split(space, args.fit, args.cells, rng, args.calibration)
    except ValueError as exc:  # impossible settings: one line, exit 2
        parser.error(str(exc))
    start = time.perf_counter()

    def done(r: int) -> None:
        print(f"round {r + 1}/{args.rounds} done at {time.perf_counter() - start:.0f} s", flush=True)

    measured = measure_in_rounds(space, split.cells, protocol, rng, done)
    lut, reports = evaluate(space, measured, split.fit, split.held_out, args.statistic, args.calibration)
    report = {
        "device": get_target(protocol.target).device(protocol.threads).to_dict(),  # allocator included
        "protocol": protocol.to_dict(),
        "protocol_hash": protocol.hash,
        "rounds": args.rounds,
        "statistic": args.statistic,
        "batches": {str(b): r for b, r in reports.items()},
    }
    for batch, found in reports.items():
        acc, raw, ceiling = found["corrected"], found["uncorrected"], found["measurement_ceiling"]
        repeat = (
            f"; the measurement's own halves agree within ±10% on {ceiling['within']:.1%}" if ceiling else ""
        )
        print(
            f"batch {batch}: {acc['within']:.1%} within ±10% ({int(acc['n'])} held-out cells), "
            f"RMSE {acc['rmse_ms']:.3f} ms, Spearman {acc['spearman']:.3f}{repeat}; uncorrected sum: "
            f"{raw['within']:.1%} within ±10%, Spearman {raw['spearman']:.3f}; "
            f"calibration {found['calibration']}{_scores(found['cv_rms_relative_error'])}: "
            + ", ".join(f"{k} {v:.3f}" for k, v in found["coefficients"].items()),
            flush=True,
        )
        unsteady = [f"{b['key']} {b['round_spread']:.2f}x" for b in found["blocks"] if b["unsteady"]]
        if unsteady:
            print(
                f"batch {batch}: blocks whose slowest round took > {UNSTEADY_ROUND_SPREAD}x their fastest "
                f"(the LUT keeps the {args.statistic}): " + ", ".join(unsteady),
                flush=True,
            )
    args.out.mkdir(parents=True, exist_ok=True)
    lut.save(args.out / "lut.parquet")
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"total {time.perf_counter() - start:.1f} s; wrote {args.out}/lut.parquet and report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
