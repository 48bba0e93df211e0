"""Peak memory of one inference call.

Definition (both routes): the most bytes held at once by tensors during the call, counting the
parameters, buffers and input that already exist when it starts.

* CUDA: the caching allocator's statistics, ``torch.cuda.max_memory_allocated`` after
  ``reset_peak_memory_stats`` (bytes in live tensors, not the allocator's cached reserve).
* CPU: torch has no CPU allocator statistics, and process RSS is dominated by the allocator's and
  the framework's own caches, so we track tensors: a ``TorchDispatchMode`` sees every ATen op's
  outputs; each new storage adds its bytes to a live counter and a ``weakref.finalize`` on the
  tensors holding it subtracts them when the last one dies. Views (``t()``, ``flatten``) share a
  storage and add nothing. This counts what the framework holds between ops; scratch buffers that a
  kernel allocates and frees inside one op (e.g. oneDNN workspaces) are not seen. The method is
  tested against the closed form of small networks in ``tests/test_hw_memory.py``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import Any


def _storage_key(t: Any) -> tuple[int, int] | None:
    try:
        storage = t.untyped_storage()
    except (RuntimeError, NotImplementedError):  # e.g. sparse or meta tensors
        return None
    nbytes = storage.nbytes()
    return (storage.data_ptr(), nbytes) if nbytes else None


def tensor_bytes(tensors: Iterable[Any]) -> int:
    """Bytes of the distinct storages behind ``tensors`` (views of one storage count once)."""
    seen = {}
    for t in tensors:
        key = _storage_key(t)
        if key is not None:
            seen[key[0]] = key[1]
    return sum(seen.values())


def _module_tensors(model: Any) -> list[Any]:
    tensors = [*model.parameters(), *model.buffers()]
    for module in model.modules():  # quantised modules keep packed weights outside parameters()
        for value in vars(module).values():
            if hasattr(value, "untyped_storage"):
                tensors.append(value)
    return tensors


def cpu_peak_bytes(model: Any, inputs: tuple[Any, ...], call: Callable[[], Any] | None = None) -> int:
    """Peak bytes during ``model(*inputs)`` (or ``call()``) by tensor tracking; see the module doc."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    existing = [*_module_tensors(model), *inputs]
    preexisting = {k[0] for k in map(_storage_key, existing) if k is not None}
    static = tensor_bytes(existing)
    live: dict[int, list[int]] = {}  # data_ptr -> [bytes, tensors holding it]
    state = {"current": 0, "peak": 0}
    tracked: set[int] = set()

    def release(ptr: int, tid: int) -> None:
        tracked.discard(tid)
        entry = live.get(ptr)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            state["current"] -= entry[0]
            del live[ptr]

    class Tracker(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in tree_leaves(out):
                if isinstance(t, torch.Tensor) and id(t) not in tracked:
                    key = _storage_key(t)
                    if key is None or key[0] in preexisting:
                        continue
                    ptr, nbytes = key
                    if ptr in live:
                        live[ptr][1] += 1
                    else:
                        live[ptr] = [nbytes, 1]
                        state["current"] += nbytes
                        state["peak"] = max(state["peak"], state["current"])
                    tracked.add(id(t))
                    weakref.finalize(t, release, ptr, id(t))
            return out

    with torch.inference_mode(), Tracker():
        result = call() if call is not None else model(*inputs)
        del result
    return static + state["peak"]


def cuda_peak_bytes(call: Callable[[], Any]) -> int:
    """Peak allocated CUDA bytes during ``call()`` (allocator statistics, parameters and input included)."""
    import torch

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode():
        result = call()
    torch.cuda.synchronize()
    del result
    return int(torch.cuda.max_memory_allocated())
