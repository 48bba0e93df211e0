"""Lookup-table latency model for the networks of a decomposable space (the nn-Meter idea).

nn-Meter (Zhang et al., "nn-Meter: Towards Accurate Latency Prediction of Deep-Learning Model
Inference on Diverse Edge Devices", MobiSys 2021) predicts a network's latency as the sum of its
kernels' latencies measured once per device. Here the kernels are the space's blocks
(:class:`spaces.capabilities.DecomposableSpace`), each measured on the target in isolation under the
same :class:`MeasurementProtocol`: ``space.block_set`` lists every block a network of the space may
run (for NB201: the five cell ops and the node additions at every stage's channels x resolution, the
stem, the two residual reduction blocks and the classifier head), and ``space.blocks(arch)`` the
blocks one network runs, grouped with repeat counts. A network's raw prediction is

    sum over groups of  repeat * (sum over uses of count * latency(block)),

for NB201 ``stem + reductions + head + N * sum_stages (sum_edges op + 3 additions)``.

Blocks measured alone do not cost what they cost inside a network (warm caches, dispatch and
allocation patterns differ by op kind), so the LUT is calibrated per op kind, as nn-Meter calibrates
its kernels: with ``T_g`` the LUT time of all architecture-dependent blocks in calibration group g
(summed over repeats), ``measured ~ sum_g s_g * T_g + b`` by least squares on the relative errors
(each row weighted by 1 / measured, since accuracy is judged relatively) on a set of measured
networks, per batch size. Blocks whose op is not one of the space's ``calibrated_ops`` (NB201's
``skip_connect`` runs no kernel) and the fixed blocks every network has fold into ``b``. With
``s_g = 1`` and ``b = 0`` this is the raw sum.

The groups are a registered :data:`GROUPINGS` choice: ``kind`` (one scale per op kind) or
``kind_node`` (per op kind and the block's position, for cells the node the edge feeds: an edge's
cost inside a network depends on its place in the cell's data flow, which tensors are alive and
cached around it; at batch 64 on a 2-core Xeon a count-only correction missed NB201 cells' latencies
by 2-4 % depending on where their convolutions sat, docs/hw_profiles.md). :func:`choose_calibration`
picks one by cross-validation on the fitting networks alone. Accuracy is reported as nn-Meter does,
on held-out networks used neither for the table nor for the correction: the share predicted within
+-10 % of measured, the RMSE and Spearman's rank correlation.

The LUT asks its space for everything space-specific; architectures are given as
:class:`~spaces.base.Architecture` objects or, for cell spaces, as edge-op sequences.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hw_profiles.protocol import MeasurementProtocol
from spaces.atomic import atomic_file
from spaces.base import Architecture
from spaces.blocks import BlockGroup, BlockSpec
from spaces.capabilities import CellSpace, DecomposableSpace, requires

DEFAULT_SPACE = "nb201"
"""The space of a LUT that names none (every LUT file written before LUTs named their space)."""

GROUPINGS: dict[str, Callable[[str, int], str]] = {
    "kind": lambda op, position: op,
    "kind_node": lambda op, position: f"{op}>{position}",
}
"""Calibration choices: each names the group of a block with a calibrated op and its position."""


def calibration_groups(space: DecomposableSpace, calibration: str) -> tuple[str, ...]:
    """The groups of ``calibration`` for ``space``, in order (each gets a scale; an intercept follows)."""
    check_calibration(calibration)
    group = GROUPINGS[calibration]
    return tuple(
        dict.fromkeys(group(op, pos) for op in space.calibrated_ops for pos in space.block_positions)
    )


def _decomposable(name: str) -> DecomposableSpace:
    import spaces

    return requires(spaces.get(name), DecomposableSpace, "a LUT latency model")


def __getattr__(name: str) -> Any:
    if name == "CALIBRATIONS":  # the default space's groups, for callers that name no space
        space = _decomposable(DEFAULT_SPACE)
        return {cal: calibration_groups(space, cal) for cal in GROUPINGS}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class CalibrationError(ValueError):
    """The measured networks cannot determine a calibration (too few, or a group none of them has)."""


def check_calibration(calibration: str, also: tuple[str, ...] = ()) -> None:
    """ValueError naming the valid choices unless ``calibration`` is registered (or one of ``also``)."""
    if calibration not in (*also, *GROUPINGS):
        valid = ", ".join((*also, *GROUPINGS))
        raise ValueError(f"unknown LUT calibration {calibration!r} (valid: {valid})")


ROUND_STATISTICS: dict[str, Callable[[Sequence[float]], float]] = {"min": min, "median": statistics.median}
"""How repeated measurement rounds of one entry combine. ``min``: on a machine shared with other
work, interference only ever adds time, so the fastest round is the least disturbed one."""


def combine_rounds(values: Sequence[float], statistic: str = "min") -> float:
    """One latency from several rounds' medians; NaN (a failed round) only if every round failed.

    Failed rounds are left out rather than passed on: Python's ``min`` and ``median`` give answers that
    depend on where a NaN sits. ValueError names the valid statistics.
    """
    if statistic not in ROUND_STATISTICS:
        raise ValueError(f"unknown round statistic {statistic!r} (valid: {', '.join(ROUND_STATISTICS)})")
    if not values:
        raise ValueError("combining rounds needs at least one measured value")
    measured = [v for v in values if not math.isnan(v)]
    return float(ROUND_STATISTICS[statistic](measured)) if measured else float("nan")


def _block_input_and_module(space: DecomposableSpace, block: BlockSpec, batch: int) -> tuple[Any, Any]:
    import torch

    x = space.block_input(block, batch, torch.Generator().manual_seed(0))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        module = space.block_module(block, batch)
    return module.eval(), x


@dataclass
class LatencyLUT:
    """Measured block latencies (ms) per batch size, with the protocol, space and network shape.

    ``C`` and ``N`` are the width and cells-per-stage build options the blocks were listed for, and
    ``space`` the registered decomposable space they belong to.
    """

    protocol: MeasurementProtocol
    C: int
    N: int
    resolution: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    correction: dict[int, tuple[float, ...]] = field(default_factory=dict)
    """Per batch: the scale of each calibration group's LUT time, then the intercept (ms)."""
    calibration: dict[int, str] = field(default_factory=dict)
    """Per batch: the :data:`GROUPINGS` choice its correction was fitted with (``kind`` if absent)."""
    space: str = DEFAULT_SPACE

    @property
    def decomposable(self) -> DecomposableSpace:
        """The LUT's space (MissingCapability if it cannot be decomposed into blocks)."""
        return _decomposable(self.space)

    def groups(self, calibration: str) -> tuple[str, ...]:
        """The calibration groups of ``calibration`` in this LUT's space."""
        return calibration_groups(self.decomposable, calibration)

    def latency(self, key: str, batch: int) -> float:
        """The LUT entry ``key`` at ``batch`` (KeyError naming it if absent)."""
        for row in self.rows:
            if row["key"] == key and row["batch"] == batch:
                return row["latency_ms"]
        raise KeyError(f"LUT has no entry {key!r} at batch {batch}")

    def build_options(self) -> dict[str, Any]:
        """The build options the blocks are listed for: the protocol's, with the LUT's ``C`` and ``N``
        for spaces built by width and cells per stage (NB201); other spaces (FBNet's ``width``) take the
        protocol's own."""
        import inspect

        options = dict(self.protocol.build_options())
        if {"C", "N"} <= set(inspect.signature(self.decomposable.block_set).parameters):
            options.update(C=self.C, N=self.N)
        return options

    def blocks(self, arch: Architecture | Sequence[str]) -> tuple[BlockGroup, ...]:
        """The blocks of ``arch`` (an architecture, or a cell space's edge ops) in this LUT's network shape."""
        space = self.decomposable
        if not isinstance(arch, Architecture):
            arch = requires(space, CellSpace, "a LUT given edge ops").from_ops(arch)
        return space.blocks(arch, self.protocol.task, self.resolution, **self.build_options())

    def raw(self, arch: Architecture | Sequence[str], batch: int) -> float:
        """Sum of block latencies (ms) for ``arch``'s network (no overhead correction)."""
        groups = self.blocks(arch)
        if not any(r["batch"] == batch for r in self.rows):
            raise KeyError(
                f"LUT has no entries at batch {batch} (has {sorted({r['batch'] for r in self.rows})})"
            )
        total = 0.0
        for group in groups:
            total += group.repeat * sum(use.count * self.latency(use.block.key, batch) for use in group.uses)
        return total

    def op_times(
        self, arch: Architecture | Sequence[str], batch: int, calibration: str = "kind"
    ) -> list[float]:
        """``T_g`` per group of ``calibration`` (:data:`GROUPINGS`): LUT ms of all its blocks."""
        times = dict.fromkeys(self.groups(calibration), 0.0)
        group, calibrated = GROUPINGS[calibration], self.decomposable.calibrated_ops
        for blocks in self.blocks(arch):
            for use in blocks.uses:
                if use.position is not None and use.block.op in calibrated:
                    times[group(use.block.op, use.position)] += (
                        blocks.repeat * use.count * self.latency(use.block.key, batch)
                    )
        return list(times.values())

    def fit(
        self,
        ops_list: Sequence[Architecture | Sequence[str]],
        measured_ms: Sequence[float],
        batch: int,
        calibration: str = "kind",
    ) -> tuple[float, ...]:
        """Fit ``measured ~ sum_g s_g * T_g + b`` by least squares on networks measured at ``batch``."""
        coef = self._solve(ops_list, measured_ms, batch, calibration)
        self.correction[batch], self.calibration[batch] = coef, calibration
        return coef

    def _solve(
        self,
        ops_list: Sequence[Architecture | Sequence[str]],
        measured_ms: Sequence[float],
        batch: int,
        calibration: str,
    ) -> tuple[float, ...]:
        import numpy as np

        check_calibration(calibration)
        groups = self.groups(calibration)
        need = len(groups) + 1
        if len(ops_list) != len(measured_ms) or len(ops_list) < need:
            raise CalibrationError(
                f"calibrating the LUT ({calibration}) needs >= {need} measured networks, got "
                f"{len(ops_list)} networks and {len(measured_ms)} latencies"
            )
        design = np.array([[*self.op_times(ops, batch, calibration), 1.0] for ops in ops_list])
        target = np.asarray(measured_ms, dtype=float)
        if not np.all(np.isfinite(target)) or np.any(target <= 0):
            raise ValueError("calibrating the LUT needs finite, positive measured latencies")
        unseen = [g for g, column in zip(groups, design.T) if not column.any()]
        if unseen or np.linalg.matrix_rank(design) < design.shape[1]:
            # lstsq would give such a group scale 0: every network using it would lose that op's time
            raise CalibrationError(
                f"calibrating the LUT ({calibration}): the {len(ops_list)} networks do not determine every "
                f"scale (groups in none of them: {', '.join(unseen) or 'none; the groups are collinear'})"
            )
        # Weighted by 1/measured: least squares on relative errors, the quantity the accuracy reports.
        coef, *_ = np.linalg.lstsq(design / target[:, None], np.ones_like(target), rcond=None)
        return tuple(float(c) for c in coef)

    def predict(self, ops: Architecture | Sequence[str], batch: int) -> float:
        """Predicted latency (ms): the calibrated sum where a calibration was fitted, else the raw sum."""
        if batch not in self.correction:
            return self.raw(ops, batch)
        return self._apply(self.correction[batch], ops, batch, self.calibration.get(batch, "kind"))

    def _apply(
        self, coef: Sequence[float], ops: Architecture | Sequence[str], batch: int, calibration: str
    ) -> float:
        *scales, intercept = coef
        times = self.op_times(ops, batch, calibration)
        return sum(s * t for s, t in zip(scales, times, strict=True)) + intercept

    def to_frame(self) -> Any:
        """The LUT as a pandas DataFrame (one row per block and batch size)."""
        import pandas as pd

        return pd.DataFrame(self.rows)

    def save(self, path: str | Path) -> Path:
        """Write the LUT as Parquet (protocol, shape and corrections in the file metadata), atomically."""
        import json

        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        table = pa.Table.from_pylist(self.rows)
        meta = {
            "protocol": self.protocol.to_dict(),
            "protocol_hash": self.protocol.hash,
            "C": self.C,
            "N": self.N,
            "resolution": self.resolution,
            "correction": {str(k): list(v) for k, v in self.correction.items()},
            "calibration": {str(k): v for k, v in self.calibration.items()},
            "space": self.space,
        }
        table = table.replace_schema_metadata({b"archbench_lut": json.dumps(meta).encode()})
        with atomic_file(path) as tmp:
            pq.write_table(table, tmp)
        return path

    @classmethod
    def load(cls, path: str | Path) -> LatencyLUT:
        """Read a LUT written by :meth:`save` (ValueError if it is not one)."""
        import pyarrow.parquet as pq

        from spaces.jsonio import loads_bounded

        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(b"archbench_lut")
        if raw is None:
            raise ValueError(f"{path}: not an archbench latency LUT (no archbench_lut metadata)")
        meta = loads_bounded(raw, f"{path}: archbench_lut metadata")
        try:
            protocol = MeasurementProtocol.from_dict(meta["protocol"])
            lut = cls(
                protocol, meta["C"], meta["N"], meta["resolution"], space=meta.get("space", DEFAULT_SPACE)
            )
            lut.rows = table.to_pylist()
            lut.correction = {int(k): tuple(v) for k, v in meta["correction"].items()}
            lut.calibration = {int(k): v for k, v in meta.get("calibration", {}).items()}  # older: kind
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(
                f"{path}: archbench_lut metadata is malformed ({type(exc).__name__}: {exc})"
            ) from None
        return lut


def choose_calibration(
    lut: LatencyLUT,
    ops_list: Sequence[Architecture | Sequence[str]],
    measured_ms: Sequence[float],
    batch: int,
    folds: int = 5,
) -> tuple[str, dict[str, float]]:
    """The :data:`GROUPINGS` choice with the lowest cross-validated RMS relative error, and every score.

    Only the given (fitting) networks are used: ``folds`` folds, network i in fold ``i % folds``, so
    held-out networks never take part in the choice. A choice that some fold's training part cannot
    determine (too few networks, or a group none of them has) is skipped; a tie goes to the simpler
    (earlier registered) choice. With too few networks to cross-validate any choice, the simplest one
    comes back with no scores.
    """
    n = len(ops_list)
    if len(measured_ms) != n:
        raise ValueError(
            f"choosing a calibration needs one latency per network, got {len(measured_ms)} for {n}"
        )
    if not 2 <= folds <= n:
        raise ValueError(f"choosing a calibration needs 2 <= folds <= networks, got {folds} folds and {n}")
    scores: dict[str, float] = {}
    for name in GROUPINGS:
        squared = []
        try:
            for fold in range(folds):
                train = [i for i in range(n) if i % folds != fold]
                coef = lut._solve([ops_list[i] for i in train], [measured_ms[i] for i in train], batch, name)
                for i in range(fold, n, folds):
                    predicted = lut._apply(coef, ops_list[i], batch, name)
                    squared.append(((predicted - measured_ms[i]) / measured_ms[i]) ** 2)
        except CalibrationError:  # some fold's networks cannot fit this choice: it is not scored
            continue
        scores[name] = math.sqrt(sum(squared) / n)
    if not scores:
        return next(iter(GROUPINGS)), scores
    return min(scores, key=scores.__getitem__), scores


def round_spread(times: Sequence[float]) -> float:
    """Slowest / fastest of one entry's rounds (NaN when the fastest is not positive)."""
    low = min(times)
    return max(times) / low if low > 0 else float("nan")


def merge_rounds(rounds: Sequence[LatencyLUT], statistic: str = "min") -> LatencyLUT:
    """One LUT from the same blocks measured in several rounds (e.g. interleaved with other work).

    Each entry's ``latency_ms`` is the ``statistic`` of its rounds' medians (:func:`combine_rounds`),
    its IQR / CV / runs those of the round closest to that value; ``rounds`` and ``round_spread``
    (slowest / fastest round) record how much the rounds disagreed.
    """
    if not rounds:
        raise ValueError("merging LUT rounds needs at least one LUT")
    first = rounds[0]
    shape = (first.protocol.hash, first.C, first.N, first.resolution, first.space)
    if any((o.protocol.hash, o.C, o.N, o.resolution, o.space) != shape for o in rounds[1:]):
        raise ValueError("LUT rounds must share one protocol and network shape, in one space")
    entries: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for lut in rounds:
        for row in lut.rows:
            entries.setdefault((row["key"], row["batch"]), []).append(row)
    if any(len(found) != len(rounds) for found in entries.values()):
        raise ValueError("LUT rounds must measure the same blocks at the same batch sizes")
    merged = LatencyLUT(first.protocol, first.C, first.N, first.resolution, space=first.space)
    for found in entries.values():
        times = [r["latency_ms"] for r in found]
        value = combine_rounds(times, statistic)
        closest = min(found, key=lambda r: abs(r["latency_ms"] - value))
        merged.rows.append(
            {**closest, "latency_ms": value, "rounds": len(found), "round_spread": round_spread(times)}
        )
    return merged


def profile_lut(protocol: MeasurementProtocol, space: str = DEFAULT_SPACE) -> LatencyLUT:
    """Measure every block of ``space`` (``block_set``) at every batch size of ``protocol`` on its target.

    The blocks are listed at the protocol's build options (NB201: width ``C`` and cells per stage ``N``,
    default 16 and 5, recorded on the LUT; FBNet: ``width``).
    """
    from hw_profiles.profile import profile_module
    from spaces.tasks import get_task

    decomposable = _decomposable(space)
    task = get_task(protocol.task)
    options = protocol.build_options()
    C, N = int(options.get("C", 16)), int(options.get("N", 5))
    resolution = decomposable.task_input(task, protocol.resolution).resolution  # type: ignore[attr-defined]
    timing = replace(protocol, metrics=("latency",))
    lut = LatencyLUT(protocol, C, N, resolution, space=space)
    for batch in protocol.batch_sizes:
        for block in decomposable.block_set(task, resolution, **lut.build_options()):
            module, x = _block_input_and_module(decomposable, block, batch)
            found = {m.metric.rsplit("_b", 1)[0]: m for m in profile_module(module, x, timing)}
            lat = found["latency"]
            if lat.status != "ok":
                raise RuntimeError(f"LUT block {block.key} at batch {batch} failed: {lat.message}")
            lut.rows.append(
                {
                    "key": block.key,
                    "kind": block.kind,
                    "op": block.op,
                    "c_in": block.c_in,
                    "c_out": block.c_out,
                    "resolution": block.resolution,
                    "stride": block.stride,
                    "batch": batch,
                    "latency_ms": lat.value,
                    "iqr_ms": found["latency_iqr"].value,
                    "cv": found["latency_cv"].value,
                    "runs": int(found["latency_runs"].value),
                    "message": lat.message,
                    "target": protocol.target,
                    "dtype": protocol.dtype,
                    "protocol_hash": protocol.hash,
                }
            )
    return lut


def accuracy(
    predicted: Sequence[float], measured: Sequence[float], tolerance: float = 0.10
) -> dict[str, float]:
    """nn-Meter's figures: share with ``|pred - meas| <= tolerance * meas``, RMSE and Spearman's rho."""
    from scipy.stats import spearmanr

    if len(predicted) != len(measured) or len(predicted) < 2:
        raise ValueError(f"accuracy needs >= 2 paired values, got {len(predicted)} and {len(measured)}")
    pairs = list(zip(predicted, measured))
    within = sum(abs(p - m) <= tolerance * m for p, m in pairs) / len(pairs)
    rmse = math.sqrt(sum((p - m) ** 2 for p, m in pairs) / len(pairs))
    rho = float(spearmanr(predicted, measured).statistic)
    return {
        "within": within,
        "tolerance": tolerance,
        "rmse_ms": rmse,
        "spearman": rho,
        "n": float(len(pairs)),
    }
