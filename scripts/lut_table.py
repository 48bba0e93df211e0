"""Fit a LUT latency model on a measured profile table and write its predictions for every cell as a table.

Measures the space's blocks under the profile's own measurement protocol (one LUT per round of the
profile, min of the rounds), fits the calibration on ``--fit`` of the profiled architectures, judges it
on all the others (nn-Meter's share within +-10 %, RMSE, Spearman, beside the even-vs-odd-rounds
ceiling) and writes ``lut_latency_b<B>`` for every architecture of the space, marked predicted, to
``OUT/table`` (``OUT/lut.parquet`` and ``OUT/report.json`` beside it). See :mod:`hw_profiles.lut_table`.

    python scripts/lut_table.py runs/hw-cpu/table --fit 100 --out runs/hw-cpu-lut
    archbench release runs/hw-cpu runs/hw-cpu-lut --name my-cpu --version 1.0.0 --out releases
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hw_profiles.lut import GROUPINGS


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, build the LUT table and print its held-out figures."""
    from hw_profiles.lut_table import write_lut_table

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("profile", type=Path, help="a profile table (archbench profile's OUT/table)")
    p.add_argument("--fit", type=int, default=100, help="profiled architectures the calibration is fitted on")
    p.add_argument("--seed", type=int, default=0, help="seed of the fit / held-out split (default: 0)")
    p.add_argument("--calibration", default="auto", choices=("auto", *GROUPINGS))
    p.add_argument("--out", type=Path, required=True, help="new folder")
    args = p.parse_args(argv)
    start = time.perf_counter()
    try:
        folder, reports = write_lut_table(
            args.profile, args.out, n_fit=args.fit, seed=args.seed, calibration=args.calibration
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"lut_table: error: {exc}", file=sys.stderr)
        return 2
    for batch, report in reports.items():
        c, u, ceiling = report["corrected"], report["uncorrected"], report["measurement_ceiling"]
        print(
            f"batch {batch}: {report['calibration']}; held-out {int(c['n'])}: within +-10 % {c['within']:.1%}, "
            f"RMSE {c['rmse_ms']:.3f} ms, Spearman {c['spearman']:.3f} (raw sum: {u['within']:.1%}, "
            f"{u['spearman']:.3f})" + (f"; halves ceiling {ceiling['within']:.1%}" if ceiling else "")
        )
    print(f"table: {folder} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
