"""Many seeds of a strategy, and its results written as data: query log, per-seed summary, curves, plots.

Files written by :func:`write_results` (into a folder made by the caller):

* ``queries.parquet`` and ``queries.csv``: the query log (:mod:`predictors.search.run`);
* ``seeds.csv``: per seed, the step reaching the best class (empty when not reached) and the final row;
* ``curves.csv`` and ``curves.png``: median and interquartile range over seeds per step;
* ``summary.json``: strategy, parameters, objectives, budget, seeds, the tables' content ids, figures;
* multi-objective runs: ``fronts.csv`` (each seed's found front), ``true_front.csv``, ``fronts.png``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from predictors.search.multiobjective import FrontScale, to_min
from predictors.search.run import at_step, curves, fronts, hit_steps, plot_curves, plot_fronts, run_search

if TYPE_CHECKING:
    from predictors.search.oracle import Objective, Truth
    from spaces.base import SearchSpace


def run_many(
    space: SearchSpace,
    truth: Truth,
    strategy: str,
    objectives: Sequence[Objective],
    budget: int,
    seeds: Sequence[int],
    report: Sequence[str] = (),
    params: dict[str, Any] | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """The query logs of ``strategy`` for each seed, concatenated."""
    from rich.progress import Progress

    objectives = tuple(objectives)
    scale = None
    if len(objectives) > 1:
        scale = FrontScale(to_min(truth.frame[[o.metric for o in objectives]].to_numpy(), objectives))
    logs = []
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(f"{strategy} seeds", total=len(seeds))
        for seed in seeds:
            logs.append(run_search(space, truth, strategy, objectives, budget, seed, report, params, scale))
            bar.advance(task)
    return pd.concat(logs, ignore_index=True)


def figures(log: pd.DataFrame, budget: int, report: Sequence[str] = ()) -> dict[str, Any]:
    """Headline figures over seeds (see :func:`predictors.search.run.summarize`)."""
    from predictors.search.run import summarize

    return summarize(log, budget, report)


def write_results(
    folder: Path,
    log: pd.DataFrame,
    truth: Truth,
    strategy: str,
    objectives: Sequence[Objective],
    budget: int,
    report: Sequence[str] = (),
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the files listed in the module docstring into ``folder``; returns the summary."""
    from predictors.search.base import make_searcher

    folder = Path(folder)
    objectives = tuple(objectives)
    log.to_parquet(folder / "queries.parquet", index=False)
    log.to_csv(folder / "queries.csv", index=False)
    per_seed = at_step(log, budget).assign(queries_to_best=hit_steps(log))
    per_seed.to_csv(folder / "seeds.csv")
    columns = ["best_so_far", "regret", *(f"incumbent_{m}" for m in report)]
    if "hv_ratio" in log:
        columns.append("hv_ratio")
    table = curves(log, columns)
    table.to_csv(folder / "curves.csv", index=False)
    plot_curves(
        table, columns, str(folder / "curves.png"), title=f"{strategy}, {log['seed'].nunique()} seeds"
    )
    summary: dict[str, Any] = {
        "strategy": strategy,
        "params": make_searcher(strategy, **(params or {})).params,
        "objectives": [str(o) for o in objectives],
        "report": list(report),
        "budget": budget,
        "seeds": sorted(int(s) for s in log["seed"].unique()),
        "tables": list(truth.sources),
        "best_value": truth.best(objectives[0]),
        "best_classes": truth.optimal_ids(objectives[0]),
        "figures": figures(log, budget, report),
    }
    if len(objectives) > 1:
        found, true = fronts(log, objectives, truth)
        found.to_csv(folder / "fronts.csv", index=False)
        true.to_csv(folder / "true_front.csv", index=False)
        plot_fronts(found, true, objectives, str(folder / "fronts.png"))
        summary["true_front_size"] = len(true)
    (folder / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True, default=float) + "\n")
    return summary
