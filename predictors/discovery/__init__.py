"""Proxy discovery by genetic programming (the EZNAS idea: Akhauri et al., NeurIPS 2022), sized for 2 cores.

* :mod:`~predictors.discovery.ops` / :mod:`~predictors.discovery.expr` — the typed expression language
  (operator registry; immutable trees with a canonical text, a SHA-256 hash and a readable formula);
* :mod:`~predictors.discovery.gather` — one forward+backward per architecture under a table's proxy
  protocol, kept as fixed-size per-layer matrices; :mod:`~predictors.discovery.evaluate` — vectorised
  evaluation with statuses instead of exceptions;
* :mod:`~predictors.discovery.gp` — creation, mutation, crossover, tournaments, bloat limits;
  :mod:`~predictors.discovery.search` — fitness, generations, the journal and resume;
* :mod:`~predictors.discovery.data`, :mod:`~predictors.discovery.run`, :mod:`~predictors.discovery.report`
  — tables in, frozen split, held-out figures beside the hand-made proxies and the vote;
* :mod:`~predictors.discovery.proxy` — saved expression files and their registration as proxies;
  :mod:`~predictors.discovery.cli` — ``archbench proxies discover`` and ``archbench proxies transfer``.

Importing this package imports no torch.
"""

from __future__ import annotations

from predictors.discovery.evaluate import Evaluation, evaluate
from predictors.discovery.expr import TERMINALS, Node, formula, parse
from predictors.discovery.gp import Limits
from predictors.discovery.proxy import (
    Discovered,
    discovered_proxy,
    load_expression,
    register_discovered,
    save_expression,
)
from predictors.discovery.search import SearchConfig

__all__ = [
    "TERMINALS",
    "Discovered",
    "Evaluation",
    "Limits",
    "Node",
    "SearchConfig",
    "discovered_proxy",
    "evaluate",
    "formula",
    "load_expression",
    "parse",
    "register_discovered",
    "save_expression",
]
