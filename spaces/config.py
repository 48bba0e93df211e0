"""Configuration spaces: global choices plus groups of layers whose depth and per-layer choices vary.

Model-config spaces (OFA-like MobileNetV3, ViT, GPT, BERT, LLaMA) share one shape, described by a
:class:`ConfigSpec`: a few global dimensions (embedding width, patch size, resolution, ...), then
one or more *groups* of layers (MobileNetV3's five searchable stages; a transformer's one stack),
each with a set of allowed depths and the same per-layer dimensions (kernel size and expansion
ratio; heads and MLP ratio). :class:`ConfigSpace` gives such a space the whole core and the
``mutable`` and ``encodable`` capabilities from the spec alone; a space module adds its card, its
spec and ``build``.

String form: the global token, then one ``/``-separated part per group, its layers joined by ``-``.
A token is the dimensions' keys each followed by its value, in spec order, e.g. for MobileNetV3
``r224/k3e4-k3e3/...`` (resolution 224; stage 1 has two blocks, kernel 3 with expansion 4 and kernel
3 with expansion 3). Every configuration has exactly one string, and there are no equivalence rules:
the canonical form is the string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from math import prod
from typing import Any, ClassVar

import numpy as np

from spaces.base import Architecture, SearchSpace, make_arch_id
from spaces.capabilities import EncodableSpace, MutableSpace
from spaces.graph import INPUT, OUTPUT, OpGraph

Value = int | float


@dataclass(frozen=True)
class Dim:
    """One dimension: a short key in strings (``k``), a name (``kernel``) and its allowed values."""

    key: str
    name: str
    choices: tuple[Value, ...]

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z]+", self.key) or not self.choices:
            raise ValueError(f"dimension {self.name!r} needs a lower-case key and at least one choice")
        if len({_text(v) for v in self.choices}) != len(self.choices):
            raise ValueError(f"dimension {self.name!r} has repeated choices {self.choices}")

    def value(self, text: str) -> Value:
        """The choice written ``text`` (ValueError naming the allowed ones)."""
        for v in self.choices:
            if _text(v) == text:
                return v
        allowed = ", ".join(_text(v) for v in self.choices)
        raise ValueError(f"{self.name} {text!r} is not allowed (valid: {allowed})")


@dataclass(frozen=True)
class Group:
    """A group of layers: its name, allowed depths and per-layer dimensions."""

    name: str
    depths: tuple[int, ...]
    dims: tuple[Dim, ...]

    @property
    def per_layer(self) -> int:
        """Number of distinct layer configurations."""
        return prod(len(d.choices) for d in self.dims)

    @property
    def size(self) -> int:
        """Number of configurations of the group (every depth, every layer choice)."""
        return sum(self.per_layer**d for d in self.depths)


@dataclass(frozen=True)
class ConfigSpec:
    """Global dimensions and layer groups of a configuration space."""

    dims: tuple[Dim, ...]
    groups: tuple[Group, ...]

    @property
    def size(self) -> int:
        """Number of configurations in the space."""
        return prod(len(d.choices) for d in self.dims) * prod(g.size for g in self.groups)


@dataclass(frozen=True)
class Config:
    """A parsed configuration: global values by name, and per group a tuple of per-layer value dicts."""

    values: Mapping[str, Value]
    groups: tuple[tuple[Mapping[str, Value], ...], ...]

    def layers(self, group: int = 0) -> tuple[Mapping[str, Value], ...]:
        """The layers of one group."""
        return self.groups[group]


def _text(value: Value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _token(dims: tuple[Dim, ...], values: Mapping[str, Value]) -> str:
    return "".join(f"{d.key}{_text(values[d.name])}" for d in dims)


def _pattern(dims: tuple[Dim, ...]) -> re.Pattern[str]:
    return re.compile("".join(f"{d.key}(?P<{d.name}>[0-9.]+)" for d in dims))


class ConfigSpace(MutableSpace, EncodableSpace, SearchSpace):
    """A space of :class:`Config` s described by ``spec`` (core, mutable and encodable from the spec).

    Encodings: ``onehot`` (each global dimension one-hot; per group a depth one-hot, then for each of
    the group's deepest-possible layer slots a one-hot per dimension, all zero where the slot is
    unused) and ``values`` (the raw numbers: global values, per group the depth, then each slot's
    values, 0 where unused). :meth:`graph` is the chain of layers, each node labelled by its token.
    """

    spec: ClassVar[ConfigSpec]
    encodings = ("onehot", "values")

    # ---- strings -------------------------------------------------------------------------------
    @cached_property
    def _patterns(self) -> tuple[re.Pattern[str], tuple[re.Pattern[str], ...]]:
        return _pattern(self.spec.dims), tuple(_pattern(g.dims) for g in self.spec.groups)

    def parse(self, text: str) -> Architecture:
        """Parse ``"<global>/<layer>-<layer>/..."`` (ValueError naming the bad part)."""
        return self.from_config(self.config_from_string(text))

    def config_from_string(self, text: str) -> Config:
        """The :class:`Config` a string denotes (ValueError naming the bad part)."""
        if not isinstance(text, str):
            raise ValueError(f"{self.name} architecture must be a string, got {type(text).__name__}")
        parts = text.strip().split("/")
        if len(parts) != 1 + len(self.spec.groups):
            raise ValueError(
                f"malformed {self.name} string {text!r}: expected a global token and "
                f"{len(self.spec.groups)} '/'-separated group(s)"
            )
        head, group_patterns = self._patterns
        values = self._read(head, self.spec.dims, parts[0], text)
        groups = []
        for group, pattern, part in zip(self.spec.groups, group_patterns, parts[1:]):
            layers = tuple(self._read(pattern, group.dims, t, text) for t in part.split("-"))
            if len(layers) not in group.depths:
                raise ValueError(
                    f"{self.name} group {group.name!r} has {len(layers)} layers in {text!r} "
                    f"(valid: {', '.join(map(str, group.depths))})"
                )
            groups.append(layers)
        return Config(values, tuple(groups))

    def _read(self, pattern: re.Pattern[str], dims: tuple[Dim, ...], token: str, text: str) -> dict:
        match = pattern.fullmatch(token)
        if not match:
            want = "".join(f"{d.key}<{d.name}>" for d in dims)
            raise ValueError(f"malformed {self.name} token {token!r} in {text!r} (expected {want})")
        return {d.name: d.value(match.group(d.name)) for d in dims}

    def string_of(self, config: Config) -> str:
        """The canonical string of a configuration."""
        parts = [_token(self.spec.dims, config.values)]
        for group, layers in zip(self.spec.groups, config.groups):
            parts.append("-".join(_token(group.dims, layer) for layer in layers))
        return "/".join(parts)

    def from_config(self, config: Config) -> Architecture:
        """The architecture of a configuration (values are checked by re-parsing its string)."""
        text = self.string_of(config)
        return Architecture(self.name, text, make_arch_id(self.name, self.version, text))

    def config(self, arch: Architecture) -> Config:
        """The configuration of ``arch``."""
        self._check(arch)
        return self.config_from_string(arch.string)

    # ---- sampling and neighbourhoods -----------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Architecture:
        """A uniformly random configuration (a depth is drawn in proportion to its configurations)."""
        values = {d.name: d.choices[int(rng.integers(len(d.choices)))] for d in self.spec.dims}
        groups = []
        for group in self.spec.groups:
            weights = np.array([float(group.per_layer) ** d for d in group.depths])
            depth = group.depths[int(rng.choice(len(group.depths), p=weights / weights.sum()))]
            groups.append(
                tuple(
                    {d.name: d.choices[int(rng.integers(len(d.choices)))] for d in group.dims}
                    for _ in range(depth)
                )
            )
        return self.from_config(Config(values, tuple(groups)))

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """One change away: a global value, one layer's value, one layer removed, or a layer appended."""
        config = self.config(arch)
        found: dict[str, Architecture] = {}
        for dim in self.spec.dims:
            for v in dim.choices:
                if v != config.values[dim.name]:
                    self._add(found, Config({**config.values, dim.name: v}, config.groups))
        for g, (group, layers) in enumerate(zip(self.spec.groups, config.groups)):
            for i, layer in enumerate(layers):
                for dim in group.dims:
                    for v in dim.choices:
                        if v != layer[dim.name]:
                            changed = (*layers[:i], {**layer, dim.name: v}, *layers[i + 1 :])
                            self._add(found, self._with_group(config, g, changed))
                if len(layers) - 1 in group.depths:
                    self._add(found, self._with_group(config, g, layers[:i] + layers[i + 1 :]))
            if len(layers) + 1 in group.depths:
                for extra in self._layer_choices(group):
                    self._add(found, self._with_group(config, g, (*layers, extra)))
        found.pop(arch.string, None)
        return list(found.values())

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """A uniformly random neighbour."""
        neighbours = self.neighbors(arch)
        return neighbours[int(rng.integers(len(neighbours)))]

    @staticmethod
    def _with_group(config: Config, g: int, layers: tuple) -> Config:
        return Config(config.values, (*config.groups[:g], tuple(layers), *config.groups[g + 1 :]))

    def _add(self, found: dict[str, Architecture], config: Config) -> None:
        arch = self.from_config(config)
        found.setdefault(arch.string, arch)

    @staticmethod
    def _layer_choices(group: Group) -> list[dict[str, Value]]:
        out: list[dict[str, Value]] = [{}]
        for dim in group.dims:
            out = [{**o, dim.name: v} for o in out for v in dim.choices]
        return out

    # ---- encodings -----------------------------------------------------------------------------
    @cached_property
    def vocab(self) -> tuple[str, ...]:  # type: ignore[override]
        """Node labels of :meth:`graph`: input, every layer token of every group, output."""
        tokens = dict.fromkeys(
            _token(g.dims, layer) for g in self.spec.groups for layer in self._layer_choices(g)
        )
        return (INPUT, *tokens, OUTPUT)

    def graph(self, arch: Architecture) -> OpGraph:
        """The chain input -> layers (in order, groups one after another) -> output."""
        config = self.config(arch)
        ops = [INPUT]
        for group, layers in zip(self.spec.groups, config.groups):
            ops += [_token(group.dims, layer) for layer in layers]
        ops.append(OUTPUT)
        n = len(ops)
        return OpGraph(np.eye(n, k=1, dtype=np.uint8), tuple(ops))

    def _encode(self, arch: Architecture, kind: str) -> np.ndarray:
        config = self.config(arch)
        onehot = kind == "onehot"
        out: list[float] = []

        def put(dim: Dim, value: Value | None) -> None:
            if onehot:
                out.extend(float(value is not None and value == c) for c in dim.choices)
            else:
                out.append(0.0 if value is None else float(value))

        for dim in self.spec.dims:
            put(dim, config.values[dim.name])
        for group, layers in zip(self.spec.groups, config.groups):
            put(Dim("depth", "depth", group.depths), len(layers))
            for slot in range(max(group.depths)):
                for dim in group.dims:
                    put(dim, layers[slot][dim.name] if slot < len(layers) else None)
        return np.asarray(out, dtype=np.float32)


def check_options(space: str, options: Mapping[str, Any], valid: tuple[str, ...]) -> None:
    """TypeError naming unknown build options of ``space``."""
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise TypeError(f"unknown build options for {space}: {unknown} (valid: {', '.join(valid)})")
