"""Tables that ship inside the package: found by name, opened like any release folder.

Each shipped table is an ordinary release folder (``archbench release`` output: manifest, dataset
card, ``records/<task>.parquet``, ``architectures.parquet``) under ``benchmarks/shipped/``, named
``NAME-X.Y.Z``. ``open_table("nb201-fmnist")`` opens the newest version of that name and
``open_table("nb201-fmnist-1.0.0")`` an exact one; both hash-check every file as usual. The wheel
includes the folder (it sits inside a package), so an installed archbench answers without computing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.storage.release import NAME_PATTERN, VERSION_PATTERN
from benchmarks.storage.store import TableError

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "shipped"
"""Where the shipped release folders live (package data)."""

_FOLDER = re.compile(f"^(?P<name>{NAME_PATTERN})-(?P<version>{VERSION_PATTERN})$")


@dataclass(frozen=True)
class ShippedTable:
    """One shipped release: its name, version, folder and the manifest facts a listing shows."""

    name: str
    version: str
    path: Path
    manifest: dict[str, Any]

    @property
    def bytes(self) -> int:
        """Total size of the release's files (as listed in its manifest, card included)."""
        return sum(int(f.get("bytes", 0)) for f in self.manifest.get("files", {}).values())

    @property
    def tasks(self) -> list[str]:
        """Tasks the release holds records for."""
        return sorted({f["task"] for f in self.manifest.get("files", {}).values() if f.get("task")})

    @property
    def rows(self) -> int:
        """Record rows over every task file."""
        files = self.manifest.get("files", {}).values()
        return sum(int(f.get("rows", 0)) for f in files if f.get("role") == "records")

    @property
    def build_wall_s(self) -> float | None:
        """Wall time of the build sessions that produced it (from the provenance), if recorded."""
        build = self.manifest.get("provenance", {}).get("build", {})
        return build.get("wall_s")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def shipped_tables(root: Path | None = None) -> list[ShippedTable]:
    """Every shipped release folder under ``root`` (default :data:`SHIPPED_DIR`), by name then version."""
    root = SHIPPED_DIR if root is None else Path(root)
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else ():
        match = _FOLDER.match(folder.name)
        if not match or not (folder / "manifest.json").is_file():
            continue
        manifest = json.loads((folder / "manifest.json").read_text())
        found.append(ShippedTable(match["name"], match["version"], folder, manifest))
    return sorted(found, key=lambda t: (t.name, _version_key(t.version)))


def looks_like_name(text: str) -> bool:
    """Whether ``text`` could name a shipped table: ``NAME``, ``NAME-X.Y.Z`` or ``NAME@X.Y.Z``, no path."""
    return bool(re.fullmatch(f"{NAME_PATTERN}(@{VERSION_PATTERN})?", text))


def resolve(name: str, root: Path | None = None) -> Path:
    """The folder of shipped table ``name`` (newest version), ``NAME-X.Y.Z`` or ``NAME@X.Y.Z``.

    Raises :class:`TableError` naming the shipped tables when nothing matches.
    """
    tables = shipped_tables(root)
    wanted, _, version = name.partition("@")
    exact = _FOLDER.match(wanted)
    if exact and not version:
        wanted, version = exact["name"], exact["version"]
    matches = [t for t in tables if t.name == wanted and (not version or t.version == version)]
    if not matches:
        known = ", ".join(sorted({f"{t.name} ({t.version})" for t in tables})) or "none"
        raise TableError(f"no table folder or shipped table named {name!r} (shipped: {known})")
    return matches[-1].path
