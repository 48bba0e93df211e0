"""The record schema (long format, one measured value per row) and the architectures table."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pyarrow as pa

from proxies.runner import STATUSES  # the one status vocabulary, shared with the proxy runner

SCHEMA_VERSION = 2
"""Version of the record schema. 2 added ``provenance`` (the last column); 1 had none."""
READABLE_SCHEMA_VERSIONS = (1, 2)
"""Schema versions this archbench opens: a version-1 table reads every row as ``measured``."""

PROVENANCES = ("measured", "predicted", "imported")
"""Where a record's value comes from: archbench measured it (a proxy, a training run, a profile), a
predictor predicted it (a surrogate table), or it was imported from a published table."""
LEGACY_PROVENANCE = "measured"
"""The provenance of every row of a table written before the column existed (schema version 1)."""

SEED_COMBINERS = ("mean", "min", "max", "median")
"""How a metric card's ``combine_seeds`` may combine a metric's records over seeds (default ``mean``).

Training seeds average; hardware measurement rounds take the ``min`` (see ``hw_profiles.profile``).
"""

TRAIN_METRICS = {
    "train_loss": {"unit": "nats", "kind": "functional", "higher_is_better": False},
    "train_acc": {"unit": "%", "kind": "functional", "higher_is_better": True},
    # Sum of the epoch's minibatch mean losses: SoTL's summand (Ru et al., NeurIPS 2021), kept exact.
    "train_loss_sum": {"unit": "nats", "kind": "functional", "higher_is_better": False},
}
"""Cards of the curve metrics every reduced-training run records (beside its held-out accuracy)."""


def seed_combiner(card: Mapping[str, Any], metric: str) -> str:
    """How a metric's records combine over seeds: its card's ``combine_seeds``, else ``mean``."""
    name = card.get("combine_seeds", "mean")
    if name not in SEED_COMBINERS:
        raise ValueError(f"metric {metric!r} has combine_seeds {name!r} (valid: {', '.join(SEED_COMBINERS)})")
    return name


RECORD_SCHEMA = pa.schema(
    [
        ("space", pa.string()),
        ("space_version", pa.string()),
        ("arch_id", pa.string()),
        ("arch", pa.string()),
        ("task", pa.string()),
        ("metric", pa.string()),
        ("value", pa.float64()),
        ("unit", pa.string()),
        ("fidelity", pa.int32()),
        ("epoch", pa.int32()),
        ("seed", pa.int64()),
        ("device", pa.string()),
        ("protocol_hash", pa.string()),
        ("seconds", pa.float64()),
        ("status", pa.string()),
        ("message", pa.string()),
        ("archbench_version", pa.string()),
        ("created_at", pa.string()),
        ("provenance", pa.string()),
    ]
)
"""Columns of ``records.parquet``. ``value`` is null unless ``status`` is ``ok``; ``fidelity`` is the
training budget in epochs (0 for zero-cost proxies), ``epoch`` the point on the curve (0 for proxies);
``provenance`` is one of :data:`PROVENANCES` (last, so an old SQLite journal gains it by ``ALTER TABLE``)."""

RECORD_SCHEMAS = {1: RECORD_SCHEMA.remove(RECORD_SCHEMA.get_field_index("provenance")), 2: RECORD_SCHEMA}
"""The records schema of each readable schema version."""


def record_schema(version: object) -> pa.Schema:
    """The records schema of table schema ``version``; ValueError naming the readable versions."""
    if version not in RECORD_SCHEMAS:
        readable = ", ".join(str(v) for v in READABLE_SCHEMA_VERSIONS)
        raise ValueError(f"schema version {version} is not supported (this archbench reads {readable})")
    return RECORD_SCHEMAS[version]


def upgrade_records(records: pa.Table) -> pa.Table:
    """Records of any readable schema in the current one: a missing ``provenance`` reads as ``measured``."""
    if "provenance" not in records.schema.names:
        fill = pa.array([LEGACY_PROVENANCE] * records.num_rows, type=pa.string())
        records = records.append_column("provenance", fill)
    return records.cast(RECORD_SCHEMA)


ARCH_SCHEMA = pa.schema(
    [
        ("space", pa.string()),
        ("space_version", pa.string()),
        ("arch", pa.string()),
        ("arch_id", pa.string()),
        ("index", pa.int64()),
        ("degenerate", pa.bool_()),
    ]
)
"""Columns of ``architectures.parquet``: every architecture of the table with its published index."""

RECORD_COLUMNS = tuple(RECORD_SCHEMA.names)
ARCH_COLUMNS = tuple(ARCH_SCHEMA.names)


def archbench_version() -> str:
    """The installed archbench version."""
    try:
        return version("archbench")
    except PackageNotFoundError:
        return "0+unknown"


def utc_now() -> str:
    """Current UTC time as ISO-8601 with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def arch_fields(space: object, arch: object) -> dict[str, object]:
    """The record fields naming ``arch`` (a ``spaces.Architecture``) in ``space``: space, version, ids."""
    return {"space": space.name, "space_version": space.version, "arch_id": arch.arch_id, "arch": arch.string}


def arch_row(space: object, arch: object) -> dict[str, object]:
    """The architectures-table row of ``arch`` (a ``spaces.Architecture``) in ``space``."""
    return {**arch_fields(space, arch), "index": space.index(arch), "degenerate": space.is_degenerate(arch)}


def make_record(**fields: object) -> dict[str, object]:
    """A record dict with every schema column; raises ValueError on a bad status or a value/status mismatch."""
    unknown = set(fields) - set(RECORD_COLUMNS)
    if unknown:
        raise ValueError(f"unknown record fields {sorted(unknown)}")
    record = {name: fields.get(name) for name in RECORD_COLUMNS}
    record["message"] = record["message"] or ""
    record["archbench_version"] = record["archbench_version"] or archbench_version()
    record["created_at"] = record["created_at"] or utc_now()
    record["provenance"] = record["provenance"] or LEGACY_PROVENANCE
    if record["provenance"] not in PROVENANCES:
        raise ValueError(f"record provenance {record['provenance']!r} is not one of {', '.join(PROVENANCES)}")
    if record["status"] not in STATUSES:
        raise ValueError(f"record status {record['status']!r} is not one of {', '.join(STATUSES)}")
    if (record["status"] == "ok") != (record["value"] is not None):
        raise ValueError(f"record for {record['metric']!r}: value must be set exactly when status is ok")
    return record
