"""The proxies evaluator: zero-cost and cost proxies under one :class:`~proxies.protocol.Protocol`.

Cost proxies run per concrete architecture (one seed-free unit each); functional proxies run once per
``arch_id``, on the class representative, per proxy seed. A unit's key names what it is computed
*on* (task, architecture or class, seed, protocol) plus the proxies it computes, so a rerun with a
longer proxy list computes only the missing (architecture, proxy) pairs, still sharing passes.
"""

from __future__ import annotations

from typing import Any

from benchmarks.pipeline.units import Evaluator, PlanContext, Unit, unit_context
from benchmarks.storage.journal import JournalError
from benchmarks.storage.schema import make_record
from proxies.base import get_proxy
from proxies.protocol import Protocol
from spaces.failures import failure_message, failure_status

PROXY_SEPARATOR = "|proxies="
"""Proxy unit keys end with ``|proxies=a,b``: the (sorted) proxies the unit computed."""


def unit_group(key: str) -> str:
    """The key of a proxy unit without its proxy list: what it computes them *on*."""
    return key.partition(PROXY_SEPARATOR)[0]


def _proxy_key(group: str, proxies: tuple[str, ...]) -> str:
    return f"{group}{PROXY_SEPARATOR}{','.join(sorted(proxies))}"


def finished_proxies(done: set[str] | frozenset[str], meta: dict[str, Any]) -> dict[str, set[str]]:
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


def device_label(device: str) -> str:
    """The descriptor label the records of a build unit on ``device`` (``cpu``/``cuda``) name."""
    from hw_profiles import describe

    return describe(device).label


class ProxyEvaluator(Evaluator):
    """Units ``cost|...`` (per architecture) and ``proxies|...`` (per class and seed) of a build spec."""

    kind = "proxies"

    def check(self, spec: Any) -> None:
        """The protocol's init scheme and a dry run of its network (see :func:`~.specs.dry_run`)."""
        from benchmarks.pipeline.specs import check_build_device, dry_run
        from proxies.init import INITS

        check_build_device(spec.device)
        INITS.get(spec.protocol.init)
        dry_run(spec.space, spec.archs[0], spec.task, spec.protocol.build, spec.protocol.resolution)

    def bindings(self, spec: Any, executor: Any) -> dict[str, Any]:
        """The protocol, and the torch thread count (float results depend on it, ~1e-8)."""
        threads = getattr(executor, "threads", None)
        return {f"protocol:{spec.protocol.hash}": spec.protocol.to_dict(), f"threads:{threads}": threads}

    def cards(self, spec: Any) -> dict[str, dict[str, Any]]:
        """Each proxy's unit, kind, direction and paper, and its revision where above 1 (absent: 1, so
        the cards of tables built before revisions existed stay as they were)."""
        out = {}
        for name in spec.proxies:
            card = get_proxy(name).card
            out[name] = {
                "unit": card.unit,
                "kind": card.kind,
                "higher_is_better": card.higher_is_better,
                "paper": card.paper,
            }
            if card.revision != 1:
                out[name]["revision"] = card.revision
        return out

    def plan(self, spec: Any, context: PlanContext) -> tuple[list[Unit], int]:
        """Units for the (architecture or class, seed, proxy) triples the journal still lacks."""
        done = finished_proxies(context.done, context.meta)
        cost = tuple(p for p in spec.proxies if get_proxy(p).card.kind == "cost")
        functional = tuple(p for p in spec.proxies if get_proxy(p).card.kind != "cost")
        protocol, phash = spec.protocol.to_dict(), spec.protocol.hash[:16]
        common = {"space": context.space.name, "task": spec.task, "device": spec.device}
        units: list[Unit] = []
        covered = 0

        def add(group: str, arch: str, seed: int, wanted: tuple[str, ...]) -> None:
            nonlocal covered
            have = done.get(group, ())
            missing = tuple(p for p in wanted if p not in have)
            covered += not missing
            if missing:
                key = _proxy_key(group, missing)
                units.append(
                    Unit(key, self.kind, arch=arch, seed=seed, proxies=missing, protocol=protocol, **common)
                )

        if cost:
            for a in context.archs:
                add(f"cost|{spec.task}|{a.string}|{phash}", a.string, 0, cost)
        if functional:
            for arch_id, rep in context.representatives.items():
                for seed in spec.proxy_seeds:
                    add(f"proxies|{spec.task}|{arch_id}|{seed}|{phash}", rep.string, seed, functional)
        return units, len(units) + covered

    def run(self, unit: Unit) -> list[dict[str, Any]]:
        """Score the unit's proxies with the shared passes among them (``proxies.runner``)."""
        from proxies.runner import score_architecture

        space, arch, base = unit_context(unit)
        protocol = Protocol.from_dict(unit.protocol)
        scores = score_architecture(space, arch, list(unit.proxies), protocol, unit.seed, unit.device)
        return [
            make_record(
                **base,
                device=device_label(unit.device),
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
            for s in scores
        ]

    def failed(self, unit: Unit, exc: BaseException) -> list[dict[str, Any]]:
        """One error record per proxy of the unit."""
        phash = Protocol.from_dict(unit.protocol).hash
        common = {
            **unit_context(unit)[2],
            "device": device_label(unit.device),
            "value": None,
            "seconds": 0.0,
            "status": failure_status(exc),
            "message": failure_message(exc),
        }
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


PROXY_EVALUATOR = ProxyEvaluator()
