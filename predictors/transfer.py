"""Few-shot latency-predictor transfer to unseen devices, tested leave-one-device-out (HELP-style).

Lee et al., "HELP: Hardware-Adaptive Efficient Latency Prediction for NAS via Meta-Learning" (NeurIPS
2021) describe a device by the latencies of a few reference architectures (its *hardware embedding*)
and adapt a latency predictor from those few measurements. Here, without meta-learning: one LightGBM is
pretrained on the source devices' (architecture encoding, device embedding) -> standardised log-latency
pairs; a new device contributes only its ``shots`` reference measurements, which give its embedding and
the scale that turns standardised predictions back into milliseconds.

Protocol: every *device group* (all batch-size settings of one device: a trailing ``_<power of two>`` is
a batch size) is held out in turn, with all its settings; reference cells are drawn from the
evaluation protocol's training pool and test cells are the members of its test classes (latency is a
cost metric: per concrete cell), so no test cell is ever a shot. Reported per held-out setting:
Kendall tau-b of the transfer model, of a LightGBM fitted on the shots alone, and of the zero-shot mean
of the source devices' standardised latencies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from benchmarks.metrics import kendall, spearman
from predictors.base import make_predictor

if TYPE_CHECKING:
    from benchmarks.table import Table

_BATCH = re.compile(r"^(?P<device>.+)_(?P<batch>\d+)$")


def device_group(setting: str) -> str:
    """The device of a setting: ``1080ti_32`` -> ``1080ti``; ``gold_6240`` stays (6240 is no power of two)."""
    match = _BATCH.match(setting)
    if match and int(match["batch"]) > 0 and int(match["batch"]) & (int(match["batch"]) - 1) == 0:
        return match["device"]
    return setting


def latency_matrix(table: Table, metric: str = "latency") -> pd.DataFrame:
    """``arch x device`` matrix of ``metric`` (ok records; rounds combined as the card says)."""
    if metric not in table.metrics:
        raise ValueError(
            f"table {table.path} has no metric {metric!r} (metrics: {', '.join(sorted(table.metrics))})"
        )
    rows = table.filter(metric=metric, status="ok").astype({"arch": str, "device": str})
    wide = rows.pivot_table(
        index="arch", columns="device", values="value", aggfunc=table.seed_combiner(metric)
    )
    if wide.shape[1] < 3:
        raise ValueError(
            f"table {table.path} has {metric!r} on {wide.shape[1]} devices; transfer needs at least 3"
        )
    return wide


@dataclass(frozen=True)
class TransferResult:
    """Per held-out setting: Kendall tau (and, in ``*_spearman`` columns, Spearman's rho, the measure
    HELP reports) of the transfer model and the two baselines."""

    table: pd.DataFrame


def transfer_evaluation(
    matrix: pd.DataFrame,
    X_of: dict[str, np.ndarray],
    test_cells: Sequence[str],
    pool_cells: Sequence[str],
    shots: int = 10,
    source_cells: int = 1000,
    seed: int = 0,
    groups: Sequence[str] | None = None,
) -> TransferResult:
    """Leave-one-device-group-out evaluation on ``matrix`` (cells x settings, latency > 0).

    ``X_of`` maps a cell to its encoding; shots and source cells come from ``pool_cells``, scores from
    ``test_cells``. Raises ValueError if too few cells have latencies on every setting.
    """
    matrix = matrix.dropna()
    settings = list(matrix.columns)
    by_group: dict[str, list[str]] = {}
    for s in settings:
        by_group.setdefault(device_group(s), []).append(s)
    wanted = list(by_group) if groups is None else list(groups)
    unknown = sorted(set(wanted) - set(by_group))
    if unknown:
        raise ValueError(f"unknown device groups {unknown} (groups: {', '.join(sorted(by_group))})")

    logs = np.log(matrix)
    rng = np.random.default_rng(seed)
    pool = [c for c in pool_cells if c in matrix.index]
    test = [c for c in test_cells if c in matrix.index]
    if len(pool) < shots + source_cells or len(test) < 10:
        raise ValueError(
            f"need {shots + source_cells} training cells and 10 test cells with every latency, "
            f"have {len(pool)} and {len(test)}"
        )
    draw = rng.permutation(len(pool))
    refs = [pool[i] for i in draw[:shots]]
    sources = [pool[i] for i in draw[shots : shots + source_cells]]

    def standardised(setting: str, cells: Sequence[str]) -> np.ndarray:
        ref = logs.loc[refs, setting]
        return (logs.loc[list(cells), setting].to_numpy() - ref.mean()) / (ref.std() or 1.0)

    def embedding(setting: str) -> np.ndarray:
        return standardised(setting, refs)

    X_test = np.stack([X_of[c] for c in test])
    X_src = np.stack([X_of[c] for c in sources])
    rows = []
    for group in wanted:
        held = by_group[group]
        train_settings = [s for s in settings if s not in held]
        X_train = np.vstack(
            [np.hstack([X_src, np.tile(embedding(s), (len(sources), 1))]) for s in train_settings]
        )
        y_train = np.concatenate([standardised(s, sources) for s in train_settings])
        model = make_predictor("lightgbm", seed=seed).fit(X_train, y_train)
        zero_shot = np.mean([standardised(s, test) for s in train_settings], axis=0)
        for setting in held:
            truth = logs.loc[test, setting].to_numpy()
            X = np.hstack([X_test, np.tile(embedding(setting), (len(test), 1))])
            shots_only = make_predictor("lightgbm", seed=seed, min_child_samples=2, n_estimators=200)
            shots_only.fit(np.stack([X_of[c] for c in refs]), logs.loc[refs, setting].to_numpy())
            scores = {
                "transfer": model.predict(X).mean,
                "shots_only": shots_only.predict(X_test).mean,
                "zero_shot_mean": zero_shot,
            }
            rows.append(
                {
                    "group": group,
                    "setting": setting,
                    "shots": shots,
                    **{name: kendall(score, truth) for name, score in scores.items()},
                    **{f"{name}_spearman": spearman(score, truth) for name, score in scores.items()},
                    "test_cells": len(test),
                }
            )
    return TransferResult(pd.DataFrame(rows))
