"""Reshape the wide 18-device NB201 latency table (one column per device setting) into the long format
``archbench import hw-table`` reads: ``nb201_index, device, metric, value``.

Usage: python scripts/latency_to_long.py ../shared/data/nb201_latency_18_devices.parquet runs/latency_long.parquet
"""

from __future__ import annotations

import sys

import pandas as pd


def main(source: str, target: str) -> int:
    """Write ``target`` (Parquet) from the wide ``source``; the architecture strings are left to the index."""
    wide = pd.read_parquet(source).drop(columns="arch_str")
    long = wide.melt(id_vars="nb201_index", var_name="device", value_name="value").assign(metric="latency")
    long.to_parquet(target, index=False)
    print(f"{len(long)} rows ({wide.shape[1] - 1} device settings) -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
