"""One table from several sources: e.g. one profile per measurement target, plus a model's predictions.

A profile journal holds one device (it refuses a resume on another), so a release that measures a
space on PyTorch eager *and* ONNX Runtime, or adds a latency model's predictions beside the
measurements, is made of several journals or tables. :func:`combine_sources` joins them into one
:class:`~benchmarks.storage.store.Source`, refusing anything that would make a record ambiguous:

* one space (name and version);
* a protocol, recipe or device descriptor that two sources name under one hash must be the same;
* a metric's card must agree everywhere, except the measurement ``target`` a profile card names,
  which becomes the sorted list of targets (each record's protocol still says which one measured it);
* no record may appear twice (same architecture, task, metric, seed, fidelity, epoch, device and
  protocol): two measurements of one thing under one protocol would silently become one value.

The provenance lists every source's own provenance, and the build cost is the sum of theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from benchmarks.storage.store import Source, TableError, recorded_build

MERGED_CARD_FIELDS = ("target",)
"""Metric-card fields that may differ between sources; the combined card lists their values."""
RECORD_KEY = ("arch", "task", "metric", "seed", "fidelity", "epoch", "device", "protocol_hash")
"""What makes a record one measurement: two sources may not both hold the same key."""


def combine_sources(sources: Sequence[Source], names: Sequence[str] | None = None) -> Source:
    """``sources`` joined into one (see the module docstring); ``names`` label them in errors."""
    if not sources:
        raise TableError("combining tables needs at least one source")
    names = list(names) if names is not None else [f"source {i + 1}" for i in range(len(sources))]
    if len(sources) == 1:
        return sources[0]
    meta: dict[str, Any] = {}
    for source, name in zip(sources, names):
        for key, value in source.meta.items():
            if key not in meta:
                meta[key] = value
            elif meta[key] != value:
                meta[key] = _merge_value(key, meta[key], value, name)
    records = pa.concat_tables([s.records for s in sources], promote_options="none")
    _refuse_duplicates(records)
    archs = pa.concat_tables([s.archs for s in sources], promote_options="none")
    seen: dict[str, dict[str, Any]] = {}
    keep = []
    for i, row in enumerate(archs.to_pylist()):
        if row["arch"] not in seen:
            seen[row["arch"]] = row
            keep.append(i)
        elif seen[row["arch"]] != row:
            raise TableError(f"architecture {row['arch']} is described differently by two sources")
    archs = archs.take(keep)
    return Source(records, archs, meta, _provenance(sources, names))


def _merge_value(key: str, first: Any, other: Any, name: str) -> Any:
    if key.startswith("metric:") and isinstance(first, dict) and isinstance(other, dict):
        rest = set(first) | set(other)
        if all(first.get(f) == other.get(f) for f in rest - set(MERGED_CARD_FIELDS)):
            merged = dict(first)
            for field in MERGED_CARD_FIELDS:
                values = {*_as_list(first.get(field)), *_as_list(other.get(field))} - {None}
                if values:
                    merged[field] = sorted(values)
            return merged
    if key == "hw_device_label":  # which devices ran units: every one of them
        return sorted({*_as_list(first), *_as_list(other)})
    raise TableError(f"{name} gives {key!r} another value than an earlier source; they cannot be combined")


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _refuse_duplicates(records: pa.Table) -> None:
    frame = records.select(list(RECORD_KEY)).to_pandas()
    repeated = frame.duplicated(keep=False)
    if repeated.any():
        row = frame[repeated].iloc[0]
        raise TableError(
            f"the sources hold the same record twice ({row['metric']} of {row['arch']}, seed {row['seed']}, "
            f"device {row['device']}, protocol {str(row['protocol_hash'])[:12]}): combine each measurement once"
        )


def _provenance(sources: Sequence[Source], names: Sequence[str]) -> dict[str, Any]:
    builds = [b for b in (recorded_build(s.provenance) for s in sources) if b]
    out: dict[str, Any] = {"sources": [{"name": n, **s.provenance} for n, s in zip(names, sources)]}
    if builds:
        out["build"] = {
            "wall_s": sum(b.get("wall_s") or 0.0 for b in builds),
            "sessions": [s for b in builds for s in b.get("sessions", [])],
            "unrecorded_units": sum(b.get("unrecorded_units") or 0 for b in builds),
            "unrecorded_span_s": sum(b.get("unrecorded_span_s") or 0.0 for b in builds),
        }
    return out
