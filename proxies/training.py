"""Reduced training: train an architecture for a few epochs under a recorded `Recipe`.

The default recipe is NAS-Bench-201's (Dong & Yang, ICLR 2020: SGD, Nesterov momentum 0.9, lr 0.1,
weight decay 5e-4, cosine annealing to 0 over the whole run, batch 256, 200 epochs, no warm-up)
scaled to a budget: ``epochs`` is the fidelity, and a fidelity-E run follows the same schedule
compressed to E epochs (the cosine is stepped per minibatch and reaches ``lr_min`` at the last step).
Optimizer, schedule, augmentation, batch size, the split trained on and the split evaluated on are
all fields, so ``Recipe.hash`` (SHA-256 of canonical JSON, like a proxy `Protocol`) names everything
that defines a curve; the seed is recorded beside it. Same seed -> bit-identical curve on CPU.

Every epoch also records the sum of its minibatch training losses (``loss_sum``), from which the
SoTL proxies of Ru et al. (NeurIPS 2021) are derived exactly (see ``proxies.curves``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from proxies import datasets
from proxies.losses import flat_cross_entropy
from spaces.base import ImageInput
from spaces.registry import Registry
from spaces.specs import MAX_BATCH_SIZE, MAX_RESOLUTION, HashedSpec, check_int, frozen_items
from spaces.tasks import get_task

if TYPE_CHECKING:
    from spaces.base import Architecture, SearchSpace

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter], "Recipe"], torch.optim.Optimizer]
MAX_EPOCHS = 1000
"""The largest training budget a recipe accepts (NB201's longest schedule is 200 epochs)."""

OPTIMIZERS: Registry[OptimizerFactory] = Registry("optimizer", entry_point_group="archbench.optimizers")


@OPTIMIZERS.register("sgd")
def _sgd(params: Iterable[torch.nn.Parameter], recipe: Recipe) -> torch.optim.Optimizer:
    """SGD with (Nesterov) momentum and L2 weight decay, NB201's optimizer."""
    return torch.optim.SGD(
        params,
        lr=recipe.lr,
        momentum=recipe.momentum,
        nesterov=recipe.nesterov,
        weight_decay=recipe.weight_decay,
    )


@OPTIMIZERS.register("adamw")
def _adamw(params: Iterable[torch.nn.Parameter], recipe: Recipe) -> torch.optim.Optimizer:
    """AdamW (Loshchilov & Hutter, ICLR 2019), ``momentum`` as beta1; with ``nesterov`` NAdamW (Dozat, 2016)."""
    betas = (recipe.momentum, 0.999)
    if recipe.nesterov:
        return torch.optim.NAdam(
            params, lr=recipe.lr, betas=betas, weight_decay=recipe.weight_decay, decoupled_weight_decay=True
        )
    return torch.optim.AdamW(params, lr=recipe.lr, betas=betas, weight_decay=recipe.weight_decay)


Augmentation = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
AUGMENTATIONS: Registry[Augmentation] = Registry("augmentation")

CROP_PADDING = 4
"""Zero padding of the random crop, in pixels (NB201: ``RandomCrop(32, padding=4)``)."""


def _random_crop(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Per-image random crop of the original size from a zero-padded copy."""
    n, c, h, w = x.shape
    p = CROP_PADDING
    padded = F.pad(x, (p, p, p, p))
    di = torch.randint(0, 2 * p + 1, (n,), generator=gen)
    dj = torch.randint(0, 2 * p + 1, (n,), generator=gen)
    rows = (di.view(n, 1) + torch.arange(h)).view(n, 1, h, 1).expand(n, c, h, w + 2 * p)
    cols = (dj.view(n, 1) + torch.arange(w)).view(n, 1, 1, w).expand(n, c, h, w)
    return padded.gather(2, rows).gather(3, cols)


@AUGMENTATIONS.register("none")
def _no_augmentation(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """The batch unchanged."""
    return x


@AUGMENTATIONS.register("crop")
def _crop(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random 4-px-padded crop per image, no flip (for digits, where a mirror image is another glyph)."""
    return _random_crop(x, gen)


@AUGMENTATIONS.register("flip_crop")
def _flip_crop(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """NB201's CIFAR augmentation: per-image horizontal flip (p=0.5), then a 4-px-padded random crop."""
    flip = torch.rand(len(x), generator=gen) < 0.5
    return _random_crop(torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x), gen)


@dataclass(frozen=True)
class Recipe(HashedSpec):
    """A training recipe: everything that defines a learning curve except the seed.

    Args:
        task: registered task (data set, classes, native resolution).
        epochs: the budget (fidelity); the whole schedule is compressed into these epochs.
        batch_size: minibatch size (NB201: 256); the last minibatch of an epoch may be smaller.
        optimizer: registered optimizer (``OPTIMIZERS``: ``sgd``, ``adamw``).
        lr: peak learning rate.
        momentum: SGD momentum (AdamW: beta1).
        nesterov: Nesterov momentum (SGD; with adamw it selects NAdamW).
        weight_decay: L2 weight decay.
        schedule: ``cosine`` (annealed per step from ``lr`` to ``lr_min``) or ``constant``.
        lr_min: the cosine schedule's final learning rate (NB201: 0).
        augment: registered augmentation (``AUGMENTATIONS``: ``none``, ``crop``, ``flip_crop``).
        resolution: input side in pixels; None means the task's native resolution.
        eval_split: ``val`` or ``test``, never ``train``; training always uses the task's fixed
            ``train`` split (``proxies.datasets``: mnist5k 3,000/1,000/1,000; HF sets a seed-0 10% val).
        build: network build options passed to the space (e.g. ``{"C": 8, "N": 1}``).
    """

    task: str = "mnist5k"
    epochs: int = 4
    batch_size: int = 256
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    lr_min: float = 0.0
    augment: str = "none"
    resolution: int | None = None
    eval_split: str = "val"
    build: tuple[tuple[str, Any], ...] = field(default=())

    _spec_name: ClassVar[str] = "recipe"
    _pair_fields: ClassVar[tuple[str, ...]] = ("build",)

    def __post_init__(self) -> None:
        object.__setattr__(self, "build", frozen_items(dict(self.build)))
        check_int(self.epochs, "recipe epochs", 1, MAX_EPOCHS)
        check_int(self.batch_size, "recipe batch_size", 1, MAX_BATCH_SIZE)
        if self.resolution is not None:
            check_int(self.resolution, "recipe resolution (or None)", 4, MAX_RESOLUTION)
        if not self.lr > 0:
            raise ValueError(f"recipe lr must be positive, got {self.lr!r}")
        if not 0 <= self.lr_min < self.lr:
            raise ValueError(f"recipe lr_min must be in [0, lr={self.lr}), got {self.lr_min!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"recipe optimizer {self.optimizer!r} is not one of {', '.join(OPTIMIZERS.names())}"
            )
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"recipe schedule {self.schedule!r} is not one of cosine, constant")
        if self.augment not in AUGMENTATIONS:
            raise ValueError(
                f"recipe augment {self.augment!r} is not one of {', '.join(AUGMENTATIONS.names())}"
            )
        if self.eval_split not in ("val", "test"):
            raise ValueError(f"recipe eval_split must be val or test (never train), got {self.eval_split!r}")

    def scaled(self, epochs: int) -> Recipe:
        """The same recipe at another budget: the whole schedule compressed into ``epochs``."""
        return replace(self, epochs=epochs)


@dataclass(frozen=True)
class EpochResult:
    """One point of a learning curve.

    ``train_loss`` is the epoch's sample-weighted mean cross-entropy (what NB201 logs);
    ``loss_sum`` is the plain sum of the epoch's ``steps`` minibatch mean losses (SoTL's summand);
    ``eval_loss`` the mean cross-entropy per label on the eval split (its exp is the perplexity of a
    language-modelling task). Accuracies count every label: per sequence, or per position.
    """

    epoch: int
    train_loss: float
    train_acc: float
    eval_acc: float
    seconds: float
    loss_sum: float
    steps: int
    eval_loss: float = float("nan")


def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """Top-1 accuracy in percent over every label (eval mode, no gradients)."""
    return evaluate_with_loss(model, x, y, batch_size)[0]


def evaluate_with_loss(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500
) -> tuple[float, float]:
    """Top-1 accuracy in percent and mean cross-entropy per label (eval mode, no gradients)."""
    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            logits, labels = model(x[start : start + batch_size]), y[start : start + batch_size]
            correct += int((logits.argmax(-1) == labels).sum())
            if int(labels.min()) < 0 or int(labels.max()) >= logits.shape[-1]:
                loss = float("nan")  # a label no output can name: accuracy 0 there, loss undefined
            else:
                loss += float(flat_cross_entropy(logits, labels, reduction="sum"))
    return 100.0 * correct / y.numel(), loss / y.numel()


def train(space: SearchSpace, arch: Architecture, recipe: Recipe, seed: int) -> list[EpochResult]:
    """Train ``arch`` from scratch under ``recipe``; one :class:`EpochResult` per epoch."""
    task = get_task(recipe.task)
    resolution = space.task_input(task, recipe.resolution)
    train_data = datasets.load(task.dataset, "train")
    eval_data = datasets.load(task.dataset, recipe.eval_split)
    x_train = datasets.prepare(train_data, torch.arange(len(train_data)), resolution, torch.float32)
    y_train = train_data.labels
    x_eval = datasets.prepare(eval_data, torch.arange(len(eval_data)), resolution, torch.float32)
    y_eval = eval_data.labels
    augment = AUGMENTATIONS.get(recipe.augment)
    if recipe.augment != "none" and not isinstance(resolution, ImageInput):
        raise ValueError(
            f"augmentation {recipe.augment!r} is for images; task {task.name!r} has {resolution}"
        )

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = space.build(arch, task, **dict(recipe.build))
    gen = torch.Generator().manual_seed(seed)
    steps_per_epoch = math.ceil(len(x_train) / recipe.batch_size)
    total_steps = recipe.epochs * steps_per_epoch
    optimizer = OPTIMIZERS.get(recipe.optimizer)(model.parameters(), recipe)
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps, eta_min=recipe.lr_min)
        if recipe.schedule == "cosine"
        else torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0)
    )
    curve = []
    for epoch in range(1, recipe.epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        weighted_sum, minibatch_sum, correct = 0.0, 0.0, 0
        for step in range(steps_per_epoch):
            index = order[step * recipe.batch_size : (step + 1) * recipe.batch_size]
            x, y = augment(x_train[index], gen), y_train[index]
            logits = model(x)
            loss = flat_cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            value = float(loss.detach())
            weighted_sum += value * len(y)
            minibatch_sum += value
            correct += int((logits.argmax(-1) == y).sum())
        train_loss = weighted_sum / len(x_train)
        eval_acc, eval_loss = evaluate_with_loss(model, x_eval, y_eval)
        curve.append(
            EpochResult(
                epoch,
                train_loss if np.isfinite(train_loss) else float("nan"),
                100.0 * correct / y_train.numel(),
                eval_acc,
                time.perf_counter() - start,
                minibatch_sum if np.isfinite(minibatch_sum) else float("nan"),
                steps_per_epoch,
                eval_loss if np.isfinite(eval_loss) else float("nan"),
            )
        )
    return curve
