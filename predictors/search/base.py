"""The `Searcher` interface, its card and the strategy registry (entry-point group ``archbench.searchers``).

A searcher spends an :class:`~predictors.search.oracle.Oracle`'s budget on a space: ``run(space,
oracle, seed)`` checks the capabilities its card names (``spaces.capabilities.requires``), makes one
``numpy`` generator from the seed (no global RNG state) and calls ``_run``, which queries until the
budget is spent. Same seed, same oracle -> same query sequence.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from predictors.search.oracle import BudgetExhausted
from spaces.registry import Registry

if TYPE_CHECKING:
    from predictors.search.oracle import Oracle
    from spaces.base import SearchSpace

MAX_STALLS = 10_000
"""Consecutive proposals of already-queried classes after which a strategy stops (a tiny space is spent)."""


@dataclass(frozen=True)
class SearcherCard:
    """What a strategy is: its objectives, the space capabilities it needs, defaults and its paper."""

    name: str
    summary: str
    paper: str
    objectives: Literal["single", "multi", "any"] = "single"
    needs: tuple[str, ...] = ()
    """Capability names (keys of :data:`spaces.capabilities.CAPABILITIES`)."""
    defaults: tuple[tuple[str, Any], ...] = ()


class Searcher(ABC):
    """A search strategy; hyper-parameters are JSON values in ``self.params`` (unknown ones refused)."""

    card: ClassVar[SearcherCard]

    def __init__(self, **params: Any) -> None:
        valid = dict(self.card.defaults)
        unknown = sorted(set(params) - set(valid))
        if unknown:
            names = ", ".join(valid) or "(none)"
            raise ValueError(f"unknown parameters {unknown} for strategy {self.card.name!r} (valid: {names})")
        self.params: dict[str, Any] = {**valid, **params}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params})"

    def run(self, space: SearchSpace, oracle: Oracle, seed: int) -> None:
        """Query ``oracle`` until its budget is spent (or the strategy runs out of new classes)."""
        from spaces.capabilities import CAPABILITIES, requires

        for need in self.card.needs:
            requires(space, CAPABILITIES[need], f"search strategy {self.card.name!r}")
        n_objectives = len(oracle.objectives)
        if self.card.objectives != "any" and (self.card.objectives == "single") != (n_objectives == 1):
            raise ValueError(
                f"strategy {self.card.name!r} is {self.card.objectives}-objective; "
                f"the oracle answers {n_objectives} objectives"
            )
        rng = np.random.default_rng(seed)
        with contextlib.suppress(BudgetExhausted):
            self._run(space, oracle, rng, seed)

    @abstractmethod
    def _run(self, space: SearchSpace, oracle: Oracle, rng: np.random.Generator, seed: int) -> None:
        """Spend the budget; raising :class:`BudgetExhausted` (from ``oracle.query``) ends the run."""


SEARCHERS: Registry[type[Searcher]] = Registry("search strategy", entry_point_group="archbench.searchers")
for _name, _target in {
    "random": "predictors.search.strategies:RandomSearch",
    "rea": "predictors.search.strategies:RegularizedEvolution",
    "local": "predictors.search.strategies:LocalSearch",
    "bananas": "predictors.search.bananas:Bananas",
    "nsga2_predictor": "predictors.search.multiobjective:PredictorNSGA2",
}.items():
    SEARCHERS.register(_name, _target)


def get_searcher_class(name: str) -> type[Searcher]:
    """The strategy class registered as ``name`` (KeyError with suggestions if unknown)."""
    cls = SEARCHERS.get(name)
    if not (isinstance(cls, type) and issubclass(cls, Searcher)):
        raise TypeError(f"entry point for strategy {name!r} gave {cls!r}, not a Searcher subclass")
    if cls.card.name != name:
        raise TypeError(f"strategy registered as {name!r} has a card named {cls.card.name!r}")
    return cls


def make_searcher(name: str, **params: Any) -> Searcher:
    """A strategy ``name`` with ``params`` (others at their published defaults)."""
    return get_searcher_class(name)(**params)


def list_searchers(filter: str | None = None) -> list[str]:
    """Registered strategy names, optionally filtered by an fnmatch pattern."""
    return SEARCHERS.names(filter)
