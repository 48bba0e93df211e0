"""The `Architecture` value type, task input specs, the space card and the core `SearchSpace`.

A search space is a small core plus capabilities it declares by inheriting a layer from
:mod:`spaces.capabilities` (enumerable, cell canonicalisation, mutable, encodable, decomposable).
The core is what every space has, whatever its domain: ``parse``/``format`` of architecture strings,
``sample``, ``build`` of a ``torch.nn.Module`` for a task, the ``arch_id`` hash, and the kinds of task
input (:class:`ImageInput`, :class:`TokenInput`) its networks take. Code that needs more asks with
:func:`spaces.capabilities.requires`, which names the space and the missing capability.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import torch
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


# ---- task inputs ---------------------------------------------------------------------------------------
class InputSpec(ABC):
    """What a network of a task takes as input: the shape of one batch and how to draw noise of it."""

    kind: ClassVar[str]

    @abstractmethod
    def shape(self, batch: int) -> tuple[int, ...]:
        """The shape of a batch of ``batch`` inputs."""

    @abstractmethod
    def at_resolution(self, resolution: int | None) -> InputSpec:
        """This input at a protocol's resolution (None keeps the native one)."""

    @abstractmethod
    def noise(self, batch: int, generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
        """Data-free inputs of the batch's shape drawn with ``generator`` (a protocol's ``gaussian`` input)."""


def _positive_ints(spec: InputSpec, what: str, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(spec, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{what} {name} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class ImageInput(InputSpec):
    """Images: ``channels`` x ``resolution`` x ``resolution`` floats (NCHW batches)."""

    channels: int
    resolution: int
    kind: ClassVar[str] = "image"

    def __post_init__(self) -> None:
        _positive_ints(self, "image input", ("channels", "resolution"))

    def shape(self, batch: int) -> tuple[int, int, int, int]:
        """``(batch, channels, resolution, resolution)``."""
        return (batch, self.channels, self.resolution, self.resolution)

    def at_resolution(self, resolution: int | None) -> ImageInput:
        """The same images resized to ``resolution`` pixels a side."""
        return self if resolution is None else replace(self, resolution=resolution)

    def noise(self, batch: int, generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
        """N(0, 1) pixels, drawn in float32 and cast (so every dtype sees the same draw)."""
        import torch

        return torch.randn(self.shape(batch), generator=generator, dtype=torch.float32).to(dtype)


@dataclass(frozen=True)
class TokenInput(InputSpec):
    """Token sequences: ``seq_len`` integer ids in ``[0, vocab_size)`` (batches of shape ``(N, seq_len)``)."""

    vocab_size: int
    seq_len: int
    kind: ClassVar[str] = "tokens"

    def __post_init__(self) -> None:
        _positive_ints(self, "token input", ("vocab_size", "seq_len"))

    def shape(self, batch: int) -> tuple[int, int]:
        """``(batch, seq_len)``."""
        return (batch, self.seq_len)

    def at_resolution(self, resolution: int | None) -> TokenInput:
        """Token sequences have no resolution: only None is accepted."""
        if resolution is not None:
            raise ValueError(f"a token-sequence input has no resolution, got resolution={resolution}")
        return self

    def noise(self, batch: int, generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
        """Uniformly random token ids (int64; ``dtype`` applies to the network, not to ids)."""
        import torch

        return torch.randint(self.vocab_size, self.shape(batch), generator=generator, dtype=torch.int64)


@dataclass(frozen=True)
class Task:
    """A prediction task an architecture is built for: its classes and its input.

    Image tasks may be written the short way, ``Task(name, num_classes, resolution, in_channels)``;
    ``input`` then becomes :class:`ImageInput` and ``resolution`` / ``in_channels`` stay readable.
    Other tasks pass ``input`` (e.g. :class:`TokenInput`) and leave ``resolution`` and ``in_channels``
    unset (None). ``objective`` is ``classification`` (one label per input; logits ``(N, classes)``)
    or ``language_modeling`` (token inputs; a next-token label per position, logits
    ``(N, seq_len, vocab)``, and ``num_classes`` is the vocabulary size).
    """

    name: str
    num_classes: int
    resolution: int | None = None
    in_channels: int | None = None
    dataset: str = ""
    input: InputSpec | None = None
    objective: str = "classification"

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(
                f"task {self.name!r}: objective {self.objective!r} is not one of {', '.join(OBJECTIVES)}"
            )
        if self.objective == "language_modeling" and (
            not isinstance(self.input, TokenInput) or self.input.vocab_size != self.num_classes
        ):
            raise ValueError(
                f"task {self.name!r}: language modelling needs token inputs with num_classes = vocab_size"
            )
        spec = self.input
        if spec is None:
            if self.resolution is None:
                raise ValueError(f"task {self.name!r} needs an input spec or an image resolution")
            spec = ImageInput(3 if self.in_channels is None else self.in_channels, self.resolution)
        elif not isinstance(spec, InputSpec):
            raise TypeError(f"task {self.name!r}: input must be an InputSpec, got {type(spec).__name__}")
        if isinstance(spec, ImageInput):
            given = {"resolution": self.resolution, "in_channels": self.in_channels}
            native = {"resolution": spec.resolution, "in_channels": spec.channels}
            clash = [f"{k}={v}" for k, v in given.items() if v is not None and v != native[k]]
            if clash:
                raise ValueError(f"task {self.name!r}: {', '.join(clash)} contradicts its input {spec}")
            object.__setattr__(self, "resolution", spec.resolution)
            object.__setattr__(self, "in_channels", spec.channels)
        elif self.resolution is not None or self.in_channels is not None:
            raise ValueError(f"task {self.name!r} has {spec.kind} inputs: no resolution or in_channels")
        object.__setattr__(self, "input", spec)

    def output_shape(self, batch: int) -> tuple[int, ...]:
        """The logits' shape for a batch: ``(batch, classes)``, or ``(batch, seq_len, vocab)`` for language modelling."""
        if self.objective == "language_modeling":
            return (batch, self.input.seq_len, self.num_classes)  # type: ignore[union-attr]
        return (batch, self.num_classes)


OBJECTIVES = ("classification", "language_modeling")
"""What a task's labels are: one class per input, or the next token at every position."""


# ---- the card ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SpaceFixtures:
    """Small test fixtures a space ships on its card (used by both conformance suites).

    Args:
        archs: a few standard architecture strings (not degenerate).
        degenerate: architectures whose output ignores the input, where the space has them.
        equivalent: groups of strings that denote equivalent architectures (equal ``arch_id``).
        build: tiny build options (e.g. ``{"C": 4, "N": 1}``) for seconds-long tests.
        task: a registered task the tiny build runs on.
        resolution: the tiny input resolution for image tasks (None: the task's own).
    """

    archs: tuple[str, ...]
    degenerate: tuple[str, ...] = ()
    equivalent: tuple[tuple[str, ...], ...] = ()
    build: tuple[tuple[str, Any], ...] = ()
    task: str = "mnist5k"
    resolution: int | None = None

    def build_options(self) -> dict[str, Any]:
        """The tiny build options as a dict."""
        return dict(self.build)


@dataclass(frozen=True)
class ParamFact:
    """A published parameter count: ``arch`` built for ``task`` with ``build`` options has ``params``."""

    arch: str
    task: str
    build: tuple[tuple[str, Any], ...]
    params: int
    source: str


@dataclass(frozen=True)
class SpaceCard:
    """Metadata of a search space, copied into tables and shown by ``archbench spaces``.

    ``num_archs`` / ``num_unique`` are None where the space is not finite or its classes are not
    counted; ``fixtures`` are the tiny test fixtures both conformance suites use, ``facts`` the
    published parameter counts the space conformance suite checks, and ``source`` the library or code
    the networks are built with (``archbench spaces`` lists it; empty: archbench's own modules).
    """

    num_archs: int | None
    num_unique: int | None
    ops: tuple[str, ...]
    encoding: str
    paper: str
    fixtures: SpaceFixtures | None = None
    facts: tuple[ParamFact, ...] = ()
    source: str = ""


# ---- the core interface --------------------------------------------------------------------------------
class SearchSpace(ABC):
    """The core every space has: strings, sampling, ``arch_id``, the task inputs it takes, and building.

    Subclasses set ``name``, ``version`` and ``card`` and implement the abstract methods; optional
    capabilities come from the layers in :mod:`spaces.capabilities`. Spaces never know about scores or
    storage.
    """

    name: str
    version: str
    card: SpaceCard
    inputs: ClassVar[tuple[type[InputSpec], ...]] = (ImageInput,)
    """The kinds of task input the space's networks take."""

    @property
    def size(self) -> int | None:
        """Number of architectures in the space (None where it is not finite or not counted)."""
        return self.card.num_archs

    @abstractmethod
    def parse(self, text: str) -> Architecture:
        """Parse a string into an :class:`Architecture`; raises ValueError naming the problem."""

    def format(self, arch: Architecture) -> str:
        """The canonical string of ``arch`` (``parse(format(a)) == a``)."""
        self._check(arch)
        return arch.string

    def arch_id(self, arch: Architecture | str) -> str:
        """The ``arch_id`` of an architecture or of an architecture string."""
        if isinstance(arch, str):
            return self.parse(arch).arch_id
        self._check(arch)
        return arch.arch_id

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Architecture:
        """One architecture drawn uniformly at random with ``rng``."""

    def sample_unique(self, n: int, rng: np.random.Generator) -> list[Architecture]:
        """``n`` uniformly sampled architectures with pairwise distinct ``arch_id``s, in draw order."""
        limit = self.card.num_unique or self.size
        if isinstance(n, bool) or not isinstance(n, int) or n < 1 or (limit is not None and n > limit):
            raise ValueError(f"cannot sample {n} distinct classes from {self.name} (1..{limit or 'inf'})")
        out: dict[str, Architecture] = {}
        while len(out) < n:
            arch = self.sample(rng)
            out.setdefault(arch.arch_id, arch)
        return list(out.values())

    def canonical(self, arch: Architecture) -> str:
        """The canonical form of ``arch`` under the space's equivalence rules (hashed to ``arch_id``).

        Without equivalence rules (the core's default) it is the architecture's string.
        """
        self._check(arch)
        return arch.string

    def is_degenerate(self, arch: Architecture) -> bool:
        """True when the network's output cannot depend on its input (never, by default)."""
        self._check(arch)
        return False

    @abstractmethod
    def build(self, arch: Architecture, task: Task | str, **options: Any) -> nn.Module:
        """A freshly initialised ``torch.nn.Module`` of ``arch`` for ``task``."""

    def check_input(self, spec: InputSpec) -> None:
        """Raise ValueError unless the space's networks can take inputs of ``spec``."""
        if not isinstance(spec, self.inputs):
            valid = ", ".join(kind.kind for kind in self.inputs)
            raise ValueError(f"space {self.name!r} takes {valid} inputs, not {spec.kind} ({spec})")
        if isinstance(spec, ImageInput):
            self.check_resolution(spec.resolution)

    def check_resolution(self, resolution: int) -> None:
        """Raise ValueError if the space's networks cannot take images of this side length."""
        if resolution < 1:
            raise ValueError(f"resolution must be positive, got {resolution}")

    def task_input(self, task: Task | str, resolution: int | None = None) -> InputSpec:
        """The input ``task`` gives the space's networks at a protocol's ``resolution``, checked."""
        from spaces.tasks import get_task

        spec = get_task(task).input.at_resolution(resolution)  # type: ignore[union-attr]
        self.check_input(spec)
        return spec

    def index(self, arch: Architecture) -> int | None:
        """The architecture's published index, or None where the space has none."""
        return None

    def representative(self, arch: Architecture) -> Architecture:
        """The member of ``arch``'s equivalence class that functional metrics are computed on."""
        return arch

    def _check(self, arch: Architecture) -> None:
        if not isinstance(arch, Architecture) or arch.space != self.name:
            raise TypeError(f"expected an Architecture of space {self.name!r}, got {arch!r}")
