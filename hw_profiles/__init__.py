"""Hardware targets: device descriptors now; latency / memory / energy profilers build on them."""

from __future__ import annotations

from hw_profiles.device import Device, describe

__all__ = ["Device", "describe"]
