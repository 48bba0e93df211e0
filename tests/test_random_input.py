"""``input=random``: NASLib's random data mode needs only the task's shape and classes, never its files.

Data-dependent proxies can then run on the published CIFAR / ImageNet16-120 shapes without the data
sets. The inputs are the same N(0,1) draw as ``gaussian`` for a seed, so every proxy that ignores
labels gives identical values under both; labels are uniform over the task's classes.
"""

from __future__ import annotations

import pytest
import torch

import spaces
from proxies import datasets
from proxies.base import ProxyContext, get_proxy
from proxies.protocol import Protocol
from proxies.runner import score_architecture

SPACE = spaces.get("nb201")
ARCH = SPACE.parse(
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
)
TINY = {"C": 4, "N": 1}


@pytest.fixture
def no_files(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("random input read a data set")

    monkeypatch.setattr(datasets, "load", refuse)
    monkeypatch.setattr(datasets, "batch", refuse)


@pytest.mark.parametrize("task", ["cifar10", "cifar100", "imagenet16-120"])
def test_random_input_scores_data_dependent_proxies_without_the_data_set(no_files, task):
    protocol = Protocol(task=task, batch_size=8, input="random", build=TINY)
    scores = score_architecture(SPACE, ARCH, ["snip", "nwot", "jacob_cov", "grad_norm"], protocol, seed=3)
    assert [s.status for s in scores] == ["ok"] * 4, [s.message for s in scores]
    again = score_architecture(SPACE, ARCH, ["snip", "nwot", "jacob_cov", "grad_norm"], protocol, seed=3)
    assert [s.value for s in scores] == [s.value for s in again]  # deterministic under the seed


def test_random_labels_are_uniform_over_the_classes_and_follow_the_seed(no_files):
    protocol = Protocol(task="cifar100", batch_size=4096, input="random", build=TINY)
    x, y = ProxyContext(SPACE, ARCH, protocol, seed=0).batch()
    assert x.shape == (4096, 3, 32, 32) and y.dtype == torch.int64
    assert int(y.min()) >= 0 and int(y.max()) <= 99 and len(torch.unique(y)) == 100
    counts = torch.bincount(y, minlength=100).float()
    assert counts.std() / counts.mean() < 0.25  # ~41 per class: uniform, not one class
    _, other = ProxyContext(SPACE, ARCH, protocol, seed=1).batch()
    assert not torch.equal(y, other)


def test_label_free_proxies_agree_between_random_and_gaussian_inputs():
    """Same seed, same N(0,1) inputs: a proxy that ignores labels cannot tell the two modes apart."""
    names = [n for n in ("nwot", "jacob_cov", "zen", "synflow") if not get_proxy(n).card.needs_labels]
    assert len(names) >= 3
    values = {
        mode: [
            s.value
            for s in score_architecture(
                SPACE, ARCH, names, Protocol(batch_size=8, resolution=8, input=mode, build=TINY), seed=0
            )
        ]
        for mode in ("gaussian", "random")
    }
    assert values["gaussian"] == values["random"]


def test_the_cli_builds_a_random_input_table_on_cifar10_without_files(tmp_path, no_files):
    from benchmarks.cli import main
    from benchmarks.table import open_table

    code = main(
        [
            "build",
            "--task",
            "cifar10",
            "--sample",
            "2",
            "--proxies",
            "snip,nwot",
            "--input",
            "random",
            "--batch-size",
            "8",
            "--build-options",
            "C=4,N=1",
            "--workers",
            "1",
            "--quiet",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 0
    assert set(open_table(tmp_path / "o" / "table").records["status"]) == {"ok"}
