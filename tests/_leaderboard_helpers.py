"""Small tables for the leaderboard tests, written through archbench's own journal -> table path.

The values are synthetic (a smooth function of the NB201 path encoding plus seeded noise): unit tests
need a table with known structure in well under a second, not a trained one. The metric cards carry no
``source``, so boards on them count as archbench-built (scored) boards; :func:`published_table` writes
the same values with a ``source`` card, as an importer of published numbers does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import spaces
from benchmarks.published.importers import write_import
from benchmarks.storage.schema import arch_fields, make_record

DEVICES = ("cpu-a", "cpu-b", "gpu-c", "gpu-d")
META = {
    "method": "synthetic",
    "authors": ["A. Tester"],
    "code_url": "https://example.org/code",
    "compute": {"hardware": "2-core CPU", "hours": 0.01},
    "archbench_version": "0.1.0",
    "command": "archbench proxies ...",
}


def write_table(out: Path, n: int = 40, seed: int = 0, published: bool = False) -> Path:
    """A table of ``n`` NB201 classes: val_acc (seeds 0, 1), flops (cost), latency_ms on 4 devices."""
    space = spaces.get("nb201")
    archs = space.sample_unique(n, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    enc = np.stack([space.encode(a, "path") for a in archs]).astype(float)
    quality = enc @ rng.normal(1.0, 1.0, enc.shape[1])
    flops = enc.sum(axis=1) * 10 + rng.uniform(0, 1, n)
    source = {"source": "published.csv"} if published else {}
    cards = {
        "val_acc": {"unit": "%", "kind": "functional", "higher_is_better": True, **source},
        "flops": {"unit": "MFLOPs", "kind": "cost", "higher_is_better": False},
        "latency_ms": {"unit": "ms", "kind": "cost", "higher_is_better": False},
    }
    records = []
    for i, arch in enumerate(archs):
        base = {**arch_fields(space, arch), "task": "toy", "protocol_hash": "p" * 64, "status": "ok"}
        for s in (0, 1):
            value = float(50 + quality[i] + rng.normal(0, 0.5))
            records.append(
                make_record(
                    **base,
                    metric="val_acc",
                    value=value,
                    unit="%",
                    fidelity=1,
                    epoch=1,
                    seed=s,
                    device="imported" if published else "cpu",
                )
            )
        records.append(
            make_record(
                **base,
                metric="flops",
                value=float(flops[i]),
                unit="MFLOPs",
                fidelity=0,
                epoch=0,
                seed=0,
                device="cpu",
            )
        )
        for d, device in enumerate(DEVICES):
            lat = float(flops[i] * (1 + 0.3 * d) + rng.normal(0, 0.5) + (5 if d % 2 and enc[i, 0] else 0))
            records.append(
                make_record(
                    **base,
                    metric="latency_ms",
                    value=lat,
                    unit="ms",
                    fidelity=0,
                    epoch=0,
                    seed=0,
                    device=device,
                )
            )
    return write_import(out, space, {"p" * 64: {"synthetic": True}}, cards, archs, records)


def write_submission(folder: Path, rows, release: str, **meta: object) -> tuple[Path, Path]:
    """Rows (a DataFrame) as CSV and a metadata block for ``release``; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rows_path, meta_path = folder / "rows.csv", folder / "meta.json"
    rows.to_csv(rows_path, index=False)
    meta_path.write_text(json.dumps({**META, "release": release, **meta}))
    return rows_path, meta_path
