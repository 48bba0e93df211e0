"""Search strategy run times (``make bench``): one seed at the issue's budgets on a whole-space NB201 truth.

The truth is synthetic (every class, class-consistent made-up metrics) so the timing needs no data
files; the measured NB201 figures come from ``scripts/search_report.py``.
"""

from __future__ import annotations

import pytest
from _search_helpers import whole_space_truth

import spaces
from predictors.search.oracle import Objective
from predictors.search.run import run_search

RUNS = {
    "random": ((Objective("val"),), 150),
    "rea": ((Objective("val"),), 150),
    "local": ((Objective("val"),), 150),
    "bananas": ((Objective("val"),), 150),
    "nsga2_predictor": ((Objective("val"), Objective("lat", maximize=False)), 200),
}


@pytest.mark.parametrize("strategy", list(RUNS))
def test_one_seed(benchmark, strategy, one_torch_thread):
    truth, space = whole_space_truth(), spaces.get("nb201")
    objectives, budget = RUNS[strategy]
    log = benchmark.pedantic(
        run_search, args=(space, truth, strategy, objectives, budget, 0), rounds=1, iterations=1
    )
    assert log["arch_id"].nunique() == budget
