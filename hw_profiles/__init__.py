"""Hardware targets and measurements: device descriptors, latency / memory / energy, LUT latency models.

Importing this package stays light (no torch); targets and meters are registries of lazy entries.
"""

from __future__ import annotations

from hw_profiles.device import Device, describe
from hw_profiles.energy import ENERGY_METERS, EnergyMeter, EnergyUnavailable, RaplMeter
from hw_profiles.protocol import MeasurementProtocol
from hw_profiles.targets import TARGETS, Prepared, Target, get_target

__all__ = [
    "ENERGY_METERS",
    "TARGETS",
    "Device",
    "EnergyMeter",
    "EnergyUnavailable",
    "MeasurementProtocol",
    "Prepared",
    "RaplMeter",
    "Target",
    "describe",
    "get_target",
]
