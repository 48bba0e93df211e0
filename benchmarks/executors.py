"""Executors run independent units of work and yield results as they finish.

``LocalExecutor`` (the default) runs inline for one worker or in a process pool (spawn start method,
so no forked OpenMP state) with ``threads`` torch threads per worker. ``RayExecutor``
(:mod:`benchmarks.ray_executor`, extra ``archbench[ray]``) runs the same units as Ray tasks. Executors
are registered, so another engine plugs in beside them without touching the build code.

An executor never writes results anywhere: it hands ``(item, result)`` pairs back to the caller (the
build driver), which alone writes the journal. A unit whose function raises is handed to
``on_error`` (when given), whose return value stands in for the result, so one bad unit cannot end a
build.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Any, Protocol, TypeVar

from spaces.registry import Registry

T = TypeVar("T")
R = TypeVar("R")

OnError = Callable[[Any, BaseException], Any]
"""``on_error(item, exc) -> result``: the result recorded for an item whose function raised."""

MAX_AUTO_WORKERS = 8
"""The most worker processes the default picks (each holds a copy of torch, ~0.3-0.5 GB)."""


class Executor(Protocol):
    """Anything that maps a picklable function over items and yields ``(item, result)`` as done."""

    workers: int
    threads: int

    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T], on_error: OnError | None = None
    ) -> Iterator[tuple[T, R]]:
        """Apply ``fn`` to every item; yield pairs in completion order."""
        ...


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _exit_with_parent(parent: int, interval: float = 0.5) -> None:
    """Poll for the parent's death (a SIGKILLed driver cannot shut its pool down) and exit with it."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="archbench-parent-watch", daemon=True).start()


def _init_worker(threads: int, parent: int) -> None:
    """Pool worker start-up: torch threads, and no life beyond the driver's."""
    _set_threads(threads)
    _exit_with_parent(parent)


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def default_threads(workers: int) -> int:
    """Torch threads per worker so that workers x threads fills, but does not oversubscribe, the cores."""
    return max(1, available_cores() // max(1, workers))


def default_workers() -> int:
    """One single-threaded worker per core (capped): small proxy networks scale far better across
    processes than across intra-op threads."""
    return max(1, min(available_cores(), MAX_AUTO_WORKERS))


class LocalExecutor:
    """Inline (1 worker) or a local process pool of ``workers`` processes.

    ``workers=None`` picks :func:`default_workers` (one per core) with one thread each; an explicit
    worker count without ``threads`` splits the cores between the workers.
    """

    def __init__(self, workers: int | None = None, threads: int | None = None) -> None:
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        if workers is None:
            workers, threads = default_workers(), 1 if threads is None else threads
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.threads = default_threads(workers) if threads is None else threads

    def __repr__(self) -> str:
        return f"LocalExecutor(workers={self.workers}, threads={self.threads})"

    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T], on_error: OnError | None = None
    ) -> Iterator[tuple[T, R]]:
        """Run ``fn`` over ``items``; inline for one worker (or one item), else in a spawn process pool."""
        items = list(items)
        if self.workers == 1 or len(items) <= 1:
            import torch

            before = torch.get_num_threads()
            _set_threads(self.threads)
            try:
                for item in items:
                    yield item, _call(fn, item, on_error)
            finally:
                _set_threads(before)
            return
        with ProcessPoolExecutor(
            max_workers=min(self.workers, len(items)),
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.threads, os.getpid()),
        ) as pool:
            # Keep at most 2 x workers in flight so an interrupt loses little and memory stays flat.
            pending: dict[Any, T] = {}
            queue = iter(items)
            for item in queue:
                pending[pool.submit(fn, item)] = item
                if len(pending) >= 2 * self.workers:
                    break
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    item = pending.pop(future)
                    yield item, _result(future, item, on_error)
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending[pool.submit(fn, nxt)] = nxt


def _call(fn: Callable[[T], R], item: T, on_error: OnError | None) -> R:
    try:
        return fn(item)
    except Exception as exc:
        if on_error is None:
            raise
        return on_error(item, exc)


def _result(future: Any, item: T, on_error: OnError | None) -> Any:
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        raise  # the pool is gone: stop; the journal keeps every finished unit, a rerun resumes
    except Exception as exc:
        if on_error is None:
            raise
        return on_error(item, exc)


EXECUTORS: Registry[Callable[..., Executor]] = Registry("executor", entry_point_group="archbench.executors")
EXECUTORS.register("local", LocalExecutor)
EXECUTORS.register("ray", "benchmarks.ray_executor:RayExecutor")


def make_executor(name: str = "local", **options: Any) -> Executor:
    """An executor by registered name; options that are ``None`` keep the executor's defaults."""
    return EXECUTORS.get(name)(**{k: v for k, v in options.items() if v is not None})
