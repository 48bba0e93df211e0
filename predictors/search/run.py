"""Running strategies over seeds and turning their queries into data: query logs, curves, fronts, plots.

The query log has one row per query: ``strategy, seed, step, arch, arch_id, value`` (the first
selection objective, as measured), ``best_so_far`` (best value queried so far), ``regret`` (the truth's
best value minus ``best_so_far``, >= 0), one ``value_<metric>`` column per further objective, and for
each reported metric its value for the queried class and ``incumbent_<metric>``: the reported metric of
the best-so-far class (selected on the selection objective only). Multi-objective runs add ``hv_ratio``:
the hypervolume ratio of the classes queried so far (:class:`FrontScale`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from predictors.search.base import make_searcher
from predictors.search.multiobjective import FrontScale, pareto_mask, to_min
from predictors.search.oracle import Objective, Truth

if TYPE_CHECKING:
    from spaces.base import SearchSpace


def run_search(
    space: SearchSpace,
    truth: Truth,
    strategy: str,
    objectives: Sequence[Objective],
    budget: int,
    seed: int,
    report: Sequence[str] = (),
    params: dict[str, Any] | None = None,
    scale: FrontScale | None = None,
) -> pd.DataFrame:
    """One seeded run of ``strategy``: its query log (see the module docstring)."""
    objectives = tuple(objectives)
    searcher = make_searcher(strategy, **(params or {}))
    oracle = truth.oracle(space, objectives, budget)
    start = time.perf_counter()
    searcher.run(space, oracle, seed)
    seconds = time.perf_counter() - start
    main = objectives[0]
    sign = 1.0 if main.maximize else -1.0
    rows = []
    best, incumbent = -np.inf, None
    for step, (arch, answer) in enumerate(oracle.history, start=1):
        value = answer[0]
        if np.isfinite(value) and sign * value > best:
            best, incumbent = sign * value, arch.arch_id
        row: dict[str, Any] = {
            "strategy": strategy,
            "seed": seed,
            "step": step,
            "arch": arch.string,
            "arch_id": arch.arch_id,
            "value": value,
        }
        for obj, v in zip(objectives[1:], answer[1:]):
            row[f"value_{obj.metric}"] = v
        row["incumbent"] = incumbent
        rows.append(row)
    log = pd.DataFrame(rows)
    if log.empty:
        raise ValueError(f"strategy {strategy!r} made no queries")
    signed = (sign * log["value"]).where(np.isfinite(log["value"]), -np.inf)
    log["best_so_far"] = (sign * signed.cummax()).where(np.isfinite(signed.cummax()))
    log["regret"] = sign * (truth.best(main) - log["best_so_far"])
    for metric in report:
        col = truth.column(metric)
        log[metric] = col.reindex(log["arch_id"]).to_numpy()
        log[f"incumbent_{metric}"] = col.reindex(log["incumbent"]).to_numpy()
    if len(objectives) > 1:
        scale = scale or FrontScale(
            to_min(truth.frame[[o.metric for o in objectives]].to_numpy(), objectives)
        )
        F = to_min(log[["value"] + [f"value_{o.metric}" for o in objectives[1:]]].to_numpy(), objectives)
        log["hv_ratio"] = [scale.ratio(F[: i + 1][pareto_mask(F[: i + 1])]) for i in range(len(F))]
    log.attrs["seconds"] = seconds
    log["seconds"] = seconds
    return log


def hit_steps(log: pd.DataFrame) -> pd.Series:
    """Per seed, the first step whose regret is 0 (the best class found); NaN where never reached."""
    hit = log[log["regret"] <= 0].groupby("seed")["step"].min()
    return hit.reindex(sorted(log["seed"].unique())).astype(float)


def at_step(log: pd.DataFrame, step: int) -> pd.DataFrame:
    """Each seed's row at ``step`` (or its last row when it stopped earlier)."""
    return log[log["step"] <= step].groupby("seed").tail(1).set_index("seed")


def curves(log: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Per strategy and step: median, 25 % and 75 % quantiles over seeds of each column.

    A seed that stopped early carries its last row forward, so every step has every seed.
    """
    parts = []
    for strategy, group in log.groupby("strategy", sort=False):
        steps = int(group["step"].max())
        full = (
            group.set_index(["seed", "step"])[list(columns)]
            .unstack("seed")
            .reindex(range(1, steps + 1))
            .ffill()
        )
        for column in columns:
            block = full[column]
            parts.append(
                pd.DataFrame(
                    {
                        "strategy": strategy,
                        "step": block.index,
                        "column": column,
                        "median": block.median(axis=1).to_numpy(),
                        "q25": block.quantile(0.25, axis=1).to_numpy(),
                        "q75": block.quantile(0.75, axis=1).to_numpy(),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def summarize(log: pd.DataFrame, budget: int, report: Sequence[str] = ()) -> dict[str, Any]:
    """Figures of a multi-seed log: median queries to the best class, final values, hypervolume, time."""
    hits = hit_steps(log)
    final = at_step(log, budget)
    out: dict[str, Any] = {
        "seeds": len(hits),
        "reached_best": int(hits.notna().sum()),
        "median_queries_to_best": float(hits.fillna(np.inf).median()),
        "mean_queries_to_best_reached": float(hits.mean()) if hits.notna().any() else None,
        "final_best_so_far_median": float(final["best_so_far"].median()),
        "final_regret_median": float(final["regret"].median()),
        "seconds_per_seed_median": float(log.groupby("seed")["seconds"].first().median()),
    }
    for metric in report:
        out[f"final_incumbent_{metric}_median"] = float(final[f"incumbent_{metric}"].median())
        out[f"final_incumbent_{metric}_mean"] = float(final[f"incumbent_{metric}"].mean())
    if "hv_ratio" in log:
        out["final_hv_ratio_median"] = float(final["hv_ratio"].median())
        out["final_hv_ratio_min"] = float(final["hv_ratio"].min())
    return out


def plot_curves(table: pd.DataFrame, columns: Sequence[str], path: str, title: str = "") -> None:
    """One panel per column: median (line) and interquartile band per strategy against queries."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(columns), figsize=(5 * len(columns), 3.8), squeeze=False)
    for ax, column in zip(axes[0], columns):
        for strategy, group in table[table["column"] == column].groupby("strategy", sort=False):
            ax.plot(group["step"], group["median"], label=str(strategy))
            ax.fill_between(group["step"], group["q25"], group["q75"], alpha=0.2)
        if column == "regret":
            ax.set_yscale("symlog", linthresh=0.01)
        ax.set_xlabel("queries")
        ax.set_ylabel(column)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fronts(
    log: pd.DataFrame, objectives: Sequence[Objective], truth: Truth
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The found front per seed (non-dominated queried classes) and the true front of the truth."""
    objectives = tuple(objectives)
    names = [o.metric for o in objectives]
    cols = ["value"] + [f"value_{m}" for m in names[1:]]
    found = []
    for _seed, group in log.groupby("seed"):
        mask = pareto_mask(to_min(group[cols].to_numpy(), objectives))
        found.append(
            group[mask][["seed", "step", "arch", "arch_id", *cols]].rename(columns=dict(zip(cols, names)))
        )
    frame = truth.frame[names]
    mask = pareto_mask(to_min(frame.to_numpy(), objectives))
    true = frame[mask].reset_index().rename(columns={"index": "arch_id"})
    true.insert(1, "arch", [truth.archs[a] for a in true["arch_id"]])
    return pd.concat(found, ignore_index=True), true.sort_values(names[0]).reset_index(drop=True)


def plot_fronts(found: pd.DataFrame, true: pd.DataFrame, objectives: Sequence[Objective], path: str) -> None:
    """The true front and every seed's found front (first objective on y, second on x)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a, b = objectives[0].metric, objectives[1].metric
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.scatter(found[b], found[a], s=6, alpha=0.3, label="found (all seeds)")
    ax.step(true[b].to_numpy(), true[a].to_numpy(), where="post", color="k", lw=1, label="true front")
    ax.set_xlabel(str(objectives[1]))
    ax.set_ylabel(str(objectives[0]))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
