"""How accurate a LUT latency model is, judged as nn-Meter judges it, on measurements made in rounds.

nn-Meter (Zhang et al., MobiSys 2021) reports the share of held-out networks predicted within
+-10 % of their measured latency, with RMSE and Spearman. Held out means used neither for the table
nor for its correction. Measured means, here, the ``statistic`` (default ``min``) of several
interleaved rounds' medians: each round profiles every block, then every network in a fresh random
order, so a slow spell of the machine reaches one round of a cell and not all of them. For an even
number of rounds the study also gives the *measurement ceiling*: how often the even and the odd
rounds, each half combined alone, agree within +-10 % on the held-out cells (a conservative stand-in
for the measurement's own repeatability, like the ground truth's seed-to-seed ceiling for proxies).

Used by ``scripts/lut_accuracy.py`` (200 held-out cells) and ``make bench`` (30).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from hw_profiles.lut import (
    LatencyLUT,
    accuracy,
    calibration_groups,
    check_calibration,
    choose_calibration,
    combine_rounds,
    merge_rounds,
    profile_lut,
    round_spread,
)
from hw_profiles.profile import build_network, example_input, profile_module
from hw_profiles.protocol import MeasurementProtocol

UNSTEADY_ROUND_SPREAD = 1.5
"""A LUT entry whose slowest round took more than this times its fastest is reported as unsteady."""


def block_rounds(measured: RoundsMeasured, batch: int) -> list[dict[str, Any]]:
    """Every block's latency in each round at ``batch``, its slowest / fastest ratio and whether
    that ratio exceeds :data:`UNSTEADY_ROUND_SPREAD` (a block with two speeds: the merged entry is
    one of them, and the correction is fitted against it)."""
    times: dict[str, list[float]] = {}
    for lut in measured.luts:
        for row in lut.rows:
            if row["batch"] == batch:
                times.setdefault(row["key"], []).append(row["latency_ms"])
    spreads = {key: round_spread(found) for key, found in times.items()}
    return [
        {
            "key": k,
            "rounds_ms": v,
            "round_spread": spreads[k],
            "unsteady": bool(spreads[k] > UNSTEADY_ROUND_SPREAD),
        }
        for k, v in times.items()
    ]


class Split(NamedTuple):
    """Sampled cells (in sampling order, which is what measuring orders permute) split two ways."""

    cells: list[Any]
    fit: list[Any]
    held_out: list[Any]


def sample_split(
    space: Any, n_fit: int, n_held_out: int, rng: np.random.Generator, calibration: str = "auto"
) -> Split:
    """``n_fit`` cells to fit the correction and ``n_held_out`` other ones, all distinct concrete cells.

    Latency belongs to the concrete cell (isomorphic cells run different kernels), so cells are
    distinct strings, not distinct classes. ``n_fit`` must be enough for ``calibration`` (``auto``:
    for the simplest choice), checked here so a study fails before hours of measuring, not after.
    """
    check_calibration(calibration, also=("auto",))
    need = len(calibration_groups(space, "kind" if calibration == "auto" else calibration)) + 1
    if n_fit < need or n_held_out < 2:
        raise ValueError(f"a LUT study needs >= {need} fit cells and >= 2 held-out cells")
    if n_fit + n_held_out > space.size:
        raise ValueError(f"{n_fit} fit + {n_held_out} held-out cells, but the space has {space.size} cells")
    cells: dict[str, Any] = {}
    while len(cells) < n_fit + n_held_out:
        arch = space.sample(rng)
        cells.setdefault(arch.string, arch)
    archs = list(cells.values())
    fit_positions = set(rng.choice(len(archs), size=n_fit, replace=False).tolist())
    return Split(
        archs,
        [a for i, a in enumerate(archs) if i in fit_positions],
        [a for i, a in enumerate(archs) if i not in fit_positions],
    )


@dataclass
class RoundsMeasured:
    """Every round's LUT and every cell's per-round median latency (ms, NaN for a failed round)."""

    luts: list[LatencyLUT] = field(default_factory=list)
    cells_ms: dict[int, dict[str, list[float]]] = field(default_factory=dict)


def measure_in_rounds(
    space: Any,
    archs: Sequence[Any],
    protocol: MeasurementProtocol,
    rng: np.random.Generator,
    on_round: Callable[[int], None] | None = None,
) -> RoundsMeasured:
    """Profile the blocks and every cell at each of the protocol's batch sizes, ``protocol.rounds`` times.

    Each round is one :func:`profile_lut` (every block once) followed by every cell once.
    """
    from spaces.tasks import get_task

    task = get_task(protocol.task)
    models = {a.string: build_network(space, a, protocol) for a in archs}
    inputs = {b: example_input(task, b, protocol.resolution) for b in protocol.batch_sizes}
    out = RoundsMeasured(cells_ms={b: {a.string: [] for a in archs} for b in protocol.batch_sizes})
    for r in range(protocol.rounds):
        out.luts.append(profile_lut(protocol, space.name))
        for batch in protocol.batch_sizes:
            one = protocol.with_batch(batch)
            for i in rng.permutation(len(archs)):
                arch = archs[i].string
                lat = profile_module(models[arch], inputs[batch], one)[0]
                out.cells_ms[batch][arch].append(lat.value if lat.status == "ok" else float("nan"))
        if on_round is not None:
            on_round(r)
    return out


def evaluate(
    space: Any,
    measured: RoundsMeasured,
    fit: Sequence[Any],
    held_out: Sequence[Any],
    statistic: str = "min",
    calibration: str = "auto",
) -> tuple[LatencyLUT, dict[int, dict[str, Any]]]:
    """The merged LUT, fitted per batch size on ``fit``, and per batch its held-out report.

    ``calibration`` is a :data:`CALIBRATIONS` name or ``auto``: per batch, the one with the lowest
    5-fold cross-validated error on the ``fit`` cells alone (:func:`choose_calibration`). Each report
    has the ``calibration`` used and its fitted ``coefficients``, ``cv_rms_relative_error`` per
    scored choice (None for an explicit choice; empty when no choice could be cross-validated), the
    ``corrected`` and ``uncorrected`` (raw LUT sum) accuracy, the ``measurement_ceiling`` (None for
    an odd number of rounds), every block's and every cell's rounds (:func:`block_rounds`).
    """
    check_calibration(calibration, also=("auto",))
    rounds = len(measured.luts)
    counts = {len(v) for cells in measured.cells_ms.values() for v in cells.values()}
    if counts != {rounds}:
        raise ValueError(f"every cell needs one latency per round ({rounds}), found counts {sorted(counts)}")
    lut = merge_rounds(measured.luts, statistic)
    ops = {a.string: a for a in (*fit, *held_out)}  # the LUT takes architectures of any decomposable space
    fit_strings = {a.string for a in fit}
    reports = {}
    for batch, cells in measured.cells_ms.items():
        combined = {a: combine_rounds(v, statistic) for a, v in cells.items()}
        fit_ops, fit_ms = [ops[a.string] for a in fit], [combined[a.string] for a in fit]
        chosen, scores = calibration, None
        if calibration == "auto":
            chosen, scores = choose_calibration(lut, fit_ops, fit_ms, batch)
        coef = lut.fit(fit_ops, fit_ms, batch, chosen)
        meas = [combined[a.string] for a in held_out]
        ceiling = None
        if rounds % 2 == 0:  # two independent halves of the rounds, measured on the same cells
            ceiling = accuracy(
                [combine_rounds(cells[a.string][0::2], statistic) for a in held_out],
                [combine_rounds(cells[a.string][1::2], statistic) for a in held_out],
            )
        reports[batch] = {
            "calibration": chosen,
            "coefficients": dict(zip([*lut.groups(chosen), "intercept_ms"], coef)),
            "cv_rms_relative_error": scores,
            "corrected": accuracy([lut.predict(ops[a.string], batch) for a in held_out], meas),
            "uncorrected": accuracy([lut.raw(ops[a.string], batch) for a in held_out], meas),
            "measurement_ceiling": ceiling,
            "blocks": block_rounds(measured, batch),
            "cells": [
                {
                    "arch": a,
                    "fit": a in fit_strings,
                    "measured_ms": combined[a],
                    "rounds_ms": cells[a],
                    "predicted_ms": lut.predict(ops[a], batch),
                }
                for a in cells
            ],
        }
    return lut, reports
