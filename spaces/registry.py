"""A small generic registry shared by every package (spaces, proxies, tasks, devices, ...).

Entries are registered under an explicit snake_case name, either as objects or as lazy
``"module:attr"`` strings so that listing names never imports heavy libraries. Third parties add
entries through a Python entry-point group. Registering a name twice is an error, and an unknown
name raises a :class:`KeyError` that lists close matches and the valid names.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import re
import warnings
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

T = TypeVar("T")

_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


class UnknownNameError(KeyError):
    """An unknown registry name; ``str()`` is a one-line message with suggestions."""

    def __str__(self) -> str:
        return str(self.args[0])


def _load(target: str) -> object:
    module, _, attr = target.partition(":")
    obj: object = importlib.import_module(module)
    for part in attr.split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Name -> entry mapping with lazy entries, entry-point plugins and helpful errors.

    Args:
        kind: what the entries are ("space", "proxy", ...), used in messages.
        entry_point_group: the ``importlib.metadata`` group scanned for plugins, if any.
    """

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._entries: dict[str, T | str] = {}
        self._plugins_loaded = False

    def register(self, name: str, entry: T | str | None = None) -> Callable[[T], T] | T | str:
        """Register ``entry`` under ``name``; without ``entry`` it returns a decorator."""
        if not _NAME.match(name):
            raise ValueError(f"{self.kind} name {name!r} must be lower-case letters, digits, '_' or '-'")
        if entry is None:

            def decorator(obj: T) -> T:
                self._add(name, obj)
                return obj

            return decorator
        self._add(name, entry)
        return entry

    def _add(self, name: str, entry: T | str) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry

    def _load_plugins(self) -> None:
        if self._plugins_loaded or self.entry_point_group is None:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.entry_point_group):
            if not _NAME.match(ep.name):
                warnings.warn(f"ignoring {self.kind} plugin {ep.name!r}: not a valid name", stacklevel=2)
            elif ep.name in self._entries:
                warnings.warn(f"{self.kind} plugin {ep.name!r} is shadowed by a built-in entry", stacklevel=2)
            else:
                self._entries[ep.name] = f"{ep.module}:{ep.attr}" if ep.attr else ep.module

    def names(self, filter: str | None = None) -> list[str]:
        """Sorted registered names, optionally filtered by an fnmatch pattern such as ``"syn*"``."""
        self._load_plugins()
        names = sorted(self._entries)
        return [n for n in names if filter is None or fnmatch.fnmatch(n, filter)]

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> T:
        """The entry registered as ``name``, importing it if it was registered lazily."""
        self._load_plugins()
        if name not in self._entries:
            close = difflib.get_close_matches(str(name), list(self._entries), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            valid = ", ".join(sorted(self._entries)) or "(none)"
            raise UnknownNameError(f"unknown {self.kind} {name!r}{hint} (valid: {valid})")
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = _load(entry)  # type: ignore[assignment]
            self._entries[name] = entry
        return entry  # type: ignore[return-value]
