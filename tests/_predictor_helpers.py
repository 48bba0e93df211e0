"""Shared inputs of the predictor tests: the published NB201 CIFAR-10 accuracies, imported once."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
"""``../shared/data`` relative to the repository root (where CI places the published files)."""
ACCURACY = SHARED / "nb201_cifar10_accuracy.parquet"
LATENCY = SHARED / "nb201_latency_18_devices.parquet"


def needs_shared_data() -> None:
    """Skip (with the reason) where the published accuracy file is absent."""
    if not ACCURACY.is_file():
        pytest.skip(f"published NB201 accuracies not found at {ACCURACY} (see README, Predictors)")


@lru_cache(maxsize=1)
def truth_table_path() -> Path:
    """The published 200-epoch test accuracies imported through the accuracy importer (once per session)."""
    from benchmarks.importers import AccuracyImport, import_accuracies

    folder = Path(tempfile.mkdtemp(prefix="archbench-truth-"))
    atexit.register(shutil.rmtree, folder, True)
    spec = AccuracyImport(
        space="nb201",
        task="cifar10",
        metric="test_acc_200ep",
        key_column="nb201_index",
        value_column="cifar10_test_acc_200ep",
        key="index",
    )
    return import_accuracies(ACCURACY, spec, folder / "truth")


@lru_cache(maxsize=1)
def latency_sample_table(cells: int = 400) -> Path:
    """A seeded ``cells``-cell sample of the published 18-device latencies (ms), imported through the
    hardware-table importer (metric ``latency``, one device per setting), once per session; skips where
    the published file is absent."""
    if not LATENCY.is_file():
        pytest.skip(f"published NB201 latencies not found at {LATENCY}")
    import pandas as pd

    from benchmarks.importers import HardwareImport, import_hardware_table

    folder = Path(tempfile.mkdtemp(prefix="archbench-latency-"))
    atexit.register(shutil.rmtree, folder, True)
    wide = pd.read_parquet(LATENCY).sample(n=cells, random_state=0).drop(columns="arch_str")
    long = wide.melt(id_vars="nb201_index", var_name="device", value_name="value").assign(metric="latency")
    long.to_parquet(folder / "long.parquet", index=False)
    spec = HardwareImport(
        "nb201", "cifar10", "nb201_index", "device", "metric", "value", key="index", unit="ms"
    )
    return import_hardware_table(folder / "long.parquet", spec, folder / "out")
