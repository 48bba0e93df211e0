"""The FBNet space (Wu et al., "FBNet: Hardware-Aware Efficient ConvNet Design via Differentiable Neural
Architecture Search", CVPR 2019, arXiv:1812.03443).

A layer-wise space: 22 searchable layers on a fixed macro-architecture (Table 1), each one of 9
candidate blocks (Table 2): ``k3_e1, k3_e1_g2, k3_e3, k3_e6, k5_e1, k5_e1_g2, k5_e3, k5_e6, skip``
(kernel K, expansion E, ``g2``: group-2 1x1 convs with a channel shuffle). 9^22 ~ 9.8e20
architectures. A string names the 22 blocks in layer order, joined by ``,``; there are no equivalence
rules (a ``skip`` moved within a stage is not merged), so ``arch_id`` hashes the string itself.

Declared capabilities: mutable (one layer's block changed), encodable (``onehot``: 22 x 9) and
decomposable (FBNet's own latency model is a lookup table of its blocks: the stem, each searchable
layer's block at that layer's channels, resolution and stride, the head, and the pooled classifier).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from spaces.base import Architecture, SpaceCard, SpaceFixtures, Task, make_arch_id
from spaces.blocks import BlockGroup, BlockSpec, BlockUse
from spaces.capabilities import DecomposableSpace, EncodableSpace, MutableSpace
from spaces.fbnet_net import HEAD, LAYERS, STEM, scaled
from spaces.graph import INPUT, OUTPUT, OpGraph
from spaces.tasks import get_task

if TYPE_CHECKING:
    import torch.nn as nn

BLOCKS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
"""The 9 candidate blocks of the paper's Table 2."""
VOCAB = (INPUT, *BLOCKS, OUTPUT)

FBNET_A = (
    "skip,k3_e3,k3_e1,skip,skip,k5_e6,k3_e3,k5_e1,k3_e3,k5_e6,k5_e3,k5_e1_g2,k5_e6,"
    "k3_e6,k5_e1_g2,k5_e3,k3_e1_g2,k5_e6,k5_e6,k5_e3,k5_e6,k5_e6"
)
"""FBNet-A as Facebook's mobile-vision model zoo defines it (``fbnet_a``; its head has 1504 channels)."""

FIXTURES = SpaceFixtures(
    archs=(FBNET_A, ",".join(["k3_e6"] * 22), ",".join(["skip", "k5_e1_g2"] * 11)),
    build=(("width", 0.25),),
    task="mnist5k",
    resolution=8,
)


class FBNetSpace(MutableSpace, EncodableSpace, DecomposableSpace):
    """FBNet's 22 x 9 layer-wise space on its fixed ImageNet macro-architecture."""

    name = "fbnet"
    version = "1.0"
    card = SpaceCard(
        num_archs=len(BLOCKS) ** len(LAYERS),
        num_unique=None,
        ops=BLOCKS,
        encoding="22 block names in layer order, joined by ','",
        paper="Wu et al., FBNet, CVPR 2019 (arXiv:1812.03443)",
        fixtures=FIXTURES,
    )
    encodings = ("onehot",)
    vocab = VOCAB
    calibrated_ops = tuple(b for b in BLOCKS if b != "skip")  # skip is the identity inside a stage
    block_positions = tuple(range(len(LAYERS)))

    def parse(self, text: str) -> Architecture:
        """Parse ``"block,block,...,block"`` (22 names of :data:`BLOCKS`); ValueError names a bad one."""
        if not isinstance(text, str):
            raise ValueError(f"FBNet architecture must be a string, got {type(text).__name__}")
        names = tuple(part.strip() for part in text.strip().split(","))
        if len(names) != len(LAYERS):
            raise ValueError(f"malformed FBNet string {text[:60]!r}: {len(names)} blocks, need {len(LAYERS)}")
        for layer, name in enumerate(names):
            if name not in BLOCKS:
                raise ValueError(f"FBNet layer {layer}: unknown block {name!r} (valid: {', '.join(BLOCKS)})")
        return self.from_blocks(names)

    def from_blocks(self, blocks: tuple[str, ...] | list[str]) -> Architecture:
        """The architecture of 22 block names (unchecked; :meth:`parse` checks)."""
        text = ",".join(blocks)
        return Architecture(self.name, text, make_arch_id(self.name, self.version, text))

    def layer_choices(self, arch: Architecture) -> tuple[str, ...]:
        """The 22 block names of ``arch``."""
        self._check(arch)
        return tuple(arch.string.split(","))

    def sample(self, rng: np.random.Generator) -> Architecture:
        """Every layer's block uniformly at random."""
        return self.from_blocks([BLOCKS[i] for i in rng.integers(0, len(BLOCKS), size=len(LAYERS))])

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """The 176 architectures that differ in one layer's block."""
        names = self.layer_choices(arch)
        return [
            self.from_blocks((*names[:k], other, *names[k + 1 :]))
            for k in range(len(names))
            for other in BLOCKS
            if other != names[k]
        ]

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """One random layer gets a different random block."""
        names = list(self.layer_choices(arch))
        k = int(rng.integers(len(names)))
        names[k] = [b for b in BLOCKS if b != names[k]][int(rng.integers(len(BLOCKS) - 1))]
        return self.from_blocks(names)

    def _encode(self, arch: Architecture, kind: str) -> np.ndarray:
        """``onehot`` (198): per layer a one-hot over :data:`BLOCKS`."""
        out = np.zeros((len(LAYERS), len(BLOCKS)), dtype=np.float32)
        out[np.arange(len(LAYERS)), [BLOCKS.index(b) for b in self.layer_choices(arch)]] = 1.0
        return out.ravel()

    def graph(self, arch: Architecture) -> OpGraph:
        """The network as a chain: input, the 22 blocks in order, output."""
        labels = (INPUT, *self.layer_choices(arch), OUTPUT)
        adjacency = np.eye(len(labels), k=1, dtype=np.uint8)
        return OpGraph(adjacency, labels)

    # ---- lookup-table blocks ----------------------------------------------------------------------
    def _shapes(
        self, task: Task | str, resolution: int | None, width: float, head: int
    ) -> tuple[int, int, list[tuple[int, int, int, int]], int, int]:
        """Input channels and side, per layer ``(c_in, c_out, side in, stride)``, head width, final side."""
        spec = self.task_input(task, resolution)
        side = -(-spec.resolution // 2)  # the stride-2 stem ('same' padding: ceil)
        c = scaled(STEM, width)
        layers = []
        for c_out, stride in LAYERS:
            layers.append((c, scaled(c_out, width), side, stride))
            c, side = scaled(c_out, width), -(-side // stride)
        return spec.channels, spec.resolution, layers, scaled(head, width), side

    def _fixed_blocks(
        self, task: Task | str, resolution: int | None, width: float, head: int
    ) -> tuple[BlockSpec, BlockSpec, BlockSpec]:
        channels, side, layers, c_head, last = self._shapes(task, resolution, width, head)
        return (
            BlockSpec("stem", "conv3x3_bn_relu", channels, scaled(STEM, width), side, 2),
            BlockSpec("head", "conv1x1_bn_relu", layers[-1][1], c_head, last),
            BlockSpec("classifier", "pool_linear", c_head, get_task(task).num_classes, last),
        )

    def blocks(
        self,
        arch: Architecture,
        task: Task | str,
        resolution: int | None = None,
        width: float = 1.0,
        head: int = HEAD,
    ) -> tuple[BlockGroup, ...]:
        """Stem, the 22 chosen blocks (position = layer), head and classifier, each once."""
        stem, head_block, classifier = self._fixed_blocks(task, resolution, width, head)
        layers = self._shapes(task, resolution, width, head)[2]
        chosen = tuple(
            BlockUse(BlockSpec("layer", name, c_in, c_out, side, stride), position=i)
            for i, (name, (c_in, c_out, side, stride)) in enumerate(zip(self.layer_choices(arch), layers))
        )
        return (BlockGroup(1, (BlockUse(stem), *chosen, BlockUse(head_block), BlockUse(classifier))),)

    def block_set(
        self, task: Task | str, resolution: int | None = None, width: float = 1.0, head: int = HEAD
    ) -> list[BlockSpec]:
        """The fixed blocks and the 9 candidates at every distinct layer shape (FBNet's LUT)."""
        stem, head_block, classifier = self._fixed_blocks(task, resolution, width, head)
        layers = self._shapes(task, resolution, width, head)[2]
        candidates = [BlockSpec("layer", name, *shape) for shape in dict.fromkeys(layers) for name in BLOCKS]
        return [stem, *candidates, head_block, classifier]

    def block_module(self, block: BlockSpec, batch: int = 1) -> nn.Module:
        """A freshly initialised module of ``block``, from the classes the network is built of."""
        from spaces.fbnet_net import BLOCK_BUILDERS

        if block.kind not in BLOCK_BUILDERS:
            raise ValueError(f"unknown fbnet block kind {block.kind!r} (valid: {', '.join(BLOCK_BUILDERS)})")
        return BLOCK_BUILDERS[block.kind](block)

    def build(
        self, arch: Architecture, task: Task | str, width: float = 1.0, head: int = HEAD, **options: Any
    ) -> nn.Module:
        """The FBNet network for ``task``: channels scaled by ``width`` (multiples of 8), a ``head``-wide 1x1 conv."""
        from spaces.fbnet_net import FBNetNetwork

        if options:
            raise TypeError(f"unknown build options for fbnet: {sorted(options)} (valid: width, head)")
        if isinstance(width, bool) or not isinstance(width, int | float) or not 0 < width <= 4:
            raise ValueError(f"fbnet width must be in (0, 4], got {width!r}")
        if isinstance(head, bool) or not isinstance(head, int) or head < 1:
            raise ValueError(f"fbnet head must be a positive integer, got {head!r}")
        task = get_task(task)
        spec = self.task_input(task)
        return FBNetNetwork(
            self.layer_choices(arch), task.num_classes, spec.channels, width=float(width), head=head
        )
