"""A numeric-format dimension for any space: FLIQS's idea (Dotzel et al., "FLIQS: One-Shot Mixed-Precision
Floating-Point and Integer Quantization Search", AutoML 2024, arXiv:2308.03290) as a space wrapper.

An architecture of ``mp-<base>`` is a base architecture plus one format letter per layer group,
``"<base string>@<letters>"``: ``f`` fp32, ``b`` bf16, ``i`` int8. The quantisable layers (every Conv2d
and Linear of the built network, in module order) are cut into :attr:`MixedPrecisionSpace.groups`
consecutive groups of near-equal size (layer j of L goes to group ``floor(j * groups / L)``), so the same
string means the same assignment at any build size: early, middle and late layers, at the granularity
of the groups (with fewer layers than groups, some letters govern no layer).

The built network is **fake-quantised**, so gradient proxies and training see the quantised forward
with straight-through gradients (int8 kernels have no autograd): a bf16 layer rounds its weight and
input to bfloat16; an int8 layer rounds its weight symmetrically per output channel (scale
``max|w| / 127``) and its input per tensor (scale ``max|x| / 127``, from the batch it sees). The layers
stay ``nn.Conv2d`` / ``nn.Linear`` with their own weight parameters (their class is swapped for a
quantising subclass), so every proxy's hooks and weight reads work unchanged, and an all-``f`` string
gives bit-identical values to the base space. ``model_bytes`` (a cost proxy) counts each layer's
weights at its format's width. The build option ``quantised=True`` returns the really quantised network
(:mod:`spaces.precision_deploy`, torch.ao int8 kernels, bf16 kernels) for latency and size measurement.

``arch_id`` hashes the string itself: the base space's equivalences are not merged, because two
equivalent base cells can have different layer counts (NB201's dead convolutions) and so put the same
letters on different layers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from spaces.base import Architecture, ParamFact, SpaceCard, SpaceFixtures, Task, make_arch_id
from spaces.capabilities import MutableSpace

if TYPE_CHECKING:
    import torch.nn as nn

FORMATS = {"f": "fp32", "b": "bf16", "i": "int8"}
"""Format letters and the formats they name."""
WEIGHT_BYTES = {"fp32": 4.0, "bf16": 2.0, "int8": 1.0}
"""Bytes per weight of each format (int8 adds one fp32 scale per output channel)."""
SEPARATOR = "@"


def group_of(layer: int, layers: int, groups: int) -> int:
    """The group of the ``layer``-th of ``layers`` quantisable layers among ``groups`` consecutive ones."""
    return layer * groups // layers


def quantisable_layers(model: nn.Module) -> list[nn.Module]:
    """Every Conv2d and Linear module of ``model``, in module order (the layers the letters govern)."""
    import torch.nn as nn

    return [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def layer_format(module: nn.Module) -> str:
    """The numeric format a layer computes in (``fp32`` unless a mixed-precision build set another)."""
    return getattr(module, "numeric_format", "fp32")


def wrapped_card(card: SpaceCard, base_name: str, groups: int) -> SpaceCard:
    """The card of ``mp-<base>``: the base card's fixtures and facts with format letters appended."""
    fixtures = card.fixtures
    if fixtures is None:
        raise TypeError(f"space {base_name!r} needs card fixtures to be wrapped")
    mixes = ("f" * groups, "i" * groups, ("fbi" * groups)[:groups])
    archs = tuple(f"{a}{SEPARATOR}{m}" for a, m in zip(fixtures.archs * 3, mixes, strict=False))
    return SpaceCard(
        num_archs=None if card.num_archs is None else card.num_archs * len(FORMATS) ** groups,
        num_unique=None,
        ops=tuple(FORMATS.values()),
        encoding=f"'<{base_name} string>{SEPARATOR}<{groups} letters of f/b/i>' (fp32/bf16/int8 by layer group)",
        paper="Dotzel et al., FLIQS, AutoML 2024 (arXiv:2308.03290); base: " + card.paper,
        fixtures=SpaceFixtures(
            archs=archs,
            degenerate=tuple(f"{a}{SEPARATOR}{'i' * groups}" for a in fixtures.degenerate),
            build=fixtures.build,
            task=fixtures.task,
            resolution=fixtures.resolution,
        ),
        facts=tuple(
            ParamFact(f"{f.arch}{SEPARATOR}{'b' * groups}", f.task, f.build, f.params, f.source)
            for f in card.facts
        ),
        source=card.source,
    )


class MixedPrecisionSpace(MutableSpace):
    """``<base>`` with a format letter (f/b/i) per layer group; subclasses name the base space."""

    base_name: ClassVar[str]
    groups: ClassVar[int] = 8
    version = "1"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        import spaces

        base = spaces.SPACES.get(cls.base_name)  # the class: its card and inputs, no network code
        cls.inputs = base.inputs
        cls.card = wrapped_card(base.card, cls.base_name, cls.groups)

    def __init__(self) -> None:
        import spaces

        self.base = spaces.get(self.base_name)

    def split(self, arch: Architecture) -> tuple[Architecture, str]:
        """The base architecture and the format letters of ``arch``."""
        self._check(arch)
        text, _, letters = arch.string.rpartition(SEPARATOR)
        return self.base.parse(text), letters

    def join(self, base: Architecture, letters: str) -> Architecture:
        """The architecture of ``base`` with the format ``letters``."""
        text = f"{self.base.format(base)}{SEPARATOR}{letters}"
        return Architecture(self.name, text, make_arch_id(self.name, self.version, text))

    def parse(self, text: str) -> Architecture:
        """Parse ``"<base string>@<letters>"``; ValueError names a missing separator or a bad letter."""
        if not isinstance(text, str):
            raise ValueError(f"{self.name} architecture must be a string, got {type(text).__name__}")
        base, found, letters = text.strip().rpartition(SEPARATOR)
        if not found:
            raise ValueError(
                f"malformed {self.name} string {text[:60]!r}: no {SEPARATOR!r} before the {self.groups} format letters"
            )
        if len(letters) != self.groups or set(letters) - set(FORMATS):
            raise ValueError(
                f"{self.name} formats {letters[:20]!r}: need {self.groups} letters of "
                + ", ".join(f"{k} ({v})" for k, v in FORMATS.items())
            )
        return self.join(self.base.parse(base), letters)

    def sample(self, rng: np.random.Generator) -> Architecture:
        """A base architecture drawn by the base space, and a uniform format per group."""
        base = self.base.sample(rng)
        return self.join(base, "".join(rng.choice(list(FORMATS), size=self.groups)))

    def is_degenerate(self, arch: Architecture) -> bool:
        """Degenerate exactly where the base architecture is."""
        return self.base.is_degenerate(self.split(arch)[0])

    def check_resolution(self, resolution: int) -> None:
        """The base space's rule."""
        self.base.check_resolution(resolution)

    def _letter_changes(self, base: Architecture, letters: str) -> list[Architecture]:
        return [
            self.join(base, letters[:g] + other + letters[g + 1 :])
            for g in range(self.groups)
            for other in FORMATS
            if other != letters[g]
        ]

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """One group's format changed, or (for a mutable base) one base change with the same formats."""
        base, letters = self.split(arch)
        out = self._letter_changes(base, letters)
        if isinstance(self.base, MutableSpace):
            out += [self.join(b, letters) for b in self.base.neighbors(base)]
        return out

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """Half the time one group's format, else (for a mutable base) one base mutation."""
        base, letters = self.split(arch)
        if isinstance(self.base, MutableSpace) and rng.random() < 0.5:
            return self.join(self.base.mutate(base, rng), letters)
        changes = self._letter_changes(base, letters)
        return changes[int(rng.integers(len(changes)))]

    def build(
        self, arch: Architecture, task: Task | str, quantised: bool = False, **options: Any
    ) -> nn.Module:
        """The base network with its Conv2d/Linear layers fake-quantised by group, or with
        ``quantised=True`` really quantised for inference (:mod:`spaces.precision_deploy`)."""
        from spaces.precision_ops import set_format

        if isinstance(quantised, str) or quantised not in (0, 1):  # 0/1 from --build-options quantised=1
            raise ValueError(
                f"{self.name} build option quantised must be true or false (1 or 0), got {quantised!r}"
            )
        base, letters = self.split(arch)
        model = self.base.build(base, task, **options)
        names = {id(m): n for n, m in model.named_modules()}
        layers = quantisable_layers(model)
        formats = {
            names[id(m)]: FORMATS[letters[group_of(j, len(layers), self.groups)]]
            for j, m in enumerate(layers)
        }
        if quantised:
            import torch

            from spaces.precision_deploy import deployed

            example = self.task_input(task).noise(1, torch.Generator().manual_seed(0), torch.float32)
            return deployed(model, formats, example)
        for layer in layers:
            set_format(layer, formats[names[id(layer)]])
        return model


class NB201MixedPrecision(MixedPrecisionSpace):
    """NB201 cells with fp32/bf16/int8 by layer group."""

    name = "mp-nb201"
    base_name = "nb201"


class FBNetMixedPrecision(MixedPrecisionSpace):
    """FBNet's 22 layers with fp32/bf16/int8 by layer group."""

    name = "mp-fbnet"
    base_name = "fbnet"
