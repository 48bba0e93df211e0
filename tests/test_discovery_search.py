"""The GP search loop: it finds a planted signal, writes the same journal twice, and resumes bit-identically."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _discovery_helpers import toy_stats, toy_truth

from predictors.discovery.expr import parse
from predictors.discovery.search import FAILED, Fitness, Journal, SearchConfig, best, run_search

STATS = toy_stats(archs=16)
TRUTH = toy_truth(STATS)
CONFIG = SearchConfig(population=12, seed=3)
HEADER = {"table": "toy", "target": "toy_truth"}


def _run(folder, generations, config=CONFIG):
    return run_search(folder, HEADER, config, Fitness(STATS, TRUTH), generations)


def test_fitness_is_absolute_kendall_and_failures_score_worst():
    fit = Fitness(STATS, TRUTH)
    planted = fit(parse("layer_mean(mean(abs(W)))"))
    assert planted.status == "ok" and planted.tau > 0.9 and planted.fitness == pytest.approx(planted.tau)
    flipped = fit(parse("layer_mean(neg(mean(abs(W))))"))
    assert flipped.tau == pytest.approx(-planted.tau) and flipped.fitness == pytest.approx(planted.fitness)
    assert fit(parse("layer_mean(logdet(W))")).fitness == FAILED  # not square: status error
    assert fit(parse("layer_mean(sign(abs(sum(abs(W)))))")).status == "constant"
    assert fit.evaluated == 4 and fit(parse("layer_mean(mean(abs(W)))")) is planted  # memoised


def test_same_seed_same_journal_and_it_improves(tmp_path):
    _run(tmp_path / "a", 4)
    _run(tmp_path / "b", 4)
    a, b = (tmp_path / "a" / "journal.jsonl").read_text(), (tmp_path / "b" / "journal.jsonl").read_text()
    assert a == b and len(a.splitlines()) == 6  # header + generations 0..4
    lines = [json.loads(x) for x in a.splitlines()[1:]]
    fitness = [x["best"]["fitness"] for x in lines]
    assert fitness == sorted(fitness)  # elitism: the best never gets worse
    assert all(len(x["population"]) == CONFIG.population for x in lines)
    assert all(item["size"] <= CONFIG.max_size for x in lines for item in x["population"])
    other = SearchConfig(population=12, seed=4)
    _run(tmp_path / "c", 4, other)
    assert (tmp_path / "c" / "journal.jsonl").read_text() != a


def test_resume_after_a_kill_continues_bit_identically(tmp_path):
    _run(tmp_path / "full", 5)
    _run(tmp_path / "cut", 2)
    path = tmp_path / "cut" / "journal.jsonl"
    with open(path, "a") as f:  # a torn line, as a kill during a write leaves it
        f.write('{"kind": "generation", "generation": 3, "popul')
    final = _run(tmp_path / "cut", 5)
    assert path.read_text() == (tmp_path / "full" / "journal.jsonl").read_text()
    assert best(final).expr.text == json.loads(path.read_text().splitlines()[-1])["best"]["expr"]


def test_a_journal_of_other_settings_is_refused(tmp_path):
    _run(tmp_path, 1)
    with pytest.raises(ValueError, match="other settings"):
        _run(tmp_path, 2, SearchConfig(population=12, seed=9))
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "journal.jsonl").write_text('{"kind": "generation"}\n')
    with pytest.raises(ValueError, match="header"):
        Journal(tmp_path / "x").read()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"population": 2}, "population >= 4"),
        ({"p_crossover": 0.8, "p_mutation": 0.4}, "summing to at most 1"),
        ({"elite": 64}, "elite must be"),
        ({"max_size": 2}, "at least 3"),
    ],
)
def test_bad_configs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SearchConfig(**kwargs)


def test_the_search_finds_a_planted_signal(tmp_path):
    final = _run(tmp_path, 8, SearchConfig(population=24, seed=0))
    assert best(final).fitness > 0.6  # the truth is a noisy mean |W|; random draws rarely pass 0.5
    assert np.isfinite([s.fitness for s in final]).all()


def test_paired_gap_is_zero_for_a_proxy_against_itself_and_positive_for_a_better_one():
    from predictors.discovery.report import paired_gap

    rng = np.random.default_rng(0)
    y = rng.normal(size=60)
    good, poor = y + rng.normal(0, 0.3, 60), y + rng.normal(0, 3.0, 60)
    assert paired_gap(good, good, y, n_boot=50) == {"gap": 0.0, "low": 0.0, "high": 0.0}
    gap = paired_gap(good, -poor, y, n_boot=200)  # the sign of the other proxy does not matter: |tau|
    assert gap["low"] > 0 and gap["low"] <= gap["gap"] <= gap["high"]


def test_the_front_grows_in_size_and_training_fitness(tmp_path):
    from predictors.discovery.search import pareto_front

    final = _run(tmp_path, 3)
    front = pareto_front(tmp_path)
    sizes, fitness = [s.expr.size for s in front], [s.fitness for s in front]
    assert sizes == sorted(set(sizes)) and fitness == sorted(set(fitness))
    assert front[-1].fitness == max(s.fitness for s in final if s.status == "ok")
