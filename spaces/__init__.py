"""Search spaces: the `Architecture` value type, the layered `SearchSpace` interface and the registry.

A space is one module: a core :class:`SearchSpace` subclass plus the capability layers it declares
(:mod:`spaces.capabilities`), registered below with one line. :func:`spaces.conformance.check_space`
checks every registered space (and third-party ones from the ``archbench.spaces`` entry-point group).
"""

from __future__ import annotations

from spaces.base import (
    Architecture,
    ImageInput,
    InputSpec,
    ParamFact,
    SearchSpace,
    SpaceCard,
    SpaceFixtures,
    Task,
    TokenInput,
    make_arch_id,
)
from spaces.blocks import BlockGroup, BlockSpec, BlockUse
from spaces.capabilities import (
    CAPABILITIES,
    CellSpace,
    DecomposableSpace,
    EncodableSpace,
    EnumerableSpace,
    MissingCapability,
    MutableSpace,
    capabilities,
    requires,
)
from spaces.cell import CellSpec
from spaces.graph import OpGraph
from spaces.registry import Registry, UnknownNameError
from spaces.tasks import TASKS, get_task

SPACES: Registry[type[SearchSpace]] = Registry("space", entry_point_group="archbench.spaces")
SPACES.register("nb201", "spaces.nb201:NB201Space")
SPACES.register("nb101", "spaces.nb101:NB101Space")
SPACES.register("darts", "spaces.darts:DARTSSpace")
SPACES.register("fbnet", "spaces.fbnet:FBNetSpace")
SPACES.register("mobilenetv3", "spaces.mobilenetv3:MobileNetV3Space")
SPACES.register("vit", "spaces.vit:ViTSpace")
SPACES.register("gpt", "spaces.gpt:GPTSpace")
SPACES.register("bert", "spaces.bert:BertSpace")
SPACES.register("llama", "spaces.llama:LlamaSpace")
SPACES.register("mp-nb201", "spaces.precision:NB201MixedPrecision")
SPACES.register("mp-fbnet", "spaces.precision:FBNetMixedPrecision")

_instances: dict[str, SearchSpace] = {}


def get(name: str) -> SearchSpace:
    """The registered search space ``name`` (one shared instance per name)."""
    if name not in _instances:
        entry = SPACES.get(name)
        if not (isinstance(entry, type) and issubclass(entry, SearchSpace)):
            raise TypeError(f"space {name!r} is registered as {entry!r}, not a SearchSpace subclass")
        _instances[name] = entry()
    return _instances[name]


def list_spaces(filter: str | None = None) -> list[str]:
    """Registered space names, optionally filtered by an fnmatch pattern."""
    return SPACES.names(filter)


__all__ = [
    "CAPABILITIES",
    "SPACES",
    "TASKS",
    "Architecture",
    "BlockGroup",
    "BlockSpec",
    "BlockUse",
    "CellSpace",
    "CellSpec",
    "DecomposableSpace",
    "EncodableSpace",
    "EnumerableSpace",
    "ImageInput",
    "InputSpec",
    "MissingCapability",
    "MutableSpace",
    "OpGraph",
    "ParamFact",
    "Registry",
    "SearchSpace",
    "SpaceCard",
    "SpaceFixtures",
    "Task",
    "TokenInput",
    "UnknownNameError",
    "capabilities",
    "get",
    "get_task",
    "list_spaces",
    "make_arch_id",
    "requires",
]
