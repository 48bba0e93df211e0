"""Hardware tables: profile architectures through the build journal, then release Parquet + manifest.

Units are ``architecture x batch size (x round)`` under one :class:`MeasurementProtocol`; each commits its
records in one journal transaction, so a profile run killed at any point resumes where it stopped
(the same machinery as ``archbench build``: ``benchmarks.journal``, ``benchmarks.executors`` and
``benchmarks.store``). Cost metrics are per concrete architecture, never shared across ``arch_id``.
The release's ``manifest.json`` lists the measurement protocol under ``protocols`` and adds
``hw_devices``: the device descriptor (versions, memory, frequency governor) of every run that
wrote to the journal. A journal refuses a resume on a different device.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hw_profiles.profile import METRIC_CARDS, build_network, metric_name, profile_arch
from hw_profiles.protocol import MeasurementProtocol
from hw_profiles.targets import get_target


@dataclass(frozen=True)
class ProfileUnit:
    """One picklable unit: an architecture at one batch size in one measurement round under a protocol."""

    key: str
    space: str
    arch: str
    batch_size: int
    protocol: dict[str, Any]
    device: str
    round_index: int = 0
    kind: str = "profile"


@dataclass(frozen=True)
class ProfileResult:
    """What a profile run did."""

    total: int
    skipped: int
    ran: int
    seconds: float
    journal: Path


def plan(
    space_name: str, archs: list[str] | tuple[str, ...], protocol: MeasurementProtocol, device: str
) -> tuple[list[ProfileUnit], list[dict[str, Any]]]:
    """The units and architecture rows of a profile run (every concrete architecture is measured).

    Units run in an order fixed by their keys' SHA-256, not in the given order: a machine's speed
    drifts over a long run, and measuring architectures in enumeration order (all ``none`` cells
    first...) would turn that drift into a bias by op pattern. The order is the same on every resume.
    With ``protocol.rounds`` > 1 every architecture and batch size is a unit once per round, and
    rounds run one after another (each in its own shuffled order), so one slow spell of the machine
    reaches a cell in one round, not in all of them.
    """
    import spaces
    from benchmarks.schema import arch_row

    space = spaces.get(space_name)
    parsed = list(dict.fromkeys(space.parse(a) for a in archs))
    if not parsed:
        raise ValueError("a profile run needs at least one architecture")
    phash = protocol.hash[:16]
    units = [
        ProfileUnit(
            f"hw|{protocol.task}|{a.string}|b{b}|{phash}" + (f"|r{r}" if protocol.rounds > 1 else ""),
            space.name,
            a.string,
            b,
            protocol.to_dict(),
            device,
            r,
        )
        for a in parsed
        for b in protocol.batch_sizes
        for r in range(protocol.rounds)
    ]
    units.sort(key=lambda u: (u.round_index, hashlib.sha256(u.key.encode()).digest()))
    return units, [arch_row(space, a) for a in parsed]


def run_unit(unit: ProfileUnit) -> list[dict[str, Any]]:
    """Profile one unit and return its records (failures are records with a status, never raised)."""
    import spaces
    from benchmarks.schema import arch_fields, make_record

    space = spaces.get(unit.space)
    arch = space.parse(unit.arch)
    protocol = MeasurementProtocol.from_dict(unit.protocol)
    base = {
        **arch_fields(space, arch),
        "task": protocol.task,
        "fidelity": 0,
        "epoch": 0,
        "seed": unit.round_index,  # a measurement's repetition index is its round
        "device": unit.device,
        "protocol_hash": protocol.hash,
    }
    return [
        make_record(
            **base,
            metric=m.metric,
            value=m.value,
            unit=m.unit,
            seconds=m.seconds,
            status=m.status,
            message=m.message,
        )
        for m in profile_arch(space, arch, protocol, unit.batch_size)
    ]


def metric_cards(protocol: MeasurementProtocol) -> dict[str, dict[str, Any]]:
    """Unit, kind, direction and meaning of every metric the protocol writes (for the manifest)."""
    from benchmarks.schema import seed_combiner

    cards = {}
    for base, card in METRIC_CARDS.items():
        for b in protocol.batch_sizes:
            cards[metric_name(base, b)] = {
                "unit": card["unit"],
                "kind": "cost",
                "higher_is_better": False,
                "batch_size": b,
                "description": card["stat"],
                "target": protocol.target,
                "combine_seeds": seed_combiner(card, base),
            }
    return cards


def profile_table(
    space: str,
    archs: list[str] | tuple[str, ...],
    protocol: MeasurementProtocol,
    out_dir: str | Path,
    executor: Any | None = None,
    progress: bool = True,
) -> ProfileResult:
    """Profile every unit not yet journaled in ``out_dir/journal.sqlite`` and release ``out_dir/table``."""
    import spaces
    from benchmarks.driver import drive
    from benchmarks.executors import LocalExecutor
    from benchmarks.journal import Journal

    target = get_target(protocol.target)
    target.check(protocol)  # impossible settings fail before any work
    descriptor = target.device(protocol.threads)
    sp = spaces.get(space)
    if archs:  # bad build options fail here, once, with the space's own message
        build_network(sp, sp.parse(archs[0]), protocol)
    units, arch_rows = plan(space, archs, protocol, descriptor.label)
    out_dir = Path(out_dir)
    journal_path = out_dir / "journal.sqlite"
    executor = executor or LocalExecutor(1, protocol.threads)
    start = time.perf_counter()
    with Journal(journal_path) as journal:
        journal.bind("space", {"name": sp.name, "version": sp.version})
        journal.bind(f"protocol:{protocol.hash}", {"kind": "measurement", **protocol.to_dict()})
        journal.bind("hw_device_label", descriptor.label)
        # one entry per distinct descriptor (a resume after a driver upgrade or governor change adds one)
        journal.bind(f"hw_device:{_digest(descriptor.to_dict())}", descriptor.to_dict())
        for name, card in metric_cards(protocol).items():
            journal.bind(f"metric:{name}", card, added_fields=("combine_seeds",))  # older journals resume
        journal.add_archs(arch_rows)
        done = journal.done()
        todo = [u for u in units if u.key not in done]
        drive(journal, executor, run_unit, todo, len(units), "profile", progress)
    export_table(journal_path, out_dir / "table")
    return ProfileResult(
        len(units), len(units) - len(todo), len(todo), time.perf_counter() - start, journal_path
    )


def export_table(journal_path: str | Path, table_dir: str | Path) -> Path:
    """``benchmarks.store.export`` with the device descriptors in the manifest, in one atomic write."""
    from benchmarks.store import export

    def devices(meta: dict[str, Any]) -> dict[str, Any]:
        return {"hw_devices": [v for k, v in sorted(meta.items()) if k.startswith("hw_device:")]}

    return export(journal_path, table_dir, overwrite=True, extra=devices)


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]
