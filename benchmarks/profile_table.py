"""Old home of hardware tables; profiling is now an evaluator of :mod:`benchmarks.pipeline` (re-exported here).

:class:`~benchmarks.pipeline.profile_units.ProfileSpec` and the profiling evaluator are in
:mod:`benchmarks.pipeline.profile_units`; :func:`profile_table` in :mod:`benchmarks.pipeline.tables`.
"""

from __future__ import annotations

from typing import Any

from benchmarks.pipeline.profile_units import ProfileSpec, metric_cards, plan_units
from benchmarks.pipeline.run import export_journal as export_table
from benchmarks.pipeline.tables import profile_table
from benchmarks.pipeline.units import RunResult, Unit, run_unit
from hw_profiles.protocol import MeasurementProtocol

ProfileUnit = Unit
ProfileResult = RunResult

__all__ = [
    "ProfileResult",
    "ProfileSpec",
    "ProfileUnit",
    "export_table",
    "metric_cards",
    "plan",
    "profile_table",
    "run_unit",
]


def plan(
    space_name: str, archs: list[str] | tuple[str, ...], protocol: MeasurementProtocol, device: str
) -> tuple[list[Unit], list[dict[str, Any]]]:
    """The units and architecture rows of a profile run; ``device`` is the label its records name."""
    import spaces
    from benchmarks.storage.schema import arch_row

    spec = ProfileSpec(space_name, tuple(archs), protocol)
    space = spaces.get(space_name)
    parsed = list(dict.fromkeys(space.parse(a) for a in spec.archs))
    units = plan_units(space.name, parsed, protocol, spec.device, device)
    return units, [arch_row(space, a) for a in parsed]
