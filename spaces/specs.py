"""Specs that are data: frozen dataclasses serialised as canonical JSON and named by its SHA-256.

The proxies' ``Protocol``, the training ``Recipe`` and the hardware ``MeasurementProtocol`` all define
*what* a number measures; each is hashed the same way, so a hash in a table names its exact settings.
This lowest layer holds the one implementation (``spaces`` already hosts the shared ``Registry``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any, ClassVar, TypeVar

S = TypeVar("S", bound="HashedSpec")


def canonical_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, compact separators, no NaN."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256_of(obj: Any) -> str:
    """SHA-256 hex digest of ``obj``'s canonical JSON."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def frozen_items(mapping: Mapping[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """A mapping as sorted ``(key, value)`` pairs, hashable for frozen dataclasses."""
    return tuple(sorted((mapping or {}).items()))


class HashedSpec:
    """Mixin for frozen dataclasses hashed as canonical JSON.

    ``_pair_fields`` are mappings stored as ``(key, value)`` pairs (JSON objects on disk);
    ``_list_fields`` are sequences stored as tuples (JSON lists); ``_spec_name`` names the spec in errors.
    ``_omitted_at_default`` are fields added after hashes were published: left out of the JSON while
    they hold their default, so every earlier spec keeps its hash (and every table its protocol).
    """

    _spec_name: ClassVar[str] = "spec"
    _pair_fields: ClassVar[tuple[str, ...]] = ()
    _list_fields: ClassVar[tuple[str, ...]] = ()
    _omitted_at_default: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (the hashed content)."""
        out = asdict(self)  # type: ignore[call-overload]
        defaults = {f.name: f.default for f in fields(self)}  # type: ignore[arg-type]
        for name in self._omitted_at_default:
            if out[name] == defaults[name]:
                del out[name]
        for name in self._pair_fields:
            out[name] = dict(getattr(self, name))
        for name in self._list_fields:
            out[name] = list(getattr(self, name))
        return out

    @classmethod
    def from_dict(cls: type[S], data: Mapping[str, Any]) -> S:
        """Inverse of :meth:`to_dict`; unknown keys are an error naming them."""
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown {cls._spec_name} fields {unknown} (valid: {sorted(known)})")
        data = dict(data)
        for name in cls._pair_fields:
            if name in data:
                data[name] = tuple(dict(data[name]).items())
        for name in cls._list_fields:
            if name in data:
                data[name] = tuple(data[name])
        return cls(**data)

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict`."""
        return sha256_of(self.to_dict())


MAX_BATCH_SIZE = 1 << 16
"""The largest batch a protocol or recipe accepts (a typo such as 10**9 is refused, not run)."""
MAX_RESOLUTION = 4096
"""The largest input side length a protocol or recipe accepts."""
MAX_SEED = (1 << 32) - 1
"""Seeds are integers in [0, 2**32 - 1]: what numpy, torch and Ray all accept."""


def check_int(value: Any, what: str, low: int, high: int) -> int:
    """``value`` if it is an integer (not a bool) in ``[low, high]``; else ValueError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{what} must be an integer in [{low}, {high:,}], got {value!r}")
    return value
