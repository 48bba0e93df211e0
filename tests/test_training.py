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
from proxies.training import AUGMENTATIONS, OPTIMIZERS, EpochResult, Recipe, evaluate, train

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


# ---- the recipe describes the whole run -------------------------------------------------------------
def test_default_recipe_is_nb201s():
    r = Recipe()
    assert (r.optimizer, r.lr, r.momentum, r.nesterov, r.weight_decay) == ("sgd", 0.1, 0.9, True, 5e-4)
    assert (r.schedule, r.lr_min, r.batch_size, r.eval_split) == ("cosine", 0.0, 256, "val")


def test_scaled_changes_only_the_budget_and_the_hash():
    r = Recipe(**TINY)
    twelve = r.scaled(12)
    assert twelve.epochs == 12 and twelve.hash != r.hash
    assert {k: v for k, v in twelve.to_dict().items() if k != "epochs"} == {
        k: v for k, v in r.to_dict().items() if k != "epochs"
    }
    assert twelve.scaled(TINY["epochs"]) == r


@pytest.mark.parametrize(
    ("changes", "match"),
    [({"optimizer": "rmsprop"}, "optimizer"), ({"lr_min": 0.2}, "lr_min"), ({"epochs": True}, "epochs")],
)
def test_bad_recipe_fields_are_named(changes, match):
    with pytest.raises(ValueError, match=match):
        Recipe(**{**TINY, **changes})


def test_loss_sum_is_the_sum_of_minibatch_losses(curve):
    """3,000 train images in batches of 256: 12 steps, the last of 184 images."""
    for r in curve:
        assert r.steps == math.ceil(3000 / 256) == 12
        # minibatch-mean sum vs sample-weighted mean: equal up to the short last batch's weight
        assert r.loss_sum / r.steps == pytest.approx(r.train_loss, rel=0.05)


def test_one_full_batch_makes_loss_sum_equal_the_epoch_loss(space, arch):
    """With one minibatch per epoch the sum of minibatch losses is that minibatch's loss."""
    (point,) = train(space, arch, Recipe(**{**TINY, "epochs": 1, "batch_size": 3000}), seed=0)
    assert point.steps == 1
    assert point.loss_sum == pytest.approx(point.train_loss, rel=1e-12)


def test_equal_batches_make_loss_sum_steps_times_the_epoch_loss(space, arch):
    (point,) = train(space, arch, Recipe(**{**TINY, "epochs": 1, "batch_size": 1000}), seed=0)
    assert point.steps == 3
    assert point.loss_sum == pytest.approx(3 * point.train_loss, rel=1e-12)


def test_same_seed_gives_a_bit_identical_loss_sum(space, arch, curve):
    again = train(space, arch, Recipe(**TINY), seed=0)
    assert [r.loss_sum for r in again] == [r.loss_sum for r in curve]


def test_adamw_and_nadamw_train_and_differ(space, arch):
    base = {**TINY, "epochs": 1, "optimizer": "adamw", "lr": 1e-3}
    adamw = train(space, arch, Recipe(**{**base, "nesterov": False}), seed=0)
    nadamw = train(space, arch, Recipe(**{**base, "nesterov": True}), seed=0)
    assert math.isfinite(adamw[0].train_loss) and math.isfinite(nadamw[0].train_loss)
    assert adamw[0].train_loss != nadamw[0].train_loss


def test_optimizer_registry_builds_what_the_recipe_says():
    params = [torch.nn.Parameter(torch.zeros(3))]
    sgd = OPTIMIZERS.get("sgd")(params, Recipe(lr=0.05, momentum=0.8, weight_decay=1e-4))
    group = sgd.param_groups[0]
    assert isinstance(sgd, torch.optim.SGD)
    assert (group["lr"], group["momentum"], group["nesterov"], group["weight_decay"]) == (
        0.05,
        0.8,
        True,
        1e-4,
    )
    adamw = OPTIMIZERS.get("adamw")(params, Recipe(optimizer="adamw", nesterov=False, momentum=0.85))
    assert isinstance(adamw, torch.optim.AdamW) and adamw.param_groups[0]["betas"] == (0.85, 0.999)


@pytest.mark.parametrize("name", ["crop", "flip_crop"])
def test_random_crop_takes_a_padded_window_per_image(name):
    """Every output image is one of the 81 windows of its 4-px zero-padded input (or of its mirror)."""
    n, h, w = 16, 6, 5
    x = torch.arange(1, n * h * w + 1, dtype=torch.float32).view(n, 1, h, w)
    out = AUGMENTATIONS.get(name)(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    offsets = set()
    for k in range(n):
        sources = [x[k]] if name == "crop" else [x[k], x[k].flip(-1)]
        found = [
            (i, j)
            for src in sources
            for i in range(9)
            for j in range(9)
            if torch.equal(torch.nn.functional.pad(src, (4, 4, 4, 4))[:, i : i + h, j : j + w], out[k])
        ]
        assert found, k
        offsets.add(found[0])
    assert len(offsets) > 1  # per image, not one offset for the whole batch


def test_no_augmentation_is_the_identity():
    x = torch.randn(2, 1, 4, 4)
    assert AUGMENTATIONS.get("none")(x, torch.Generator()) is x
