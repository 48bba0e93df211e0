"""Profile one network at one batch size on a target: latency statistics, peak memory and energy.

Every metric is returned as a :class:`Measurement` with a status (``ok``, ``oom``, ``error``,
``unavailable``) and a message; nothing is guessed. Metric names carry the batch size
(``latency_b64``) so one table holds every batch of a protocol; :data:`METRIC_CARDS` gives units.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hw_profiles.energy import ENERGY_METERS, EnergyMeter, measure_energy
from hw_profiles.protocol import MeasurementProtocol
from hw_profiles.targets import Target, get_target
from hw_profiles.timing import measure_stable

_MIN_OF_ROUNDS = "min"  # interference from the rest of the machine only ever adds time and energy

METRIC_CARDS: dict[str, dict[str, Any]] = {
    "latency": {"unit": "ms", "stat": "median per-call latency", "combine_seeds": _MIN_OF_ROUNDS},
    "latency_iqr": {"unit": "ms", "stat": "interquartile range of per-call latency"},
    "latency_p90": {"unit": "ms", "stat": "90th percentile of per-call latency"},
    "latency_cv": {"unit": "ratio", "stat": "coefficient of variation (std / mean) of the samples"},
    "latency_runs": {"unit": "count", "stat": "timing samples behind the statistics"},
    "peak_memory": {"unit": "MB", "stat": "peak bytes in tensors during one call / 1e6"},
    "energy": {
        "unit": "mJ",
        "stat": "measured energy counter increase per call",
        "combine_seeds": _MIN_OF_ROUNDS,
    },
}
"""Base metric names (the batch suffix is added by :func:`metric_name`) with unit and meaning.

``combine_seeds`` says how a table combines a metric's records over seeds, which for measurements
are rounds (``MeasurementProtocol.rounds``); without it, the mean.
"""

_GROUP = {"latency": ("latency", "latency_iqr", "latency_p90", "latency_cv", "latency_runs")}
_GROUP.update(memory=("peak_memory",), energy=("energy",))


def metric_name(base: str, batch_size: int) -> str:
    """The stored metric name of ``base`` at ``batch_size``, e.g. ``latency_b16``."""
    return f"{base}_b{batch_size}"


def metric_names(protocol: MeasurementProtocol) -> list[str]:
    """Every metric a protocol records, in a stable order."""
    return [metric_name(m, b) for b in protocol.batch_sizes for g in protocol.metrics for m in _GROUP[g]]


@dataclass(frozen=True)
class Measurement:
    """One measured value (or why there is none)."""

    metric: str
    value: float | None
    unit: str
    status: str
    message: str = ""
    seconds: float = 0.0


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, then restore the previous count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _status_of(exc: BaseException) -> str:
    return "oom" if "out of memory" in str(exc).lower() or isinstance(exc, MemoryError) else "error"


def _failed(group: str, batch: int, exc: BaseException, seconds: float = 0.0) -> list[Measurement]:
    message = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return [
        Measurement(metric_name(m, batch), None, METRIC_CARDS[m]["unit"], _status_of(exc), message, seconds)
        for m in _GROUP[group]
    ]


def profile_module(
    model: Any,
    example: Any,
    protocol: MeasurementProtocol,
    target: Target | None = None,
    energy_meter: EnergyMeter | None = None,
) -> list[Measurement]:
    """Measure ``model(example)`` on the protocol's target; the batch size is ``example.shape[0]``."""
    target = target or get_target(protocol.target)
    target.check(protocol)
    batch = int(example.shape[0])
    out: list[Measurement] = []
    with torch_threads(protocol.threads):
        start = time.perf_counter()
        try:
            prepared = target.prepare(model, example, protocol)
        except Exception as exc:
            return [m for g in protocol.metrics for m in _failed(g, batch, exc, time.perf_counter() - start)]
        try:
            for group in protocol.metrics:
                start = time.perf_counter()
                try:
                    out.extend(_MEASURE[group](prepared, protocol, target, batch, energy_meter))
                except Exception as exc:
                    out.extend(_failed(group, batch, exc, time.perf_counter() - start))
                    continue
                elapsed = time.perf_counter() - start
                out[-len(_GROUP[group]) :] = [
                    Measurement(m.metric, m.value, m.unit, m.status, m.message, elapsed)
                    for m in out[-len(_GROUP[group]) :]
                ]
        finally:
            prepared.cleanup()
    return out


def _latency(prepared, protocol, target, batch, meter) -> list[Measurement]:
    stats = measure_stable(lambda: prepared.samples(protocol), protocol.cv_threshold, protocol.max_remeasures)
    values = {
        "latency": stats.median * 1e3,
        "latency_iqr": stats.iqr * 1e3,
        "latency_p90": stats.p90 * 1e3,
        "latency_cv": stats.cv,
        "latency_runs": float(stats.n),
    }
    return [
        Measurement(metric_name(k, batch), v, METRIC_CARDS[k]["unit"], "ok", stats.message)
        for k, v in values.items()
    ]


def _memory(prepared, protocol, target, batch, meter) -> list[Measurement]:
    name, unit = metric_name("peak_memory", batch), METRIC_CARDS["peak_memory"]["unit"]
    try:
        peak = prepared.peak_bytes()
    except NotImplementedError as exc:
        return [Measurement(name, None, unit, "unavailable", str(exc))]
    return [Measurement(name, peak / 1e6, unit, "ok")]


def _energy(prepared, protocol, target, batch, meter) -> list[Measurement]:
    meter = meter or ENERGY_METERS.get(target.energy_meter)()
    reading = measure_energy(meter, prepared.run, protocol.energy_seconds, prepared.synchronize)
    value = reading.joules_per_call * 1e3 if reading.joules_per_call is not None else None
    return [Measurement(metric_name("energy", batch), value, "mJ", reading.status, reading.message)]


_MEASURE: dict[str, Callable[..., list[Measurement]]] = {
    "latency": _latency,
    "memory": _memory,
    "energy": _energy,
}


def example_input(task: Any, batch_size: int, resolution: int | None, seed: int = 0) -> Any:
    """A seeded batch of ``task``'s input noise at ``resolution`` (default: the task's).

    Images: N(0, 1) pixels; token sequences: uniform token ids (see :meth:`spaces.base.InputSpec.noise`).
    """
    import torch

    spec = task.input.at_resolution(resolution)
    return spec.noise(batch_size, torch.Generator().manual_seed(seed), torch.float32)


def build_network(space: Any, arch: Any, protocol: MeasurementProtocol, seed: int = 0) -> Any:
    """The architecture's network for the protocol's task and build options, with seeded weights."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return space.build(arch, protocol.task, **protocol.build_options())


def profile_arch(
    space: Any,
    arch: Any,
    protocol: MeasurementProtocol,
    batch_size: int,
    energy_meter: EnergyMeter | None = None,
) -> list[Measurement]:
    """Build ``arch`` of ``space`` and profile it at ``batch_size``; build failures become records."""
    from spaces.tasks import get_task

    task = get_task(protocol.task)
    space.task_input(task, protocol.resolution)
    try:
        model = build_network(space, arch, protocol)
    except Exception as exc:
        return [m for g in protocol.metrics for m in _failed(g, batch_size, exc)]
    example = example_input(task, batch_size, protocol.resolution)
    return profile_module(model, example, protocol, energy_meter=energy_meter)
