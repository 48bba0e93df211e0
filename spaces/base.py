"""The `Architecture` value type, task descriptors and the `SearchSpace` interface."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch.nn as nn

ARCH_ID_LENGTH = 16
"""Hex characters kept of the SHA-256 digest that forms an ``arch_id`` (64 bits)."""


def make_arch_id(space: str, version: str, canonical_form: str) -> str:
    """The stable ``arch_id``: SHA-256 of ``"<space>/<version>\\n<canonical form>"``, first 16 hex digits.

    The canonical form is the space's representation under its equivalence rules, so equivalent
    architectures share an ``arch_id``. It never changes within a ``space_version``.
    """
    digest = hashlib.sha256(f"{space}/{version}\n{canonical_form}".encode()).hexdigest()
    return digest[:ARCH_ID_LENGTH]


@dataclass(frozen=True)
class Architecture:
    """An immutable architecture of one space: its canonical string and its equivalence-class id.

    Equality and hashing use ``(space, string)``; ``arch_id`` groups functionally equivalent
    architectures (isomorphic cells), which may have different strings.
    """

    space: str
    string: str
    arch_id: str = field(compare=False)

    def __str__(self) -> str:
        return self.string


@dataclass(frozen=True)
class Task:
    """A prediction task an architecture is built for: classes, input channels and resolution."""

    name: str
    num_classes: int
    resolution: int
    in_channels: int = 3
    dataset: str = ""


@dataclass(frozen=True)
class SpaceCard:
    """Metadata of a search space, copied into tables and shown by ``archbench spaces``."""

    num_archs: int
    num_unique: int | None
    ops: tuple[str, ...]
    encoding: str
    paper: str


class SearchSpace(ABC):
    """A search space: parses, enumerates, samples and mutates architectures and builds networks.

    Subclasses set ``name``, ``version`` and ``card`` and implement the abstract methods. Spaces
    never know about scores or storage.
    """

    name: str
    version: str
    card: SpaceCard

    @property
    def size(self) -> int:
        """Number of architectures in the space."""
        return self.card.num_archs

    @abstractmethod
    def parse(self, text: str) -> Architecture:
        """Parse a string into an :class:`Architecture`; raises ValueError naming the problem."""

    @abstractmethod
    def enumerate(self) -> Iterator[Architecture]:
        """Every architecture of the space, in the space's published order where it has one."""

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Architecture:
        """One architecture drawn uniformly at random with ``rng``."""

    def sample_unique(self, n: int, rng: np.random.Generator) -> list[Architecture]:
        """``n`` uniformly sampled architectures with pairwise distinct ``arch_id``s, in draw order."""
        limit = self.card.num_unique or self.size
        if not 1 <= n <= limit:
            raise ValueError(f"cannot sample {n} distinct classes from {self.name} (1..{limit})")
        out: dict[str, Architecture] = {}
        while len(out) < n:
            arch = self.sample(rng)
            out.setdefault(arch.arch_id, arch)
        return list(out.values())

    @abstractmethod
    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """A random neighbour of ``arch`` (one elementary change)."""

    @abstractmethod
    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """All architectures one elementary change away from ``arch``."""

    @abstractmethod
    def canonical(self, arch: Architecture) -> str:
        """The canonical form of ``arch`` under the space's equivalence rules (hashed to ``arch_id``)."""

    @abstractmethod
    def is_degenerate(self, arch: Architecture) -> bool:
        """True when the network's output cannot depend on its input."""

    @abstractmethod
    def build(self, arch: Architecture, task: Task | str, **options: Any) -> nn.Module:
        """A freshly initialised ``torch.nn.Module`` of ``arch`` for ``task``."""

    def check_resolution(self, resolution: int) -> None:
        """Raise ValueError if the space's networks cannot take inputs of this side length."""
        if resolution < 1:
            raise ValueError(f"resolution must be positive, got {resolution}")

    def index(self, arch: Architecture) -> int | None:
        """The architecture's published index, or None where the space has none."""
        return None

    def from_index(self, index: int) -> Architecture:
        """The architecture at a published index."""
        raise NotImplementedError(f"space {self.name!r} has no published index")

    def representative(self, arch: Architecture) -> Architecture:
        """The member of ``arch``'s equivalence class that functional metrics are computed on."""
        return arch

    def _check(self, arch: Architecture) -> None:
        if not isinstance(arch, Architecture) or arch.space != self.name:
            raise TypeError(f"expected an Architecture of space {self.name!r}, got {arch!r}")
