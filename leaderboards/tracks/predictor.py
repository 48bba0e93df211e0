"""Predictor track: predictions for a hidden test split, given nested public training splits of several sizes.

The architectures are shuffled once (fixed seed) into test (hidden truth), dev (public truth, to be
predicted too: the public score) and a training pool; the training split of size ``n`` is the first
``n`` of the pool, so the splits are nested, as in the sample-efficiency curves of White et al.
("How Powerful are Performance Predictors in NAS?", NeurIPS 2021). The main metric is Kendall tau on
the test part, averaged over the training sizes.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from benchmarks.analysis.metrics import kendall, spearman
from leaderboards import stats
from leaderboards.schema import Column
from leaderboards.tracks.base import (
    TRACKS,
    Scores,
    Split,
    Track,
    duplicate_problems,
    id_problems,
    truth_by_arch,
)


def parse_sizes(value: Any) -> list[int]:
    """``"10,20"`` or ``[10, 20]`` as a sorted list of distinct positive sizes."""
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        sizes = sorted({int(s) for s in items})
    except (TypeError, ValueError):
        raise ValueError(f"sizes must be positive integers, got {value!r}") from None
    if not sizes or sizes[0] < 2:
        raise ValueError(f"sizes must be integers >= 2, got {value!r}")
    return sizes


@TRACKS.register("predictor")
class PredictorTrack(Track):
    """Predictions for dev and test architectures per training size; Kendall tau on the hidden test part."""

    name = "predictor"
    summary = "predictions for a hidden test split per public training size; mean Kendall tau over sizes"
    columns: ClassVar[tuple[Column, ...]] = (
        Column("train_size", "int", "one of the board's training sizes"),
        Column("arch_id", "id", "a dev or test arch_id of public/archs.parquet"),
        Column("prediction", "float", "the predicted value (higher = better)"),
    )
    main = "kendall"
    higher_is_better = True
    defaults: ClassVar[dict[str, Any]] = {
        "metric": "val_acc",
        "task": None,
        "sizes": "10,20",
        "dev_fraction": 0.1,
        "test_fraction": 0.4,
        "seed": 0,
    }

    def make_split(self, table: Any, params: dict[str, Any]) -> Split:
        """Test (hidden), dev and nested training splits (public, with truth)."""
        sizes = parse_sizes(params["sizes"])
        truth = truth_by_arch(table, params["metric"], params["task"]).frame.set_index("arch_id")
        order = list(np.random.default_rng(int(params["seed"])).permutation(sorted(truth.index)))
        n_test = round(float(params["test_fraction"]) * len(order))
        n_dev = round(float(params["dev_fraction"]) * len(order))
        test, dev, pool = order[:n_test], order[n_test : n_test + n_dev], order[n_test + n_dev :]
        if n_test < 5 or len(pool) < sizes[-1]:
            raise ValueError(
                f"{len(order)} architectures leave {n_test} for test and {len(pool)} for training; "
                f"need >= 5 test and >= {sizes[-1]} (the largest size) for training"
            )
        archs = truth.reset_index()[["arch_id", "arch"]]
        role = {**dict.fromkeys(test, "test"), **dict.fromkeys(dev, "dev"), **dict.fromkeys(pool, "pool")}
        archs["split"] = archs["arch_id"].map(role)
        train = truth.loc[pool[: sizes[-1]], ["arch", "value"]].reset_index()
        train["first_size"] = [next(s for s in sizes if i < s) for i in range(len(train))]
        public = {
            "archs": archs.sort_values("arch_id").reset_index(drop=True),
            "train": train,
            "dev_truth": truth.loc[sorted(dev), ["value"]].reset_index(),
        }
        return Split(
            public, {"truth": truth.loc[sorted(test), ["value"]].reset_index()}, {**params, "sizes": sizes}
        )

    def check(self, rows: pd.DataFrame, public: dict[str, pd.DataFrame], params: dict[str, Any]) -> list[str]:
        """Every (size, dev or test architecture) once; no training architecture, no other size."""
        archs = public["archs"]
        expected = set(archs.loc[archs["split"].isin(["dev", "test"]), "arch_id"])
        problems = duplicate_problems(rows, ["train_size", "arch_id"], "rows")
        sizes = [int(s) for s in params["sizes"]]
        bad = sorted(set(rows["train_size"]) - set(sizes))
        if bad:
            problems.append(f"rows: train_size {bad[:5]} is not one of the board's sizes {sizes}")
        for size in sizes:
            part = rows.loc[rows["train_size"] == size, "arch_id"]
            problems += id_problems(part, expected, "dev/test arch_id", f"rows (train_size {size})")
        return problems

    def score(
        self,
        rows: pd.DataFrame,
        public: dict[str, pd.DataFrame],
        hidden: dict[str, pd.DataFrame],
        params: dict[str, Any],
        n_boot: int = stats.N_BOOT,
    ) -> Scores:
        """Mean Kendall tau over sizes on the test part (paired draws), per-size Kendall and Spearman."""
        test = hidden["truth"].sort_values("arch_id")
        dev = public["dev_truth"]
        y = test["value"].to_numpy()
        index = stats.resamples(len(y), n_boot)
        per_size, dev_scores, extra = [], [], {}
        for size in [int(s) for s in params["sizes"]]:
            preds = rows[rows["train_size"] == size].set_index("arch_id")["prediction"]
            x = preds.reindex(test["arch_id"]).to_numpy()
            draws = stats.draws_of(lambda i, x=x: kendall(x[i], y[i]), index)
            per_size.append((kendall(x, y), draws))
            extra[f"kendall@{size}"] = stats.estimate(kendall(x, y), draws)
            sp = stats.draws_of(lambda i, x=x: spearman(x[i], y[i]), index)
            extra[f"spearman@{size}"] = stats.estimate(spearman(x, y), sp)
            if len(dev) > 1:
                dev_scores.append(kendall(preds.reindex(dev["arch_id"]).to_numpy(), dev["value"].to_numpy()))
        draws = np.nanmean(np.stack([d for _, d in per_size]), axis=0)
        point = float(np.mean([p for p, _ in per_size]))
        public_score = float(np.mean(dev_scores)) if dev_scores else float("nan")
        return Scores(stats.estimate(point, draws), public_score, draws, extra)
