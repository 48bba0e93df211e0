"""The embedded Fashion-MNIST subset: sizes, stratification, disjoint splits, and its provenance.

Where Debian's ``dataset-fashion-mnist`` is installed, the shipped file is re-derived from the
official IDX files by the script that made it and must equal them array for array.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from proxies import datasets as D
from proxies.protocol import Protocol
from proxies.runner import score_architecture
from spaces import get as get_space
from spaces.tasks import get_task

DEBIAN = Path("/usr/share/datasets/fashion-mnist")
REPO = Path(__file__).resolve().parent.parent


def test_split_sizes_and_per_class_counts():
    expected = {"train": 1000, "val": 200, "test": 200}
    for split, per_class in expected.items():
        data = D.load("fmnist14k", split)
        assert data.images.shape == (10 * per_class, 1, 28, 28)
        assert np.bincount(data.labels.numpy(), minlength=10).tolist() == [per_class] * 10


def test_no_image_sits_in_two_splits():
    hashes = {
        split: {hashlib.sha1(im.numpy().tobytes()).hexdigest() for im in D.load("fmnist14k", split).images}
        for split in D.SPLITS
    }
    assert not hashes["train"] & hashes["val"]
    assert not hashes["train"] & hashes["test"] and not hashes["val"] & hashes["test"]


def test_train_statistics_normalise_the_train_split():
    data = D.load("fmnist14k", "train")
    x = data.images.numpy().astype(np.float64) / 255.0
    assert data.mean[0] == pytest.approx(x.mean()) and data.std[0] == pytest.approx(x.std(ddof=1))
    assert 0.25 < data.mean[0] < 0.32  # Fashion-MNIST's published pixel mean is 0.286


def test_the_task_is_registered_and_proxies_run_on_it():
    task = get_task("fmnist14k")
    assert (task.num_classes, task.resolution, task.in_channels) == (10, 28, 1)
    space = get_space("nb201")
    arch = space.parse(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    )
    protocol = Protocol(task="fmnist14k", batch_size=16, resolution=12, build={"C": 4, "N": 1})
    scores = score_architecture(space, arch, ["snip", "nwot"], protocol, seed=0)
    assert [s.status for s in scores] == ["ok", "ok"]


@pytest.mark.skipif(
    not DEBIAN.is_dir(),
    reason="Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)",
)
def test_the_shipped_file_equals_a_fresh_derivation_from_the_official_files():
    spec = importlib.util.spec_from_file_location("make_fmnist14k", REPO / "scripts" / "make_fmnist14k.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.subset(DEBIAN)
    shipped = D._embedded_arrays("fmnist14k")
    for key in ("images", "labels", "split"):
        assert np.array_equal(fresh[key], shipped[key]), key
