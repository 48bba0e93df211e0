"""Speed benchmarks (``make bench``): proxy cost per NB201 cell, shared passes, canonicalisation, table I/O.

Run with ``make bench``; never part of ``make test``. Figures are per call on this machine.
"""

from __future__ import annotations

import numpy as np
import pytest
from _published_size import PROTOCOL, two_threads  # noqa: F401 (autouse fixture)

import proxies
import spaces
from proxies.runner import score_architecture

FIRST_SET = ["params", "flops", "synflow", "snip", "grad_norm", "jacob_cov", "nwot"]
CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


@pytest.fixture(scope="module")
def nb201():
    return spaces.get("nb201")


def test_first_proxy_set_per_cell(benchmark, nb201):
    """All first-set proxies on one published-size cell (shared passes on)."""
    arch = nb201.parse(CELL)
    scores = benchmark.pedantic(
        score_architecture, args=(nb201, arch, FIRST_SET, PROTOCOL, 0), rounds=5, iterations=1
    )
    assert all(s.status == "ok" for s in scores)
    benchmark.extra_info.update({s.proxy: round(s.seconds, 4) for s in scores})


@pytest.mark.parametrize("mode", ["shared", "separate"])
def test_gradient_proxies_shared_vs_separate(benchmark, nb201, mode):
    """snip + grad_norm from one shared forward+backward vs one pass each (compare the two means)."""
    arch = nb201.parse(CELL)

    def run():
        if mode == "shared":
            return score_architecture(nb201, arch, ["snip", "grad_norm"], PROTOCOL, 0)
        return [
            *score_architecture(nb201, arch, ["snip"], PROTOCOL, 0),
            *score_architecture(nb201, arch, ["grad_norm"], PROTOCOL, 0),
        ]

    benchmark.pedantic(run, rounds=5, iterations=1)


def test_full_suite_per_cell(benchmark, nb201):
    """Every registered proxy on one published-size cell (shared passes on), per-proxy seconds in extra_info."""
    arch = nb201.parse(CELL)
    scores = benchmark.pedantic(
        score_architecture, args=(nb201, arch, proxies.list_proxies(), PROTOCOL, 0), rounds=2, iterations=1
    )
    benchmark.extra_info.update({s.proxy: round(s.seconds, 3) for s in scores})
    benchmark.extra_info["failed"] = [s.proxy for s in scores if s.status != "ok"]


def test_canonicalise_whole_nb201(benchmark, nb201):
    """Parse and canonicalise all 15,625 NB201 cells."""
    archs = benchmark.pedantic(lambda: list(nb201.enumerate()), rounds=3, iterations=1)
    assert len({a.arch_id for a in archs}) == 6466


def test_rank_metrics_bootstrap(benchmark):
    """Spearman + Kendall with 1,000 bootstrap resamples over 1,000 architectures."""
    from benchmarks.metrics import bootstrap, kendall, spearman

    rng = np.random.default_rng(0)
    x = rng.normal(size=1000)
    y = x + rng.normal(size=1000)
    benchmark.pedantic(lambda: (bootstrap(spearman, x, y), bootstrap(kendall, x, y)), rounds=1, iterations=1)
