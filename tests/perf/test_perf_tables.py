"""Open and point-query speed of a full NB201-sized table (``make bench``; never part of ``make test``).

The synthetic table has every one of the 15,625 NB201 cells: 40 functional metrics x 2 seeds on each
of the 6,466 classes plus 17 cost metrics on every cell = 782,905 records, 1% of them failed (null
value). Goals (issue 5): open < 0.5 s and < 200 MB RSS, both as deltas after pandas/pyarrow are
imported; point lookup by string / index / arch_id < 50 µs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import cycle
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import spaces
from benchmarks.release import release
from benchmarks.schema import ARCH_SCHEMA, RECORD_SCHEMA
from benchmarks.storage.shipped import shipped_tables
from benchmarks.store import Source, atomic_folder, manifest_body, write_manifest, write_parquet
from benchmarks.table import open_table


def check_goal(benchmark, seconds: float, goal: float) -> None:
    """Assert a timing goal unless other work loads the CPU (1-minute load above the core count).

    Goals are for a machine doing this work alone; under contention the figure is recorded with the
    load in ``extra_info`` instead of failing on someone else's jobs.
    """
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    benchmark.extra_info.update({"load_1min": round(load, 2), "cores": cores, "goal_s": goal})
    if load <= cores:
        assert seconds < goal, f"{seconds:.6f} s >= goal {goal} s at load {load:.1f} on {cores} cores"


FUNCTIONAL = [f"zc_{i}" for i in range(40)]
COST = [f"cost_{i}" for i in range(17)]
SEEDS = 2
EXPECTED_RECORDS = 6466 * len(FUNCTIONAL) * SEEDS + 15625 * len(COST)


def synthetic_source() -> Source:
    """The NB201-sized records and architectures table (seeded, deterministic)."""
    space = spaces.get("nb201")
    archs = list(space.enumerate())
    strings = np.array([a.string for a in archs], dtype=object)
    ids = np.array([a.arch_id for a in archs], dtype=object)
    reps = np.array(sorted({a.arch_id: i for i, a in reversed(list(enumerate(archs)))}.values()))
    rng = np.random.default_rng(0)
    per_rep = len(FUNCTIONAL) * SEEDS
    rows = np.concatenate([np.repeat(reps, per_rep), np.repeat(np.arange(len(archs)), len(COST))])
    metric = np.concatenate(
        [
            np.tile(np.repeat(np.array(FUNCTIONAL, dtype=object), SEEDS), len(reps)),
            np.tile(np.array(COST, dtype=object), len(archs)),
        ]
    )
    seed = np.concatenate(
        [np.tile(np.arange(SEEDS), len(reps) * len(FUNCTIONAL)), np.zeros(len(archs) * len(COST), int)]
    )
    n = len(rows)
    failed = rng.random(n) < 0.01
    records = pa.table(
        {
            "space": pa.array(["nb201"] * n),
            "space_version": pa.array(["1.0"] * n),
            "arch_id": pa.array(ids[rows]),
            "arch": pa.array(strings[rows]),
            "task": pa.array(["cifar10"] * n),
            "metric": pa.array(metric),
            "value": pa.array(rng.normal(size=n), mask=failed),
            "unit": pa.array(["score"] * n),
            "fidelity": pa.array(np.zeros(n, np.int32)),
            "epoch": pa.array(np.zeros(n, np.int32)),
            "seed": pa.array(seed),
            "device": pa.array(["cpu:synthetic"] * n),
            "protocol_hash": pa.array(["0" * 64] * n),
            "seconds": pa.array(rng.random(n)),
            "status": pa.array(np.where(failed, "nan", "ok").astype(object)),
            "message": pa.array(np.where(failed, "undefined (synthetic)", "").astype(object)),
            "archbench_version": pa.array(["0.1.0"] * n),
            "created_at": pa.array([f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}+00:00" for i in rows]),
        },
        schema=RECORD_SCHEMA,
    )
    arch_table = pa.table(
        {
            "space": ["nb201"] * len(archs),
            "space_version": ["1.0"] * len(archs),
            "arch": list(strings),
            "arch_id": list(ids),
            "index": list(range(len(archs))),
            "degenerate": [space.is_degenerate(a) for a in archs],
        },
        schema=ARCH_SCHEMA,
    )
    cards = {
        f"metric:{m}": {"unit": "score", "kind": "functional", "higher_is_better": True} for m in FUNCTIONAL
    }
    cards |= {f"metric:{m}": {"unit": "ms", "kind": "cost", "higher_is_better": False} for m in COST}
    meta = {
        "space": {"name": "nb201", "version": "1.0"},
        "protocol:" + "0" * 64: {"synthetic": True},
        **cards,
    }
    return Source(records, arch_table, meta, {"synthetic": "tests/perf/test_perf_tables.py"})


@pytest.fixture(scope="session")
def full_tables(tmp_path_factory) -> dict[str, Path]:
    """The synthetic table as a flat table folder and as a release."""
    root = tmp_path_factory.mktemp("full_nb201")
    source = synthetic_source()
    assert source.records.num_rows == EXPECTED_RECORDS
    flat = root / "table"
    with atomic_folder(flat) as tmp:
        files = {
            "records.parquet": write_parquet(source.records, tmp / "records.parquet"),
            "architectures.parquet": write_parquet(source.archs, tmp / "architectures.parquet"),
        }
        write_manifest(tmp, {**manifest_body(source), "layout": "table", "files": files})
    return {"table": flat, "release": release(flat, "full", "1.0.0", root / "releases")}


@pytest.mark.parametrize("layout", ["table", "release"])
def test_open_full_table(benchmark, full_tables, layout):
    """open_table (hash check + categorical read) of 782,905 records; goal < 0.5 s."""
    table = benchmark.pedantic(
        open_table, args=(full_tables[layout],), rounds=5, iterations=1, warmup_rounds=1
    )
    assert len(table.records) == EXPECTED_RECORDS
    benchmark.extra_info["records"] = len(table.records)
    benchmark.extra_info["frame_mb"] = round(table.records.memory_usage(deep=True).sum() / 1e6, 1)
    check_goal(benchmark, benchmark.stats.stats.min, 0.5)


_MEMORY_PROBE = """
import json, resource, sys, time
import pandas, pyarrow, pyarrow.parquet  # imported before the baseline, as the goal says
import benchmarks.table
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() / 1e6
def hwm():  # VmHWM resets at exec, unlike ru_maxrss, which would carry the parent's peak
    line = next(x for x in open("/proc/self/status") if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1e3
before = rss()
start = time.perf_counter()
table = benchmarks.table.open_table(sys.argv[1])
seconds = time.perf_counter() - start
after = rss()
peak = hwm()
print(json.dumps({"seconds": seconds, "rss_delta_mb": after - before, "peak_delta_mb": peak - before,
                  "records": len(table.records)}))
"""


@pytest.mark.parametrize("layout", ["table", "release"])
def test_open_full_table_memory(benchmark, full_tables, layout):
    """RSS after opening, and peak RSS during it, minus RSS after importing pandas/pyarrow; goal < 200 MB."""

    def probe() -> dict:
        out = subprocess.run(
            [sys.executable, "-c", _MEMORY_PROBE, str(full_tables[layout])],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout)

    result = benchmark.pedantic(probe, rounds=3, iterations=1)
    benchmark.extra_info.update({k: round(v, 3) for k, v in result.items()})
    assert result["records"] == EXPECTED_RECORDS
    assert result["rss_delta_mb"] < 200 and result["peak_delta_mb"] < 200, result


@pytest.fixture(scope="session")
def opened(full_tables):
    table = open_table(full_tables["release"])
    assert table.index is not None  # built once, on the first query (its cost is measured separately below)
    return table


def test_build_lookup_index(benchmark, full_tables):
    """The lazy index a first point query builds (dicts over archs, records sorted by owner and metric)."""
    table = open_table(full_tables["release"])

    def build():
        table._index = None
        return table.index

    benchmark.pedantic(build, rounds=3, iterations=1)


def _keys(opened, kind: str, n: int = 2000) -> cycle:
    rng = np.random.default_rng(1)
    rows = opened.archs.iloc[rng.integers(0, len(opened.archs), n)]
    values = {"arch": rows["arch"], "index": rows["index"].astype(int), "arch_id": rows["arch_id"]}[kind]
    return cycle([{kind: v if kind != "index" else int(v)} for v in values])


@pytest.mark.parametrize("kind", ["arch", "index", "arch_id"])
def test_point_lookup_locate(benchmark, opened, kind):
    """Table.locate: architecture entry by string, published index or arch_id; goal < 50 µs."""
    keys = _keys(opened, kind)
    benchmark(lambda: opened.locate(**next(keys)))
    check_goal(benchmark, benchmark.stats.stats.median, 50e-6)


@pytest.mark.parametrize("kind", ["arch", "index", "arch_id"])
@pytest.mark.parametrize("metric", ["zc_7", "cost_3"])
def test_point_lookup_value(benchmark, opened, kind, metric):
    """Table.value: one metric of one architecture (mean over seeds of ok values); goal < 50 µs."""
    keys = _keys(opened, kind)
    benchmark(lambda: opened.value(**next(keys), metric=metric))
    check_goal(benchmark, benchmark.stats.stats.median, 50e-6)


def test_lookup_frame(benchmark, opened):
    """Table.lookup: every record of one architecture as a DataFrame (pandas row selection dominates)."""
    keys = _keys(opened, "index")
    frame = benchmark(lambda: opened.lookup(**next(keys)))
    assert len(frame) == len(FUNCTIONAL) * SEEDS + len(COST)


def test_value_matches_the_records(opened):
    """Not a timing: the indexed answer equals a scan of the records for a few architectures."""
    rec = opened.records
    for index in (0, 1462, 15624):
        entry = opened.locate(index=index)
        rows = rec[(rec["arch_id"] == entry.arch_id) & (rec["metric"] == "zc_7") & (rec["status"] == "ok")]
        assert opened.value(index=index, metric="zc_7") == pytest.approx(rows["value"].mean(), nan_ok=True)
        own = rec[(rec["arch"] == entry.arch) & (rec["metric"] == "cost_3")]["value"]
        assert opened.value(index=index, metric="cost_3") == pytest.approx(own.mean(), nan_ok=True)


@pytest.mark.parametrize("name", sorted({t.name for t in shipped_tables()}))
def test_open_shipped_table_by_name(benchmark, name):
    """open_table(NAME) of a shipped table (name lookup + hash check + read); goal < 0.5 s."""
    table = benchmark.pedantic(open_table, args=(name,), rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update({"records": len(table.records), "folder": table.path.name})
    check_goal(benchmark, benchmark.stats.stats.min, 0.5)
