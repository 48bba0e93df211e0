"""Zero-cost proxies and reduced training: the registry, the recorded `Protocol` and the runner."""

from __future__ import annotations

from proxies import catalog as _catalog  # noqa: F401  (registers the built-in proxies)
from proxies.base import (
    PROXIES,
    Proxy,
    ProxyCard,
    ProxyContext,
    Undefined,
    get_proxy,
    list_proxies,
    register_proxy,
)
from proxies.protocol import Protocol

__all__ = [
    "PROXIES",
    "Protocol",
    "Proxy",
    "ProxyCard",
    "ProxyContext",
    "Undefined",
    "get_proxy",
    "list_proxies",
    "register_proxy",
]
