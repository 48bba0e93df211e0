"""Shared fixtures: torch thread counts for tests that run many tiny networks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hw_profiles.profile import torch_threads

__all__ = ["torch_threads"]  # the benchmarks import it from here


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Tiny networks run several times faster on one intra-op thread (and CI has 2 shared cores)."""
    with torch_threads(1):
        yield
