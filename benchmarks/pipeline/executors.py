"""Executors run independent units of work and yield results as they finish.

``LocalExecutor`` (the default) runs inline for one worker or in a process pool (spawn start method,
so no forked OpenMP state) with ``threads`` torch threads per worker. ``RayExecutor``
(:mod:`benchmarks.pipeline.ray_executor`, extra ``archbench[ray]``) runs the same units as Ray tasks. Executors
are registered, so another engine plugs in beside them without touching the build code.

An executor never writes results anywhere: it hands ``(item, result)`` pairs back to the caller (the
build driver), which alone writes the journal. A unit whose function raises is handed to
``on_error`` (when given), whose return value stands in for the result, so one bad unit cannot end a
build. A pool worker that dies (SIGKILL from the OOM killer, a segfault) is replaced and its units
are retried alone until the one that kills its worker is found (:class:`_ResilientPool`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any, Protocol, TypeVar

from spaces.registry import Registry

T = TypeVar("T")
R = TypeVar("R")

OnError = Callable[[Any, BaseException], Any]
"""``on_error(item, exc) -> result``: the result recorded for an item whose function raised."""

OVERSUBSCRIPTION = 4
"""Workers, or threads per worker, may exceed the cores at most this many times (more only thrashes)."""
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
    worker count without ``threads`` splits the cores between the workers. A worker that dies is
    replaced; the unit it ran is retried alone up to ``max_retries`` more times, then failed (see
    :class:`_ResilientPool`).
    """

    def __init__(self, workers: int | None = None, threads: int | None = None, max_retries: int = 2) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.max_retries = max_retries
        limit = OVERSUBSCRIPTION * available_cores()
        if threads is not None and not 1 <= threads <= limit:
            raise ValueError(
                f"threads must be in [1, {limit}] ({available_cores()} cores here), got {threads}"
            )
        if workers is None:
            workers, threads = default_workers(), 1 if threads is None else threads
        if not 1 <= workers <= limit:
            raise ValueError(
                f"workers must be in [1, {limit}] ({available_cores()} cores here), got {workers}"
            )
        self.workers = workers
        self.threads = default_threads(workers) if threads is None else threads

    def check_device(self, device: str) -> None:
        """Refuse, before any work, a device this machine's torch cannot see."""
        if device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise ValueError(f"device {device!r} requested but torch sees no CUDA device")

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
        yield from _ResilientPool(self, fn, on_error).run(items)


class WorkerDied(RuntimeError):
    """A unit whose worker process died (killed, crashed) on every attempt."""


class _ResilientPool:
    """A spawn process pool that survives dead workers.

    A worker that dies (SIGKILL from the OOM killer, a segfault) breaks a ``ProcessPoolExecutor``
    and fails every unit in flight without saying which one killed it. The pool is then replaced and
    the units that were in flight become *suspects*, each rerun alone, so a death while a unit runs
    alone names it. A suspect that finishes is cleared; one whose worker dies ``1 + max_retries``
    times running alone is handed to ``on_error`` (or raised as :class:`WorkerDied`) and the run
    goes on. Units that never shared a pool with a death run in parallel as before.
    """

    def __init__(self, executor: LocalExecutor, fn: Callable[[T], R], on_error: OnError | None) -> None:
        self.executor, self.fn, self.on_error = executor, fn, on_error
        self.deaths: dict[int, int] = {}  # item position -> worker deaths while it ran alone
        self.exits: dict[int, str] = {}  # item position -> how its last worker ended

    def _new_pool(self, size: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=size,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.executor.threads, os.getpid()),
        )

    def run(self, items: list[T]) -> Iterator[tuple[T, Any]]:
        """Yield ``(item, result)`` for every item, in completion order, whatever dies on the way."""
        workers = min(self.executor.workers, len(items))
        queue = list(range(len(items)))[::-1]  # item positions, popped from the end in item order
        suspects: list[int] = []
        while queue or suspects:
            alone = bool(suspects)
            pool = self._new_pool(1 if alone else workers)
            pending: dict[Any, int] = {}
            workers_seen: dict[int, Any] = {}  # pid -> process: the pool forgets them once broken
            broken = False

            def submit(source: list[int]) -> bool:
                """Move the next position of ``source`` into the pool; False (and put back) if it broke."""
                position = source.pop()
                try:
                    pending[pool.submit(self.fn, items[position])] = position  # noqa: B023
                except BrokenProcessPool:  # a worker died since the last result came in
                    source.append(position)
                    return False
                workers_seen.update(getattr(pool, "_processes", None) or {})  # noqa: B023
                return True

            try:
                if alone:
                    broken = not submit(suspects)
                # At most 2 x workers in flight, so an interrupt loses little and memory stays flat.
                while queue and not alone and not broken and len(pending) < 2 * workers:
                    broken = not submit(queue)
                while pending and not broken:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        if isinstance(future.exception(), BrokenProcessPool):
                            broken = True
                            continue
                        position = pending.pop(future)
                        yield items[position], self._result(future, items[position])
                        if queue and not alone and not broken:
                            broken = not submit(queue)
                if broken:
                    wait(pending, timeout=60)  # the broken pool fails what is left at once
                    yield from self._after_death(_exit_text(workers_seen), pending, items, suspects)
            finally:
                pool.shutdown(wait=not broken, cancel_futures=True)

    def _result(self, future: Any, item: T) -> Any:
        exc = future.exception()
        if exc is None:
            return future.result()
        if self.on_error is None or not isinstance(exc, Exception):
            raise exc
        return self.on_error(item, exc)

    def _after_death(
        self, exit_text: str, pending: dict[Any, int], items: list[T], suspects: list[int]
    ) -> Iterator[tuple[T, Any]]:
        """Results that landed before the death; the rest become suspects, or fail for good."""
        in_flight = []
        for future, position in pending.items():
            if future.done() and not isinstance(future.exception(), BrokenProcessPool):
                yield items[position], self._result(future, items[position])
            else:
                in_flight.append(position)
        for position in sorted(in_flight, reverse=True):
            self.exits[position] = exit_text
            if len(in_flight) == 1:  # it ran alone: the death is its own
                self.deaths[position] = self.deaths.get(position, 0) + 1
            if self.deaths.get(position, 0) > self.executor.max_retries:
                yield items[position], self._dead(items[position], position)
            else:
                suspects.append(position)

    def _dead(self, item: T, position: int) -> Any:
        exc = WorkerDied(
            f"the worker process died on all {self.deaths[position]} attempts ({self.exits[position]})"
        )
        if self.on_error is None:
            raise exc
        return self.on_error(item, exc)


def _exit_text(processes: dict[int, Any]) -> str:
    """How a dead pool worker ended, e.g. ``killed by SIGKILL, as the out-of-memory killer does``."""
    import signal

    for process in processes.values():
        process.join(timeout=5)  # the broken pool reaps (and ends) its workers in another thread
    codes = [p.exitcode for p in processes.values() if p.exitcode not in (None, 0)]
    if not codes:
        return "exit status unknown"
    code = codes[0]
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = ", as the out-of-memory killer does" if name == "SIGKILL" else ""
        return f"killed by {name}{hint}"
    return f"exit status {code}"


def _call(fn: Callable[[T], R], item: T, on_error: OnError | None) -> R:
    try:
        return fn(item)
    except Exception as exc:
        if on_error is None:
            raise
        return on_error(item, exc)


EXECUTORS: Registry[Callable[..., Executor]] = Registry("executor", entry_point_group="archbench.executors")
EXECUTORS.register("local", LocalExecutor)
EXECUTORS.register("ray", "benchmarks.pipeline.ray_executor:RayExecutor")


def make_executor(name: str = "local", **options: Any) -> Executor:
    """An executor by registered name; options that are ``None`` keep the executor's defaults."""
    return EXECUTORS.get(name)(**{k: v for k, v in options.items() if v is not None})
