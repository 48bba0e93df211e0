"""Reading untrusted JSON with bounds: size, nesting depth, and one-line errors.

Manifests and imported files come from outside; a 100,000-deep ``[[[...]]]`` must be a clear
error, not a ``RecursionError`` traceback, and a multi-GB file must be refused before it is read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_DEPTH = 64
"""Nesting deeper than this is refused (archbench's own files nest 6 levels at most)."""


class JSONInputError(ValueError):
    """A JSON input that is unreadable, too large or too deeply nested."""


def depth(obj: Any) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0, ``[]`` is 1), without recursion."""
    deepest, stack = 0, [(obj, 0)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, level + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, level + 1) for v in value)
        else:
            continue
        deepest = max(deepest, level + 1)
    return deepest


def loads_bounded(
    text: str | bytes,
    where: str,
    max_depth: int = MAX_DEPTH,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """Parse ``text``; :class:`JSONInputError` naming ``where`` if it is invalid or nests too deep."""
    try:
        value = json.loads(text, object_pairs_hook=object_pairs_hook)
    except RecursionError:
        raise JSONInputError(f"{where}: JSON nested too deeply to parse (the limit is {max_depth})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise JSONInputError(f"{where}: not valid JSON ({exc})") from None
    found = depth(value)
    if found > max_depth:
        raise JSONInputError(f"{where}: JSON nested {found} levels deep (the limit is {max_depth})")
    return value


def load_bounded(
    path: str | Path,
    max_bytes: int,
    max_depth: int = MAX_DEPTH,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """Read and parse the JSON file at ``path``, refusing files over ``max_bytes`` before reading them."""
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise JSONInputError(f"{path}: {size:,} bytes is over the {max_bytes:,}-byte limit for this file")
    return loads_bounded(path.read_bytes(), str(path), max_depth, object_pairs_hook)
