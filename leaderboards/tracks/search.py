"""Search track: the ordered list of queried architectures under a budget, replayed against hidden truth.

Entrants search against the public table: the target metric of one training seed (``public_seed``).
The hidden truth is the mean of the table's *other* seeds. A run's answer is the architecture it would
return, the best queried one by the public values it saw; its regret is the hidden best minus the
hidden value of that answer (lower is better; the main metric, averaged over runs). With a cost metric
(e.g. latency or FLOPs, minimised) the queried set's hypervolume ratio for accuracy x cost is reported
as well (:class:`predictors.search.multiobjective.FrontScale`: HV(found) / HV(true front), reference
1.1 on the front's ideal-to-nadir scale). Runs are the bootstrap units.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from leaderboards import stats
from leaderboards.schema import Column, rows_text
from leaderboards.tracks.base import (
    TRACKS,
    Scores,
    Split,
    Track,
    duplicate_problems,
    id_problems,
    truth_by_arch,
)


def truth_by_seed(table: Any, metric: str, task: str | None) -> pd.DataFrame:
    """``metric`` at its last epoch per ``arch_id`` and training seed (columns arch_id, seed, value)."""
    conditions = {"task": task} if task is not None else {}
    table.check_filters(metric=metric, **conditions)
    frame = table.filter(metric=metric, status="ok", **conditions)
    frame = frame[frame["epoch"] == frame["epoch"].max()]
    frame = frame.astype({"arch_id": str}).groupby(["arch_id", "seed"], as_index=False)["value"].mean()
    return frame.astype({"seed": "int64"})


@TRACKS.register("search")
class SearchTrack(Track):
    """Query lists (run, step, arch_id) replayed against hidden truth; mean regret over runs."""

    name = "search"
    summary = "ordered query lists under a budget, replayed: regret (and accuracy x cost hypervolume)"
    columns: ClassVar[tuple[Column, ...]] = (
        Column("run", "int", "run number (e.g. the search seed)"),
        Column("step", "int", "1, 2, ... in query order within the run"),
        Column("arch_id", "id", "the queried arch_id (of public/truth.parquet)"),
    )
    main = "regret"
    higher_is_better = False
    paired = False
    defaults: ClassVar[dict[str, Any]] = {
        "metric": "val_acc",
        "cost": None,
        "task": None,
        "budget": 10,
        "public_seed": None,
        "max_runs": 100,
    }

    def make_split(self, table: Any, params: dict[str, Any]) -> Split:
        """Public truth: one seed (plus the cost metric); hidden truth: the mean of the other seeds."""
        per_seed = truth_by_seed(table, params["metric"], params["task"])
        seeds = sorted(per_seed["seed"].unique())
        if len(seeds) < 2:
            raise ValueError(
                f"a search board needs >= 2 training seeds of {params['metric']!r} (found {seeds})"
            )
        public_seed = int(params["public_seed"]) if params["public_seed"] is not None else int(seeds[0])
        if public_seed not in seeds:
            raise ValueError(f"public_seed {public_seed} is not among the table's seeds {seeds}")
        complete = per_seed.groupby("arch_id")["seed"].nunique() == len(seeds)
        per_seed = per_seed[per_seed["arch_id"].isin(complete[complete].index)]
        public = per_seed[per_seed["seed"] == public_seed].set_index("arch_id")["value"]
        hidden = per_seed[per_seed["seed"] != public_seed].groupby("arch_id")["value"].mean()
        archs = table.archs.drop_duplicates("arch_id").set_index("arch_id")["arch"].astype(str)
        frame = pd.DataFrame({"arch_id": public.index, "arch": archs.reindex(public.index).to_numpy()})
        frame["value"] = public.to_numpy()
        if params["cost"]:
            cost = truth_by_arch(table, params["cost"], params["task"]).frame.set_index("arch_id")["value"]
            frame["cost"] = cost.reindex(frame["arch_id"]).to_numpy()
            frame = frame.dropna(subset=["cost"])
        if int(params["budget"]) < 1 or len(frame) <= int(params["budget"]):
            raise ValueError(
                f"budget {params['budget']} must be >= 1 and below the {len(frame)} architectures"
            )
        hidden_frame = pd.DataFrame(
            {"arch_id": frame["arch_id"], "value": hidden.reindex(frame["arch_id"]).to_numpy()}
        )
        resolved = {
            **params,
            "public_seed": public_seed,
            "hidden_seeds": [int(s) for s in seeds if s != public_seed],
        }
        return Split(
            {"truth": frame.reset_index(drop=True)}, {"truth": hidden_frame.reset_index(drop=True)}, resolved
        )

    def check(self, rows: pd.DataFrame, public: dict[str, pd.DataFrame], params: dict[str, Any]) -> list[str]:
        """Known architectures; per run, steps 1..n in order, no repeats, within the budget."""
        problems = duplicate_problems(rows, ["run", "step"], "rows")
        problems += duplicate_problems(rows, ["run", "arch_id"], "rows")
        known = set(public["truth"]["arch_id"])
        problems += [p for p in id_problems(rows["arch_id"], known, "arch_id", "rows") if "unknown" in p]
        if problems:
            return problems
        budget, runs = int(params["budget"]), rows.groupby("run")
        if runs.ngroups > int(params["max_runs"]):
            problems.append(f"rows: {runs.ngroups} runs, over this board's limit of {params['max_runs']}")
        over = [int(r) for r, part in runs if len(part) > budget]
        if over:
            problems.append(
                f"rows: runs {rows_text(over)} query more than the budget of {budget} architectures"
            )
        gaps = [int(r) for r, part in runs if sorted(part["step"]) != list(range(1, len(part) + 1))]
        if gaps:
            problems.append(f"rows: runs {rows_text(gaps)} must number their steps 1, 2, ... without gaps")
        return problems

    def score(
        self,
        rows: pd.DataFrame,
        public: dict[str, pd.DataFrame],
        hidden: dict[str, pd.DataFrame],
        params: dict[str, Any],
        n_boot: int = stats.N_BOOT,
    ) -> Scores:
        """Mean hidden regret over runs (bootstrap over runs), public regret, and the hypervolume ratio."""
        seen = public["truth"].set_index("arch_id")
        truth = hidden["truth"].set_index("arch_id")["value"]
        regrets, public_regrets, ratios = [], [], []
        scale = None
        if "cost" in seen:
            from predictors.search.multiobjective import FrontScale

            scale = FrontScale(np.column_stack([-truth.reindex(seen.index), seen["cost"]]))
        for _, run in rows.sort_values(["run", "step"]).groupby("run"):
            ids = list(run["arch_id"])
            answer = seen.loc[ids, "value"].idxmax()
            regrets.append(truth.max() - truth[answer])
            public_regrets.append(seen["value"].max() - seen.loc[answer, "value"])
            if scale is not None:
                ratios.append(scale.ratio(np.column_stack([-truth.reindex(ids), seen.loc[ids, "cost"]])))
        regrets_arr = np.array(regrets)
        index = stats.resamples(len(regrets_arr), n_boot)
        draws = regrets_arr[index].mean(axis=1)
        extra = {}
        if ratios:
            ratio_arr = np.array(ratios)
            extra["hv_ratio"] = stats.estimate(float(ratio_arr.mean()), ratio_arr[index].mean(axis=1))
        return Scores(
            stats.estimate(float(regrets_arr.mean()), draws), float(np.mean(public_regrets)), draws, extra
        )
