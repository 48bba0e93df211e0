"""Faking an entry-point group, so plugin tests register third-party entries without installing them."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint

import spaces.registry as registry_module
from spaces.registry import Registry


def plugin_entries(monkeypatch, registry: Registry, entries: dict[str, str]) -> Iterator[None]:
    """Offer ``{name: "module:attr"}`` through ``registry``'s entry-point group; remove them afterwards.

    A generator for pytest fixtures: ``yield from plugin_entries(monkeypatch, REGISTRY, {...})``.
    """
    group = registry.entry_point_group
    eps = [EntryPoint(name, target, group) for name, target in entries.items()]
    real = registry_module.entry_points

    def fake(group=None, **kwargs):
        return eps if group == registry.entry_point_group else real(group=group, **kwargs)

    monkeypatch.setattr(registry_module, "entry_points", fake)
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    yield
    for name in entries:
        registry._entries.pop(name, None)
    registry._plugins_loaded = False
