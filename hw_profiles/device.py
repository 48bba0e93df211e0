"""`Device` descriptors recorded with every measurement (model, cores, threads, library versions)."""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class Device:
    """What ran a measurement: kind, model name, logical cores, threads used and key versions."""

    kind: str
    model: str
    cores: int
    threads: int
    torch: str
    python: str

    @property
    def label(self) -> str:
        """Short form stored in the records' ``device`` column, e.g. ``cpu:AMD EPYC 7B13``."""
        return f"{self.kind}:{self.model}"

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form for manifests."""
        return asdict(self)


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


def describe(kind: str = "cpu") -> Device:
    """The :class:`Device` this process runs on (``cpu`` or ``cuda``)."""
    import torch

    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' requested but torch sees no CUDA device")
        model = torch.cuda.get_device_name(0)
    elif kind == "cpu":
        model = _cpu_model()
    else:
        raise ValueError(f"unknown device kind {kind!r} (valid: cpu, cuda)")
    return Device(
        kind,
        model,
        os.cpu_count() or 1,
        torch.get_num_threads(),
        torch.__version__,
        platform.python_version(),
    )
