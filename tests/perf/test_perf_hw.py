"""Hardware-profile benchmarks (``make bench``): measurement stability and LUT latency-model accuracy.

Published-size NB201 networks (C=16, N=5, 32 px) on the ``cpu`` target, one thread. Figures go to
``benchmark.extra_info``; they depend on how quiet the machine is (see docs/hw_profiles.md).
For the full 200-cell evaluation run ``scripts/lut_accuracy.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import spaces
from hw_profiles.lut import accuracy, profile_lut
from hw_profiles.profile import build_network, example_input, profile_module
from hw_profiles.protocol import MeasurementProtocol
from spaces.tasks import get_task

CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def _protocol(batch: int) -> MeasurementProtocol:
    return MeasurementProtocol(
        task="cifar10",
        batch_sizes=(batch,),
        resolution=32,
        build={"C": 16, "N": 5},
        metrics=("latency",),
        min_run_time=0.2,
    )


@pytest.mark.parametrize("batch", [1, 64])
def test_latency_stability_same_cell(benchmark, batch: int) -> None:
    """CV of the median latency over repeated measurements of one cell (each with its own samples)."""
    space = spaces.get("nb201")
    protocol = _protocol(batch)
    model = build_network(space, space.parse(CELL), protocol)
    x = example_input(get_task("cifar10"), batch, 32)
    medians: list[float] = []

    def once() -> None:
        medians.append(profile_module(model, x, protocol)[0].value)

    benchmark.pedantic(once, rounds=5, iterations=1)
    cv = float(np.std(medians) / np.mean(medians))
    benchmark.extra_info.update(
        {"median_ms": float(np.median(medians)), "cv_of_medians": cv, "runs": len(medians)}
    )
    assert all(m > 0 for m in medians)


@pytest.mark.parametrize("batch", [1, 64])
def test_lut_accuracy_held_out(benchmark, batch: int) -> None:
    """LUT + fitted correction on 15 cells, evaluated on 30 other cells (scripts/lut_accuracy.py does 200)."""
    space = spaces.get("nb201")
    protocol = _protocol(batch)
    rng = np.random.default_rng(0)
    cells = list({a.string: a for a in (space.sample(rng) for _ in range(60))}.values())[:45]
    task = get_task("cifar10")
    result: dict[str, float] = {}

    def run() -> None:
        lut = profile_lut(protocol)
        measured = [
            profile_module(build_network(space, a, protocol), example_input(task, batch, 32), protocol)[
                0
            ].value
            for a in cells
        ]
        ops = [space.ops_of(a) for a in cells]
        lut.fit(ops[:15], measured[:15], batch)
        result.update(accuracy([lut.predict(o, batch) for o in ops[15:]], measured[15:]))

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    assert 0.0 <= result["within"] <= 1.0 and result["n"] == 30
