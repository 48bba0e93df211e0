"""The one shared forward pass (proxies/passes.py) against independent routes, bit for bit.

Merging the loss, Hessian-gradient, input-Jacobian and ReLU-code products into one forward (and the
backward passes into one retained graph) must not change a single value: each product is compared with
the separate pass it replaces, on a real NB201 network in train-mode BN, and every proxy that reads a
shared product gives the same value scored alone as scored with all the others.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
from _proxy_helpers import context
from hypothesis import given, settings
from hypothesis import strategies as st

import proxies
import spaces
from proxies.base import ProxyContext, get_proxy
from proxies.grasp import grasp, hessian_gradient_products
from proxies.jacob_cov import jacob_cov, jacobian_rows
from proxies.nwot import agreement_kernel, nwot
from proxies.passes import PRODUCTS, primary_pass, relu_agreement
from proxies.runner import score_architecture

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROTOCOL = proxies.Protocol(task="mnist5k", batch_size=8, resolution=8, build={"C": 4, "N": 1})
ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
SHARED_READERS = [name for name in proxies.list_proxies() if get_proxy(name).card.shared]


@pytest.fixture(scope="module")
def ctx() -> ProxyContext:
    space = spaces.get("nb201")
    return ProxyContext(space, space.parse(ARCH), PROTOCOL, seed=0, shared=PRODUCTS)


def test_cards_name_only_known_products():
    assert SHARED_READERS, "no proxy reads a shared product"
    for name in proxies.list_proxies():
        assert set(get_proxy(name).card.shared) <= set(PRODUCTS), name


def test_every_product_equals_its_separate_pass(ctx):
    x, y = ctx.batch()
    together = primary_pass(ctx.fresh_model(), x, y, PRODUCTS)

    model = ctx.fresh_model()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    layers = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    separate_grads = [m.weight.grad for m in layers]
    gradients = together["loss"]
    assert len(gradients) == len(layers)
    for (_, g), expected in zip(gradients.values(), separate_grads, strict=True):
        assert torch.equal(g, expected)

    hg = hessian_gradient_products(ctx.fresh_model(), x, y, separate_grads)
    for got, expected in zip(together["hessian"].values(), hg, strict=True):
        assert torch.equal(got, expected)
    assert any(bool(h.abs().sum() > 0) for h in hg)

    assert np.array_equal(together["jacobian"], jacobian_rows(ctx.fresh_model(), x))
    assert np.array_equal(together["relu_kernel"], agreement_kernel(ctx.fresh_model(), x))


def test_one_product_alone_equals_it_computed_with_the_others(ctx):
    x, y = ctx.batch()
    together = primary_pass(ctx.fresh_model(), x, y, PRODUCTS)
    for product in ("jacobian", "relu_kernel"):
        alone = primary_pass(ctx.fresh_model(), x, y, [product])
        assert set(alone) == {product}
        assert np.array_equal(alone[product], together[product])


@pytest.mark.parametrize("name", SHARED_READERS)
def test_value_alone_equals_value_scored_with_everything(ctx, name):
    space = spaces.get("nb201")
    arch = space.parse(ARCH)
    alone = score_architecture(space, arch, [name], PROTOCOL, 0)[0]
    everything = {s.proxy: s for s in score_architecture(space, arch, SHARED_READERS, PROTOCOL, 0)}
    assert alone.status == "ok", alone.message
    assert alone.value == everything[name].value


def test_planned_context_builds_one_network_for_every_batch_proxy():
    calls = []

    def factory():
        calls.append(1)
        return nn.Sequential(nn.Flatten(), nn.Linear(16, 256), nn.ReLU(), nn.Linear(256, 10))

    from proxies.epe_nas import epe_nas
    from proxies.fisher import fisher
    from proxies.gradients import grad_norm, plain, snip

    c = context(factory, shared=PRODUCTS)
    for fn in (snip, grad_norm, plain, fisher, grasp, jacob_cov, epe_nas, nwot):
        fn(c)
    assert len(calls) == 1


def test_unknown_product_is_one_clear_error():
    with pytest.raises(ValueError, match="unknown shared products"):
        context(lambda: nn.Linear(16, 10), shared=("hessain",))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 9).flatmap(
        lambda n: st.lists(st.lists(st.booleans(), min_size=n, max_size=n), min_size=1, max_size=7)
    )
)
def test_relu_agreement_counts_agreeing_units(rows):
    codes = torch.tensor(rows, dtype=torch.bool)
    expected = np.array([[float(np.sum(np.array(a) == np.array(b))) for b in rows] for a in rows])
    got = relu_agreement(codes).numpy()
    assert got.dtype == np.float64
    assert np.array_equal(got, expected)


# ---- the registry of shared passes ------------------------------------------------------------------------
def test_a_new_shared_pass_is_one_registration_and_runs_once_per_context(monkeypatch):
    """A standalone pass plugs in by registering it: the context computes it once and caches it."""
    from proxies.shared import SHARED_PASSES, SharedPass

    calls = []

    def parameter_count(c: ProxyContext) -> int:
        calls.append(c)
        return sum(p.numel() for p in c.fresh_model().parameters())

    monkeypatch.setitem(
        SHARED_PASSES._entries, "parameter_count", SharedPass("parameter_count", parameter_count)
    )
    space = spaces.get("nb201")
    c = ProxyContext(space, space.parse(ARCH), PROTOCOL, seed=0, shared=("parameter_count", "loss"))
    assert c.shared("parameter_count") == c.shared("parameter_count") > 0
    assert len(calls) == 1 and "shared:loss" not in c._cache  # a standalone pass runs no forward
    with pytest.raises(ValueError, match="unknown shared products \\['nope'\\]"):
        ProxyContext(space, space.parse(ARCH), PROTOCOL, seed=0, shared=("nope",))


def test_synflow_gradients_are_a_registered_pass_shared_by_synflow_and_logsynflow():
    from proxies.shared import SHARED_PASSES
    from proxies.synflow import logsynflow, synflow, synflow_gradients

    assert not SHARED_PASSES.get("synflow_gradients").primary
    space = spaces.get("nb201")
    c = ProxyContext(space, space.parse(ARCH), PROTOCOL, seed=0)
    alone = synflow_gradients(c.fresh_model(bn=False), c.input_shape(1))
    shared = c.synflow_gradients()
    assert shared is c.shared("synflow_gradients")
    assert all(torch.equal(alone[k][1], shared[k][1]) for k in alone)
    assert np.isfinite(synflow(c)) and np.isfinite(logsynflow(c))
