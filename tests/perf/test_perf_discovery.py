"""Proxy-discovery throughput (``make bench``): expressions evaluated per second on statistics the size of
the nb201-fmnist training split (200 architectures x 26 layers, 16 x 64 per matrix), and one gather pass.

The statistics are synthetic (the throughput does not depend on their values); the measured figures of
a real run are in ``docs/proxy-discovery.md``.
"""

from __future__ import annotations

import numpy as np
from _discovery_helpers import toy_stats

import proxies
import spaces
from predictors.discovery.evaluate import evaluate
from predictors.discovery.gather import gather
from predictors.discovery.gp import Limits, random_expression
from proxies.base import ProxyContext

EXPRESSIONS = 50


def test_expression_throughput(benchmark):
    stats = toy_stats(archs=200, layers=26)
    rng = np.random.default_rng(0)
    exprs = [random_expression(rng, Limits()) for _ in range(EXPRESSIONS)]
    results = benchmark(lambda: [evaluate(e, stats) for e in exprs])
    assert len(results) == EXPRESSIONS
    benchmark.extra_info["expressions_per_round"] = EXPRESSIONS


def test_gather_one_architecture(benchmark, one_torch_thread):
    nb201 = spaces.get("nb201")
    protocol = proxies.Protocol(task="fmnist14k", batch_size=64, resolution=12, build={"C": 8, "N": 1})
    arch = nb201.parse(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"
    )

    def run() -> int:
        return gather(ProxyContext(nb201, arch, protocol, seed=0)).mask.shape[1]

    assert benchmark(run) > 0
