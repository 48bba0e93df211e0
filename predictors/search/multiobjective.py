"""Multi-objective search: Pareto fronts, hypervolume (pymoo) and a predictor-guided NSGA-II (LINAS-style).

Objectives are turned to minimisation (``F = -value`` for a maximised metric). The hypervolume ratio of
a found set is ``HV(found) / HV(true front)``, both after scaling each objective by the true front's
ideal and nadir points (0 = best, 1 = worst on the true front) with the reference point at 1.1 in each
objective (10 % beyond the nadir, so the front's extreme points count), fixed before any result was seen.

:class:`PredictorNSGA2` follows LINAS / DyNAS-T (Cummings et al., 2022): query ``num_init`` random
architectures; then each iteration fits one predictor per objective on the queried classes, runs pymoo's
NSGA-II on the *predicted* objectives (the population seeded with the queried architectures, offspring
by the space's ``mutate``, duplicates by ``arch_id``), and queries the ``k`` not-yet-queried members of
its final population that NSGA-II's rank-and-crowding survival ranks first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from predictors.search.base import MAX_STALLS, Searcher, SearcherCard
from predictors.search.oracle import NotInTable

if TYPE_CHECKING:
    from predictors.search.oracle import Objective, Oracle
    from spaces.base import Architecture, SearchSpace

REFERENCE = 1.1
"""Reference point of the hypervolume, per objective, on the true front's ideal (0) to nadir (1) scale."""


def to_min(values: np.ndarray, objectives: tuple[Objective, ...]) -> np.ndarray:
    """Objective values (n x m, as measured) as a minimisation matrix."""
    values = np.asarray(values, dtype=float).reshape(-1, len(objectives))
    signs = np.array([-1.0 if o.maximize else 1.0 for o in objectives])
    return values * signs


def pareto_mask(F: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of a minimisation matrix (pymoo's non-dominated sorting).

    Rows with NaN are never on the front; duplicated points are all kept.
    """
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    F = np.asarray(F, dtype=float)
    mask = np.zeros(len(F), dtype=bool)
    finite = np.flatnonzero(np.isfinite(F).all(axis=1))
    if len(finite):
        front = NonDominatedSorting().do(F[finite], only_non_dominated_front=True)
        mask[finite[front]] = True
    return mask


def hypervolume(F: np.ndarray, ref: np.ndarray) -> float:
    """The hypervolume dominated by the rows of ``F`` (minimisation) and bounded by ``ref`` (pymoo HV)."""
    from pymoo.indicators.hv import HV

    F = np.asarray(F, dtype=float)
    F = F[np.isfinite(F).all(axis=1) & (np.asarray(ref) > F).all(axis=1)]
    if not len(F):
        return 0.0
    return float(HV(ref_point=np.asarray(ref, dtype=float))(F))


class FrontScale:
    """Scaling by a true front's ideal and nadir points, and hypervolume ratios against that front."""

    def __init__(self, true_F: np.ndarray) -> None:
        true_F = np.asarray(true_F, dtype=float)
        front = true_F[pareto_mask(true_F)]
        self.front = front
        self.ideal, self.nadir = front.min(axis=0), front.max(axis=0)
        span = self.nadir - self.ideal
        self.span = np.where(span > 0, span, 1.0)
        self.ref = np.full(front.shape[1], REFERENCE)
        self.true_hv = hypervolume(self.scale(front), self.ref)

    def scale(self, F: np.ndarray) -> np.ndarray:
        return (np.asarray(F, dtype=float) - self.ideal) / self.span

    def ratio(self, F: np.ndarray) -> float:
        """``HV(F) / HV(true front)`` on the scaled objectives (1.0 when ``F`` holds the true front)."""
        F = np.asarray(F, dtype=float)
        if not len(F):
            return 0.0
        return hypervolume(self.scale(F), self.ref) / self.true_hv


def _pymoo_parts(space: SearchSpace, predict, n_obj: int):
    """A pymoo problem over architectures (object variables) and its sampling / mutation / duplicates."""
    from pymoo.core.duplicate import ElementwiseDuplicateElimination
    from pymoo.core.mutation import Mutation
    from pymoo.core.problem import Problem
    from pymoo.core.sampling import Sampling

    class ArchProblem(Problem):
        def __init__(self) -> None:
            super().__init__(n_var=1, n_obj=n_obj, vtype=object)

        def _evaluate(self, X, out, *args, **kwargs):
            out["F"] = predict([x[0] for x in X])

    class Seeded(Sampling):
        def __init__(self, archs: list[Architecture]) -> None:
            super().__init__()
            self.archs = archs

        def _do(self, problem, n_samples, *args, random_state=None, **kwargs):
            archs = list(self.archs[:n_samples])
            while len(archs) < n_samples:
                archs.append(space.sample(random_state))
            X = np.empty((n_samples, 1), dtype=object)
            X[:, 0] = archs
            return X

    class Mutate(Mutation):
        def _do(self, problem, X, *args, random_state=None, **kwargs):
            Y = np.empty_like(X)
            for i, x in enumerate(X):
                Y[i, 0] = space.mutate(x[0], random_state)  # type: ignore[attr-defined]
            return Y

    class SameClass(ElementwiseDuplicateElimination):
        def is_equal(self, a, b) -> bool:
            return a.X[0].arch_id == b.X[0].arch_id

    return ArchProblem(), Seeded, Mutate, SameClass


class PredictorNSGA2(Searcher):
    """Predictor-guided multi-objective evolution with NSGA-II selection; see the module docstring."""

    card = SearcherCard(
        name="nsga2_predictor",
        summary="LINAS-style: predictors per objective, pymoo NSGA-II on predictions, query its best k",
        paper="Cummings et al., LINAS / DyNAS-T (2022); Deb et al., NSGA-II, IEEE TEC 2002",
        objectives="multi",
        needs=("mutable", "encodable"),
        defaults=(
            ("encoding", "onehot"),
            ("generations", 30),
            ("k", 10),
            ("num_init", 20),
            ("population", 50),
            ("predictor", "lightgbm"),
        ),
    )

    def _run(self, space: SearchSpace, oracle: Oracle, rng: np.random.Generator, seed: int) -> None:
        from pymoo.algorithms.moo.nsga2 import NSGA2
        from pymoo.core.population import Population
        from pymoo.operators.crossover.nox import NoCrossover
        from pymoo.operators.survival.rank_and_crowding import RankAndCrowding
        from pymoo.optimize import minimize

        from predictors.search.bananas import encode_all, fit_predictor

        p = self.params
        k, n_obj = int(p["k"]), len(oracle.objectives)
        queried: dict[str, tuple[Architecture, np.ndarray]] = {}

        def query(arch: Architecture) -> None:
            try:
                answer = oracle.query(arch)
            except NotInTable:
                return
            queried[arch.arch_id] = (arch, to_min(np.array(answer), oracle.objectives)[0])

        stalls = 0
        while len(queried) < int(p["num_init"]) and stalls < MAX_STALLS:
            arch = space.sample(rng)
            stalls = stalls + 1 if oracle.seen(arch) else 0
            query(arch)
        iteration = 0
        while stalls < MAX_STALLS:
            iteration += 1
            archs = [a for a, _ in queried.values()]
            F = np.array([f for _, f in queried.values()])
            X = encode_all(space, archs, p["encoding"])
            models = [
                fit_predictor(p["predictor"], seed * 1000 + iteration * 10 + j, X, F[:, j])
                for j in range(n_obj)
            ]

            def predict(batch: list[Architecture], models=models) -> np.ndarray:
                E = encode_all(space, batch, p["encoding"])
                return np.column_stack([m.predict(E).mean for m in models])

            problem, Seeded, Mutate, SameClass = _pymoo_parts(space, predict, n_obj)
            order = np.lexsort(F.T[::-1])  # queried architectures, best first objective first
            elite = [archs[i] for i in order[pareto_mask(F)[order]]] + [archs[i] for i in order]
            algorithm = NSGA2(
                pop_size=int(p["population"]),
                sampling=Seeded(list({a.arch_id: a for a in elite}.values())),
                crossover=NoCrossover(),
                mutation=Mutate(),
                eliminate_duplicates=SameClass(),
            )
            result = minimize(
                problem,
                algorithm,
                ("n_gen", int(p["generations"])),
                seed=int(rng.integers(2**31)),
                verbose=False,
            )
            final = [ind for ind in result.pop if ind.X[0].arch_id not in queried]
            if not final:
                stalls += 1
                for _ in range(k):
                    query(space.sample(rng))
                continue
            chosen = RankAndCrowding().do(
                problem, Population.create(*final), n_survive=min(k, len(final)), random_state=rng
            )
            before = oracle.used
            for ind in chosen:
                query(ind.X[0])
            stalls = stalls + 1 if oracle.used == before else 0
