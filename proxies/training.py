"""Reduced training: train an architecture for a few epochs under a recorded `Recipe`.

The recipe is NAS-Bench-201's (Dong & Yang, ICLR 2020: SGD, Nesterov momentum 0.9, lr 0.1, weight
decay 5e-4, cosine annealing to 0 over the whole run, batch 256, 200 epochs) scaled to a budget:
``epochs`` sets the schedule length, and the batch size is a field. Like a `Protocol`, a recipe
is hashed (``Recipe.hash``); the seed is recorded beside it. Same seed -> same curve on CPU.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from proxies import datasets
from proxies.protocol import frozen_items, sha256_of
from spaces.tasks import get_task

if TYPE_CHECKING:
    from spaces.base import Architecture, SearchSpace

AUGMENTATIONS = ("none", "flip_crop")


@dataclass(frozen=True)
class Recipe:
    """A training recipe: everything that defines a learning curve except the seed."""

    task: str = "mnist5k"
    epochs: int = 4
    batch_size: int = 64
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    augment: str = "none"
    resolution: int | None = None
    eval_split: str = "val"
    build: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "build", frozen_items(dict(self.build)))
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"recipe epochs must be a positive integer, got {self.epochs!r}")
        if self.batch_size < 1 or self.lr <= 0:
            raise ValueError("recipe batch_size and lr must be positive")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"recipe schedule {self.schedule!r} is not one of cosine, constant")
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"recipe augment {self.augment!r} is not one of {', '.join(AUGMENTATIONS)}")
        if self.eval_split not in ("val", "test"):
            raise ValueError(f"recipe eval_split must be val or test (never train), got {self.eval_split!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (the hashed content)."""
        out = asdict(self)
        out["build"] = dict(self.build)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown recipe fields {unknown} (valid: {sorted(known)})")
        return cls(**data)

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict`."""
        return sha256_of(self.to_dict())


@dataclass(frozen=True)
class EpochResult:
    """One point of a learning curve."""

    epoch: int
    train_loss: float
    train_acc: float
    eval_acc: float
    seconds: float


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    flip = torch.rand(len(x), generator=gen) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    pad = F.pad(x, (4, 4, 4, 4))
    i, j = (int(v) for v in torch.randint(0, 9, (2,), generator=gen))
    return pad[..., i : i + x.shape[-2], j : j + x.shape[-1]]


def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """Top-1 accuracy in percent (eval mode, no gradients)."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            correct += int(
                (model(x[start : start + batch_size]).argmax(1) == y[start : start + batch_size]).sum()
            )
    return 100.0 * correct / len(x)


def train(space: SearchSpace, arch: Architecture, recipe: Recipe, seed: int) -> list[EpochResult]:
    """Train ``arch`` from scratch under ``recipe``; one :class:`EpochResult` per epoch."""
    task = get_task(recipe.task)
    resolution = recipe.resolution or task.resolution
    space.check_resolution(resolution)
    train_data = datasets.load(task.dataset, "train")
    eval_data = datasets.load(task.dataset, recipe.eval_split)
    x_train = datasets.prepare(train_data, torch.arange(len(train_data)), resolution, torch.float32)
    x_eval = datasets.prepare(eval_data, torch.arange(len(eval_data)), resolution, torch.float32)
    y_train, y_eval = train_data.labels, eval_data.labels

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = space.build(arch, task, **dict(recipe.build))
    gen = torch.Generator().manual_seed(seed)
    steps_per_epoch = math.ceil(len(x_train) / recipe.batch_size)
    total_steps = recipe.epochs * steps_per_epoch
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=recipe.lr,
        momentum=recipe.momentum,
        nesterov=recipe.nesterov,
        weight_decay=recipe.weight_decay,
    )
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
        if recipe.schedule == "cosine"
        else torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0)
    )
    curve = []
    for epoch in range(1, recipe.epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        loss_sum, correct = 0.0, 0
        for step in range(steps_per_epoch):
            index = order[step * recipe.batch_size : (step + 1) * recipe.batch_size]
            x, y = x_train[index], y_train[index]
            if recipe.augment == "flip_crop":
                x = _augment(x, gen)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += float(loss.detach()) * len(y)
            correct += int((logits.argmax(1) == y).sum())
        train_loss = loss_sum / len(x_train)
        eval_acc = evaluate(model, x_eval, y_eval)
        curve.append(
            EpochResult(
                epoch,
                train_loss if np.isfinite(train_loss) else float("nan"),
                100.0 * correct / len(x_train),
                eval_acc,
                time.perf_counter() - start,
            )
        )
    return curve
