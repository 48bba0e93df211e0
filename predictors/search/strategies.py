"""Predictor-free strategies: random search, regularised evolution (REA) and local search."""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from predictors.search.base import MAX_STALLS, Searcher, SearcherCard
from predictors.search.oracle import NotInTable

if TYPE_CHECKING:
    from predictors.search.oracle import Oracle
    from spaces.base import Architecture, SearchSpace


def draw(space: SearchSpace, oracle: Oracle, rng: np.random.Generator) -> Architecture:
    """A random architecture: the space's own sampler (uniform over its cells, as NB201 samples)."""
    return space.sample(rng)


def ask(oracle: Oracle, arch: Architecture) -> float | None:
    """``oracle.score(oracle.query(arch))``, or None for a class the oracle's tables do not hold."""
    try:
        return oracle.score(oracle.query(arch))
    except NotInTable:
        return None


class RandomSearch(Searcher):
    """Uniform over classes without replacement (every class equally likely, none queried twice).

    With an oracle that lists its domain (a table) the order is a permutation of the table's classes;
    otherwise new classes come from the space's sampler, skipping classes already queried.
    Hitting one of ``k`` optimal classes among ``N`` then takes ``(N + 1) / (k + 1)`` queries on average.
    """

    card = SearcherCard(
        name="random",
        summary="uniform over classes, without replacement",
        paper="Li & Talwalkar, Random search and reproducibility for NAS, UAI 2019",
        objectives="any",
    )

    def _run(self, space: SearchSpace, oracle: Oracle, rng: np.random.Generator, seed: int) -> None:
        if oracle.domain is not None:
            for i in rng.permutation(len(oracle.domain)):
                oracle.query(space.parse(oracle.domain[i]))
            return
        stalls = 0
        while stalls < MAX_STALLS:
            arch = space.sample(rng)
            if oracle.seen(arch):
                stalls += 1
                continue
            stalls = 0
            ask(oracle, arch)


class RegularizedEvolution(Searcher):
    """Aging evolution (Real et al. 2019): tournament of ``sample`` from a ``population`` queue, the
    winner's mutant joins, the oldest leaves. Defaults as in Real et al. and NAS-Bench-201 (10, 3)."""

    card = SearcherCard(
        name="rea",
        summary="regularised (aging) evolution, tournament selection, one mutation per child",
        paper="Real et al., Regularized evolution for image classifier architecture search, AAAI 2019",
        needs=("mutable",),
        defaults=(("population", 10), ("sample", 3)),
    )

    def _run(self, space: SearchSpace, oracle: Oracle, rng: np.random.Generator, seed: int) -> None:
        size, sample = int(self.params["population"]), int(self.params["sample"])
        if size < 1 or not 1 <= sample <= size:
            raise ValueError(f"rea needs population >= 1 and 1 <= sample <= population, got {size}, {sample}")
        population: deque[tuple[Architecture, float]] = deque()
        stalls = 0
        while len(population) < size and stalls < MAX_STALLS:
            arch = draw(space, oracle, rng)
            score = ask(oracle, arch)
            stalls = stalls + 1 if score is None else 0
            if score is not None:
                population.append((arch, score))
        stalls = 0
        while population and stalls < MAX_STALLS:
            picks = rng.choice(len(population), size=sample, replace=False)
            parent = max((population[i] for i in picks), key=lambda p: p[1])[0]
            child = space.mutate(parent, rng)  # type: ignore[attr-defined]
            before = oracle.used
            score = ask(oracle, child)
            stalls = stalls + 1 if oracle.used == before else 0
            if score is not None:
                population.append((child, score))
                population.popleft()


class LocalSearch(Searcher):
    """Hill climbing over the space's neighbourhood with random restarts (White et al. 2021):
    query every neighbour of the current architecture, move to the best if it improves, else restart."""

    card = SearcherCard(
        name="local",
        summary="best-improvement hill climbing over neighbors(), random restarts",
        paper="White, Nolen, Ravi & Savani, Exploring the loss landscape in NAS, UAI 2021",
        needs=("mutable",),
    )

    def _run(self, space: SearchSpace, oracle: Oracle, rng: np.random.Generator, seed: int) -> None:
        stalls = 0
        while stalls < MAX_STALLS:
            current = draw(space, oracle, rng)
            before = oracle.used
            best = ask(oracle, current)
            if best is None:
                stalls += 1
                continue
            while True:
                neighbours = space.neighbors(current)  # type: ignore[attr-defined]
                order = rng.permutation(len(neighbours))
                move, move_score = None, -math.inf
                for i in order:
                    score = ask(oracle, neighbours[i])
                    if score is not None and score > move_score:
                        move, move_score = neighbours[i], score
                if move is None or move_score <= best:
                    break
                current, best = move, move_score
            stalls = stalls + 1 if oracle.used == before else 0
