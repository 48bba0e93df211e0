"""Energy from hardware counters: Linux RAPL powercap (CPU package) and NVML (NVIDIA GPUs).

Only counters are read; energy is never modelled. Where no counter is readable the result says
``unavailable`` with the reason. RAPL (Intel, "Running Average Power Limit"; David et al., ISLPED
2010) exposes cumulative micro-joules per package in ``/sys/class/powercap/intel-rapl:N/energy_uj``;
the counter wraps at ``max_energy_range_uj``, which :func:`counter_delta` handles. Sub-zones
(``intel-rapl:N:M``, e.g. core and uncore) are part of their package and are not added again.
A RAPL reading covers the whole package over the window, including other processes: on a shared
machine it is an upper bound of the network's own energy. NVML's
``nvmlDeviceGetTotalEnergyConsumption`` gives milli-joules since driver load (Volta and newer).
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from spaces.registry import Registry

POWERCAP = Path("/sys/class/powercap")
_PACKAGE_ZONE = re.compile(r"^intel-rapl:\d+$")


class EnergyUnavailable(RuntimeError):
    """No energy counter can be read here; ``str()`` says why."""


@dataclass(frozen=True)
class EnergyReading:
    """Energy per call over one counter window, or why there is none."""

    joules_per_call: float | None
    calls: int
    seconds: float
    status: str
    message: str


def counter_delta(before: int, after: int, max_range: int) -> int:
    """Increase of a counter that wraps to 0 after ``max_range`` (at most one wrap per window)."""
    if before < 0 or after < 0 or max_range <= 0 or before > max_range or after > max_range:
        raise ValueError(f"bad energy counter readings {before} -> {after} (range {max_range})")
    return after - before if after >= before else max_range - before + after


class EnergyMeter(ABC):
    """A cumulative energy counter: :meth:`read` returns joules since an arbitrary origin per zone."""

    name: str

    @abstractmethod
    def open(self) -> None:
        """Check the counter can be read; raise :class:`EnergyUnavailable` with the reason if not."""

    @abstractmethod
    def read(self) -> tuple[int, ...]:
        """Raw counter values, one per zone."""

    @abstractmethod
    def joules(self, before: tuple[int, ...], after: tuple[int, ...]) -> float:
        """Energy in joules between two :meth:`read` results."""

    def close(self) -> None:
        """Release resources (default: none)."""
        return None


class RaplMeter(EnergyMeter):
    """Sum of the package zones under a powercap root (injectable for tests)."""

    name = "rapl"

    def __init__(self, root: str | Path = POWERCAP) -> None:
        self.root = Path(root)
        self.zones: list[Path] = []
        self.ranges: list[int] = []

    def open(self) -> None:
        """Find package zones and check each counter and its range are readable."""
        if not self.root.is_dir():
            raise EnergyUnavailable(f"no RAPL powercap interface ({self.root} does not exist)")
        zones = sorted(p for p in self.root.iterdir() if _PACKAGE_ZONE.match(p.name))
        if not zones:
            raise EnergyUnavailable(f"no intel-rapl package zone under {self.root}")
        self.zones, self.ranges = [], []
        for zone in zones:
            try:
                int((zone / "energy_uj").read_text())
                self.ranges.append(int((zone / "max_energy_range_uj").read_text()))
            except PermissionError:
                raise EnergyUnavailable(
                    f"{zone / 'energy_uj'} is not readable by this user (root-only since Linux 5.10)"
                ) from None
            except (OSError, ValueError) as exc:
                raise EnergyUnavailable(f"{zone}: unreadable RAPL counter ({exc})") from None
            self.zones.append(zone)

    def read(self) -> tuple[int, ...]:
        """Micro-joule counters of every package zone."""
        return tuple(int((z / "energy_uj").read_text()) for z in self.zones)

    def joules(self, before: tuple[int, ...], after: tuple[int, ...]) -> float:
        """Sum over packages of the wrap-corrected increase, in joules."""
        return sum(counter_delta(b, a, r) for b, a, r in zip(before, after, self.ranges)) / 1e6


class NvmlMeter(EnergyMeter):
    """NVML total-energy counter of one GPU (milli-joules since the driver loaded)."""

    name = "nvml"

    def __init__(self, index: int = 0) -> None:
        self.index = index
        self._nvml = None
        self._handle = None

    def open(self) -> None:
        """Initialise NVML and check the GPU supports the energy counter."""
        try:
            import pynvml
        except ImportError:
            raise EnergyUnavailable(
                "NVML bindings missing: pip install 'archbench[gpu]' (nvidia-ml-py)"
            ) from None
        try:
            pynvml.nvmlInit()
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(self.index)
            pynvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
        except Exception as exc:  # pynvml raises NVMLError subclasses, one per driver code
            raise EnergyUnavailable(f"NVML energy counter unreadable on GPU {self.index} ({exc})") from None
        self._nvml = pynvml

    def read(self) -> tuple[int, ...]:
        """The GPU's milli-joule counter."""
        return (int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)),)

    def joules(self, before: tuple[int, ...], after: tuple[int, ...]) -> float:
        """Increase in joules (the 64-bit counter does not wrap in practice)."""
        if after[0] < before[0]:
            raise ValueError(f"NVML energy counter went backwards ({before[0]} -> {after[0]} mJ)")
        return (after[0] - before[0]) / 1e3

    def close(self) -> None:
        """Shut NVML down."""
        if self._nvml is not None:
            self._nvml.nvmlShutdown()
            self._nvml = None


ENERGY_METERS: Registry[Callable[[], EnergyMeter]] = Registry("energy meter")
ENERGY_METERS.register("rapl", RaplMeter)
ENERGY_METERS.register("nvml", NvmlMeter)


def measure_energy(
    meter: EnergyMeter,
    run: Callable[[], object],
    seconds: float,
    synchronize: Callable[[], None] = lambda: None,
    clock: Callable[[], float] = time.perf_counter,
) -> EnergyReading:
    """Call ``run`` repeatedly for at least ``seconds`` between two counter reads; joules per call."""
    try:
        meter.open()
    except EnergyUnavailable as exc:
        return EnergyReading(None, 0, 0.0, "unavailable", str(exc))
    try:
        synchronize()
        start, before = clock(), meter.read()
        calls = 0
        while calls == 0 or clock() - start < seconds:
            run()
            calls += 1
        synchronize()
        after, elapsed = meter.read(), clock() - start
        joules = meter.joules(before, after)
    finally:
        meter.close()
    if joules <= 0:
        return EnergyReading(
            None, calls, elapsed, "unavailable", f"{meter.name} counter did not advance in {elapsed:.3f} s"
        )
    return EnergyReading(
        joules / calls, calls, elapsed, "ok", f"{meter.name}: {calls} calls in {elapsed:.3f} s"
    )
