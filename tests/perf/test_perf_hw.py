"""Hardware-profile benchmarks (``make bench``): measurement stability and LUT latency-model accuracy.

Published-size NB201 networks (C=16, N=5, 32 px) on the ``cpu`` target, one thread. Figures go to
``benchmark.extra_info``; they depend on how quiet the machine is (see docs/hw_profiles.md).
For the full 200-cell evaluation run ``scripts/lut_accuracy.py``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

import spaces
from hw_profiles.lut_study import evaluate, measure_in_rounds, sample_split
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


# Batch 64 calls take ~0.3 s each, so its measurements are shorter and fewer (as in the 200-cell run).
ROUNDS = {1: 4, 64: 2}
LIGHT = {64: {"warmup": 1, "repeats": 3, "min_run_time": 0.1}}


@pytest.mark.parametrize("batch", [1, 64])
def test_lut_accuracy_held_out(benchmark, batch: int) -> None:
    """LUT + fitted correction on 15 cells, judged on 30 others, in interleaved rounds (the script: 200)."""
    space = spaces.get("nb201")
    protocol = replace(_protocol(batch), rounds=ROUNDS[batch], **LIGHT.get(batch, {}))
    rng = np.random.default_rng(0)
    split = sample_split(space, 15, 30, rng)
    result: dict[str, Any] = {}

    def run() -> None:
        measured = measure_in_rounds(space, split.cells, protocol, rng)
        result.update(evaluate(space, measured, split.fit, split.held_out)[1][batch])

    benchmark.pedantic(run, rounds=1, iterations=1)
    corrected, ceiling = result["corrected"], result["measurement_ceiling"]
    benchmark.extra_info.update(
        {
            "rounds": ROUNDS[batch],
            "within_10pct": corrected["within"],
            "rmse_ms": corrected["rmse_ms"],
            "spearman": corrected["spearman"],
            "uncorrected_within_10pct": result["uncorrected"]["within"],
            "ceiling_within_10pct": ceiling["within"] if ceiling else None,
        }
    )
    assert corrected["n"] == 30
    # a LUT that ranks NB201 cells no better than this is broken, however noisy the machine
    assert corrected["spearman"] > 0.8, corrected
