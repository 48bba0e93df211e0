"""How a failed computation is recorded: ``oom`` for running out of memory, ``error`` for the rest.

Shared by proxies, training and hardware measurement, so one out-of-memory condition gets one
status wherever it happens. Torch reports a CUDA OOM as ``torch.OutOfMemoryError`` and a CPU one as a
``RuntimeError`` from its allocator ("DefaultCPUAllocator: not enough memory"); Python raises
``MemoryError``.
"""

from __future__ import annotations

_OOM_TEXTS = ("out of memory", "not enough memory", "can't allocate memory", "cannot allocate memory")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says the process ran out of (CPU or GPU) memory."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(t in text for t in _OOM_TEXTS)


def failure_status(exc: BaseException) -> str:
    """The record status of a computation that raised ``exc``: ``oom`` or ``error``."""
    return "oom" if is_out_of_memory(exc) else "error"


def failure_message(exc: BaseException, limit: int = 500) -> str:
    """``Type: first words`` of an exception on one line, at most ``limit`` characters."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:limit]
