"""Optional capabilities a search space declares by inheriting them (archai-style ABC layers).

Each layer adds a few methods to the core :class:`spaces.base.SearchSpace`:

* :class:`EnumerableSpace`: ``enumerate``, ``index``, ``from_index``, a finite ``size``.
* :class:`CellSpace`: a :class:`spaces.cell.CellSpec` and the generic cell canonicaliser, so
  ``canonical`` / ``is_degenerate`` / ``arch_id`` follow the cell's identity and zero ops.
* :class:`MutableSpace`: ``mutate`` and ``neighbors`` (local search, evolution).
* :class:`EncodableSpace`: ``encodings``, ``encode(arch, kind)`` and ``graph(arch)`` (predictors).
* :class:`DecomposableSpace`: ``blocks(arch, task, resolution, **build)``, the space's distinct
  blocks (``block_set``), and one block's module (lookup-table latency models).

Code that needs a capability asks :func:`requires`, which raises :class:`MissingCapability` (a
TypeError) naming the space, the capability and what needed it.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from spaces.base import Architecture, SearchSpace, Task
from spaces.blocks import BlockGroup, BlockSpec
from spaces.cell import CellSpec
from spaces.graph import OpGraph

if TYPE_CHECKING:
    import torch
    import torch.nn as nn

C = TypeVar("C")


class MissingCapability(TypeError):
    """A space lacks a capability some code needs; ``str()`` is one line naming both."""


def requires(space: SearchSpace, capability: type[C], what: str) -> C:
    """``space`` itself if it declares ``capability``, else :class:`MissingCapability` naming it.

    Example:
        >>> import spaces
        >>> requires(spaces.get("nb201"), EnumerableSpace, "enumeration").size
        15625
    """
    if not isinstance(space, capability):
        name = getattr(space, "name", type(space).__name__)
        wanted = capability.__name__.removesuffix("Space").lower()
        raise MissingCapability(
            f"{what} needs capability {wanted!r} ({capability.__name__}), which space {name!r} does not declare"
        )
    return space  # type: ignore[return-value]


def capabilities(space: SearchSpace | type[SearchSpace]) -> tuple[str, ...]:
    """Names of the capabilities ``space`` declares, e.g. ``("enumerable", "cell", ...)``."""
    cls = space if isinstance(space, type) else type(space)
    return tuple(name for name, layer in CAPABILITIES.items() if issubclass(cls, layer))


class EnumerableSpace(SearchSpace):
    """A finite space that lists every architecture in a fixed (published, where it has one) order."""

    @property
    def size(self) -> int:
        """Number of architectures in the space."""
        return int(self.card.num_archs)  # type: ignore[arg-type]

    @abstractmethod
    def enumerate(self) -> Iterator[Architecture]:
        """Every architecture of the space, in the space's published order where it has one."""

    @abstractmethod
    def index(self, arch: Architecture) -> int | None:
        """The architecture's position in :meth:`enumerate`'s order (its published index)."""

    @abstractmethod
    def from_index(self, index: int) -> Architecture:
        """The architecture at ``index`` (ValueError naming the valid range)."""


class CellSpace(SearchSpace):
    """A space of cells whose equivalence follows the generic canonicaliser of :class:`CellSpec`."""

    cell: ClassVar[CellSpec]

    @abstractmethod
    def ops_of(self, arch: Architecture) -> tuple[str, ...]:
        """The cell's op per edge, in ``cell.edges`` order."""

    @abstractmethod
    def from_ops(self, ops: Sequence[str]) -> Architecture:
        """The architecture whose cell has these edge ops (ValueError naming a bad op)."""

    def canonical(self, arch: Architecture) -> str:
        """The cell's canonical expression (equal exactly for equivalent cells)."""
        return self.cell.canonical_form(self.ops_of(arch))

    def is_degenerate(self, arch: Architecture) -> bool:
        """True when every input->output path of the cell passes through a zero op."""
        return self.cell.is_degenerate(self.ops_of(arch))


class MutableSpace(SearchSpace):
    """A space with a neighbourhood: one elementary change at a time."""

    @abstractmethod
    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """A random neighbour of ``arch`` (one elementary change)."""

    @abstractmethod
    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """All architectures one elementary change away from ``arch``."""


class EncodableSpace(SearchSpace):
    """A space whose architectures have fixed-length vector encodings and an op graph (predictors).

    ``encodings`` lists the kinds :meth:`encode` accepts; every kind gives a 1-D float32 array whose
    length depends on the kind only. :meth:`graph` gives an :class:`OpGraph` (ops on nodes) for graph
    predictors, and ``vocab`` the node labels it can carry, for one-hot node features.
    """

    encodings: ClassVar[tuple[str, ...]]
    vocab: ClassVar[tuple[str, ...]]

    def encode(self, arch: Architecture, kind: str) -> np.ndarray:
        """The ``kind`` encoding of ``arch``: a fresh 1-D float32 array (ValueError naming the valid kinds)."""
        if kind not in self.encodings:
            raise ValueError(
                f"unknown encoding {kind!r} for space {self.name!r} (valid: {', '.join(self.encodings)})"
            )
        self._check(arch)
        return np.array(self._encode(arch, kind), dtype=np.float32).reshape(-1)

    @abstractmethod
    def _encode(self, arch: Architecture, kind: str) -> np.ndarray:
        """The encoding of a checked architecture and a valid kind."""

    @abstractmethod
    def graph(self, arch: Architecture) -> OpGraph:
        """The architecture as a DAG with ops on nodes (node 0 input, last node output)."""


class DecomposableSpace(SearchSpace):
    """A space whose networks are sums of blocks measurable alone (lookup-table latency models).

    ``blocks`` lists the blocks one network runs, grouped with repeat counts; ``block_set`` the
    distinct blocks any network of the space at these build options runs (what a LUT measures); and
    ``block_module`` builds one block as the network builds it. ``calibrated_ops`` are the ops of
    architecture-dependent blocks that run a kernel (each may get a calibration scale), and
    ``block_positions`` the positions such a block can take (e.g. the cell node an edge feeds).
    """

    calibrated_ops: ClassVar[tuple[str, ...]]
    block_positions: ClassVar[tuple[int, ...]]

    @abstractmethod
    def blocks(
        self, arch: Architecture, task: Task | str, resolution: int | None = None, **build: Any
    ) -> tuple[BlockGroup, ...]:
        """The blocks ``arch``'s network for ``task`` (at ``resolution``) runs, in summation order."""

    @abstractmethod
    def block_set(self, task: Task | str, resolution: int | None = None, **build: Any) -> list[BlockSpec]:
        """Every distinct block a network of the space for ``task`` may run, in a fixed order."""

    @abstractmethod
    def block_module(self, block: BlockSpec, batch: int = 1) -> nn.Module:
        """A freshly initialised module of ``block`` (from the same classes the network is built of)."""

    def block_input(self, block: BlockSpec, batch: int, generator: torch.Generator) -> torch.Tensor:
        """A random input batch for ``block`` (image blocks: ``(batch, c_in, r, r)`` N(0, 1) values)."""
        import torch

        return torch.randn(batch, block.c_in, block.resolution, block.resolution, generator=generator)


CAPABILITIES: dict[str, type[SearchSpace]] = {
    "enumerable": EnumerableSpace,
    "cell": CellSpace,
    "mutable": MutableSpace,
    "encodable": EncodableSpace,
    "decomposable": DecomposableSpace,
}
"""Capability name -> layer, in the order the conformance suite checks them."""
