"""Search: the counting oracle, strategies (random, REA, local, BANANAS, predictor NSGA-II), fronts and HV."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

import spaces
from predictors.search import BudgetExhausted, NotInTable, Objective, Truth, make_searcher
from predictors.search.multiobjective import FrontScale, hypervolume, pareto_mask, to_min
from predictors.search.run import hit_steps, run_search
from tests._search_helpers import small_truth, whole_space_truth

NB201 = spaces.get("nb201")
VAL = (Objective("val"),)


# ---- the oracle ----------------------------------------------------------------------------------------
def test_oracle_counts_classes_not_cells_and_enforces_the_budget():
    truth = whole_space_truth()
    oracle = truth.oracle(NB201, VAL, budget=2)
    a, b = (
        NB201.parse(NB201.card.fixtures.equivalent[0][0]),
        NB201.parse(NB201.card.fixtures.equivalent[0][1]),
    )
    assert a != b and a.arch_id == b.arch_id
    assert oracle.query(a) == oracle.query(b) == truth.frame.loc[a.arch_id, "val"]
    assert oracle.used == 1 and oracle.seen(b)
    other = NB201.parse(NB201.card.fixtures.archs[0])
    oracle.query(other)
    assert oracle.remaining == 0
    assert oracle.query(a) == truth.frame.loc[a.arch_id, "val"]  # repeats stay free after the budget
    with pytest.raises(BudgetExhausted, match="budget of 2 queries"):
        oracle.query(NB201.parse(NB201.card.fixtures.archs[1]))
    assert [x for x, _ in oracle.history] == [a, other]


def test_oracle_answers_only_the_selection_objectives():
    truth = whole_space_truth()
    oracle = truth.oracle(NB201, VAL, budget=5)
    assert all(len(v) == 1 for v in oracle._values.values())
    arch = NB201.parse(NB201.card.fixtures.archs[0])
    both = truth.oracle(NB201, (Objective("val"), Objective("lat", maximize=False)), 5).query(arch)
    assert both == tuple(truth.frame.loc[arch.arch_id, ["val", "lat"]])


def test_oracle_refuses_classes_outside_its_tables_and_bad_input():
    truth = small_truth(20, 1)
    oracle = truth.oracle(NB201, VAL, budget=5)
    outside = next(a for a in NB201.enumerate() if a.arch_id not in truth.frame.index)
    with pytest.raises(NotInTable, match="not in the oracle's tables"):
        oracle.query(outside)
    assert oracle.used == 0
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="budget must be"):
            truth.oracle(NB201, VAL, bad)
    with pytest.raises(ValueError, match="METRIC:min"):
        Objective.parse("val:down")
    with pytest.raises(KeyError, match="metrics: val"):
        truth.oracle(NB201, (Objective("test_acc"),), 5)


def test_oracle_scores_nan_as_worst_and_minimised_objectives_negated():
    truth = small_truth(5, 1)
    assert truth.oracle(NB201, VAL, 1).score(math.nan) == -math.inf
    assert truth.oracle(NB201, (Objective("val", maximize=False),), 1).score(3.0) == -3.0


# ---- random search against the closed form --------------------------------------------------------------
def test_random_search_hits_one_of_k_optima_after_n_plus_1_over_k_plus_1_queries_on_average():
    n, k = 40, 2
    truth = small_truth(n, k)
    # independent route: E[T] = sum_{t>=0} P(T > t) = sum_t C(n - t, k) / C(n, k) for draws without replacement
    exact = sum(math.comb(n - t, k) for t in range(n - k + 1)) / math.comb(n, k)
    assert exact == pytest.approx((n + 1) / (k + 1), rel=1e-12)
    optimal = set(truth.optimal_ids(VAL[0]))
    assert len(optimal) == k
    hits = []
    searcher = make_searcher("random")
    for seed in range(1500):
        oracle = truth.oracle(NB201, VAL, budget=n)
        searcher.run(NB201, oracle, seed)
        ids = [a.arch_id for a, _ in oracle.history]
        assert len(set(ids)) == n  # a permutation of the table's classes
        hits.append(next(i for i, a in enumerate(ids, start=1) if a in optimal))
    sem = np.std(hits, ddof=1) / math.sqrt(len(hits))
    assert abs(np.mean(hits) - exact) < 4 * sem
    assert sem < 0.5  # the check is sharp enough to catch a with-replacement or off-by-one sampler


# ---- REA, local search, BANANAS -------------------------------------------------------------------------
def _queries(strategy: str, seed: int, budget: int, **params) -> list[str]:
    truth = whole_space_truth()
    oracle = truth.oracle(NB201, VAL, budget)
    make_searcher(strategy, **params).run(NB201, oracle, seed)
    return [a.string for a, _ in oracle.history]


@pytest.mark.parametrize("strategy", ["random", "rea", "local"])
def test_strategies_are_deterministic_under_a_seed_and_spend_the_budget(strategy):
    first, again, other = _queries(strategy, 3, 60), _queries(strategy, 3, 60), _queries(strategy, 4, 60)
    assert first == again
    assert first != other
    assert len({NB201.parse(s).arch_id for s in first}) == 60


def test_rea_beats_random_on_a_mutation_gradient_and_never_sees_test_values():
    truth = whole_space_truth()
    near = (Objective("near"),)
    hits = {
        s: pd.concat([run_search(NB201, truth, s, near, 300, seed) for seed in range(8)]).pipe(hit_steps)
        for s in ("random", "rea")
    }
    assert hits["rea"].fillna(np.inf).median() < 0.5 * hits["random"].fillna(np.inf).median()
    first = run_search(NB201, truth, "rea", VAL, 100, 0, report=["test"])
    shuffled = whole_space_truth()
    shuffled.frame["test"] = shuffled.frame["test"].sample(frac=1, random_state=1).to_numpy()
    again = run_search(NB201, shuffled, "rea", VAL, 100, 0, report=["test"])
    assert again["arch"].tolist() == first["arch"].tolist()
    assert again["test"].tolist() != first["test"].tolist()


def test_rea_children_are_mutants_of_queried_architectures():
    queries = [NB201.parse(s) for s in _queries("rea", 0, 60)]
    for i, child in enumerate(queries[10:], start=10):
        earlier = {q.arch_id for q in queries[:i]}
        # the parent (a population member, so an already-queried class) is one edge away from the child
        assert {n.arch_id for n in NB201.neighbors(child)} & earlier


def test_local_search_queries_the_neighbourhood_of_its_start():
    queries = _queries("local", 0, 25)
    start = NB201.parse(queries[0])
    neighbour_ids = {a.arch_id for a in NB201.neighbors(start)} - {start.arch_id}
    first = {NB201.parse(q).arch_id for q in queries[1 : 1 + len(neighbour_ids)]}
    assert first == neighbour_ids  # every neighbouring class, before anything else


def test_log_columns_regret_and_hits():
    truth = small_truth(30, 1)
    log = run_search(NB201, truth, "random", VAL, 30, 0)
    assert (log["regret"] >= 0).all() and log["regret"].is_monotonic_decreasing
    assert log["best_so_far"].is_monotonic_increasing
    assert log["regret"].iloc[-1] == 0
    step = hit_steps(log).iloc[0]
    assert log.loc[log["step"] == step, "value"].item() == 100.0


def test_bananas_is_deterministic_and_uses_the_predictor():
    params = {"num_init": 6, "k": 4, "predictor": "gp"}
    first = _queries("bananas", 1, 18, **params)
    assert first == _queries("bananas", 1, 18, **params)
    assert len(first) == 18
    with pytest.raises(ValueError, match="unknown parameters"):
        make_searcher("bananas", population=3)


def test_strategies_check_capabilities_and_objective_counts():
    truth = whole_space_truth()
    two = (Objective("val"), Objective("lat", maximize=False))
    with pytest.raises(ValueError, match="single-objective"):
        make_searcher("rea").run(NB201, truth.oracle(NB201, two, 5), 0)
    with pytest.raises(ValueError, match="multi-objective"):
        make_searcher("nsga2_predictor").run(NB201, truth.oracle(NB201, VAL, 5), 0)


# ---- Pareto fronts and hypervolume ----------------------------------------------------------------------
def test_hypervolume_of_a_known_front_equals_the_hand_computation():
    front = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])
    # staircase under ref (4, 4): 1 x (4 - 3) + 1 x (4 - 2) + 1 x (4 - 1) = 6
    assert hypervolume(front, np.array([4.0, 4.0])) == pytest.approx(6.0)
    dominated = np.vstack([front, [[3.5, 3.5], [2.0, 2.5]]])
    assert hypervolume(dominated, np.array([4.0, 4.0])) == pytest.approx(6.0)
    assert hypervolume(np.array([[5.0, 0.0]]), np.array([4.0, 4.0])) == 0.0


def test_hypervolume_agrees_with_a_grid_count():
    rng = np.random.default_rng(0)
    points = rng.integers(0, 20, size=(15, 2)).astype(float)
    grid = np.stack(np.meshgrid(np.arange(20) + 0.5, np.arange(20) + 0.5), -1).reshape(-1, 2)
    covered = ((points[None, :, :] <= grid[:, None, :]).all(-1)).any(1)
    assert hypervolume(points, np.array([20.0, 20.0])) == pytest.approx(covered.sum())


def _brute_force_front(F: np.ndarray) -> np.ndarray:
    return np.array(
        [not any((F[j] <= F[i]).all() and (F[j] < F[i]).any() for j in range(len(F))) for i in range(len(F))]
    )


def test_pareto_mask_equals_brute_force_with_ties_and_the_whole_table_front():
    rng = np.random.default_rng(1)
    F = rng.integers(0, 8, size=(120, 2)).astype(float)
    assert (pareto_mask(F) == _brute_force_front(F)).all()
    truth = whole_space_truth()
    objectives = (Objective("val"), Objective("lat", maximize=False))
    F = to_min(truth.frame[["val", "lat"]].to_numpy(), objectives)
    mask = pareto_mask(F)
    # brute force over the 6,466 classes: a class is on the front iff no class is better in one objective
    # and no worse in the other (sorting by latency, the front is where val reaches a new maximum)
    order = np.lexsort((-F[:, 0], F[:, 1]))
    running, expected = -np.inf, np.zeros(len(F), dtype=bool)
    for i in order:
        if -F[i, 0] > running:
            expected[i], running = True, -F[i, 0]
    assert (mask == expected).all() and 1 < mask.sum() < 200
    scale = FrontScale(F)
    assert scale.ratio(F[mask]) == pytest.approx(1.0)
    assert scale.ratio(F) == pytest.approx(1.0)
    assert 0 < scale.ratio(F[mask][::2]) < 1.0


def test_predictor_nsga2_is_deterministic_and_its_hypervolume_grows():
    truth = whole_space_truth()
    objectives = (Objective("val"), Objective("lat", maximize=False))
    params = {"num_init": 8, "k": 4, "generations": 3, "population": 12, "predictor": "gp"}
    logs = [run_search(NB201, truth, "nsga2_predictor", objectives, 16, 2, params=params) for _ in range(2)]
    assert logs[0]["arch"].tolist() == logs[1]["arch"].tolist()
    assert logs[0]["arch_id"].nunique() == 16
    assert logs[0]["hv_ratio"].is_monotonic_increasing and 0 < logs[0]["hv_ratio"].iloc[-1] <= 1


def test_every_registered_strategy_has_a_consistent_card():
    from predictors.search import get_searcher_class, list_searchers
    from spaces.capabilities import CAPABILITIES

    names = list_searchers()
    assert {"random", "rea", "local", "bananas", "nsga2_predictor"} <= set(names)
    for name in names:
        card = get_searcher_class(name).card
        assert card.name == name and card.paper and set(card.needs) <= set(CAPABILITIES)


def test_combinations_helper_is_exact():
    # the closed form used above, checked by enumeration on a tiny case: n = 5, k = 2
    orders = list(itertools.permutations(range(5)))
    mean = np.mean([next(i for i, x in enumerate(o, 1) if x < 2) for o in orders])
    assert mean == pytest.approx(6 / 3)


def test_bananas_scoring_every_class_of_the_table_stays_in_it():
    truth = small_truth(40, 1)
    oracle = truth.oracle(NB201, VAL, 16)
    make_searcher("bananas", num_init=6, k=5, candidates="all", predictor="gp").run(NB201, oracle, 0)
    assert oracle.used == 16 and {a.arch_id for a, _ in oracle.history} <= set(truth.frame.index)
    with pytest.raises(ValueError, match="'mutation' or 'all'"):
        make_searcher("bananas", candidates="some").run(NB201, truth.oracle(NB201, VAL, 16), 0)


def test_a_space_without_a_needed_capability_is_named():
    from spaces.capabilities import MissingCapability
    from tests._toy_space import ToyCellSpace

    toy = ToyCellSpace()
    frame = pd.DataFrame({"val": [1.0]}, index=pd.Index(["x"], name="arch_id"))
    oracle = Truth(frame, {"x": "a"}).oracle(toy, VAL, 1)
    with pytest.raises(MissingCapability, match="strategy 'bananas' needs capability 'encodable'"):
        make_searcher("bananas").run(toy, oracle, 0)
