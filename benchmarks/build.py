"""Resumable table builds: plan units of work, run them on an executor, journal each as it finishes.

Units are ``arch x task x metric group``: cost proxies run per concrete architecture; functional
proxies and reduced training run once per ``arch_id`` (on the class representative, the lowest
published index) and per seed. Every unit has a stable key naming what it computes, so a rerun skips
finished work, and a rerun with more proxies computes only the missing (architecture, proxy) pairs.
The driver alone writes the journal; executors (local pool, Ray) only return records.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from benchmarks.driver import drive
from benchmarks.executors import Executor, LocalExecutor
from benchmarks.journal import Journal, JournalError
from benchmarks.schema import arch_fields, arch_row, make_record
from proxies.base import get_proxy
from proxies.protocol import Protocol
from proxies.training import Recipe
from spaces.failures import failure_message, failure_status
from spaces.specs import MAX_SEED, check_int

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
    members: tuple[str, ...] = ()
    """More architectures for the architectures table only (no units of their own): members of the
    built classes, so a query by their published index answers their class's functional metrics."""

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
        for what, seeds in (("proxy seed", self.proxy_seeds), ("training seed", self.train_seeds)):
            for seed in seeds:
                check_int(seed, what, 0, MAX_SEED)


DEVICE_KINDS = ("cpu", "cuda")


def preflight(spec: BuildSpec, executor: Executor | None = None) -> None:
    """Check that ``spec`` can run before anything is written; raises one clear error if not.

    Unknown space, task or init scheme, an architecture string that does not parse, an unknown
    device, and build options or a resolution the space's network refuses (``C=0``, an unknown
    option) would otherwise fill a journal with ``error`` records: a build of one network, run on one
    input, finds them first. With ``executor``, it also checks that the units' device exists where
    the executor runs them (this machine's torch, or the Ray cluster's GPUs).
    """
    import spaces
    from proxies.init import INITS
    from spaces.tasks import get_task

    space = spaces.get(spec.space)
    task = get_task(spec.task)
    if spec.device not in DEVICE_KINDS:
        raise ValueError(f"unknown device kind {spec.device!r} (valid: {', '.join(DEVICE_KINDS)})")
    check_device = getattr(executor, "check_device", None)
    if check_device is not None:
        check_device(spec.device)
    for text in spec.archs:
        space.parse(text)
    if spec.protocol is not None:
        INITS.get(spec.protocol.init)
    for options, resolution in {
        (s.build, s.resolution) for s in (spec.protocol, spec.recipe) if s is not None
    }:
        _dry_run(space.name, spec.archs[0], task.name, options, resolution)


@lru_cache(maxsize=64)
def _dry_run(space_name: str, arch: str, task_name: str, options: tuple, resolution: int | None) -> None:
    """Build ``arch`` with ``options`` and run one input through it; ValueError naming what failed."""
    import torch

    import spaces
    from spaces.tasks import get_task

    space, task = spaces.get(space_name), get_task(task_name)
    side = resolution or task.resolution
    space.check_resolution(side)
    described = ", ".join(f"{k}={v}" for k, v in options) or "the defaults"
    try:
        network = space.build(space.parse(arch), task, **dict(options))
        with torch.no_grad():
            network.eval()(torch.zeros(1, task.in_channels, side, side))
    except Exception as exc:
        raise ValueError(
            f"{space_name} cannot build a network with build options {described} at resolution {side} "
            f"({failure_message(exc, 200)})"
        ) from None


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


PROXY_SEPARATOR = "|proxies="
"""Proxy unit keys end with ``|proxies=a,b``: the (sorted) proxies the unit computed."""


def unit_group(key: str) -> str:
    """The key of a proxy unit without its proxy list: what it computes them *on*."""
    return key.partition(PROXY_SEPARATOR)[0]


def _proxy_key(group: str, proxies: tuple[str, ...]) -> str:
    return f"{group}{PROXY_SEPARATOR}{','.join(sorted(proxies))}"


def finished_proxies(done: set[str], meta: dict[str, Any]) -> dict[str, set[str]]:
    """Unit group -> proxies already computed there, read from committed unit keys.

    Journals of archbench before incremental proxy lists have keys without ``|proxies=``; their
    proxy list is the journal's ``proxies:<protocol hash>`` entry, so they stay resumable.
    """
    legacy = {k.split(":", 1)[1][:16]: v for k, v in meta.items() if k.startswith("proxies:")}
    out: dict[str, set[str]] = {}
    for key in done:
        if not key.startswith(("cost|", "proxies|")):
            continue
        group, sep, names = key.partition(PROXY_SEPARATOR)
        if sep:
            out.setdefault(group, set()).update(names.split(","))
            continue
        listed = legacy.get(key.rsplit("|", 1)[-1])
        if listed is None:
            raise JournalError(
                f"unit {key[:60]!r} names no proxies and the journal has no proxy list for its protocol; "
                "use a new output folder"
            )
        out.setdefault(group, set()).update(listed)
    return out


def plan(spec: BuildSpec, done: dict[str, set[str]] | None = None) -> tuple[list[Unit], list[dict[str, Any]]]:
    """The units of ``spec`` and the rows of its architectures table.

    Proxy units are keyed by what they are computed on (task, architecture or class, seed, protocol)
    plus the proxies they compute. With ``done`` (from :func:`finished_proxies`) a unit computes only
    the proxies its group still lacks, and a group that lacks none is left out: a rerun with a longer
    proxy list computes only the new (architecture, proxy) pairs, still sharing passes among them.
    """
    units, arch_rows, _ = _plan(spec, done or {})
    return units, arch_rows


def _plan(spec: BuildSpec, done: dict[str, set[str]]) -> tuple[list[Unit], list[dict[str, Any]], int]:
    """:func:`plan` plus the number of units a plan without ``done`` would have."""
    import spaces

    space = spaces.get(spec.space)
    archs = list(dict.fromkeys(space.parse(s) for s in spec.archs))
    members = [space.parse(s) for s in spec.members]
    classes = {a.arch_id for a in archs}
    for m in members:
        if m.arch_id not in classes:
            raise ValueError(f"member {m.string} belongs to no class of the build (arch_id {m.arch_id})")
    listed = dict.fromkeys([*archs, *members])
    arch_rows = [arch_row(space, a) for a in listed]
    representatives: dict[str, Any] = {}
    for a in archs:  # one representative look-up per class, not per member
        if a.arch_id not in representatives:
            representatives[a.arch_id] = space.representative(a)
    cost = tuple(p for p in spec.proxies if get_proxy(p).card.kind == "cost")
    functional = tuple(p for p in spec.proxies if get_proxy(p).card.kind != "cost")
    units: list[Unit] = []
    covered = 0
    common = {"space": space.name, "task": spec.task, "device": spec.device}
    if spec.protocol is not None:
        protocol, phash = spec.protocol.to_dict(), spec.protocol.hash[:16]

    def add_proxy_unit(group: str, arch: str, seed: int, wanted: tuple[str, ...]) -> None:
        nonlocal covered
        have = done.get(group, ())
        missing = tuple(p for p in wanted if p not in have)
        covered += not missing
        if missing:
            units.append(
                Unit(
                    _proxy_key(group, missing),
                    "proxies",
                    arch=arch,
                    seed=seed,
                    proxies=missing,
                    protocol=protocol,
                    **common,
                )
            )

    if cost:
        for a in archs:
            add_proxy_unit(f"cost|{spec.task}|{a.string}|{phash}", a.string, 0, cost)
    recipe = spec.recipe.to_dict() if spec.recipe is not None else {}
    for arch_id, rep in representatives.items():
        if functional:
            for seed in spec.proxy_seeds:
                add_proxy_unit(f"proxies|{spec.task}|{arch_id}|{seed}|{phash}", rep.string, seed, functional)
        for seed in spec.train_seeds:
            key = f"train|{spec.task}|{arch_id}|{seed}|{spec.recipe.hash[:16]}"
            units.append(Unit(key, "train", arch=rep.string, seed=seed, recipe=recipe, **common))
    return units, arch_rows, len(units) + covered


def _unit_context(unit: Unit) -> tuple[Any, Any, dict[str, Any]]:
    """The unit's space, parsed architecture, and the record fields every one of its rows shares."""
    import spaces
    from hw_profiles import describe

    space = spaces.get(unit.space)
    arch = space.parse(unit.arch)
    base = {
        **arch_fields(space, arch),
        "task": unit.task,
        "seed": unit.seed,
        "device": describe(unit.device).label,
    }
    return space, arch, base


def run_unit(unit: Unit) -> list[dict[str, Any]]:
    """Execute one unit and return its records; failures become records with a status, never raise."""
    space, arch, base = _unit_context(unit)
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
                status=failure_status(exc),
                message=failure_message(exc),
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


def failed_unit(unit: Unit, exc: BaseException) -> list[dict[str, Any]]:
    """Error records for a unit whose worker kept failing (crashed or raised after every retry).

    One record per metric the unit would have written first (each proxy, or the training run's
    held-out accuracy at its last epoch), so the failure is stored and the build goes on.
    """
    common = {
        **_unit_context(unit)[2],
        "value": None,
        "seconds": 0.0,
        "status": failure_status(exc),
        "message": failure_message(exc),
    }
    if unit.kind == "proxies":
        phash = Protocol.from_dict(unit.protocol).hash
        return [
            make_record(
                **common,
                metric=name,
                unit=get_proxy(name).card.unit,
                fidelity=0,
                epoch=0,
                protocol_hash=phash,
            )
            for name in unit.proxies
        ]
    recipe = Recipe.from_dict(unit.recipe)
    return [
        make_record(
            **common,
            metric=eval_metric(recipe),
            unit="%",
            fidelity=recipe.epochs,
            epoch=recipe.epochs,
            protocol_hash=recipe.hash,
        )
    ]


def failed_units(journal_path: str | Path) -> list[str]:
    """Keys of the units in the journal at ``journal_path`` holding ``error``/``oom`` records."""
    if not Path(journal_path).is_file():
        return []
    with Journal(journal_path, readonly=True) as journal:
        return journal.failed_units()


def forget_failed(journal_path: str | Path) -> int:
    """Remove the failed units (see :func:`failed_units`) so that the next run computes them again."""
    if not Path(journal_path).is_file():
        return 0
    with Journal(journal_path) as journal:
        return journal.forget_units(journal.failed_units())


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
    label: str = "build",
) -> BuildResult:
    """Run every unit of ``spec`` not yet in the journal at ``journal_path``; resumable at any point.

    ``label`` names the run in progress lines (``build 2/3`` when one command builds several specs).
    """
    import spaces

    start = time.perf_counter()
    executor = executor or LocalExecutor()
    preflight(spec, executor)
    space = spaces.get(spec.space)
    with Journal(journal_path) as journal:
        journal.bind("space", {"name": space.name, "version": space.version})
        if spec.protocol is not None:
            journal.bind(f"protocol:{spec.protocol.hash}", spec.protocol.to_dict())
        # Float results depend on the torch thread count (~1e-8): record every count a build used.
        threads = getattr(executor, "threads", None)
        journal.bind(f"threads:{threads}", threads)
        if spec.recipe is not None:
            journal.bind(f"recipe:{spec.recipe.hash}", spec.recipe.to_dict())
        for name, card in metric_cards(spec).items():
            journal.bind(f"metric:{name}", card)
        done = journal.done()
        units, arch_rows, total = _plan(spec, finished_proxies(done, journal.meta()))
        todo = [u for u in units if u.key not in done]
        journal.add_archs(arch_rows)
        drive(journal, executor, run_unit, todo, total, label, progress, on_error=failed_unit)
    return BuildResult(total, total - len(todo), len(todo), time.perf_counter() - start, Path(journal_path))
