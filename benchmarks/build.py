"""Resumable table builds: plan units of work, run them on an executor, journal each as it finishes.

Units are ``arch x task x metric group``: cost proxies run per concrete architecture; functional
proxies and reduced training run once per ``arch_id`` (on the class representative, the lowest
published index) and per seed. Every unit has a stable key, so a rerun skips finished work.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.executors import Executor, LocalExecutor
from benchmarks.journal import Journal
from benchmarks.schema import arch_row, make_record, utc_now
from proxies.base import get_proxy
from proxies.protocol import Protocol
from proxies.training import Recipe

TRAIN_METRICS = {
    "train_loss": {"unit": "nats", "kind": "functional", "higher_is_better": False},
    "train_acc": {"unit": "%", "kind": "functional", "higher_is_better": True},
    # Sum of the epoch's minibatch mean losses: SoTL's summand (Ru et al., NeurIPS 2021), kept exact.
    "train_loss_sum": {"unit": "nats", "kind": "functional", "higher_is_better": False},
}


def eval_metric(recipe: Recipe) -> str:
    """Name of the held-out accuracy metric a recipe records (``val_acc`` or ``test_acc``)."""
    return f"{recipe.eval_split}_acc"


@dataclass(frozen=True)
class BuildSpec:
    """What to build: architectures of one space and task, proxies under a protocol, training runs."""

    space: str
    task: str
    archs: tuple[str, ...]
    proxies: tuple[str, ...] = ()
    protocol: Protocol | None = None
    proxy_seeds: tuple[int, ...] = (0,)
    recipe: Recipe | None = None
    train_seeds: tuple[int, ...] = ()
    device: str = "cpu"

    def __post_init__(self) -> None:
        if not self.archs:
            raise ValueError("a build needs at least one architecture")
        if self.proxies and self.protocol is None:
            raise ValueError("proxies need a protocol")
        if self.protocol is not None and self.protocol.task != self.task:
            raise ValueError(f"protocol task {self.protocol.task!r} differs from build task {self.task!r}")
        if self.train_seeds and self.recipe is None:
            raise ValueError("training seeds need a recipe")
        if self.recipe is not None and self.recipe.task != self.task:
            raise ValueError(f"recipe task {self.recipe.task!r} differs from build task {self.task!r}")
        for name in self.proxies:
            get_proxy(name)  # unknown names fail here, before any work
        if not self.proxy_seeds and any(get_proxy(p).card.kind != "cost" for p in self.proxies):
            raise ValueError("functional proxies need at least one proxy seed (--proxy-seeds)")
        if self.recipe is not None and not self.train_seeds:
            raise ValueError("training needs at least one seed (--train-seeds)")


@dataclass(frozen=True)
class Unit:
    """One picklable unit of work."""

    key: str
    kind: str
    space: str
    arch: str
    task: str
    seed: int
    proxies: tuple[str, ...] = ()
    protocol: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"


def plan(spec: BuildSpec) -> tuple[list[Unit], list[dict[str, Any]]]:
    """The units of ``spec`` and the rows of its architectures table."""
    import spaces

    space = spaces.get(spec.space)
    archs = [space.parse(s) for s in spec.archs]
    arch_rows = [arch_row(space, a) for a in dict.fromkeys(archs)]
    representatives = {a.arch_id: space.representative(a) for a in archs}
    cost = tuple(p for p in spec.proxies if get_proxy(p).card.kind == "cost")
    functional = tuple(p for p in spec.proxies if get_proxy(p).card.kind != "cost")
    units: list[Unit] = []
    common = {"space": space.name, "task": spec.task, "device": spec.device}
    if cost:
        phash = spec.protocol.hash
        for a in dict.fromkeys(archs):
            key = f"cost|{spec.task}|{a.string}|{phash[:16]}"
            units.append(
                Unit(
                    key,
                    "proxies",
                    arch=a.string,
                    seed=0,
                    proxies=cost,
                    protocol=spec.protocol.to_dict(),
                    **common,
                )
            )
    for arch_id, rep in representatives.items():
        if functional:
            for seed in spec.proxy_seeds:
                key = f"proxies|{spec.task}|{arch_id}|{seed}|{spec.protocol.hash[:16]}"
                units.append(
                    Unit(
                        key,
                        "proxies",
                        arch=rep.string,
                        seed=seed,
                        proxies=functional,
                        protocol=spec.protocol.to_dict(),
                        **common,
                    )
                )
        for seed in spec.train_seeds:
            key = f"train|{spec.task}|{arch_id}|{seed}|{spec.recipe.hash[:16]}"
            units.append(
                Unit(key, "train", arch=rep.string, seed=seed, recipe=spec.recipe.to_dict(), **common)
            )
    return units, arch_rows


def run_unit(unit: Unit) -> list[dict[str, Any]]:
    """Execute one unit and return its records; failures become records with a status, never raise."""
    import spaces
    from hw_profiles import describe

    space = spaces.get(unit.space)
    arch = space.parse(unit.arch)
    base = {
        "space": space.name,
        "space_version": space.version,
        "arch_id": arch.arch_id,
        "arch": arch.string,
        "task": unit.task,
        "seed": unit.seed,
        "device": describe(unit.device).label,
    }
    if unit.kind == "proxies":
        from proxies.runner import score_architecture

        protocol = Protocol.from_dict(unit.protocol)
        return [
            make_record(
                **base,
                metric=s.proxy,
                value=s.value,
                unit=get_proxy(s.proxy).card.unit,
                fidelity=0,
                epoch=0,
                protocol_hash=protocol.hash,
                seconds=s.seconds,
                status=s.status,
                message=s.message,
            )
            for s in score_architecture(space, arch, list(unit.proxies), protocol, unit.seed, unit.device)
        ]
    from proxies.training import train

    recipe = Recipe.from_dict(unit.recipe)
    common = {**base, "fidelity": recipe.epochs, "protocol_hash": recipe.hash}
    start = time.perf_counter()
    try:
        curve = train(space, arch, recipe, unit.seed)
    except Exception as exc:
        return [
            make_record(
                **common,
                metric=eval_metric(recipe),
                value=None,
                unit="%",
                epoch=recipe.epochs,
                seconds=time.perf_counter() - start,
                status="error",
                message=f"{type(exc).__name__}: {exc}".splitlines()[0],
            )
        ]
    records = []
    for point in curve:
        values = {
            "train_loss": point.train_loss,
            "train_acc": point.train_acc,
            "train_loss_sum": point.loss_sum,
            eval_metric(recipe): point.eval_acc,
        }
        for metric, value in values.items():
            ok = value == value  # NaN check
            records.append(
                make_record(
                    **common,
                    metric=metric,
                    value=value if ok else None,
                    unit=TRAIN_METRICS.get(metric, {"unit": "%"})["unit"],
                    epoch=point.epoch,
                    seconds=point.seconds,
                    status="ok" if ok else "nan",
                    message="" if ok else "training diverged (NaN loss)",
                )
            )
    return records


def metric_cards(spec: BuildSpec) -> dict[str, dict[str, Any]]:
    """Unit, kind and direction of every metric the build writes (stored in the manifest)."""
    cards = {}
    for name in spec.proxies:
        card = get_proxy(name).card
        cards[name] = {
            "unit": card.unit,
            "kind": card.kind,
            "higher_is_better": card.higher_is_better,
            "paper": card.paper,
        }
    if spec.recipe is not None:
        cards.update(TRAIN_METRICS)
        cards[eval_metric(spec.recipe)] = {"unit": "%", "kind": "functional", "higher_is_better": True}
    return cards


@dataclass(frozen=True)
class BuildResult:
    """What a build run did."""

    total: int
    skipped: int
    ran: int
    seconds: float
    journal: Path


def build(
    spec: BuildSpec,
    journal_path: str | Path,
    executor: Executor | None = None,
    progress: bool = True,
) -> BuildResult:
    """Run every unit of ``spec`` not yet in the journal at ``journal_path``; resumable at any point."""
    import spaces

    start = time.perf_counter()
    executor = executor or LocalExecutor()
    units, arch_rows = plan(spec)
    space = spaces.get(spec.space)
    with Journal(journal_path) as journal:
        journal.bind("space", {"name": space.name, "version": space.version})
        if spec.protocol is not None:
            journal.bind(f"protocol:{spec.protocol.hash}", spec.protocol.to_dict())
            # Unit keys do not name the proxies: a changed proxy list must not be silently skipped.
            journal.bind(f"proxies:{spec.protocol.hash}", sorted(spec.proxies))
        # Float results depend on the torch thread count (~1e-8): record every count a build used.
        threads = getattr(executor, "threads", None)
        journal.bind(f"threads:{threads}", threads)
        if spec.recipe is not None:
            journal.bind(f"recipe:{spec.recipe.hash}", spec.recipe.to_dict())
        for name, card in metric_cards(spec).items():
            journal.bind(f"metric:{name}", card)
        journal.add_archs(arch_rows)
        done = journal.done()
        todo = [u for u in units if u.key not in done]
        with _progress(progress, len(units), len(units) - len(todo)) as advance:
            for unit, records in executor.map_unordered(run_unit, todo):
                journal.commit_unit(unit.key, records, utc_now())
                advance(unit)
    return BuildResult(
        len(units), len(units) - len(todo), len(todo), time.perf_counter() - start, Path(journal_path)
    )


class _progress:
    """A rich progress bar with ETA (or nothing when disabled)."""

    def __init__(self, enabled: bool, total: int, completed: int) -> None:
        self.enabled, self.total, self.completed = enabled, total, completed

    def __enter__(self):
        if not self.enabled:
            return lambda unit: None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("[bold]build"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
        )
        self._bar.__enter__()
        task = self._bar.add_task("", total=self.total, completed=self.completed)
        return lambda unit: self._bar.update(task, advance=1, description=unit.kind)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._bar.__exit__(*exc)
