"""A stand-in search space for proxy tests on hand-built modules."""

from __future__ import annotations

from proxies.base import ProxyContext
from proxies.protocol import Protocol


class FakeSpace:
    """The least a `ProxyContext` needs from a space; builds ``factory()`` and records the options given."""

    def __init__(self, factory):
        self.factory = factory
        self.builds: list[dict] = []

    def build(self, arch, task, **options):
        self.builds.append(options)
        return self.factory()

    def is_degenerate(self, arch):
        return False

    def check_resolution(self, resolution):
        if resolution < 4:
            raise ValueError(f"resolution {resolution} too small")


def context(factory, shared=(), **protocol) -> ProxyContext:
    """A context on ``factory()``'s module with a tiny mnist5k protocol (batch 8, 4 px)."""
    p = Protocol(**{"task": "mnist5k", "batch_size": 8, "resolution": 4, **protocol})
    return ProxyContext(FakeSpace(factory), None, p, seed=0, shared=shared)
