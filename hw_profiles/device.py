"""`Device` descriptors recorded with every measurement.

A descriptor names what ran a number: kind, model, cores and threads, memory, the library and driver
versions that produced it, and the power/frequency settings the OS exposes (CPU frequency governor
and current/maximum frequency from ``/sys/devices/system/cpu/cpu0/cpufreq`` where readable). Values
the OS does not expose are ``None``, never guessed. The sysfs root is injectable for tests.

The memory allocator is recorded too (C library, ``LD_PRELOAD``, malloc tuning variables): PyTorch's
CPU tensors come from ``malloc``, and glibc's default of returning large blocks to the OS makes
memory-bound networks page-fault on every call. On the development container an NB201 network of
``none`` edges at batch 64 ran in 98.7 ms by default and in 47.6 ms with
``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` raised (``scripts/allocator_effect.py``,
docs/hw_profiles.md).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

SYSFS_CPU = Path("/sys/devices/system/cpu")
_VERSIONED = ("numpy", "onnxruntime", "onnx", "nvidia-ml-py")
_ALLOCATOR_VARIABLES = ("LD_PRELOAD", "GLIBC_TUNABLES", "MALLOC_", "TCMALLOC_", "JEMALLOC_")
"""Environment variables (or prefixes, ending in ``_``; ``MALLOC_`` covers jemalloc's ``MALLOC_CONF``)
that choose or tune the allocator tensors come from."""
_START_ENVIRON = dict(os.environ)  # allocators read their variables at process start, not later


@dataclass(frozen=True)
class Device:
    """What ran a measurement: kind, model name, logical cores, threads used and key versions.

    ``memory_bytes`` is host RAM for CPU kinds and GPU memory for CUDA; ``versions`` holds library and
    driver versions as sorted ``(name, version)`` pairs; ``governor``, ``freq_mhz`` and
    ``max_freq_mhz`` come from cpufreq sysfs (None where the OS does not expose them); ``allocator``
    holds :func:`allocator_settings` as sorted pairs.
    """

    kind: str
    model: str
    cores: int
    threads: int
    torch: str
    python: str
    memory_bytes: int | None = None
    versions: tuple[tuple[str, str], ...] = field(default=())
    governor: str | None = None
    freq_mhz: float | None = None
    max_freq_mhz: float | None = None
    allocator: tuple[tuple[str, str], ...] = field(default=())

    @property
    def label(self) -> str:
        """Short form stored in the records' ``device`` column, e.g. ``cpu:AMD EPYC 7B13``."""
        return f"{self.kind}:{self.model}"

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form for manifests."""
        out = asdict(self)
        out["versions"] = dict(self.versions)
        out["allocator"] = dict(self.allocator)
        out["label"] = self.label
        return out


@lru_cache(maxsize=1)
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown cpu"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def _khz_to_mhz(text: str | None) -> float | None:
    try:
        return int(text) / 1000.0 if text is not None else None
    except ValueError:
        return None


def cpu_frequency(root: str | Path = SYSFS_CPU) -> dict[str, Any]:
    """CPU 0's cpufreq governor and current/maximum frequency (MHz) from sysfs; None where unreadable."""
    freq = Path(root) / "cpu0" / "cpufreq"
    return {
        "governor": _read(freq / "scaling_governor"),
        "freq_mhz": _khz_to_mhz(_read(freq / "scaling_cur_freq")),
        "max_freq_mhz": _khz_to_mhz(_read(freq / "cpuinfo_max_freq")),
    }


def host_memory_bytes(meminfo: str | Path = "/proc/meminfo") -> int | None:
    """Total host RAM in bytes from ``/proc/meminfo`` (None where unreadable)."""
    text = _read(Path(meminfo))
    for line in (text or "").splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) * 1024
    return None


def library_versions() -> tuple[tuple[str, str], ...]:
    """Versions of the installed libraries that can change a measurement (absent ones left out)."""
    found = {}
    for name in _VERSIONED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return tuple(sorted(found.items()))


def allocator_settings(environ: Mapping[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """The C library and the allocator's environment: ``LD_PRELOAD`` and malloc tuning variables.

    ``environ`` defaults to this process's environment as it was when archbench was imported: glibc,
    jemalloc and tcmalloc read their variables when the process starts, so a later change has no
    effect and is not reported. Only what is set is listed (unset means the library's default).
    """
    environ = _START_ENVIRON if environ is None else environ
    lib, lib_version = platform.libc_ver()
    found = {"libc": f"{lib} {lib_version}".strip() or "unknown"}
    for name, value in environ.items():
        if any(name == v or (v.endswith("_") and name.startswith(v)) for v in _ALLOCATOR_VARIABLES):
            found[name] = value
    return tuple(sorted(found.items()))


def _cuda_details() -> tuple[str, int | None, dict[str, str]]:
    import torch

    props = torch.cuda.get_device_properties(0)
    extra = {"cuda": str(torch.version.cuda), "cudnn": str(torch.backends.cudnn.version())}
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            driver = pynvml.nvmlSystemGetDriverVersion()
            extra["nvidia_driver"] = driver.decode() if isinstance(driver, bytes) else str(driver)
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # NVML is optional: no driver version then, never a guess
        pass
    return props.name, int(props.total_memory), extra


def describe(kind: str = "cpu", sysfs_root: str | Path = SYSFS_CPU) -> Device:
    """The :class:`Device` this process runs on (``cpu`` or ``cuda``); ValueError for anything else."""
    import torch

    versions = dict(library_versions())
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' requested but torch sees no CUDA device")
        model, memory, extra = _cuda_details()
        versions.update(extra)
    elif kind == "cpu":
        model, memory = _cpu_model(), host_memory_bytes()
    else:
        raise ValueError(f"unknown device kind {kind!r} (valid: cpu, cuda)")
    return Device(
        kind,
        model,
        os.cpu_count() or 1,
        torch.get_num_threads(),
        torch.__version__,
        platform.python_version(),
        memory_bytes=memory,
        versions=tuple(sorted(versions.items())),
        **cpu_frequency(sysfs_root),
        allocator=allocator_settings(),
    )
