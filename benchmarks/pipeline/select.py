"""Which architectures a table covers: one selection for ``archbench build`` and ``archbench profile``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Selection:
    """Architectures to build, and further class members listed in the architectures table only."""

    archs: tuple[str, ...]
    members: tuple[str, ...] = ()


def select_architectures(
    space: Any,
    *,
    archs_file: str | Path | None = None,
    sample: int | None = None,
    seed: int = 0,
    all_cells: bool = False,
    all_unique: bool = False,
) -> Selection:
    """The architectures of ``space`` (a ``SearchSpace`` or its name) one way of choosing them names.

    Exactly one of:

    * ``archs_file``: one architecture string per line (``#`` comments and blank lines skipped);
      spellings of one cell count once; a bad line is an error naming ``FILE:LINE``.
    * ``sample``: that many architectures with distinct ``arch_id``s, drawn with ``seed``.
    * ``all_cells``: every cell of an enumerable space.
    * ``all_unique``: every equivalence class once, on its representative; the other cells become
      ``members`` (listed in the architectures table, answered from their class's functional metrics).

    Raises:
        ValueError: no way or several ways are given, a bad line, sample size or seed, an empty file,
            or a space that cannot enumerate its cells.
        FileNotFoundError: ``archs_file`` does not exist.
    """
    import numpy as np

    import spaces
    from spaces.specs import MAX_SEED, check_int

    space = spaces.get(space) if isinstance(space, str) else space
    chosen = [archs_file is not None, sample is not None, all_cells, all_unique]
    if sum(chosen) != 1:
        raise ValueError(
            "choose the architectures one way: an architecture file, a sample, all or all unique"
        )
    if archs_file is not None:
        path = Path(archs_file)
        if not path.is_file():
            raise FileNotFoundError(f"architecture file {path} does not exist")
        parsed = []
        for number, raw in enumerate(path.read_text().splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                parsed.append(space.parse(line).string)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
        if not parsed:
            raise ValueError(f"architecture file {path} lists no architectures")
        return Selection(tuple(dict.fromkeys(parsed)))
    if all_cells or all_unique:
        try:
            cells = list(spaces.requires(space, spaces.EnumerableSpace, "--all / --all-unique").enumerate())
        except spaces.MissingCapability as exc:
            raise ValueError(str(exc)) from None
        strings = tuple(a.string for a in cells)
        if all_cells:
            return Selection(strings)
        first: dict[str, str] = {}
        for a in cells:  # one representative look-up per class
            if a.arch_id not in first:
                first[a.arch_id] = space.representative(a).string
        return Selection(tuple(first.values()), strings)
    if sample < 1:
        raise ValueError(f"--sample must be >= 1, got {sample}")
    check_int(seed, "--seed", 0, MAX_SEED)
    return Selection(tuple(a.string for a in space.sample_unique(sample, np.random.default_rng(seed))))
