"""A discovery data set: a table's ground truth, its proxy protocol, a frozen split and the gathered statistics.

The proxy protocol is the one the table's proxies were computed under (read from its manifest), so the
discovered expression and the hand-made proxies see the same network, batch and seed. Ground truth is
the table's target with its seeds combined (:func:`benchmarks.analysis.report.combined_truth`), over
unique non-degenerate ``arch_id``s. The held-out architectures are the test set of a frozen
:class:`predictors.protocol.EvalProtocol` split (hashed by ``arch_id``, recorded in the run). Gathered
statistics are cached in the run folder as ``.npz`` (no pickle) under a key hashing the protocol, the
seed, the gather settings and the architectures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from predictors.discovery.gather import Stats, gather, gather_settings
from spaces.specs import sha256_of


@dataclass(frozen=True)
class Dataset:
    """Architectures (``arch_id`` order), their truth and statistics, under one recorded protocol."""

    arch_ids: tuple[str, ...]
    truth: np.ndarray
    stats: Stats
    protocol: dict[str, Any]
    seed: int

    def subset(self, ids: tuple[str, ...] | list[str]) -> Dataset:
        """The same data restricted to ``ids`` (in that order); KeyError naming a missing one."""
        where = {a: i for i, a in enumerate(self.arch_ids)}
        missing = [a for a in ids if a not in where]
        if missing:
            raise KeyError(f"architectures {missing[:3]} are not in the data set")
        index = np.array([where[a] for a in ids], dtype=np.int64)
        return Dataset(tuple(ids), self.truth[index], self.stats.subset(index), self.protocol, self.seed)


def table_protocol(table: Any, protocol_hash: str | None = None) -> tuple[str, dict[str, Any]]:
    """The proxy protocol (hash, fields) of ``table``: its only one, or the one ``protocol_hash`` prefixes."""
    protocols = table.manifest.get("protocols", {})
    found = [h for h in protocols if protocol_hash is None or h.startswith(protocol_hash)]
    if len(found) != 1:
        listed = ", ".join(h[:12] for h in protocols) or "none"
        which = f"matching {protocol_hash!r}" if protocol_hash else "in all"
        raise ValueError(
            f"need exactly one proxy protocol {which}, the table has: {listed} (pass --protocol)"
        )
    return found[0], dict(protocols[found[0]])


def truth_by_arch(table: Any, target: str, task: str) -> dict[str, float]:
    """The target per non-degenerate ``arch_id``, seeds combined as the correlation report does."""
    from benchmarks.analysis.report import combined_truth, ground_truth

    by_seed = ground_truth(table, target, task)
    values = combined_truth(table, target, by_seed).dropna()
    degenerate = set(table.archs.loc[table.archs["degenerate"], "arch_id"].astype(str))
    return {str(a): float(v) for a, v in values.items() if str(a) not in degenerate}


def representatives(table: Any, ids: list[str]) -> dict[str, str]:
    """The architecture string each ``arch_id`` is computed on (its lowest published index)."""
    archs = table.archs.astype({"arch_id": str, "arch": str}).sort_values("index", kind="stable")
    first = archs.drop_duplicates("arch_id").set_index("arch_id")["arch"]
    return {a: str(first[a]) for a in ids}


def gather_all(
    space_name: str,
    archs: dict[str, str],
    protocol: dict[str, Any],
    seed: int,
    cache_dir: Path | None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Stats, float]:
    """Statistics of every ``{arch_id: arch}`` (sorted by ``arch_id``) and the seconds the gather took.

    With ``cache_dir`` the result is read from / written to ``stats-<key>.npz`` there.
    """
    import time

    import spaces
    from hw_profiles.profile import torch_threads
    from proxies.base import ProxyContext
    from proxies.protocol import Protocol
    from spaces.atomic import atomic_file

    ids = sorted(archs)
    key = sha256_of({"protocol": protocol, "seed": seed, "gather": gather_settings(), "archs": ids})[:16]
    path = None if cache_dir is None else Path(cache_dir) / f"stats-{key}.npz"
    if path is not None and path.exists():
        with np.load(path, allow_pickle=False) as arrays:
            return Stats.from_arrays(arrays), 0.0
    space = spaces.get(space_name)
    proto = Protocol.from_dict(protocol)
    start = time.perf_counter()
    items = []
    with torch_threads(1):
        for i, a in enumerate(ids):
            items.append(gather(ProxyContext(space, space.parse(archs[a]), proto, seed)))
            if progress is not None:
                progress(i + 1, len(ids))
    stats = Stats.stack(items)
    seconds = time.perf_counter() - start
    if path is not None:
        with atomic_file(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **stats.to_arrays())
    return stats, seconds


def load_dataset(
    table: Any,
    target: str,
    task: str | None = None,
    protocol_hash: str | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Dataset, float]:
    """The discovery data set of ``table`` (every truth class) and the gather's seconds (0 when cached)."""
    task = task or str(table.records["task"].iloc[0])
    _, protocol = table_protocol(table, protocol_hash)
    if protocol.get("task") != task:
        raise ValueError(f"the table's proxy protocol is for task {protocol.get('task')!r}, not {task!r}")
    truth = truth_by_arch(table, target, task)
    if len(truth) < 10:
        raise ValueError(
            f"{target!r} has only {len(truth)} non-degenerate architectures on {task!r} (need 10)"
        )
    ids = sorted(truth)
    space_name = str(table.archs["space"].iloc[0]) if "space" in table.archs else "nb201"
    stats, seconds = gather_all(space_name, representatives(table, ids), protocol, seed, cache_dir, progress)
    return Dataset(tuple(ids), np.array([truth[a] for a in ids]), stats, protocol, seed), seconds
