"""Lookup-table latency model for NB201 networks (the nn-Meter idea).

nn-Meter (Zhang et al., "nn-Meter: Towards Accurate Latency Prediction of Deep-Learning Model
Inference on Diverse Edge Devices", MobiSys 2021) predicts a network's latency as the sum of its
kernels' latencies measured once per device. Here the kernels are the NB201 building blocks, each
measured on the target in isolation under the same :class:`MeasurementProtocol`: the five cell ops
and the node additions at every stage's channels x resolution, the stem, the two residual
reduction blocks (stride 2) and the classifier head. A cell network's raw prediction is

    stem + head + reduction_1 + reduction_2 + N * sum_stages (sum_edges op + 3 additions),

Blocks measured alone do not cost what they cost inside a network (warm caches, dispatch and
allocation patterns differ by op kind), so the LUT is calibrated per op kind, as nn-Meter calibrates
its kernels: with ``T_g`` the LUT time of all edges in calibration group g (summed over stages and
cells), ``measured ~ sum_g s_g * T_g + b`` by least squares on the relative errors (each row
weighted by 1 / measured, since accuracy is judged relatively) on a set of measured networks, per
batch size. ``skip_connect`` runs no kernel, and the stem, head, reductions and additions are the same
in every cell network, so they fold into ``b``. With ``s_g = 1`` and ``b = 0`` this is the raw sum.

The groups are a registered :data:`CALIBRATIONS` choice: ``kind`` (one scale per op kind) or
``kind_node`` (per op kind and the node the edge feeds: an edge's cost inside a network depends on
its place in the cell's data flow, which tensors are alive and cached around it; at batch 64 on a
2-core Xeon a count-only correction missed the cells' latencies by 2-4 % depending on where their
convolutions sat, docs/hw_profiles.md). :func:`choose_calibration`
picks one by cross-validation on the fitting networks alone. Accuracy is reported as nn-Meter does,
on held-out networks used neither for the table nor for the correction: the share predicted within
+-10 % of measured, the RMSE and Spearman's rank correlation.
"""

from __future__ import annotations

import math
import os
import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hw_profiles.protocol import MeasurementProtocol

CELL_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
CALIBRATED_OPS = ("none", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
"""Cell op kinds whose LUT time gets its own scale (``skip_connect`` runs no kernel)."""
ADDS_PER_CELL = 3  # node 2 sums two edges, node 3 three: 1 + 2 additions
EDGE_NODES = (1, 2, 2, 3, 3, 3)
"""The node each of NB201's six edges feeds, in the published edge order (0>1, 0>2, 1>2, 0>3, 1>3, 2>3)."""

GROUPINGS: dict[str, Callable[[str, int], str]] = {
    "kind": lambda op, node: op,
    "kind_node": lambda op, node: f"{op}>{node}",
}
"""Calibration choices: each names the group of an edge with a calibrated op kind and its node."""

CALIBRATIONS: dict[str, tuple[str, ...]] = {
    name: tuple(dict.fromkeys(group(op, node) for op in CALIBRATED_OPS for node in sorted(set(EDGE_NODES))))
    for name, group in GROUPINGS.items()
}
"""Each calibration choice's groups, in order (each gets a scale; an intercept follows)."""


class CalibrationError(ValueError):
    """The measured networks cannot determine a calibration (too few, or a group none of them has)."""


def check_calibration(calibration: str, also: tuple[str, ...] = ()) -> None:
    """ValueError naming the valid choices unless ``calibration`` is registered (or one of ``also``)."""
    if calibration not in (*also, *CALIBRATIONS):
        valid = ", ".join((*also, *CALIBRATIONS))
        raise ValueError(f"unknown LUT calibration {calibration!r} (valid: {valid})")


def _check_cell(ops: Sequence[str]) -> None:
    if len(ops) != len(EDGE_NODES):
        raise ValueError(f"an NB201 cell has {len(EDGE_NODES)} edge ops, got {len(ops)}")


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


@dataclass(frozen=True)
class BlockSpec:
    """One LUT entry to measure: a block kind, its op, channels in/out, input resolution and stride."""

    kind: str
    op: str
    c_in: int
    c_out: int
    resolution: int
    stride: int = 1

    @property
    def key(self) -> str:
        """Stable row key, e.g. ``cell_op|nor_conv_3x3|16>16|r32|s1``."""
        return f"{self.kind}|{self.op}|{self.c_in}>{self.c_out}|r{self.resolution}|s{self.stride}"


def _stages(C: int, resolution: int) -> list[tuple[int, int]]:
    return [(C * 2**s, resolution // 2**s) for s in range(3)]


def nb201_blocks(C: int, resolution: int, in_channels: int, num_classes: int) -> list[BlockSpec]:
    """Every block an NB201 network of width ``C`` at ``resolution`` is made of."""
    blocks = [BlockSpec("stem", "conv3x3_bn", in_channels, C, resolution)]
    for c, r in _stages(C, resolution):
        blocks += [BlockSpec("cell_op", op, c, c, r) for op in CELL_OPS]
        blocks.append(BlockSpec("add", "add", c, c, r))
    for c, r in _stages(C, resolution)[1:]:
        blocks.append(BlockSpec("reduction", "resnet_basic", c // 2, c, r * 2, stride=2))
    blocks.append(BlockSpec("head", f"bn_relu_pool_linear{num_classes}", 4 * C, num_classes, resolution // 4))
    return blocks


def block_module(block: BlockSpec, batch: int = 1) -> Any:
    """A freshly initialised ``nn.Module`` of ``block`` (built from the same classes as the network)."""
    import torch
    import torch.nn as nn

    from spaces.nb201_net import ResidualReduction, make_op

    class Add(nn.Module):
        """A node addition: the input plus a fixed tensor of the same shape."""

        def __init__(self, shape: tuple[int, ...]) -> None:
            super().__init__()
            self.register_buffer("other", torch.ones(shape))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.other

    if block.kind == "stem":
        return nn.Sequential(
            nn.Conv2d(block.c_in, block.c_out, 3, padding=1, bias=False), nn.BatchNorm2d(block.c_out)
        )
    if block.kind == "cell_op":
        return make_op(block.op, block.c_in)
    if block.kind == "reduction":
        return ResidualReduction(block.c_in, block.c_out)
    if block.kind == "head":
        return nn.Sequential(
            nn.BatchNorm2d(block.c_in),
            nn.ReLU(inplace=False),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(1),
            nn.Linear(block.c_in, block.c_out),
        )
    return Add((batch, block.c_in, block.resolution, block.resolution))  # two full tensors, as in a cell


def _block_input_and_module(block: BlockSpec, batch: int) -> tuple[Any, Any]:
    import torch

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, block.c_in, block.resolution, block.resolution, generator=generator)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        module = block_module(block, batch)
    return module.eval(), x


@dataclass
class LatencyLUT:
    """Measured block latencies (ms) per batch size, with the protocol and target they came from."""

    protocol: MeasurementProtocol
    C: int
    N: int
    resolution: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    correction: dict[int, tuple[float, ...]] = field(default_factory=dict)
    """Per batch: the scale of each calibration group's LUT time, then the intercept (ms)."""
    calibration: dict[int, str] = field(default_factory=dict)
    """Per batch: the :data:`CALIBRATIONS` choice its correction was fitted with (``kind`` if absent)."""

    def latency(self, key: str, batch: int) -> float:
        """The LUT entry ``key`` at ``batch`` (KeyError naming it if absent)."""
        for row in self.rows:
            if row["key"] == key and row["batch"] == batch:
                return row["latency_ms"]
        raise KeyError(f"LUT has no entry {key!r} at batch {batch}")

    def raw(self, ops: Sequence[str], batch: int) -> float:
        """Sum of block latencies (ms) for the cell with edge ``ops`` (no overhead correction)."""
        _check_cell(ops)
        task_blocks = {r["key"]: r for r in self.rows if r["batch"] == batch}
        if not task_blocks:
            raise KeyError(
                f"LUT has no entries at batch {batch} (has {sorted({r['batch'] for r in self.rows})})"
            )
        total = 0.0
        for row in task_blocks.values():
            if row["kind"] in ("stem", "head", "reduction"):
                total += row["latency_ms"]
        for c, r in _stages(self.C, self.resolution):
            cell = sum(self.latency(BlockSpec("cell_op", op, c, c, r).key, batch) for op in ops)
            cell += ADDS_PER_CELL * self.latency(BlockSpec("add", "add", c, c, r).key, batch)
            total += self.N * cell
        return total

    def op_times(self, ops: Sequence[str], batch: int, calibration: str = "kind") -> list[float]:
        """``T_g`` per group of ``calibration`` (:data:`CALIBRATIONS`): LUT ms of all its edges."""
        check_calibration(calibration)
        _check_cell(ops)
        group, times = GROUPINGS[calibration], dict.fromkeys(CALIBRATIONS[calibration], 0.0)
        for c, r in _stages(self.C, self.resolution):
            for op, node in zip(ops, EDGE_NODES):
                if op in CALIBRATED_OPS:
                    times[group(op, node)] += self.N * self.latency(
                        BlockSpec("cell_op", op, c, c, r).key, batch
                    )
        return list(times.values())

    def fit(
        self,
        ops_list: Sequence[Sequence[str]],
        measured_ms: Sequence[float],
        batch: int,
        calibration: str = "kind",
    ) -> tuple[float, ...]:
        """Fit ``measured ~ sum_g s_g * T_g + b`` by least squares on networks measured at ``batch``."""
        coef = self._solve(ops_list, measured_ms, batch, calibration)
        self.correction[batch], self.calibration[batch] = coef, calibration
        return coef

    def _solve(
        self, ops_list: Sequence[Sequence[str]], measured_ms: Sequence[float], batch: int, calibration: str
    ) -> tuple[float, ...]:
        import numpy as np

        check_calibration(calibration)
        need = len(CALIBRATIONS[calibration]) + 1
        if len(ops_list) != len(measured_ms) or len(ops_list) < need:
            raise CalibrationError(
                f"calibrating the LUT ({calibration}) needs >= {need} measured networks, got "
                f"{len(ops_list)} networks and {len(measured_ms)} latencies"
            )
        design = np.array([[*self.op_times(ops, batch, calibration), 1.0] for ops in ops_list])
        target = np.asarray(measured_ms, dtype=float)
        if not np.all(np.isfinite(target)) or np.any(target <= 0):
            raise ValueError("calibrating the LUT needs finite, positive measured latencies")
        unseen = [g for g, column in zip(CALIBRATIONS[calibration], design.T) if not column.any()]
        if unseen or np.linalg.matrix_rank(design) < design.shape[1]:
            # lstsq would give such a group scale 0: every network using it would lose that op's time
            raise CalibrationError(
                f"calibrating the LUT ({calibration}): the {len(ops_list)} networks do not determine every "
                f"scale (groups in none of them: {', '.join(unseen) or 'none; the groups are collinear'})"
            )
        # Weighted by 1/measured: least squares on relative errors, the quantity the accuracy reports.
        coef, *_ = np.linalg.lstsq(design / target[:, None], np.ones_like(target), rcond=None)
        return tuple(float(c) for c in coef)

    def predict(self, ops: Sequence[str], batch: int) -> float:
        """Predicted latency (ms): the calibrated sum where a calibration was fitted, else the raw sum."""
        if batch not in self.correction:
            return self.raw(ops, batch)
        return self._apply(self.correction[batch], ops, batch, self.calibration.get(batch, "kind"))

    def _apply(self, coef: Sequence[float], ops: Sequence[str], batch: int, calibration: str) -> float:
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
        }
        table = table.replace_schema_metadata({b"archbench_lut": json.dumps(meta).encode()})
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(fd)
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | Path) -> LatencyLUT:
        """Read a LUT written by :meth:`save` (ValueError if it is not one)."""
        import json

        import pyarrow.parquet as pq

        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(b"archbench_lut")
        if raw is None:
            raise ValueError(f"{path}: not an archbench latency LUT (no archbench_lut metadata)")
        meta = json.loads(raw)
        lut = cls(MeasurementProtocol.from_dict(meta["protocol"]), meta["C"], meta["N"], meta["resolution"])
        lut.rows = table.to_pylist()
        lut.correction = {int(k): tuple(v) for k, v in meta["correction"].items()}
        lut.calibration = {int(k): v for k, v in meta.get("calibration", {}).items()}  # older files: kind
        return lut


def choose_calibration(
    lut: LatencyLUT,
    ops_list: Sequence[Sequence[str]],
    measured_ms: Sequence[float],
    batch: int,
    folds: int = 5,
) -> tuple[str, dict[str, float]]:
    """The :data:`CALIBRATIONS` choice with the lowest cross-validated RMS relative error, and every score.

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
    for name in CALIBRATIONS:
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
        return next(iter(CALIBRATIONS)), scores
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
    shape = (first.protocol.hash, first.C, first.N, first.resolution)
    if any((o.protocol.hash, o.C, o.N, o.resolution) != shape for o in rounds[1:]):
        raise ValueError("LUT rounds must share one protocol and network shape")
    entries: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for lut in rounds:
        for row in lut.rows:
            entries.setdefault((row["key"], row["batch"]), []).append(row)
    if any(len(found) != len(rounds) for found in entries.values()):
        raise ValueError("LUT rounds must measure the same blocks at the same batch sizes")
    merged = LatencyLUT(first.protocol, first.C, first.N, first.resolution)
    for found in entries.values():
        times = [r["latency_ms"] for r in found]
        value = combine_rounds(times, statistic)
        closest = min(found, key=lambda r: abs(r["latency_ms"] - value))
        merged.rows.append(
            {**closest, "latency_ms": value, "rounds": len(found), "round_spread": round_spread(times)}
        )
    return merged


def profile_lut(protocol: MeasurementProtocol) -> LatencyLUT:
    """Measure every NB201 block at every batch size of ``protocol`` on its target."""
    from hw_profiles.profile import profile_module
    from spaces.tasks import get_task

    task = get_task(protocol.task)
    options = protocol.build_options()
    C, N = int(options.get("C", 16)), int(options.get("N", 5))
    resolution = protocol.resolution or task.resolution
    if resolution % 4:
        raise ValueError(f"nb201 needs an input resolution divisible by 4, got {resolution}")
    timing = replace(protocol, metrics=("latency",))
    lut = LatencyLUT(protocol, C, N, resolution)
    for batch in protocol.batch_sizes:
        for block in nb201_blocks(C, resolution, task.in_channels, task.num_classes):
            module, x = _block_input_and_module(block, batch)
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
