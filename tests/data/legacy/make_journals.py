"""Write the journals of ``tests/test_legacy_journals.py`` with archbench at 66bef20 (before the pipeline).

Run from a checkout of that commit: ``PYTHONPATH=<checkout> python tests/data/legacy/make_journals.py OUT``.
The journals are committed, so the test checks that today's code resumes what the old code wrote.
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.build import BuildSpec, build
from benchmarks.executors import LocalExecutor
from benchmarks.profile_table import profile_table
from hw_profiles.protocol import MeasurementProtocol
from proxies.protocol import Protocol
from proxies.training import Recipe

OPTIONS = {"C": 4, "N": 1}
ARCHS = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
)
BUILD = BuildSpec(
    space="nb201",
    task="mnist5k",
    archs=ARCHS,
    proxies=("params", "synflow"),
    protocol=Protocol(task="mnist5k", batch_size=8, resolution=8, build=OPTIONS),
    recipe=Recipe(task="mnist5k", epochs=1, batch_size=256, resolution=8, build=OPTIONS),
    train_seeds=(0,),
)
PROFILE = MeasurementProtocol(
    task="cifar10",
    resolution=8,
    build=OPTIONS,
    batch_sizes=(1,),
    metrics=("latency", "memory"),
    rounds=2,
    warmup=1,
    repeats=3,
    min_run_time=0.01,
    energy_seconds=0.01,
)


def main(out: Path) -> None:
    build(BUILD, out / "build" / "journal.sqlite", LocalExecutor(1, 1), progress=False)
    profile_table("nb201", ARCHS, PROFILE, out / "profile", progress=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
