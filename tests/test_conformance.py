"""Every registered proxy, and a third-party proxy from an entry point, passes the conformance suite."""

from __future__ import annotations

import pytest
import torch
from _plugins import plugin_entries

import proxies
from proxies.base import PROXIES, Proxy, ProxyCard
from proxies.conformance import check_proxy, proxy_checks

pytestmark = pytest.mark.usefixtures("one_torch_thread")


CASES = [(name, check_name) for name in proxies.list_proxies() for check_name, _ in proxy_checks(name)]


@pytest.mark.parametrize(("proxy", "check"), CASES, ids=[f"{p}-{c}" for p, c in CASES])
def test_registered_proxy_conforms(proxy, check):
    dict(proxy_checks(proxy))[check](proxies.get_proxy(proxy))


def weight_count_proxy(ctx) -> float:
    """A third-party proxy: number of Conv2d/Linear weights (data-free)."""
    model = ctx.fresh_model()
    return float(
        sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear))
    )


THIRD_PARTY = Proxy(
    ProxyCard(
        "zz_weights",
        "Conv/Linear weight count",
        "test plugin",
        kind="cost",
        needs_data=False,
        needs_grad=False,
    ),
    weight_count_proxy,
)


def label_peeking_proxy(ctx) -> float:
    """Broken on purpose: reads labels while its card says it does not."""
    _, y = ctx.batch()
    return float(y.sum())


BROKEN = Proxy(
    ProxyCard("zz_broken", "peeks at labels", "test plugin", needs_grad=False), label_peeking_proxy
)


@pytest.fixture
def plugins(monkeypatch):
    """Register THIRD_PARTY and BROKEN through a faked ``archbench.proxies`` entry-point group."""
    entries = {"zz_weights": f"{__name__}:THIRD_PARTY", "zz_broken": f"{__name__}:BROKEN"}
    yield from plugin_entries(monkeypatch, PROXIES, entries)


def test_entry_point_proxy_is_listed_and_passes_the_suite(plugins):
    assert "zz_weights" in proxies.list_proxies()
    results = check_proxy("zz_weights")
    assert results and set(results.values()) == {"passed"}, results
    assert "check_data_independent" in results


def test_suite_catches_a_card_that_lies(plugins):
    results = check_proxy("zz_broken")
    assert results["check_label_independent"].startswith("failed: proxy 'zz_broken'")
    with pytest.raises(AssertionError, match="depends on the labels"):
        check_proxy("zz_broken", raise_on_fail=True)
