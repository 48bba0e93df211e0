"""The predictor evaluation protocol as data, and its frozen splits by ``arch_id``.

Published predictor comparisons each pick their own splits, sample sizes, test sets and metrics; here one
:class:`EvalProtocol` fixes all of them and is hashed like the proxies' ``Protocol`` (canonical JSON,
SHA-256). Splits are drawn over equivalence classes (``arch_id``), never cells, so isomorphic cells cannot
straddle train and test and functional targets are scored once per class: the classes are sorted (by
``arch_id``, a content hash), shuffled with ``split_seed``, the first ``test_size`` form the fixed test set
and the rest the training pool; the training set of size ``n`` under seed ``s`` is the first ``n`` of the
pool shuffled with ``(split_seed, s)`` (nested across sizes, so a curve is one draw growing). The split
itself is hashed (:attr:`Splits.hash`) and written before any model is fitted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np

from spaces.specs import HashedSpec, sha256_of

TRAIN_SIZES = (10, 20, 50, 100, 200, 500, 1000)
METRICS = ("kendall", "spearman", "top5", "top10", "ndcg", "regret")


@dataclass(frozen=True)
class EvalProtocol(HashedSpec):
    """Everything that defines a predictor evaluation; its :attr:`hash` names the figures it produced.

    Attributes:
        space: search space whose equivalence classes are split.
        task: task of the target (e.g. ``cifar10``).
        target: ground-truth metric (e.g. ``test_acc_200ep``), per ``arch_id``.
        test_size: classes in the fixed test set.
        train_sizes: training-set sizes of the sample-efficiency curve.
        seeds: training draws (and model seeds) per size.
        split_seed: seed of the test/pool split.
        cv_folds: folds of the hyper-parameter search inside each training split.
        cv_min_train: smallest training set on which hyper-parameters are searched (below: defaults).
        ndcg_k: cut-off of NDCG@k; regret_k: the predicted top-k whose best is compared to the optimum.
        n_boot: bootstrap resamples of the test set for the 95 % percentile intervals of Kendall and
            Spearman; top-k, NDCG and regret use ``min(n_boot, 200)`` (each resample re-ranks the set).
    """

    _spec_name: ClassVar[str] = "predictor evaluation protocol"
    _list_fields: ClassVar[tuple[str, ...]] = ("train_sizes", "seeds")

    space: str = "nb201"
    task: str = "cifar10"
    target: str = "test_acc_200ep"
    test_size: int = 1000
    train_sizes: tuple[int, ...] = TRAIN_SIZES
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    split_seed: int = 0
    cv_folds: int = 3
    cv_min_train: int = 20
    ndcg_k: int = 10
    regret_k: int = 10
    n_boot: int = 1000

    def __post_init__(self) -> None:
        object.__setattr__(self, "train_sizes", tuple(int(n) for n in self.train_sizes))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if self.test_size < 10:
            raise ValueError(f"test_size must be >= 10 classes, got {self.test_size}")
        if (
            not self.train_sizes
            or min(self.train_sizes) < 5
            or len(set(self.train_sizes)) != len(self.train_sizes)
        ):
            raise ValueError(f"train_sizes must be distinct sizes >= 5, got {list(self.train_sizes)}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and at least one, got {list(self.seeds)}")
        if self.cv_folds < 2 or self.cv_min_train < self.cv_folds * 2:
            raise ValueError(
                f"need cv_folds >= 2 and cv_min_train >= 2 * cv_folds, got {self.cv_folds}, {self.cv_min_train}"
            )
        if self.ndcg_k < 1 or self.regret_k < 1 or self.n_boot < 0:
            raise ValueError("ndcg_k and regret_k must be >= 1 and n_boot >= 0")


@dataclass(frozen=True)
class Splits:
    """The frozen split of a protocol: test classes and the ordered training pool of each seed."""

    protocol_hash: str
    test: tuple[str, ...]
    pools: tuple[tuple[int, tuple[str, ...]], ...]
    """``(seed, pool in draw order)``: the training set of size n is the first n."""

    def train(self, size: int, seed: int) -> tuple[str, ...]:
        """The training classes of ``size`` under ``seed``; ValueError if the pool is smaller."""
        pool = dict(self.pools).get(seed)
        if pool is None:
            raise ValueError(f"seed {seed} is not one of the protocol's seeds {[s for s, _ in self.pools]}")
        if size > len(pool):
            raise ValueError(
                f"train size {size} is larger than the {len(pool)} classes available for training"
            )
        return pool[:size]

    def to_dict(self) -> dict[str, object]:
        """Plain JSON (the hashed content)."""
        return {
            "protocol_hash": self.protocol_hash,
            "test": list(self.test),
            "pools": {str(s): list(p) for s, p in self.pools},
        }

    @cached_property
    def hash(self) -> str:
        """SHA-256 of :meth:`to_dict`'s canonical JSON."""
        return sha256_of(self.to_dict())


def space_classes(space_name: str) -> list[str]:
    """Every ``arch_id`` of an enumerable space, sorted."""
    import spaces

    return sorted({a.arch_id for a in spaces.get(space_name).enumerate()})


def make_splits(protocol: EvalProtocol, classes: Iterable[str], max_train: int | None = None) -> Splits:
    """The protocol's split of ``classes`` (``arch_id``s; order is irrelevant, they are sorted first).

    Only the first ``max_train`` (default: the largest train size) of each seed's pool are kept.
    Raises ValueError when the classes cannot hold the test set plus the largest train size.
    """
    classes = sorted(set(classes))
    largest = max(protocol.train_sizes)
    if len(classes) < protocol.test_size + largest:
        raise ValueError(
            f"{len(classes)} classes cannot hold a test set of {protocol.test_size} plus a train size of "
            f"{largest} (at most {max(len(classes) - protocol.test_size, 0)} classes remain for training)"
        )
    order = np.random.default_rng(protocol.split_seed).permutation(len(classes))
    test = tuple(classes[i] for i in order[: protocol.test_size])
    pool = [classes[i] for i in order[protocol.test_size :]]
    keep = largest if max_train is None else max_train
    pools = []
    for seed in protocol.seeds:
        draw = np.random.default_rng([protocol.split_seed, seed]).permutation(len(pool))[:keep]
        pools.append((seed, tuple(pool[i] for i in draw)))
    return Splits(protocol.hash, test, tuple(pools))
