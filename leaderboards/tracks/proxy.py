"""Proxy track: a score per architecture of a frozen list, ranked by Kendall tau-b against hidden truth.

The list is split once (fixed seed) into a *dev* part whose truth is public (entrants may check their
proxy on it) and a *test* part whose truth is hidden. Scores: Kendall tau-b (the main metric, since
proxies tie often), Spearman and top-10% precision, as in Abdelfattah et al. (ICLR 2021,
"Zero-Cost Proxies for Lightweight NAS") and Krishnakumar et al. (NAS-Bench-Suite-Zero, NeurIPS 2022).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from benchmarks.analysis.metrics import kendall, spearman, top_k_precision
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


def dev_test_split(ids: list[str], dev_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Shuffle ``ids`` with ``seed``; the first ``dev_fraction`` are dev, the rest test (both non-empty)."""
    if not 0 <= dev_fraction < 1:
        raise ValueError(f"dev_fraction must be in [0, 1), got {dev_fraction}")
    order = list(np.random.default_rng(seed).permutation(sorted(ids)))
    n_dev = round(dev_fraction * len(order))
    return sorted(order[:n_dev]), sorted(order[n_dev:])


@TRACKS.register("proxy")
class ProxyTrack(Track):
    """Scores for a frozen architecture list, Kendall tau-b on the hidden test part."""

    name = "proxy"
    summary = "a score per architecture; Kendall tau-b / Spearman / top-10% precision vs hidden truth"
    columns: ClassVar[tuple[Column, ...]] = (
        Column("arch_id", "id", "an arch_id of public/archs.parquet"),
        Column("score", "float", "the proxy's score (higher = predicted better)"),
    )
    main = "kendall"
    higher_is_better = True
    defaults: ClassVar[dict[str, Any]] = {
        "metric": "val_acc",
        "task": None,
        "dev_fraction": 0.3,
        "top_fraction": 0.1,
        "seed": 0,
        "min_archs": 10,
    }

    def make_split(self, table: Any, params: dict[str, Any]) -> Split:
        """The architecture list, dev truth (public) and test truth (hidden)."""
        truth = truth_by_arch(table, params["metric"], params["task"]).frame
        if len(truth) < int(params["min_archs"]):
            raise ValueError(
                f"a proxy board needs >= {params['min_archs']} architectures with truth, got {len(truth)}"
            )
        dev, test = dev_test_split(list(truth["arch_id"]), float(params["dev_fraction"]), int(params["seed"]))
        truth = truth.set_index("arch_id")
        archs = truth.reset_index()[["arch_id", "arch"]].sort_values("arch_id").reset_index(drop=True)
        archs["split"] = np.where(archs["arch_id"].isin(dev), "dev", "test")
        public = {
            "archs": archs,
            "dev_truth": truth.loc[dev, ["value"]].reset_index(),
        }
        return Split(public, {"truth": truth.loc[test, ["value"]].reset_index()}, params)

    def check(self, rows: pd.DataFrame, public: dict[str, pd.DataFrame], params: dict[str, Any]) -> list[str]:
        """Every listed architecture exactly once, nothing else."""
        expected = set(public["archs"]["arch_id"])
        return duplicate_problems(rows, ["arch_id"], "rows") + id_problems(
            rows["arch_id"], expected, "arch_id", "rows"
        )

    def score(
        self,
        rows: pd.DataFrame,
        public: dict[str, pd.DataFrame],
        hidden: dict[str, pd.DataFrame],
        params: dict[str, Any],
        n_boot: int = stats.N_BOOT,
    ) -> Scores:
        """Kendall tau-b on the hidden test part with paired bootstrap draws; Kendall on dev as public."""
        scores = rows.set_index("arch_id")["score"]
        test = hidden["truth"].sort_values("arch_id")
        x, y = scores.reindex(test["arch_id"]).to_numpy(), test["value"].to_numpy()
        index = stats.resamples(len(y), n_boot)
        fraction = float(params["top_fraction"])
        metrics = {
            "kendall": kendall,
            "spearman": spearman,
            f"top{fraction:g}": lambda a, b: top_k_precision(a, b, fraction),
        }
        results = {}
        for label, fn in metrics.items():
            draws = stats.draws_of(lambda i, fn=fn: fn(x[i], y[i]), index)
            results[label] = (stats.estimate(fn(x, y), draws), draws)
        dev = public["dev_truth"]
        public_score = (
            kendall(scores.reindex(dev["arch_id"]).to_numpy(), dev["value"].to_numpy())
            if len(dev) > 1
            else float("nan")
        )
        main, draws = results.pop("kendall")
        return Scores(main, public_score, draws, {k: v[0] for k, v in results.items()})
