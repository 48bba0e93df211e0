"""Score one architecture with several proxies under one protocol; failures become statuses, not crashes."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from proxies.base import ProxyContext, Undefined, get_proxy
from spaces.failures import failure_status

if TYPE_CHECKING:
    from proxies.protocol import Protocol
    from spaces.base import Architecture, SearchSpace

STATUSES = ("ok", "nan", "inf", "oom", "error", "unavailable")
"""Every status a value can carry; ``value`` is set exactly when the status is ``ok``."""


@dataclass(frozen=True)
class ProxyScore:
    """One proxy value with its status (``ok | nan | inf | oom | error``), message and cost in seconds."""

    proxy: str
    value: float | None
    status: str
    message: str
    seconds: float


def _one_line(text: str, fallback: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else fallback


def _classify(value: float) -> tuple[float | None, str, str]:
    if math.isnan(value):
        return None, "nan", "the proxy returned NaN"
    if math.isinf(value):
        return None, "inf", f"the proxy returned {value}"
    return value, "ok", ""


def score_architecture(
    space: SearchSpace,
    arch: Architecture,
    proxies: list[str],
    protocol: Protocol,
    seed: int,
    device: str = "cpu",
) -> list[ProxyScore]:
    """Every proxy in ``proxies`` on ``arch``; shared passes are computed once and reused.

    A proxy's ``seconds`` includes any shared pass it triggered first, so the sum over proxies is the
    wall time of the whole evaluation.
    """
    resolved = [get_proxy(name) for name in proxies]
    shared = {product for proxy in resolved for product in proxy.card.shared}
    ctx = ProxyContext(space, arch, protocol, seed, device, shared=shared)
    scores = []
    for proxy in resolved:
        start = time.perf_counter()
        try:
            value, status, message = _classify(proxy.score(ctx))
        except Undefined as exc:
            value, status, message = None, "nan", _one_line(str(exc), "undefined")
        except OverflowError as exc:
            value, status, message = None, "inf", _one_line(str(exc), "overflow")
        except Exception as exc:
            value, status, message = (
                None,
                failure_status(exc),
                _one_line(f"{type(exc).__name__}: {exc}", type(exc).__name__),
            )
        scores.append(ProxyScore(proxy.name, value, status, message, time.perf_counter() - start))
    return scores
