"""The genetic-programming search: generations, fitness, a JSON-lines journal and bit-identical resume.

Fitness is the absolute Kendall tau-b between an expression's scores and the ground truth over the
training architectures, as in the EZNAS reference (IntelLabs Hardware-Aware-Automated-Machine-Learning,
``EZNAS/evolutionary_program_discovery.py``: ``METRIC = 'kendalltau'``, negative taus flipped before
selection; Akhauri et al., NeurIPS 2022). The sign found on the training set is kept as the proxy's
direction, so held-out figures never choose their own sign. An expression whose evaluation fails gets
fitness -1 (EZNAS's value) and its status.

Each generation ``g`` is a pure function of generation ``g - 1``'s population and fitness and of
``numpy.random.default_rng([seed, g])``: resuming from the journal's last complete line continues
exactly as an uninterrupted run would, and two runs with one seed write the same journal. The journal
(``journal.jsonl``) holds a header line (configuration, data and split hashes) and one line per
generation with the whole population (expression text, fitness, signed tau, status, size); wall times
go to ``timings.jsonl`` beside it, so the journal itself is deterministic.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from scipy import stats as scipy_stats

from predictors.discovery.evaluate import evaluate
from predictors.discovery.expr import Node, parse
from predictors.discovery.gather import Stats
from predictors.discovery.gp import Limits, crossover, mutate, random_expression, tournament
from spaces.specs import HashedSpec

FAILED = -1.0
"""Fitness of an expression that fails to evaluate or is constant (EZNAS's value)."""


@dataclass(frozen=True)
class SearchConfig(HashedSpec):
    """The GP's settings; hashed into the journal header (a resume must use the same ones).

    EZNAS's reference (``evol_config.yaml``) used a population of 50, tournaments of 4, crossover and
    mutation probabilities of 0.4 and a height limit of 10; ours keep the tournament and add elitism.
    """

    _spec_name: ClassVar[str] = "discovery search config"

    population: int = 64
    tournament: int = 4
    p_crossover: float = 0.5
    p_mutation: float = 0.4
    elite: int = 2
    max_depth: int = 8
    max_size: int = 24
    init_max_depth: int = 6
    seed: int = 0

    def __post_init__(self) -> None:
        if self.population < 4 or not 1 <= self.tournament <= self.population:
            raise ValueError(f"need population >= 4 and 1 <= tournament <= population, got {self}")
        if not (
            0 <= self.p_crossover <= 1
            and 0 <= self.p_mutation <= 1
            and self.p_crossover + self.p_mutation <= 1
        ):
            raise ValueError("p_crossover and p_mutation must be probabilities summing to at most 1")
        if not 0 <= self.elite < self.population:
            raise ValueError(f"elite must be in [0, population), got {self.elite}")
        Limits(self.max_depth, self.max_size)

    @property
    def limits(self) -> Limits:
        """The bloat limits."""
        return Limits(self.max_depth, self.max_size)


@dataclass(frozen=True)
class Scored:
    """An expression with its fitness (|tau-b| or :data:`FAILED`), signed tau and status."""

    expr: Node
    fitness: float
    tau: float
    status: str

    def to_dict(self) -> dict[str, Any]:
        """The journal form."""
        return {
            "expr": self.expr.text,
            "fitness": self.fitness,
            "tau": self.tau,
            "status": self.status,
            "size": self.expr.size,
        }


class Fitness:
    """Memoised fitness on fixed training statistics and truth (expressions are keyed by their text)."""

    def __init__(self, stats: Stats, truth: np.ndarray) -> None:
        """``truth`` is one value per architecture of ``stats``."""
        if len(truth) != stats.archs:
            raise ValueError(f"{len(truth)} truth values for {stats.archs} architectures")
        self.stats = stats
        self.truth = np.asarray(truth, dtype=np.float64)
        self.cache: dict[str, Scored] = {}
        self.evaluated = 0

    def __call__(self, expr: Node) -> Scored:
        """The expression's :class:`Scored` (computed once per distinct text)."""
        hit = self.cache.get(expr.text)
        if hit is not None:
            return hit if hit.expr == expr else Scored(expr, hit.fitness, hit.tau, hit.status)
        self.evaluated += 1
        result = evaluate(expr, self.stats)
        if result.status != "ok":
            scored = Scored(expr, FAILED, float("nan"), result.status)
        elif np.ptp(result.scores) == 0:
            scored = Scored(expr, FAILED, float("nan"), "constant")
        else:
            tau = float(scipy_stats.kendalltau(result.scores, self.truth, variant="b").statistic)
            scored = (
                Scored(expr, abs(tau), tau, "ok") if np.isfinite(tau) else Scored(expr, FAILED, tau, "nan")
            )
        self.cache[expr.text] = scored
        return scored


def _rank_key(s: Scored) -> tuple[float, int, str]:
    return (-s.fitness, s.expr.size, s.expr.text)


def best(population: list[Scored]) -> Scored:
    """The fittest member; ties go to the smaller, then the alphabetically first expression."""
    return min(population, key=_rank_key)


def initial_population(config: SearchConfig, fitness: Fitness) -> list[Scored]:
    """Generation 0: distinct ramped half-and-half expressions."""
    rng = np.random.default_rng([config.seed, 0])
    seen: dict[str, Node] = {}
    for _ in range(config.population * 50):
        if len(seen) == config.population:
            break
        tree = random_expression(rng, config.limits, max_depth=config.init_max_depth)
        seen.setdefault(tree.text, tree)
    return [fitness(t) for t in seen.values()]


def next_generation(
    population: list[Scored], generation: int, config: SearchConfig, fitness: Fitness
) -> list[Scored]:
    """Generation ``generation`` bred from ``population`` (elites kept; children distinct from each other)."""
    rng = np.random.default_rng([config.seed, generation])
    ranked = sorted(population, key=_rank_key)
    children: dict[str, Node] = {s.expr.text: s.expr for s in ranked[: config.elite]}
    fit = [s.fitness for s in population]
    sizes = [s.expr.size for s in population]

    def pick() -> Node:
        return population[tournament(rng, fit, sizes, config.tournament)].expr

    for _ in range(config.population * 20):
        if len(children) == config.population:
            break
        u = rng.random()
        if u < config.p_crossover:
            child = crossover(rng, pick(), pick(), config.limits)
        elif u < config.p_crossover + config.p_mutation:
            child = mutate(rng, pick(), config.limits)
        else:
            child = pick()
        if child.text in children:  # a duplicate: a fresh random expression keeps the population diverse
            child = random_expression(rng, config.limits, max_depth=config.init_max_depth)
        children.setdefault(child.text, child)
    return [fitness(t) for t in children.values()]


class Journal:
    """``journal.jsonl`` of a run: a header, then one line per generation; a torn last line is dropped."""

    def __init__(self, folder: Path) -> None:
        """The journal of the run folder ``folder`` (created if missing)."""
        self.folder = Path(folder)
        self.path = self.folder / "journal.jsonl"
        self.timings = self.folder / "timings.jsonl"

    def read(self) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """``(header, generation lines)``; a last line that is not complete JSON is cut off the file."""
        if not self.path.exists():
            return None, []
        raw = self.path.read_bytes()
        lines = raw.split(b"\n")
        good: list[dict[str, Any]] = []
        keep = 0
        for line in lines:
            if not line.strip():
                keep += len(line) + 1
                continue
            try:
                good.append(json.loads(line))
            except json.JSONDecodeError:
                break
            keep += len(line) + 1
        if keep < len(raw):
            with open(self.path, "r+b") as f:
                f.truncate(min(keep, len(raw)))
        if not good:
            return None, []
        if good[0].get("kind") != "header":
            raise ValueError(f"{self.path} does not start with a discovery header line")
        return good[0], good[1:]

    def append(self, line: dict[str, Any], seconds: float | None = None) -> None:
        """Append one line (flushed and synced), and its wall time to the timings file."""
        import os

        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(line, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        if seconds is not None:
            with open(self.timings, "a") as f:
                f.write(
                    json.dumps({"generation": line.get("generation"), "seconds": round(seconds, 3)}) + "\n"
                )


def _line(generation: int, population: list[Scored], evaluated: int) -> dict[str, Any]:
    top = best(population)
    ok = [s.fitness for s in population if s.status == "ok"]
    return {
        "kind": "generation",
        "generation": generation,
        "best": top.to_dict(),
        "valid": len(ok),
        "mean_fitness": float(np.mean(ok)) if ok else FAILED,
        "evaluated": evaluated,
        "population": [s.to_dict() for s in population],
    }


def run_search(
    folder: Path,
    header: dict[str, Any],
    config: SearchConfig,
    fitness: Fitness,
    generations: int,
    budget_s: float | None = None,
    report: Callable[[dict[str, Any]], None] | None = None,
) -> list[Scored]:
    """Run (or resume) the search in ``folder`` until ``generations`` or the wall budget; the last population.

    ``header`` describes the data (table, target, split and statistics hashes): a journal whose header
    differs is refused (ValueError) rather than continued with other data.
    """
    journal = Journal(folder)
    header = {"kind": "header", "config": config.to_dict(), "config_hash": config.hash, **header}
    found, lines = journal.read()
    if found is None:
        journal.append(header)
    elif found != json.loads(json.dumps(header, sort_keys=True)):
        changed = sorted(k for k in set(found) | set(header) if found.get(k) != header.get(k))
        raise ValueError(
            f"{journal.path} was written with other settings ({', '.join(changed)}); use a new --out"
        )
    start = time.perf_counter()
    if lines:
        # Every expression ever evaluated is in the population of the generation that made it, so the
        # journal restores the memo exactly (and with it the per-generation evaluation counts).
        for entry in lines:
            population = []
            for item in entry["population"]:
                scored = fitness.cache.get(item["expr"]) or Scored(
                    parse(item["expr"]), float(item["fitness"]), float(item["tau"]), item["status"]
                )
                fitness.cache[scored.expr.text] = scored
                population.append(scored)
        done = int(lines[-1]["generation"])
    else:
        t0 = time.perf_counter()
        population = initial_population(config, fitness)
        line = _line(0, population, fitness.evaluated)
        journal.append(line, time.perf_counter() - t0)
        if report:
            report(line)
        done = 0
    for generation in range(done + 1, generations + 1):
        if budget_s is not None and time.perf_counter() - start >= budget_s:
            break
        t0, before = time.perf_counter(), fitness.evaluated
        population = next_generation(population, generation, config, fitness)
        line = _line(generation, population, fitness.evaluated - before)
        journal.append(line, time.perf_counter() - t0)
        if report:
            report(line)
    return population


def pareto_front(folder: Path) -> list[Scored]:
    """The training size/fitness front of a run's journal: for growing size, each expression that beats
    every smaller one (ties: the alphabetically first). Chosen on training data only."""
    _, lines = Journal(folder).read()
    seen: dict[str, Scored] = {}
    for entry in lines:
        for item in entry["population"]:
            if item["status"] == "ok" and item["expr"] not in seen:
                seen[item["expr"]] = Scored(
                    parse(item["expr"]), float(item["fitness"]), float(item["tau"]), "ok"
                )
    front: list[Scored] = []
    for scored in sorted(seen.values(), key=lambda s: (s.expr.size, -s.fitness, s.expr.text)):
        if not front or scored.fitness > front[-1].fitness:
            front.append(scored)
    return front
