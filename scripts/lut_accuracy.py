"""LUT latency-model accuracy on held-out NB201 cells (issue 6; rerun on a quiet machine).

Profiles the NB201 building blocks once per batch size, measures ``--fit`` cells to fit the
per-network correction and ``--cells`` other cells to evaluate it, and prints nn-Meter's figures
(share within +-10 %, RMSE, Spearman) per batch size. Writes ``OUT/lut.parquet`` and ``OUT/report.json``.

    python scripts/lut_accuracy.py --batch 1,64 --cells 200 --fit 40 --out runs/lut
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    """Run the LUT accuracy experiment and print one line per batch size."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="target (default: cpu)")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--batch", default="1,64", help="comma-separated batch sizes (default: 1,64)")
    p.add_argument("--cells", type=int, default=200, help="held-out cells evaluated (default: 200)")
    p.add_argument("--fit", type=int, default=40, help="cells used to fit the correction (default: 40)")
    p.add_argument("--C", type=int, default=16)
    p.add_argument("--N", type=int, default=5)
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--min-run-time", type=float, default=0.2, help="seconds timed per measurement")
    p.add_argument("--seed", type=int, default=0, help="cell sampling seed")
    p.add_argument("--out", type=Path, default=Path("runs/lut"))
    args = p.parse_args(argv)

    import spaces
    from hw_profiles.lut import CALIBRATED_OPS, accuracy, profile_lut
    from hw_profiles.profile import build_network, example_input, profile_module
    from hw_profiles.protocol import MeasurementProtocol
    from spaces.tasks import get_task

    batches = tuple(int(b) for b in args.batch.split(","))
    protocol = MeasurementProtocol(
        task="cifar10",
        target=args.device,
        dtype=args.dtype,
        batch_sizes=batches,
        resolution=args.resolution,
        threads=args.threads,
        min_run_time=args.min_run_time,
        metrics=("latency",),
        build={"C": args.C, "N": args.N},
    )
    space = spaces.get("nb201")
    rng = np.random.default_rng(args.seed)
    cells: dict[str, object] = {}
    while len(cells) < args.fit + args.cells:  # distinct concrete cells (latency is per concrete cell)
        arch = space.sample(rng)
        cells.setdefault(arch.string, arch)
    archs = list(cells.values())
    # Fit cells are spread evenly over the measuring order, so slow drift of the machine's speed
    # affects the calibration and the held-out cells alike.
    step = len(archs) / args.fit
    fit_positions = {int(i * step) for i in range(args.fit)}
    fit = [a for i, a in enumerate(archs) if i in fit_positions]
    held_out = [a for i, a in enumerate(archs) if i not in fit_positions]
    start = time.perf_counter()
    lut = profile_lut(protocol)
    print(f"LUT: {len(lut.rows)} entries in {time.perf_counter() - start:.1f} s", flush=True)
    report = {"protocol": protocol.to_dict(), "protocol_hash": protocol.hash, "batches": {}}
    task = get_task("cifar10")
    for batch in batches:
        one = protocol.with_batch(batch)
        measured = {}
        for i, arch in enumerate(archs):
            model = build_network(space, arch, one)
            lat = profile_module(model, example_input(task, batch, args.resolution), one)[0]
            measured[arch.string] = lat.value if lat.status == "ok" else float("nan")
            if (i + 1) % 25 == 0:
                print(f"  batch {batch}: {i + 1}/{len(archs)} cells measured", flush=True)
        ops = {a.string: space.ops_of(a) for a in archs}
        coef = lut.fit([ops[x.string] for x in fit], [measured[x.string] for x in fit], batch)
        pred = [lut.predict(ops[x.string], batch) for x in held_out]
        meas = [measured[x.string] for x in held_out]
        raw = accuracy([lut.raw(ops[x.string], batch) for x in held_out], meas)
        acc = accuracy(pred, meas)
        report["batches"][str(batch)] = {
            "calibration": dict(zip([*CALIBRATED_OPS, "intercept_ms"], coef)),
            "corrected": acc,
            "uncorrected": raw,
            "cells": [
                {
                    "arch": x.string,
                    "fit": i < len(fit),
                    "measured_ms": measured[x.string],
                    "predicted_ms": lut.predict(ops[x.string], batch),
                }
                for i, x in enumerate(archs)
            ],
        }
        print(
            f"batch {batch}: {acc['within']:.1%} within ±10% ({int(acc['n'])} held-out cells), "
            f"RMSE {acc['rmse_ms']:.3f} ms, Spearman {acc['spearman']:.3f}; calibration "
            + ", ".join(f"{k} {v:.3f}" for k, v in zip([*CALIBRATED_OPS, "intercept_ms"], coef))
            + "; "
            f"uncorrected sum: {raw['within']:.1%} within ±10%, Spearman {raw['spearman']:.3f}",
            flush=True,
        )
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.mkdir(parents=True, exist_ok=True)
    lut.save(args.out / "lut.parquet")
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"total {time.perf_counter() - start:.1f} s; wrote {args.out}/lut.parquet and report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
