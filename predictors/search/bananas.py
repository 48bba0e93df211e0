"""BANANAS: Bayesian optimisation with a neural predictor ensemble (White, Neiswanger & Savani, AAAI 2021).

Loop: query ``num_init`` random architectures; then, until the budget is spent, fit a predictor with an
uncertainty (default the ``mlp_ensemble`` of :mod:`predictors.mlp`: 5 MLPs, std across members) on the
``encoding`` (default ``path``, as in the paper) of every queried class, generate ``num_candidates``
candidates by mutating the ``num_arches_to_mutate`` best queried architectures, drop classes already
queried (``candidates="all"``, for an enumerable space: every class not yet queried instead), and
query the ``k`` candidates with the highest independent Thompson sample (ITS: one draw from
N(mean, std) per candidate). Defaults are the paper's / NASLib's: 10 initial, k = 10, 100 candidates,
2 parents, ITS, path encoding. Fitting is seeded from the run seed and the iteration, so a run is
deterministic (CPU).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from predictors.search.base import MAX_STALLS, Searcher, SearcherCard
from predictors.search.strategies import ask, draw

if TYPE_CHECKING:
    from predictors.search.oracle import Oracle
    from spaces.base import Architecture, SearchSpace


def fit_predictor(name: str, seed: int, X: np.ndarray, y: np.ndarray):
    """A fresh ``name`` predictor fitted on finite rows of ``(X, y)``."""
    from predictors.base import make_predictor

    keep = np.isfinite(y)
    return make_predictor(name, seed=seed).fit(X[keep], y[keep])


def encode_all(space: SearchSpace, archs: list[Architecture], kind: str) -> np.ndarray:
    return np.stack([space.encode(a, kind) for a in archs])  # type: ignore[attr-defined]


class Bananas(Searcher):
    """Predictor-guided Bayesian optimisation (BANANAS); see the module docstring."""

    card = SearcherCard(
        name="bananas",
        summary="predictor ensemble + independent Thompson sampling over mutated candidates",
        paper="White, Neiswanger & Savani, BANANAS, AAAI 2021",
        needs=("mutable", "encodable"),
        defaults=(
            ("acquisition", "its"),
            ("candidates", "mutation"),
            ("encoding", "path"),
            ("k", 10),
            ("num_arches_to_mutate", 2),
            ("num_candidates", 100),
            ("num_init", 10),
            ("predictor", "mlp_ensemble"),
        ),
    )

    def _run(self, space: SearchSpace, oracle: Oracle, rng: np.random.Generator, seed: int) -> None:
        p = self.params
        if p["acquisition"] not in ("its", "mean"):
            raise ValueError(f"bananas acquisition must be 'its' or 'mean', got {p['acquisition']!r}")
        k, parents, n_cand = int(p["k"]), int(p["num_arches_to_mutate"]), int(p["num_candidates"])
        if p["candidates"] not in ("mutation", "all"):
            raise ValueError(f"bananas candidates must be 'mutation' or 'all', got {p['candidates']!r}")
        everything: list[Architecture] = []
        if p["candidates"] == "all":
            from spaces.capabilities import EnumerableSpace, requires

            enumerable = requires(space, EnumerableSpace, "bananas with candidates='all'")
            everything = list({a.arch_id: a for a in enumerable.enumerate()}.values())
            if oracle.domain is not None:
                everything = [space.parse(a) for a in oracle.domain]
        queried: list[tuple[Architecture, float]] = []
        encoded: dict[str, np.ndarray] = {}  # candidates' encodings, by architecture string
        stalls = 0
        while len(queried) < int(p["num_init"]) and stalls < MAX_STALLS:
            arch = draw(space, oracle, rng)
            if oracle.seen(arch):
                stalls += 1
                continue
            score = ask(oracle, arch)
            if score is not None:
                queried.append((arch, score))
        iteration = 0
        while stalls < MAX_STALLS:
            iteration += 1
            X = encode_all(space, [a for a, _ in queried], p["encoding"])
            y = np.array([s for _, s in queried], dtype=float)
            y[~np.isfinite(y)] = np.nan
            model = fit_predictor(p["predictor"], seed * 1000 + iteration, X, y)
            best = [a for a, _ in sorted(queried, key=lambda q: -q[1])[:parents]]
            candidates: dict[str, Architecture] = {}
            if p["candidates"] == "all":
                for arch in everything:
                    if not oracle.seen(arch):
                        candidates.setdefault(arch.arch_id, arch)
            for i in range(n_cand if p["candidates"] == "mutation" else 0):
                child = space.mutate(best[i % len(best)], rng)  # type: ignore[attr-defined]
                if not oracle.seen(child):
                    candidates.setdefault(child.arch_id, child)
            while len(candidates) < k and stalls < MAX_STALLS:  # too few new mutants: add random classes
                arch = draw(space, oracle, rng)
                stalls += 1
                if not oracle.seen(arch):
                    candidates.setdefault(arch.arch_id, arch)
            pool = list(candidates.values())
            if not pool:
                return
            for arch in pool:
                if arch.string not in encoded:
                    encoded[arch.string] = space.encode(arch, p["encoding"])  # type: ignore[attr-defined]
            pred = model.predict(np.stack([encoded[a.string] for a in pool]))
            if p["acquisition"] == "its" and pred.std is not None:
                acq = rng.normal(pred.mean, np.maximum(pred.std, 0.0))
            else:
                acq = pred.mean
            before = oracle.used
            for i in np.argsort(-acq, kind="stable")[:k]:
                score = ask(oracle, pool[i])
                if score is not None:
                    queried.append((pool[i], score))
            stalls = stalls + 1 if oracle.used == before else 0
