"""The profiling evaluator: latency / memory / energy of architectures on a hardware target.

Units are ``architecture x batch size (x round)`` under one :class:`MeasurementProtocol`. Cost metrics
are per concrete architecture, never shared across ``arch_id``. Units run in an order fixed by their
keys' SHA-256, not in the given order: a machine's speed drifts over a long run, and measuring
architectures in enumeration order (all ``none`` cells first...) would turn that drift into a bias
by op pattern. With ``protocol.rounds`` > 1 every architecture and batch size is a unit once per
round, and rounds run one after another (each in its own shuffled order), so one slow spell of the
machine reaches a cell in one round, not in all of them. The journal keeps the descriptor of every
device that ran units (``hw_device:<digest>``) and refuses a resume on a different device.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from benchmarks.pipeline.units import Evaluator, PlanContext, Unit, unit_context
from benchmarks.storage.schema import make_record, seed_combiner
from hw_profiles.protocol import MeasurementProtocol


@dataclass(frozen=True)
class ProfileSpec:
    """What to profile: architectures of one space under one measurement protocol (its target and task)."""

    space: str
    archs: tuple[str, ...]
    protocol: MeasurementProtocol
    members: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "archs", tuple(self.archs))
        if not self.archs:
            raise ValueError("a profile run needs at least one architecture")
        if self.members:
            raise ValueError("a profile run measures every architecture it lists; it takes no members")

    @property
    def task(self) -> str:
        """The task the networks are built for."""
        return self.protocol.task

    @property
    def device(self) -> str:
        """The device kind the target runs on (``cpu`` or ``cuda``: what an executor schedules)."""
        from hw_profiles.targets import get_target

        return get_target(self.protocol.target).device_kind

    def evaluators(self) -> tuple[str, ...]:
        """Profiling only."""
        return ("profile",)


@lru_cache(maxsize=8)
def _descriptor(target: str, threads: int) -> dict[str, Any]:
    from hw_profiles.targets import get_target

    return get_target(target).device(threads).to_dict()


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


class ProfilingEvaluator(Evaluator):
    """Units ``hw|task|arch|b<batch>|protocol[|r<round>]`` of a :class:`ProfileSpec`."""

    kind = "profile"
    card_added_fields = ("combine_seeds",)  # journals from before measurement rounds resume

    def check(self, spec: ProfileSpec) -> None:
        """The target accepts the protocol here, and the space builds the first network with its options."""
        import spaces
        from hw_profiles.profile import build_network
        from hw_profiles.targets import get_target

        get_target(spec.protocol.target).check(spec.protocol)
        space = spaces.get(spec.space)
        if spec.protocol.resolution is not None:
            space.check_resolution(spec.protocol.resolution)
        build_network(space, space.parse(spec.archs[0]), spec.protocol)

    def bindings(self, spec: ProfileSpec, executor: Any) -> dict[str, Any]:
        """The measurement protocol and the device descriptor (one entry per distinct descriptor)."""
        protocol = spec.protocol
        descriptor = _descriptor(protocol.target, protocol.threads)
        return {
            f"protocol:{protocol.hash}": {"kind": "measurement", **protocol.to_dict()},
            "hw_device_label": descriptor["label"],
            # a resume after a driver upgrade or governor change adds one
            f"hw_device:{_digest(descriptor)}": descriptor,
        }

    def cards(self, spec: ProfileSpec) -> dict[str, dict[str, Any]]:
        """See :func:`metric_cards`."""
        return metric_cards(spec.protocol)

    def plan(self, spec: ProfileSpec, context: PlanContext) -> tuple[list[Unit], int]:
        """Every (architecture, batch size, round) not yet measured, in the fixed shuffled order."""
        protocol = spec.protocol
        label = _descriptor(protocol.target, protocol.threads)["label"]
        units = plan_units(context.space.name, context.archs, protocol, spec.device, label)
        return [u for u in units if u.key not in context.done], len(units)

    def run(self, unit: Unit) -> list[dict[str, Any]]:
        """Profile one unit on the protocol's target."""
        from hw_profiles.profile import profile_arch

        space, arch, base = unit_context(unit)
        protocol = MeasurementProtocol.from_dict(unit.protocol)
        return _records(base, unit, protocol, profile_arch(space, arch, protocol, unit.batch_size))

    def failed(self, unit: Unit, exc: BaseException) -> list[dict[str, Any]]:
        """Every metric of the unit, with the failure's status and message."""
        from hw_profiles.profile import failed_measurements

        protocol = MeasurementProtocol.from_dict(unit.protocol)
        measured = failed_measurements(protocol, unit.batch_size, exc)
        return _records(unit_context(unit)[2], unit, protocol, measured)


def metric_cards(protocol: MeasurementProtocol) -> dict[str, dict[str, Any]]:
    """Unit, kind, direction, meaning and seed combiner of every metric at every batch size."""
    from hw_profiles.profile import METRIC_CARDS, metric_name

    out = {}
    for base, card in METRIC_CARDS.items():
        for b in protocol.batch_sizes:
            out[metric_name(base, b)] = {
                "unit": card["unit"],
                "kind": "cost",
                "higher_is_better": False,
                "batch_size": b,
                "description": card["stat"],
                "target": protocol.target,
                "combine_seeds": seed_combiner(card, base),
            }
    return out


def plan_units(space: str, archs: Any, protocol: MeasurementProtocol, device: str, label: str) -> list[Unit]:
    """The units of parsed architectures ``archs``, sorted by round, then by their key's SHA-256."""
    phash = protocol.hash[:16]
    units = [
        Unit(
            f"hw|{protocol.task}|{a.string}|b{b}|{phash}" + (f"|r{r}" if protocol.rounds > 1 else ""),
            "profile",
            space=space,
            arch=a.string,
            task=protocol.task,
            seed=r,  # a measurement's repetition index is its round
            protocol=protocol.to_dict(),
            device=device,
            batch_size=b,
            device_label=label,
        )
        for a in archs
        for b in protocol.batch_sizes
        for r in range(protocol.rounds)
    ]
    units.sort(key=lambda u: (u.seed, hashlib.sha256(u.key.encode()).digest()))
    return units


def _records(
    base: dict[str, Any], unit: Unit, protocol: MeasurementProtocol, measured: list
) -> list[dict[str, Any]]:
    common = {**base, "fidelity": 0, "epoch": 0, "device": unit.device_label, "protocol_hash": protocol.hash}
    return [
        make_record(
            **common,
            metric=m.metric,
            value=m.value,
            unit=m.unit,
            seconds=m.seconds,
            status=m.status,
            message=m.message,
        )
        for m in measured
    ]


PROFILE_EVALUATOR = ProfilingEvaluator()
