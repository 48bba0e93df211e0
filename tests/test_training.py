"""Reduced training (`proxies.training.train`): curves, determinism, RNG hygiene and the eval split.

DESIGN.md: same seed, same recipe -> the same curve on CPU (bit-identical), seeds are explicit
arguments never global state, and ground-truth accuracies come from val or test, never train.
Tiny runs: NB201 C=4, N=1 at 8 px, batch 256, 1-2 epochs on the embedded mnist5k.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

import spaces
from proxies import datasets
from proxies.training import EpochResult, Recipe, evaluate, train

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"
TINY = {"epochs": 2, "batch_size": 256, "resolution": 8, "build": {"C": 4, "N": 1}}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def space():
    return spaces.get("nb201")


@pytest.fixture(scope="module")
def arch(space):
    return space.parse(ARCH)


@pytest.fixture(scope="module")
def curve(space, arch):
    return train(space, arch, Recipe(**TINY), seed=0)


def test_curve_shape_and_ranges(curve):
    assert len(curve) == TINY["epochs"]
    assert [r.epoch for r in curve] == [1, 2]
    for r in curve:
        assert isinstance(r, EpochResult)
        assert math.isfinite(r.train_loss) and r.train_loss > 0
        assert 0.0 <= r.train_acc <= 100.0
        assert 0.0 <= r.eval_acc <= 100.0
        assert r.seconds >= 0
        # accuracies are counts over 3,000 train / 1,000 val images
        assert (r.train_acc * 3000 / 100) == pytest.approx(round(r.train_acc * 30))
        assert (r.eval_acc * 1000 / 100) == pytest.approx(round(r.eval_acc * 10))


def test_the_network_learns(curve):
    """Real digits: two epochs take the loss down and the accuracy well above chance (10 %)."""
    assert curve[1].train_loss < curve[0].train_loss
    assert curve[1].train_acc > 25.0
    assert curve[1].eval_acc > 20.0


def test_same_seed_gives_a_bit_identical_curve(space, arch, curve):
    again = train(space, arch, Recipe(**TINY), seed=0)
    for a, b in zip(curve, again, strict=True):
        assert (a.epoch, a.train_loss, a.train_acc, a.eval_acc) == (
            b.epoch,
            b.train_loss,
            b.train_acc,
            b.eval_acc,
        )


def test_different_seeds_give_different_curves(space, arch, curve):
    other = train(space, arch, Recipe(**TINY), seed=1)
    assert [r.train_loss for r in other] != [r.train_loss for r in curve]


def test_training_leaves_global_rng_state_unchanged_and_ignores_it(space, arch):
    recipe = Recipe(**{**TINY, "epochs": 1})
    torch.manual_seed(1)
    np.random.seed(1)
    random.seed(1)
    before = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    first = train(space, arch, recipe, seed=5)
    assert torch.equal(torch.get_rng_state(), before[0])
    np.testing.assert_array_equal(np.random.get_state()[1], before[1])
    assert random.getstate() == before[2]
    torch.manual_seed(999)
    second = train(space, arch, recipe, seed=5)
    assert first[0].train_loss == second[0].train_loss
    assert first[0].eval_acc == second[0].eval_acc


def test_augmented_training_is_deterministic_too(space, arch):
    recipe = Recipe(**{**TINY, "epochs": 1, "augment": "flip_crop"})
    a = train(space, arch, recipe, seed=2)
    b = train(space, arch, recipe, seed=2)
    assert a[0].train_loss == b[0].train_loss
    plain = train(space, arch, Recipe(**{**TINY, "epochs": 1}), seed=2)
    assert plain[0].train_loss != a[0].train_loss


@pytest.fixture
def recorded_loads(monkeypatch):
    calls: list[tuple[str, str]] = []
    real = datasets.load

    def recording(dataset, split):
        calls.append((dataset, split))
        return real(dataset, split)

    monkeypatch.setattr(datasets, "load", recording)
    return calls


def test_evaluation_uses_the_val_split_by_default(space, arch, recorded_loads):
    assert Recipe().eval_split == "val"
    train(space, arch, Recipe(**{**TINY, "epochs": 1}), seed=0)
    assert ("mnist5k", "train") in recorded_loads
    assert ("mnist5k", "val") in recorded_loads
    assert ("mnist5k", "test") not in recorded_loads


def test_evaluation_on_test_reads_only_train_and_test(space, arch, recorded_loads):
    train(space, arch, Recipe(**{**TINY, "epochs": 1, "eval_split": "test"}), seed=0)
    assert set(recorded_loads) == {("mnist5k", "train"), ("mnist5k", "test")}


def test_eval_accuracy_is_measured_on_the_eval_split(space, arch, monkeypatch):
    """Swap the val split's labels for impossible ones: eval accuracy must drop to exactly 0."""
    real = datasets.load

    def poisoned(dataset, split):
        data = real(dataset, split)
        if split == "val":
            return datasets.ImageData(data.images, torch.full_like(data.labels, 10), data.mean, data.std)
        return data

    monkeypatch.setattr(datasets, "load", poisoned)
    result = train(space, arch, Recipe(**{**TINY, "epochs": 1}), seed=0)
    assert result[0].eval_acc == 0.0
    assert result[0].train_acc > 0.0


def test_evaluate_counts_top1_in_percent():
    class Fixed(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.one_hot(x[:, 0].long(), 3).float()

    x = torch.tensor([[0.0], [1.0], [2.0], [1.0]])
    y = torch.tensor([0, 1, 1, 1])
    assert evaluate(Fixed(), x, y, batch_size=3) == 75.0
