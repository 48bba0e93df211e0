"""`MeasurementProtocol`: everything that defines *what* a latency / memory / energy number measures.

The protocol is data, hashed like the proxies' ``Protocol``: SHA-256 of the canonical JSON (sorted
keys, compact separators) of :meth:`MeasurementProtocol.to_dict`. The device descriptor (model,
versions, frequency governor) is recorded beside the numbers in the manifest, not hashed, so a
library upgrade does not orphan a table; the target, dtype, threads and batch sizes are hashed
because they change what is measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from spaces.specs import HashedSpec

DTYPES = ("float32", "bfloat16", "float16", "int8")
"""``int8`` is dynamic quantisation (weights int8, activations quantised on the fly)."""

METRICS = ("latency", "memory", "energy")


def _positive_int(name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"measurement protocol {name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class MeasurementProtocol(HashedSpec):
    """The fixed, recorded conditions of a hardware measurement.

    Args:
        task: registered task (classes, channels, native resolution) the network is built for.
        target: registered target name (see ``hw_profiles.TARGETS``), e.g. ``cpu``, ``onnxruntime-cpu``.
        dtype: ``float32``, ``bfloat16``, ``float16`` or ``int8`` (dynamic quantisation).
        batch_sizes: every batch size measured (each gives its own records).
        resolution: input side in pixels; None means the task's native resolution.
        threads: intra-op threads of the backend.
        warmup: untimed calls before timing (also for lazy init, JIT and allocator warm-up).
        repeats: minimum number of timing samples (each sample is the mean of one timed block).
        min_run_time: seconds of timed calls per measurement attempt (torch.utils.benchmark).
        cv_threshold: coefficient of variation above which a measurement is unstable.
        max_remeasures: extra attempts for an unstable measurement before it is flagged.
        energy_seconds: length of the energy counter window (counters tick in ~1 ms steps).
        metrics: which of ``latency``, ``memory``, ``energy`` to record.
        build: network build options for the space (e.g. ``{"C": 16, "N": 5}``).
        rounds: interleaved measurement rounds. A profile run measures every architecture once per
            round, round after round, each round in its own fixed shuffled order; records carry the
            round in ``seed`` and a table combines rounds by each metric card's ``combine_seeds``
            (``min`` for latency and energy: interference only ever adds time). One round's median
            is mostly the machine's state at that moment (docs/hw_profiles.md).
    """

    task: str = "cifar10"
    target: str = "cpu"
    dtype: str = "float32"
    batch_sizes: tuple[int, ...] = (1,)
    resolution: int | None = None
    threads: int = 1
    warmup: int = 5
    repeats: int = 10
    min_run_time: float = 0.2
    cv_threshold: float = 0.1
    max_remeasures: int = 2
    energy_seconds: float = 0.5
    metrics: tuple[str, ...] = METRICS
    build: tuple[tuple[str, Any], ...] = field(default=())
    rounds: int = 1

    _spec_name: ClassVar[str] = "measurement protocol"
    _pair_fields: ClassVar[tuple[str, ...]] = ("build",)
    _list_fields: ClassVar[tuple[str, ...]] = ("batch_sizes", "metrics")
    _omitted_at_default: ClassVar[tuple[str, ...]] = ("rounds",)  # added later: one-round hashes kept

    def __post_init__(self) -> None:
        object.__setattr__(self, "build", tuple(sorted(dict(self.build).items())))
        object.__setattr__(self, "batch_sizes", tuple(self.batch_sizes))
        object.__setattr__(self, "metrics", tuple(self.metrics))
        if not self.batch_sizes:
            raise ValueError("measurement protocol needs at least one batch size")
        for b in self.batch_sizes:
            _positive_int("batch size", b)
        if len(set(self.batch_sizes)) != len(self.batch_sizes):
            raise ValueError(f"measurement protocol batch sizes repeat: {list(self.batch_sizes)}")
        if self.resolution is not None:
            _positive_int("resolution", self.resolution)
        _positive_int("threads", self.threads)
        _positive_int("warmup", self.warmup, 0)
        _positive_int("repeats", self.repeats, 3)
        _positive_int("max_remeasures", self.max_remeasures, 0)
        _positive_int("rounds", self.rounds)
        for name in ("min_run_time", "cv_threshold", "energy_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
                raise ValueError(f"measurement protocol {name} must be a positive number, got {value!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"measurement protocol dtype {self.dtype!r} is not one of {', '.join(DTYPES)}")
        bad = [m for m in self.metrics if m not in METRICS]
        if bad or not self.metrics:
            raise ValueError(
                f"measurement protocol metrics {bad or '()'} invalid (valid: {', '.join(METRICS)})"
            )

    def build_options(self) -> dict[str, Any]:
        """The network build options as a dict."""
        return dict(self.build)

    def with_batch(self, batch_size: int) -> MeasurementProtocol:
        """The same protocol restricted to one batch size."""
        return replace(self, batch_sizes=(batch_size,))
