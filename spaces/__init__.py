"""Search spaces: the `Architecture` value type, the `SearchSpace` interface and the space registry."""

from __future__ import annotations

from spaces.base import Architecture, SearchSpace, SpaceCard, Task, make_arch_id
from spaces.cell import CellSpec
from spaces.registry import Registry, UnknownNameError
from spaces.tasks import TASKS, get_task

SPACES: Registry[type[SearchSpace]] = Registry("space", entry_point_group="archbench.spaces")
SPACES.register("nb201", "spaces.nb201:NB201Space")

_instances: dict[str, SearchSpace] = {}


def get(name: str) -> SearchSpace:
    """The registered search space ``name`` (one shared instance per name)."""
    if name not in _instances:
        _instances[name] = SPACES.get(name)()
    return _instances[name]


def list_spaces(filter: str | None = None) -> list[str]:
    """Registered space names, optionally filtered by an fnmatch pattern."""
    return SPACES.names(filter)


__all__ = [
    "SPACES",
    "TASKS",
    "Architecture",
    "CellSpec",
    "Registry",
    "SearchSpace",
    "SpaceCard",
    "Task",
    "UnknownNameError",
    "get",
    "get_task",
    "list_spaces",
    "make_arch_id",
]
