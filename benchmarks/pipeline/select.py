"""Which architectures a table covers: one selection for ``archbench build`` and ``archbench profile``."""

from __future__ import annotations

import functools
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
    stratified: int | None = None,
    keep: str | Path | None = None,
) -> Selection:
    """The architectures of ``space`` (a ``SearchSpace`` or its name) one way of choosing them names.

    Exactly one of:

    * ``archs_file``: one architecture string per line (``#`` comments and blank lines skipped);
      spellings of one cell count once; a bad line is an error naming ``FILE:LINE``.
    * ``sample``: that many architectures with distinct ``arch_id``s, drawn with ``seed``.
    * ``all_cells``: every cell of an enumerable space.
    * ``all_unique``: every equivalence class once, on its representative; the other cells become
      ``members`` (listed in the architectures table, answered from their class's functional metrics).
    * ``stratified``: that many class representatives, drawn with ``seed`` from strata of equal live-op
      multiset (the ops of the pruned graph, :meth:`spaces.EncodableSpace.graph`), each stratum
      getting its proportional share (largest remainder): the sample has the space's own mix of cell
      compositions, which a uniform draw only matches on average. With ``keep`` (an architecture
      file, e.g. an earlier stratified sample), the sample grows that one: its classes stay, and each
      stratum is topped up to its share of ``stratified`` (:func:`grow_stratified`).

    Raises:
        ValueError: no way or several ways are given, a bad line, sample size or seed, an empty file,
            or a space that cannot enumerate its cells.
        FileNotFoundError: ``archs_file`` does not exist.
    """
    import numpy as np

    import spaces
    from spaces.specs import MAX_SEED, check_int

    space = spaces.get(space) if isinstance(space, str) else space
    chosen = [archs_file is not None, sample is not None, all_cells, all_unique, stratified is not None]
    if sum(chosen) != 1:
        raise ValueError(
            "choose the architectures one way: an architecture file, a sample, a stratified sample, "
            "all or all unique"
        )
    if keep is not None and stratified is None:
        raise ValueError("--keep grows a stratified sample: give it with --stratified N")
    if stratified is not None:
        check_int(seed, "--seed", 0, MAX_SEED)
        if keep is not None:
            return Selection(grow_stratified(space, _read_archs(space, keep), stratified, seed))
        return Selection(stratified_classes(space, stratified, seed))
    if archs_file is not None:
        return Selection(_read_archs(space, archs_file))
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


def _read_archs(space: Any, archs_file: str | Path) -> tuple[str, ...]:
    """The distinct architectures an architecture file lists, in file order (``FILE:LINE`` on a bad line)."""
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
    return tuple(dict.fromkeys(parsed))


def _stratum_counts(strata: dict[tuple, list[str]], keys: list[tuple], n: int, total: int) -> list[int]:
    """Each stratum's share of ``n`` classes by largest remainder (ties broken by the sorted key)."""
    import numpy as np

    share = np.array([n * len(strata[k]) / total for k in keys])
    counts = np.floor(share).astype(int)
    by_remainder = sorted(range(len(keys)), key=lambda i: (-(share[i] - counts[i]), keys[i]))
    for i in by_remainder[: n - int(counts.sum())]:
        counts[i] += 1
    return [int(c) for c in counts]


def grow_stratified(space: Any, kept: tuple[str, ...], n: int, seed: int) -> tuple[str, ...]:
    """A stratified sample of ``n`` classes that contains the classes of ``kept``.

    Each stratum gets its largest-remainder share of ``n`` as in :func:`stratified_classes`; the kept
    classes fill their strata first (a stratum already over its share keeps them all, so the result
    can exceed ``n`` by those few), and the rest of each share is drawn without replacement from the
    stratum's other classes with ``numpy.random.default_rng(seed)``. The kept classes come first, in
    their own order, as their class representatives; the new ones follow in a seeded random order.
    Growing an already-built sample this way reuses every finished unit of its journal.
    """
    import numpy as np

    reps, strata = _strata(space)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(reps):
        raise ValueError(f"--stratified must be 1..{len(reps)} (the classes of {space.name}), got {n}")
    kept_reps = tuple(dict.fromkeys(space.representative(space.parse(a)).string for a in kept))
    if len(kept_reps) > n:
        raise ValueError(f"--keep lists {len(kept_reps)} classes, more than --stratified {n}")
    keys = sorted(strata)
    kept_set = set(kept_reps)
    rng = np.random.default_rng(seed)
    added = []
    for key, count in zip(keys, _stratum_counts(strata, keys, n, len(reps))):
        members = sorted(strata[key])
        free = [m for m in members if m not in kept_set]
        need = max(0, count - (len(members) - len(free)))
        added.extend(free[j] for j in rng.choice(len(free), size=need, replace=False))
    return kept_reps + tuple(added[i] for i in rng.permutation(len(added)))


def stratified_classes(space: Any, n: int, seed: int) -> tuple[str, ...]:
    """``n`` class representatives of an enumerable space with graphs, stratified by live-op multiset.

    Strata get ``n * size / total`` classes rounded by largest remainder (ties broken by the stratum's
    sorted key, so the allocation is deterministic); classes are drawn without replacement inside each
    stratum with ``numpy.random.default_rng(seed)``. Returned in a seeded random order.
    """
    import numpy as np

    import spaces

    try:
        spaces.requires(space, spaces.EnumerableSpace, "a stratified sample")
        spaces.requires(space, spaces.EncodableSpace, "a stratified sample")
    except spaces.MissingCapability as exc:
        raise ValueError(str(exc)) from None
    reps = _strata(space)[0]
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(reps):
        raise ValueError(f"--stratified must be 1..{len(reps)} (the classes of {space.name}), got {n}")
    strata = _strata(space)[1]
    keys = sorted(strata)
    counts = _stratum_counts(strata, keys, n, len(reps))
    rng = np.random.default_rng(seed)
    chosen = [
        members[j]
        for key, count in zip(keys, counts)
        for members in [sorted(strata[key])]
        for j in rng.choice(len(members), size=int(count), replace=False)
    ]
    return tuple(chosen[i] for i in rng.permutation(len(chosen)))


@functools.lru_cache(maxsize=4)
def _strata(space: Any) -> tuple[dict[str, Any], dict[tuple, list[str]]]:
    """Class representatives of an enumerable space and their strata by live-op multiset (cached)."""
    reps: dict[str, Any] = {}
    for a in space.enumerate():
        if a.arch_id not in reps:
            reps[a.arch_id] = space.representative(a)
    strata: dict[tuple, list[str]] = {}
    for arch in reps.values():
        live = sorted(op for op in space.graph(arch).ops if op not in ("input", "output"))
        strata.setdefault(tuple(live), []).append(arch.string)
    return reps, strata
