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
