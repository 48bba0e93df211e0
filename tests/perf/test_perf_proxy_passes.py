"""Issue 21's benchmark: the proxy suite's cost in units of one plain forward+backward (``make bench``).

The unit is the physical floor of any gradient-based proxy: one forward and one cross-entropy backward of
the same network on the same batch (published-size NB201, C=16, N=5, 32 px, batch 64, 2 threads), timed
in the same process right beside the proxies, so the ratio holds on a loaded or a quiet machine alike.
Reported in ``extra_info`` and ``runs/bench/proxy_passes.md``, medians over the cells
(``ARCHBENCH_BENCH_PASS_CELLS``, default 10):

* passes per cell of NASLib's 13 (target <= 4.7, i.e. 5x NASLib's ~24) and of the full suite (target <= 7);
* every proxy's passes (a shared pass is charged to the first proxy that asks for it);
* ``ntk``'s floor: TE-NAS differentiates each image's summed logits through the whole train-mode batch,
  so BatchNorm couples the images and the Jacobian needs one backward through the batch graph per image
  (64 of them); the floor is one forward plus 64 backward-only passes, measured here on the same graph;
* grad_sign revision 2 (one vmapped pass) against revision 1 (one backward per image), as a speed ratio.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from _published_size import NASLIB_13, PROTOCOL, peak_rss_mb, two_threads  # noqa: F401 (autouse fixture)

import spaces
from proxies.base import ProxyContext, list_proxies
from proxies.grad_sign import sign_agreement, sign_agreement_per_image
from proxies.losses import flat_cross_entropy
from proxies.runner import score_architecture

CELLS = int(os.environ.get("ARCHBENCH_BENCH_PASS_CELLS", "10"))
OUT = Path("runs/bench")


@pytest.fixture(scope="module")
def cells():
    nb201 = spaces.get("nb201")
    return nb201, nb201.sample_unique(CELLS, np.random.default_rng(21))


def _context(space, arch) -> ProxyContext:
    return ProxyContext(space, arch, PROTOCOL, 0, "cpu", shared=set())


def unit_seconds(ctx: ProxyContext, repeats: int = 3) -> float:
    """Median wall time of one forward + cross-entropy backward of a fresh network on the batch."""
    x, y = ctx.batch()
    times = []
    for _ in range(repeats):
        model = ctx.fresh_model()
        start = time.perf_counter()
        flat_cross_entropy(model(x), y).backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ntk_floor_seconds(ctx: ProxyContext) -> float:
    """One forward of the batch plus one backward-only pass per image on the retained graph (timed once
    and multiplied): what any exact route to TE-NAS's train-mode Jacobian must spend."""
    x, _ = ctx.batch()
    model = ctx.fresh_model()
    start = time.perf_counter()
    out = model(x).flatten(1).sum(1)
    forward = time.perf_counter() - start
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    backwards = []
    for i in range(3):
        start = time.perf_counter()
        torch.autograd.grad(out[i], weights, retain_graph=True, allow_unused=True)
        backwards.append(time.perf_counter() - start)
    return forward + len(x) * statistics.median(backwards)


def _suite(space, arch, names) -> tuple[float, dict[str, float]]:
    scores = score_architecture(space, arch, list(names), PROTOCOL, 0)
    return sum(s.seconds for s in scores), {s.proxy: s.seconds for s in scores}


def test_proxy_suite_in_forward_backward_passes(benchmark, cells):
    """Passes per cell of NASLib's 13 and of the whole suite, per proxy, ntk's floor, grad_sign's ratio."""
    space, archs = cells
    everything = list_proxies()
    naslib, full, floor, ntk_units = [], [], [], []
    per_proxy: dict[str, list[float]] = {name: [] for name in everything}
    loop_s = batched_s = 0.0

    def run():
        nonlocal loop_s, batched_s
        for arch in archs:
            ctx = _context(space, arch)
            unit = unit_seconds(ctx)
            naslib.append(_suite(space, arch, NASLIB_13)[0] / unit)
            total, seconds = _suite(space, arch, everything)
            full.append(total / unit)
            for name, s in seconds.items():
                per_proxy[name].append(s / unit)
            ntk_units.append(seconds["ntk"] / unit)
            floor.append(ntk_floor_seconds(ctx) / unit)
            x, y = ctx.batch()
            start = time.perf_counter()
            sign_agreement_per_image(ctx.fresh_model(), x, y)
            loop_s += time.perf_counter() - start
            start = time.perf_counter()
            sign_agreement(ctx.fresh_model(), x, y)
            batched_s += time.perf_counter() - start

    benchmark.pedantic(run, rounds=1, iterations=1)
    med = {name: statistics.median(v) for name, v in per_proxy.items()}
    figures = {
        "cells": len(archs),
        "naslib13_passes": statistics.median(naslib),
        "full_suite_passes": statistics.median(full),
        "full_suite_without_ntk_passes": statistics.median([f - n for f, n in zip(full, ntk_units)]),
        "ntk_passes": statistics.median(ntk_units),
        "ntk_floor_passes": statistics.median(floor),
        "grad_sign_r1_over_r2": loop_s / batched_s,
        "per_proxy_passes": med,
    }
    benchmark.extra_info.update(figures)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "proxy_passes.md").write_text(
        "\n".join(
            [
                f"Proxy cost in forward+backward passes, median over {len(archs)} NB201 cells "
                "(C=16, N=5, 32 px, batch 64, 2 threads)",
                f"NASLib's 13: {figures['naslib13_passes']:.2f} passes/cell (target <= 4.7)",
                f"full suite: {figures['full_suite_passes']:.1f} (target <= 7); without ntk "
                f"{figures['full_suite_without_ntk_passes']:.2f}",
                f"ntk: {figures['ntk_passes']:.1f}, its floor (1 forward + 64 backward-only on the "
                f"coupled train-mode batch): {figures['ntk_floor_passes']:.1f}",
                f"grad_sign revision 1 / revision 2 time: {figures['grad_sign_r1_over_r2']:.2f}x",
                "per proxy: "
                + ", ".join(f"{k} {v:.2f}" for k, v in sorted(med.items(), key=lambda kv: -kv[1])),
            ]
        )
        + "\n"
    )


def test_full_suite_peak_memory_in_a_fresh_process(benchmark, cells):
    """Peak RSS (MB) of one cell's whole suite in a fresh interpreter, against ``import torch`` alone."""
    _, archs = cells
    measured: list[tuple[float, float]] = []

    def run():
        for arch in archs[:3]:
            measured.append(peak_rss_mb(arch.string, "all"))

    benchmark.pedantic(run, rounds=1, iterations=1)
    peaks = [peak for _, peak in measured]
    baseline = max(after_import for after_import, _ in measured)
    benchmark.extra_info.update({"peak_rss_mb": max(peaks), "import_torch_mb": baseline, "cells": len(peaks)})
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "proxy_passes_memory.md").write_text(
        f"full suite peak RSS per cell (fresh process): {', '.join(f'{p:.0f}' for p in peaks)} MB "
        f"(target < 1500); import torch alone: {baseline:.0f} MB\n"
    )
