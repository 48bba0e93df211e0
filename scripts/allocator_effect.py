"""How much the C allocator's settings move NB201 cell latency on the cpu target.

glibc reads its ``MALLOC_*`` variables once at start-up, so every setting is measured in a fresh
child process. Each child builds one all-``op`` cell network per op (and one mixed cell), measures
them in ``--rounds`` interleaved rounds at each batch size and keeps the min of the round medians.
Prints one line per cell and batch size: milliseconds under each setting and the ratio to the
first (the default allocator). Writes ``OUT/allocator_effect.json`` when ``--out`` is given.

    python scripts/allocator_effect.py --batch 1,64 --rounds 3 --out runs/allocator
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from lut_accuracy import _batches  # the same --batch parsing (scripts/ is on sys.path)

# Raising both thresholds keeps freed batch-64 buffers (4 MB each) in the heap instead of
# returning them to the OS with munmap/trim and faulting them in again on the next call.
SETTINGS: dict[str, dict[str, str]] = {
    "default": {},
    "no_trim": {"MALLOC_MMAP_THRESHOLD_": "4294967296", "MALLOC_TRIM_THRESHOLD_": "4294967296"},
}
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
MIXED = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def cells() -> dict[str, str]:
    """The measured cells by name: one with every edge ``op`` per op, and one mixed cell."""
    out = {op: f"|{op}~0|+|{op}~0|{op}~1|+|{op}~0|{op}~1|{op}~2|" for op in OPS}
    out["mixed"] = MIXED
    return out


def measure(batches: list[int], rounds: int, C: int = 16, N: int = 5) -> dict:
    """Min-of-round-medians latency (ms) of every cell at each batch size, in this process."""
    import spaces
    from hw_profiles.device import allocator_settings
    from hw_profiles.profile import build_network, example_input, profile_module
    from hw_profiles.protocol import MeasurementProtocol
    from spaces.tasks import get_task

    space = spaces.get("nb201")
    result: dict = {"allocator": dict(allocator_settings()), "ms": {}}
    for batch in batches:
        protocol = MeasurementProtocol(
            task="cifar10",
            batch_sizes=(batch,),
            resolution=32,
            build={"C": C, "N": N},
            metrics=("latency",),
            warmup=2,
            repeats=5,
        )
        example = example_input(get_task("cifar10"), batch, 32)
        models = {k: build_network(space, space.parse(v), protocol) for k, v in cells().items()}
        found: dict[str, list[float]] = {k: [] for k in models}
        for _ in range(rounds):
            for name, model in models.items():
                found[name].append(profile_module(model, example, protocol)[0].value)
        result["ms"][str(batch)] = {k: min(v) for k, v in found.items()}
    return result


def main(argv: list[str] | None = None) -> int:
    """Measure every setting in its own child process and print the comparison."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=_batches, default="1,64", help="comma-separated (default: 1,64)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds per setting (default: 3)")
    p.add_argument("--C", type=int, default=16, help="cell channels (default: 16, as published)")
    p.add_argument("--N", type=int, default=5, help="cells per stage (default: 5, as published)")
    p.add_argument("--out", type=Path, help="folder for allocator_effect.json")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for name in ("rounds", "C", "N"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.child:
        print(json.dumps(measure(args.batch, args.rounds, args.C, args.N)))
        return 0
    runs = {}
    for name, extra in SETTINGS.items():
        env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | extra
        command = [sys.executable, __file__, "--child", "--rounds", str(args.rounds)]
        command += ["--C", str(args.C), "--N", str(args.N)]
        command += ["--batch", ",".join(map(str, args.batch))]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode:
            print(f"setting {name!r} failed: {done.stderr.strip().splitlines()[-1]}", file=sys.stderr)
            return 1
        runs[name] = json.loads(done.stdout.strip().splitlines()[-1])
    first = next(iter(SETTINGS))
    for batch in map(str, args.batch):
        for cell in cells():
            base = runs[first]["ms"][batch][cell]
            parts = [
                f"{n} {r['ms'][batch][cell]:8.2f} ms ({r['ms'][batch][cell] / base:.2f}x)"
                for n, r in runs.items()
            ]
            print(f"batch {batch:>3} {cell:<13} " + "  ".join(parts))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "allocator_effect.json").write_text(json.dumps(runs, indent=1))
        print(f"wrote {args.out / 'allocator_effect.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
