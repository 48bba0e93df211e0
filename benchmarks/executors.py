"""Executors run independent units of work and yield results as they finish.

``LocalExecutor`` (the default) runs inline for one worker or in a process pool (spawn start method,
so no forked OpenMP state) with ``threads`` torch threads per worker. Executors are registered, so
a Ray executor plugs in beside it without touching the build code.
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


class Executor(Protocol):
    """Anything that maps a picklable function over items and yields ``(item, result)`` as done."""

    workers: int

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R]]:
        """Apply ``fn`` to every item; yield pairs in completion order."""
        ...


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def default_threads(workers: int) -> int:
    """Torch threads per worker so that workers x threads fills, but does not oversubscribe, the cores."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


class LocalExecutor:
    """Inline (1 worker) or a local process pool of ``workers`` processes."""

    def __init__(self, workers: int = 1, threads: int | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.threads = threads or default_threads(workers)

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R]]:
        """Run ``fn`` over ``items``; inline for one worker, else in a spawn-context process pool."""
        items = list(items)
        if self.workers == 1:
            import torch

            before = torch.get_num_threads()
            _set_threads(self.threads)
            try:
                for item in items:
                    yield item, fn(item)
            finally:
                _set_threads(before)
            return
        with ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=get_context("spawn"),
            initializer=_set_threads,
            initargs=(self.threads,),
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
                    yield item, future.result()
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending[pool.submit(fn, nxt)] = nxt


EXECUTORS: Registry[Callable[..., Executor]] = Registry("executor", entry_point_group="archbench.executors")
EXECUTORS.register("local", LocalExecutor)


def make_executor(name: str = "local", **options: Any) -> Executor:
    """An executor by registered name."""
    return EXECUTORS.get(name)(**options)
