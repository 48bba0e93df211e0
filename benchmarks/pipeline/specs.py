"""What to build (:class:`BuildSpec`; :class:`~.profile_units.ProfileSpec` for hardware tables) and the
preflight that checks every setting of a spec before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from proxies.base import get_proxy
from proxies.protocol import Protocol
from proxies.training import Recipe
from spaces.failures import failure_message
from spaces.specs import MAX_SEED, check_int

DEVICE_KINDS = ("cpu", "cuda")


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

    def evaluators(self) -> tuple[str, ...]:
        """``proxies`` when the spec lists proxies, ``train`` when it has a recipe."""
        return ("proxies",) * bool(self.proxies) + ("train",) * (self.recipe is not None)


def check_build_device(device: str) -> None:
    """Refuse a device kind that build units cannot run on."""
    if device not in DEVICE_KINDS:
        raise ValueError(f"unknown device kind {device!r} (valid: {', '.join(DEVICE_KINDS)})")


def preflight(spec: Any, executor: Any | None = None) -> None:
    """Check that ``spec`` can run before anything is written; raises one clear error if not.

    Unknown space, task or init scheme, an architecture string that does not parse, an unknown
    device, and build options or a resolution the space's network refuses (``C=0``, an unknown
    option) would otherwise fill a journal with ``error`` records: a build of one network, run on one
    input, finds them first. Each evaluator the spec asks for checks its own settings (a profile
    spec: the target accepts the protocol here). With ``executor``, it also checks that the units'
    device exists where the executor runs them (this machine's torch, or the Ray cluster's GPUs).
    """
    import spaces
    from benchmarks.pipeline.units import EVALUATORS
    from spaces.tasks import get_task

    space = spaces.get(spec.space)
    get_task(spec.task)
    for text in spec.archs:
        space.parse(text)
    for kind in spec.evaluators():
        EVALUATORS.get(kind).check(spec)
    check_device = getattr(executor, "check_device", None)
    if check_device is not None:
        check_device(spec.device)


def dry_run(space: str, arch: str, task: str, options: tuple, resolution: int | None) -> None:
    """Build ``arch`` with ``options`` and run one input through it; ValueError naming what failed."""
    _dry_run(space, arch, task, tuple(options), resolution)


@lru_cache(maxsize=64)
def _dry_run(space_name: str, arch: str, task_name: str, options: tuple, resolution: int | None) -> None:
    import torch

    import spaces

    space = spaces.get(space_name)
    spec = space.task_input(task_name, resolution)  # images or tokens, checked by the space
    described = ", ".join(f"{k}={v}" for k, v in options) or "the defaults"
    try:
        network = space.build(space.parse(arch), task_name, **dict(options))
        with torch.no_grad():
            network.eval()(spec.noise(1, torch.Generator().manual_seed(0), torch.float32))
    except Exception as exc:
        raise ValueError(
            f"{space_name} cannot build a network with build options {described} for input {spec} "
            f"({failure_message(exc, 200)})"
        ) from None
