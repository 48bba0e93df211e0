"""A small build on every registered space: proxies, one reduced-training fidelity and CPU latency.

Each space builds at its card's tiny fixture (task, build options, resolution), two sampled
architectures, through the same CLI a user runs (``archbench build`` and ``archbench profile``), and
prints one line per space with the statuses and wall times. Usage:

    python scripts/smoke_spaces.py --out runs/smoke [--spaces nb201,gpt]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

PROXIES = "params,flops,model_bytes,snip,grad_norm,synflow,nwot"


def _options(build: tuple[tuple[str, object], ...]) -> list[str]:
    if not build:
        return []
    return ["--build-options", ",".join(f"{k}={int(v) if isinstance(v, bool) else v}" for k, v in build)]


def main(argv: list[str] | None = None) -> int:
    """Build and profile every space (or ``--spaces``); exit 1 if any command failed."""
    import spaces
    from benchmarks.cli import main as archbench
    from benchmarks.storage.table import open_table

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--spaces", default=None, help="comma-separated (default: every registered space)")
    args = p.parse_args(argv)
    names = args.spaces.split(",") if args.spaces else spaces.list_spaces()
    failed = 0
    for name in names:
        fixtures = spaces.SPACES.get(name).card.fixtures
        common = ["--space", name, "--task", fixtures.task, "--sample", "2", *_options(fixtures.build)]
        if fixtures.resolution:
            common += ["--resolution", str(fixtures.resolution)]
        start = time.perf_counter()
        build = ["build", *common, "--proxies", PROXIES, "--batch-size", "8", "--train-epochs", "1"]
        code_b = archbench([*build, "--workers", "1", "--out", str(args.out / name / "build")])
        built = time.perf_counter() - start
        code_p = archbench(["profile", *common, "--out", str(args.out / name / "profile")])
        statuses = ""
        if code_b == 0:
            records = open_table(args.out / name / "build" / "table").records
            statuses = ", ".join(f"{k} {v}" for k, v in records["status"].value_counts().items())
        failed += code_b != 0 or code_p != 0
        print(
            f"SMOKE {name}: build exit {code_b} ({built:.0f} s; {statuses}), profile exit {code_p} "
            f"({time.perf_counter() - start - built:.0f} s)",
            flush=True,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
