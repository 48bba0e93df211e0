"""Issue 4's benchmark: NASLib's 13 zero-cost proxies on 100 published-size NB201 cells (``make bench``).

Anchor (measured on this 2-core CPU with NASLib's own code): 14.2 s per cell median, 1.9 GB peak RSS.
Reported here, in ``extra_info`` and in ``runs/bench/proxy_suite.md``:

* per-cell wall time of the 13 with the shared forward pass, median over the cells (default 100,
  ``ARCHBENCH_BENCH_CELLS``), and every proxy's median seconds (a shared pass is charged to the first
  proxy that asks for it);
* the shared-pass speed-up as a ratio against the same 13 run one by one (a fresh context per proxy, so
  every proxy pays for its own passes), on the same cells in the same process, interleaved;
* peak RSS of one cell scored in a fresh process (``import torch`` alone is about 0.5 GB of it).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pytest
from _published_size import NASLIB_13, PROTOCOL, peak_rss_mb, two_threads  # noqa: F401 (autouse fixture)

import spaces
from proxies.runner import score_architecture

CELLS = int(os.environ.get("ARCHBENCH_BENCH_CELLS", "100"))
RATIO_CELLS = min(CELLS, int(os.environ.get("ARCHBENCH_BENCH_RATIO_CELLS", "10")))
OUT = Path("runs/bench")


@pytest.fixture(scope="module")
def cells():
    nb201 = spaces.get("nb201")
    return nb201, nb201.sample_unique(CELLS, np.random.default_rng(0))


def _summary(name: str, lines: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.md").write_text("\n".join(lines) + "\n")


def test_naslib13_shared_pass_on_100_cells(benchmark, cells):
    """Per-cell time and per-proxy medians of the 13 with one shared forward pass per cell."""
    nb201, archs = cells
    per_cell: list[float] = []
    per_proxy: dict[str, list[float]] = {name: [] for name in NASLIB_13}

    def run():
        for arch in archs:
            start = time.perf_counter()
            scores = score_architecture(nb201, arch, list(NASLIB_13), PROTOCOL, 0)
            per_cell.append(time.perf_counter() - start)
            for s in scores:
                per_proxy[s.proxy].append(s.seconds)

    benchmark.pedantic(run, rounds=1, iterations=1)
    medians = {name: statistics.median(v) for name, v in per_proxy.items()}
    benchmark.extra_info.update(
        {
            "cells": len(archs),
            "median_s_per_cell": statistics.median(per_cell),
            "p90_s_per_cell": float(np.percentile(per_cell, 90)),
            "per_proxy_median_s": medians,
        }
    )
    _summary(
        "proxy_suite",
        [
            f"NASLib's 13 on {len(archs)} NB201 cells (C=16, N=5, 32 px, batch 64, 2 threads)",
            f"median {statistics.median(per_cell):.2f} s/cell, p90 {np.percentile(per_cell, 90):.2f} s "
            "(anchor: NASLib 14.2 s)",
            "per-proxy medians (s): " + ", ".join(f"{k} {v:.3f}" for k, v in medians.items()),
        ],
    )


def test_naslib13_shared_vs_one_by_one_ratio(benchmark, cells):
    """Shared passes vs a fresh context per proxy, interleaved on the same cells in one process."""
    nb201, archs = cells
    shared = one_by_one = 0.0

    def run():
        nonlocal shared, one_by_one
        for arch in archs[:RATIO_CELLS]:
            start = time.perf_counter()
            together = score_architecture(nb201, arch, list(NASLIB_13), PROTOCOL, 0)
            shared += time.perf_counter() - start
            start = time.perf_counter()
            alone = [score_architecture(nb201, arch, [name], PROTOCOL, 0)[0] for name in NASLIB_13]
            one_by_one += time.perf_counter() - start
            assert [s.value for s in together] == [s.value for s in alone]  # sharing changes nothing

    benchmark.pedantic(run, rounds=1, iterations=1)
    ratio = one_by_one / shared
    benchmark.extra_info.update(
        {"cells": RATIO_CELLS, "shared_s": shared, "one_by_one_s": one_by_one, "speedup": ratio}
    )
    _summary(
        "proxy_suite_ratio",
        [f"shared vs one by one on {RATIO_CELLS} cells: {one_by_one:.1f} s / {shared:.1f} s = {ratio:.2f}x"],
    )


def test_naslib13_peak_memory_in_a_fresh_process(benchmark, cells):
    """Peak RSS (MB) of one cell's 13 proxies in a fresh interpreter, and the part ``import torch`` takes."""
    _, archs = cells
    peaks: list[tuple[float, float]] = []

    def run():
        for arch in archs[:3]:
            peaks.append(peak_rss_mb(arch.string, ",".join(NASLIB_13)))

    benchmark.pedantic(run, rounds=1, iterations=1)
    worst = max(p for _, p in peaks)
    benchmark.extra_info.update(
        {"peak_rss_mb": worst, "rss_before_scoring_mb": max(b for b, _ in peaks), "cells": len(peaks)}
    )
    _summary("proxy_suite_memory", [f"peak RSS per cell (fresh process): {json.dumps(peaks)} MB"])
