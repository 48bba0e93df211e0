"""Run build units as Ray tasks (extra ``archbench[ray]``): scale a build out over a cluster.

Each unit becomes one remote task (Moritz et al., "Ray: A Distributed Framework for Emerging AI
Applications", OSDI 2018) that requests ``num_cpus=threads`` and, for ``device="cuda"`` units,
``num_gpus``. Results come back to the driver, which alone writes the journal, so a worker can die at
any moment without touching the table. Ray retries a crashed worker's task (``max_retries``) and a
task that raised (``retry_exceptions``); a unit that fails every attempt is handed to the caller's
``on_error`` and stored as error records. At most ``max_in_flight`` tasks are submitted at once
(``ray.wait``), so an interrupt loses little and the driver's memory stays flat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from benchmarks.pipeline.executors import OnError

T = TypeVar("T")
R = TypeVar("R")


class UnitFailed(RuntimeError):
    """A unit that failed on every attempt Ray made (its worker crashed or it raised)."""


def _run(fn: Callable[[T], R], item: T, threads: int) -> R:
    """The body of every remote task: fix torch's thread count, then run the unit."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return fn(item)


def _wants_gpu(item: object) -> bool:
    return str(getattr(item, "device", "cpu")).startswith("cuda")


class RayExecutor:
    """Units as Ray tasks on the cluster at ``address`` (``None``: start a local cluster here).

    Args:
        address: ``"auto"`` or ``"HOST:PORT"`` of a running cluster; ``None`` starts a local one
            (or reuses the one this process already joined).
        threads: torch threads per task, also its ``num_cpus`` request.
        num_gpus_per_unit: GPUs each ``device="cuda"`` unit requests (fractions share a GPU).
        max_retries: extra attempts after a worker crash or an exception.
        retry_exceptions: also retry units whose function raised.
        max_in_flight: most tasks submitted at once (default: twice what the cluster runs at once).
        num_cpus: CPUs of a local cluster this executor starts (default: all cores).
        init_options: more keyword arguments for ``ray.init``.
    """

    def __init__(
        self,
        address: str | None = None,
        threads: int | None = None,
        num_gpus_per_unit: float | None = None,
        max_retries: int = 3,
        retry_exceptions: bool = True,
        max_in_flight: int | None = None,
        num_cpus: int | None = None,
        init_options: dict[str, Any] | None = None,
    ) -> None:
        threads = 1 if threads is None else threads
        num_gpus_per_unit = 1.0 if num_gpus_per_unit is None else num_gpus_per_unit
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        if num_gpus_per_unit <= 0:
            raise ValueError(f"num_gpus_per_unit must be > 0, got {num_gpus_per_unit}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
        try:
            import ray
        except ImportError:
            raise ValueError("the ray executor needs Ray: pip install 'archbench[ray]'") from None
        self.threads = threads
        self.num_gpus_per_unit = float(num_gpus_per_unit)
        self.max_retries = max_retries
        self.retry_exceptions = retry_exceptions
        self._started = False
        if not ray.is_initialized():
            options = {"include_dashboard": False, **(init_options or {})}
            if address is None:
                options.setdefault("num_cpus", num_cpus)
            try:
                ray.init(address=address, **options)
            except (ConnectionError, RuntimeError) as exc:
                raise ValueError(f"cannot reach a Ray cluster at {address!r}: {exc}") from None
            self._started = True
        resources = ray.cluster_resources()
        self.cpus = int(resources.get("CPU", 0))
        self.gpus = float(resources.get("GPU", 0))
        self.workers = max(1, self.cpus // threads)
        self.max_in_flight = max_in_flight or 2 * self.workers

    def check_device(self, device: str) -> None:
        """Refuse, before any work, a device the cluster cannot give each unit."""
        if device.startswith("cuda") and self.gpus < self.num_gpus_per_unit:
            raise ValueError(
                f"cuda units ask for {self.num_gpus_per_unit:g} GPU each but the Ray cluster has {self.gpus:g}"
            )

    def __repr__(self) -> str:
        return (
            f"RayExecutor(cpus={self.cpus}, gpus={self.gpus:g}, threads={self.threads}, "
            f"max_retries={self.max_retries})"
        )

    def close(self) -> None:
        """Shut down the local cluster if this executor started it."""
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _options(self, item: object) -> dict[str, Any]:
        options: dict[str, Any] = {
            "num_cpus": self.threads,
            "max_retries": self.max_retries,
            "retry_exceptions": self.retry_exceptions,
        }
        if _wants_gpu(item):
            options["num_gpus"] = self.num_gpus_per_unit
        return options

    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T], on_error: OnError | None = None
    ) -> Iterator[tuple[T, R]]:
        """Submit ``fn(item)`` tasks (bounded in flight) and yield ``(item, result)`` as they finish."""
        import ray

        items = list(items)
        if not items:
            return
        if self.threads > self.cpus:
            raise ValueError(f"each task asks for {self.threads} CPUs but the Ray cluster has {self.cpus}")
        if any(_wants_gpu(i) for i in items):
            self.check_device("cuda")
        remote = ray.remote(_run)
        fn_ref = ray.put(fn)
        pending: dict[Any, T] = {}
        queue = iter(items)

        def submit() -> bool:
            item = next(queue, None)
            if item is None:
                return False
            pending[remote.options(**self._options(item)).remote(fn_ref, item, self.threads)] = item
            return True

        try:
            while len(pending) < self.max_in_flight and submit():
                pass
            while pending:
                finished, _ = ray.wait(list(pending), num_returns=1)
                for ref in finished:
                    item = pending.pop(ref)
                    yield item, self._get(ref, item, on_error)
                    submit()
        finally:
            for ref in pending:  # interrupted: stop what is still queued or running
                ray.cancel(ref, force=True)

    def _get(self, ref: Any, item: T, on_error: OnError | None) -> Any:
        import ray

        try:
            return ray.get(ref)
        except ray.exceptions.RayError as exc:
            cause = exc.cause if isinstance(exc, ray.exceptions.RayTaskError) and exc.cause else exc
            first = " ".join((str(cause).strip().splitlines() or [""])[0].split())
            failure = UnitFailed(
                f"{type(cause).__name__}: {first} (failed all {self.max_retries + 1} attempts on Ray)"
            )
            if on_error is None:
                raise failure from exc
            return on_error(item, failure)
