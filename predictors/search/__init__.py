"""Search strategies as consumers of tables and surrogates: oracle, strategies, runs, fronts.

Importing the package is cheap: pymoo, torch and LightGBM load when a strategy runs.
"""

from __future__ import annotations

from predictors.search.base import (
    SEARCHERS,
    Searcher,
    SearcherCard,
    get_searcher_class,
    list_searchers,
    make_searcher,
)
from predictors.search.oracle import BudgetExhausted, NotInTable, Objective, Oracle, Truth

__all__ = [
    "SEARCHERS",
    "BudgetExhausted",
    "NotInTable",
    "Objective",
    "Oracle",
    "Searcher",
    "SearcherCard",
    "Truth",
    "get_searcher_class",
    "list_searchers",
    "make_searcher",
]
