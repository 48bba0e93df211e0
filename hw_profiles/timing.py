"""Latency samples and their statistics, with re-measurement of unstable results.

CPU samples come from ``torch.utils.benchmark.Timer.blocked_autorange`` (each sample is the mean
of one block of calls whose size the timer picks so its own overhead is negligible); CUDA samples
from CUDA events recorded around each call after a synchronisation. Statistics: median, IQR
(p75 - p25), p90, coefficient of variation (std / mean) and sample count. A result whose CV exceeds
the protocol's threshold is measured again up to ``max_remeasures`` times; if it never settles the
most stable attempt is kept and flagged (``stable=False`` and a message), never silently accepted.
"""

from __future__ import annotations

import math
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LatencyStats:
    """Summary of latency samples in seconds, with the attempt count and a stability flag."""

    median: float
    iqr: float
    p90: float
    cv: float
    n: int
    attempts: int = 1
    stable: bool = True
    message: str = ""


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile of sorted data (numpy's default method)."""
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarize(samples: Sequence[float]) -> LatencyStats:
    """Median, IQR, p90, CV (population std / mean) and count of ``samples``."""
    values = [float(s) for s in samples]
    if not values or any(not math.isfinite(v) or v < 0 for v in values):
        raise ValueError(f"latency samples must be finite, non-negative and non-empty, got {values[:5]}")
    ordered = sorted(values)
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return LatencyStats(
        median=_quantile(ordered, 0.5),
        iqr=_quantile(ordered, 0.75) - _quantile(ordered, 0.25),
        p90=_quantile(ordered, 0.9),
        cv=std / mean if mean > 0 else 0.0,
        n=len(values),
    )


def measure_stable(
    sample: Callable[[], Sequence[float]], cv_threshold: float, max_remeasures: int
) -> LatencyStats:
    """Draw samples until their CV is within ``cv_threshold`` (at most ``1 + max_remeasures`` tries)."""
    best: LatencyStats | None = None
    attempts = 0
    for attempts in range(1, max_remeasures + 2):
        stats = summarize(sample())
        if best is None or stats.cv < best.cv:
            best = stats
        if stats.cv <= cv_threshold:
            return LatencyStats(stats.median, stats.iqr, stats.p90, stats.cv, stats.n, attempts, True, "")
    message = f"unstable: CV {best.cv:.3f} > {cv_threshold:g} after {attempts} attempts (most stable kept)"
    return LatencyStats(best.median, best.iqr, best.p90, best.cv, best.n, attempts, False, message)


def timer_samples(run: Callable[[], object], threads: int, min_run_time: float, repeats: int) -> list[float]:
    """Per-call seconds of ``run`` from ``torch.utils.benchmark`` blocks, at least ``repeats`` of them.

    One ``blocked_autorange`` picks the block size and times blocks for ``min_run_time``. If that gave
    fewer than ``repeats`` samples (calls longer than ``min_run_time / repeats``), the next one is
    asked for as long as the missing samples take. Every ``blocked_autorange`` spends one block
    estimating the block size, so asking for one sample at a time would cost a 0.3 s call twice.
    """
    from torch.utils import benchmark

    timer = benchmark.Timer(
        stmt="run()", globals={"run": run}, num_threads=threads, timer=timeit.default_timer
    )
    samples: list[float] = []
    run_time = min_run_time
    while len(samples) < repeats:
        found = timer.blocked_autorange(min_run_time=run_time)
        samples.extend(found.times)
        block_seconds = max(found.times) * found.number_per_run
        run_time = max(min_run_time, (repeats - len(samples)) * block_seconds)
    return samples


def cuda_event_samples(run: Callable[[], object], min_run_time: float, repeats: int) -> list[float]:
    """Per-call seconds of ``run`` on the current CUDA device from CUDA events (synchronised)."""
    import torch

    samples: list[float] = []
    total = 0.0
    torch.cuda.synchronize()
    while len(samples) < repeats or total < min_run_time:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run()
        end.record()
        end.synchronize()
        seconds = start.elapsed_time(end) / 1e3
        samples.append(seconds)
        total += seconds
    return samples
