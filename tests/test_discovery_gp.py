"""GP operators: well-typed children within the bloat limits, parsimony in tournaments, seeded determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predictors.discovery.expr import check, kind_of, parse
from predictors.discovery.gp import Limits, crossover, mutate, random_expression, random_tree, tournament


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), depth=st.integers(3, 6), size=st.integers(3, 14))
def test_creation_mutation_and_crossover_stay_typed_and_within_the_limits(seed, depth, size):
    limits = Limits(max_depth=depth, max_size=size)
    rng = np.random.default_rng(seed)
    a, b = random_expression(rng, limits), random_expression(rng, limits)
    for _ in range(30):
        child = crossover(rng, a, b, limits)
        mutant = mutate(rng, child, limits)
        for tree in (child, mutant):
            check(tree)
            assert tree.depth <= depth and tree.size <= size, tree.text
        a, b = mutant, child


def test_crossover_keeps_the_aggregation_and_swaps_a_subtree_of_the_same_kind():
    a = parse("layer_mean(sum(mul(Z, dZ)))")
    b = parse("layer_max(norm(gram(W)))")
    children = {crossover(np.random.default_rng(s), a, b, Limits()).text for s in range(60)}
    assert all(c.startswith("layer_mean(") for c in children)
    assert "layer_mean(norm(gram(W)))" in children  # scalar for scalar
    assert "layer_mean(sum(mul(gram(W), dZ)))" in children  # tensor for tensor


def test_a_child_over_the_limit_is_its_parent():
    limits = Limits(max_depth=4, max_size=5)
    a = parse("layer_mean(sum(mul(Z, dZ)))")  # size 5, depth 4: at both limits
    big = parse("layer_mean(sum(mul(gram(W), rownorm(A))))")
    rng = np.random.default_rng(0)
    children = {crossover(rng, a, big, limits).text for _ in range(60)}
    assert a.text in children  # swaps that would break a limit give the parent back
    assert all(limits.allows(parse(c)) for c in children)
    assert not any("gram" in c and "rownorm" in c for c in children)  # the donor's whole product is too big


def test_random_trees_respect_the_minimum_depth_of_their_kind():
    with pytest.raises(ValueError, match="a score needs depth >= 3"):
        random_tree(np.random.default_rng(0), "score", 2)
    for s in range(50):
        tree = random_tree(np.random.default_rng(s), "scalar", 2)
        assert kind_of(tree) == "scalar" and tree.depth == 2
    with pytest.raises(ValueError, match="at least 3"):
        Limits(max_depth=2)


def test_tournament_prefers_fitness_then_the_smaller_tree():
    rng = np.random.default_rng(0)
    # every entrant drawn: the winner is the fittest; among equally fit ones the smallest
    wins = {tournament(rng, [0.5, 0.9, 0.9, 0.1], [3, 9, 4, 3], k=64) for _ in range(20)}
    assert wins == {2}


def test_operators_are_deterministic_under_a_seed():
    def run(seed: int) -> list[str]:
        rng = np.random.default_rng(seed)
        a, b = random_expression(rng, Limits()), random_expression(rng, Limits())
        return [mutate(rng, crossover(rng, a, b, Limits()), Limits()).text for _ in range(20)]

    assert run(7) == run(7) and run(7) != run(8)
