"""Invariants of every registered proxy on real NB201 cells, through `score_architecture`.

Determinism (DESIGN.md "Determinism": same seed, same protocol -> bit-identical on CPU; seeds are
explicit, never global state), proxy cards checked against behaviour (needs_data, needs_grad,
needs_labels, kind), degenerate cells, failure statuses, and isomorphic cells. Tiny networks
(C=4, N=1, 8 px, batch 8) keep this fast.
"""

from __future__ import annotations

import random
import uuid

import numpy as np
import pytest
import torch

import proxies
import spaces
from proxies.base import PROXIES, ProxyCard, ProxyContext, Undefined, get_proxy, register_proxy
from proxies.protocol import Protocol
from proxies.runner import STATUSES, ProxyScore, score_architecture

TINY = Protocol(task="mnist5k", batch_size=8, resolution=8, build={"C": 4, "N": 1})
ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ALL = [
    n for n in proxies.list_proxies() if "image" in get_proxy(n).card.inputs
]  # token-only: test_text_tasks
ZERO_ON_DEGENERATE = ("synflow", "snip", "grad_norm")

# Degenerate NB201 cells of different structure: every input->output path passes through `none`.
DEGENERATE = {
    "all_none": "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "output_edges_none": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|",
    "input_edges_none": "|none~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|",
    "cut_in_the_middle": "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_1x1~2|",
    "skip_then_cut": "|skip_connect~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|none~0|none~1|none~2|",
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def space():
    return spaces.get("nb201")


@pytest.fixture(scope="module")
def arch(space):
    a = space.parse(ARCH)
    assert not space.is_degenerate(a)
    return a


def score(space, arch, names, protocol=TINY, seed=0) -> dict[str, ProxyScore]:
    return {s.proxy: s for s in score_architecture(space, arch, list(names), protocol, seed)}


def value(space, arch, name, protocol=TINY, seed=0) -> float:
    s = score(space, arch, [name], protocol, seed)[name]
    assert s.status == "ok", (name, s.status, s.message)
    return s.value


@pytest.fixture(scope="module")
def reference(space, arch):
    """Every proxy on ARCH under TINY with seed 0, computed once for the module."""
    return score(space, arch, ALL)


@pytest.fixture
def temp_proxy():
    """Register throw-away proxies under unique names and remove them afterwards."""
    names = []

    def add(fn, **card):
        name = f"zz_test_{uuid.uuid4().hex[:10]}"
        register_proxy(ProxyCard(name, "test-only proxy", "none", **card), fn)
        names.append(name)
        return name

    try:
        yield add
    finally:
        for name in names:
            PROXIES._entries.pop(name, None)


# ---- the registry and the cards ---------------------------------------------------------------------


def test_builtin_proxies_are_registered():
    assert {"params", "flops", "synflow", "snip", "grad_norm", "jacob_cov", "nwot"} <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_cards_are_complete(name):
    card = get_proxy(name).card
    assert card.name == name
    assert card.summary and card.paper and card.unit
    assert card.kind in ("functional", "cost")
    if card.kind == "cost":
        assert not card.needs_data and not card.needs_grad and not card.needs_labels


def test_cost_proxies_on_images_are_params_flops_and_model_bytes():
    assert {n for n in ALL if get_proxy(n).card.kind == "cost"} == {"params", "flops", "model_bytes"}


def test_reference_scores_are_all_ok(reference):
    for name, s in reference.items():
        assert s.status == "ok", (name, s.message)
        assert s.message == ""
        assert np.isfinite(s.value)
        assert s.seconds >= 0


# ---- determinism ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_same_seed_gives_bit_identical_values(space, arch, reference, name):
    assert value(space, arch, name) == reference[name].value


@pytest.mark.parametrize("name", ALL)
def test_values_do_not_depend_on_global_rng_state(space, arch, reference, name):
    torch.manual_seed(12345)
    np.random.seed(6789)
    random.seed(1)
    assert value(space, arch, name) == reference[name].value


def test_scoring_alone_gives_the_value_scored_together(space, arch, reference):
    """Shared passes (the batch, the loss gradients) do not make a proxy depend on its neighbours."""
    alone = {name: value(space, arch, name) for name in ("snip", "nwot")}
    assert alone == {name: reference[name].value for name in alone}


def test_score_architecture_leaves_global_rng_state_unchanged(space, arch):
    torch.manual_seed(7)
    np.random.seed(7)
    random.seed(7)
    before = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    score(space, arch, ALL, seed=3)
    after = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    assert torch.equal(before[0], after[0])
    assert before[1][0] == after[1][0]
    np.testing.assert_array_equal(before[1][1], after[1][1])
    assert before[1][2:] == after[1][2:]
    assert before[2] == after[2]


def test_fresh_model_is_identical_every_time(space, arch):
    ctx = ProxyContext(space, arch, TINY, seed=4)
    a, b = ctx.fresh_model(), ctx.fresh_model()
    for (na, pa), (nb, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert na == nb
        assert torch.equal(pa, pb)


@pytest.mark.parametrize("name", ["snip", "grad_norm", "jacob_cov", "nwot", "synflow"])
def test_different_seeds_give_different_functional_values(space, arch, reference, name):
    """The seed picks the batch and the init: functional proxies must move with it."""
    assert value(space, arch, name, seed=1) != reference[name].value


@pytest.mark.parametrize("name", ["params", "flops"])
def test_cost_proxies_do_not_depend_on_seed_init_or_data(space, arch, reference, name):
    for protocol, seed in (
        (TINY, 1),
        (TINY, 99),
        (Protocol(**{**TINY.to_dict(), "init": "kaiming_normal"}), 0),
        (Protocol(**{**TINY.to_dict(), "input": "gaussian", "batch_size": 4}), 0),
    ):
        assert value(space, arch, name, protocol, seed) == reference[name].value


def test_params_do_not_depend_on_resolution_but_flops_do(space, arch, reference):
    big = Protocol(**{**TINY.to_dict(), "resolution": 16})
    assert value(space, arch, "params", big) == reference["params"].value
    # every conv sees 4x the positions; only the classifier's MACs stay the same
    assert value(space, arch, "flops", big) > 3 * reference["flops"].value


def test_params_match_the_built_network(space, arch, reference):
    from proxies.cost import count_params

    model = space.build(arch, "mnist5k", C=4, N=1)
    assert reference["params"].value == count_params(model) / 1e6
    assert reference["params"].value == sum(p.numel() for p in model.parameters()) / 1e6


def test_flops_agree_with_torch_flop_counter(space, arch, reference):
    """NB201 MFLOPs = torch FLOPs / 2 + bias outputs (only the classifier has a bias: 10 per image)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = space.build(arch, "mnist5k", C=4, N=1).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 1, 8, 8))
    assert reference["flops"].value == pytest.approx((counter.get_total_flops() / 2 + 10) / 1e6, rel=1e-12)


def test_synflow_depends_on_init_not_on_data(space, arch, reference):
    gaussian = Protocol(**{**TINY.to_dict(), "input": "gaussian"})
    bigger_batch = Protocol(**{**TINY.to_dict(), "batch_size": 16})
    assert value(space, arch, "synflow", gaussian) == reference["synflow"].value
    assert value(space, arch, "synflow", bigger_batch) == reference["synflow"].value
    kaiming = Protocol(**{**TINY.to_dict(), "init": "kaiming_normal"})
    assert value(space, arch, "synflow", kaiming) != reference["synflow"].value


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("snip", {"bn_mode": "eval"}),
        ("snip", {"input": "gaussian"}),
        ("nwot", {"input": "gaussian"}),
        ("jacob_cov", {"input": "gaussian"}),
        ("grad_norm", {"init": "xavier_uniform"}),
        ("jacob_cov", {"params": {"jacob_cov": {"k": 1e-2}}}),
    ],
)
def test_protocol_fields_change_what_is_measured(space, arch, reference, name, change):
    protocol = Protocol(**{**TINY.to_dict(), **change})
    assert protocol.hash != TINY.hash
    assert value(space, arch, name, protocol) != reference[name].value


# ---- the cards against behaviour ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_needs_data_card_matches_use_of_the_batch(space, arch, reference, name, monkeypatch):
    """Proxies whose card says needs_data=False must work without ever touching ctx.batch()."""

    def no_batch(self):
        raise RuntimeError("this proxy touched the data")

    monkeypatch.setattr(ProxyContext, "batch", no_batch)
    s = score(space, arch, [name])[name]
    if get_proxy(name).card.needs_data:
        assert s.status == "error"
        assert "touched the data" in s.message
    else:
        assert s.status == "ok"
        assert s.value == reference[name].value


@pytest.mark.parametrize("name", ALL)
def test_needs_grad_card_matches_use_of_backward(space, arch, reference, name, monkeypatch):
    """Proxies whose card says needs_grad=False must work without any backward pass (backward or grad)."""

    def no_backward(*args, **kwargs):
        raise RuntimeError("this proxy ran backward")

    monkeypatch.setattr(torch.autograd, "backward", no_backward)
    monkeypatch.setattr(torch.autograd, "grad", no_backward)
    s = score(space, arch, [name])[name]
    if get_proxy(name).card.needs_grad:
        assert s.status == "error"
        assert "ran backward" in s.message
    else:
        assert s.status == "ok"
        assert s.value == reference[name].value


@pytest.mark.parametrize("name", ALL)
def test_needs_labels_card_matches_use_of_the_labels(space, arch, reference, name, monkeypatch):
    """Relabelling the batch changes exactly the proxies whose card says needs_labels=True.

    Two relabellings: shifting every label (new targets, same grouping of images) and merging every
    image into one class (a new grouping). A proxy that only groups images by label (epe_nas) cannot
    see the shift, so a label-using proxy must change under at least one of them; a proxy that does
    not use labels must change under neither.
    """
    original = ProxyContext.batch
    got = []
    for relabel in (lambda y: (y + 1) % 10, lambda y: torch.zeros_like(y)):

        def relabelled(self, relabel=relabel):
            x, y = original(self)
            return x, relabel(y)

        monkeypatch.setattr(ProxyContext, "batch", relabelled)
        got.append(value(space, arch, name))
    if get_proxy(name).card.needs_labels:
        assert any(g != reference[name].value for g in got)
    else:
        assert all(g == reference[name].value for g in got)


# ---- degenerate cells -------------------------------------------------------------------------------


def test_degenerate_examples_are_degenerate_members_of_the_space(space):
    published = {a.string for a in space.enumerate() if space.is_degenerate(a)}
    for text in DEGENERATE.values():
        a = space.parse(text)
        assert space.is_degenerate(a)
        assert a.string in published
    assert len({space.parse(t).string for t in DEGENERATE.values()}) == len(DEGENERATE)


@pytest.mark.parametrize("kind", sorted(DEGENERATE))
def test_degenerate_cells(space, kind):
    arch = space.parse(DEGENERATE[kind])
    scores = score(space, arch, ALL)
    for name, s in scores.items():
        assert s.status in ("ok", "nan"), (name, s.status, s.message)
        assert s.status in STATUSES
        assert "\n" not in s.message
        if s.status == "nan":
            assert s.value is None and s.message
    for name in ZERO_ON_DEGENERATE:
        assert scores[name].status == "ok"
        assert scores[name].value == 0.0
    assert scores["jacob_cov"].status == "nan"
    assert "constant" in scores["jacob_cov"].message
    for name in ("params", "flops"):
        assert scores[name].status == "ok" and scores[name].value > 0


@pytest.mark.parametrize("kind", ["all_none", "output_edges_none"])
def test_degenerate_behaviour_matches_the_cards(space, kind):
    """A card's ``degenerate`` line promises 0.0 or status nan; check the promise on two cells."""
    scores = score(space, space.parse(DEGENERATE[kind]), ALL)
    for name, s in scores.items():
        promise = get_proxy(name).card.degenerate
        if promise.startswith("0.0"):
            assert (s.status, s.value) == ("ok", 0.0), name
        elif promise.startswith("status nan"):
            assert s.status == "nan", name


def test_context_knows_a_cell_is_degenerate(space, arch):
    assert ProxyContext(space, space.parse(DEGENERATE["all_none"]), TINY, 0).degenerate
    assert not ProxyContext(space, arch, TINY, 0).degenerate


def test_nwot_on_an_all_none_cell_is_nan_not_error(space):
    """With N=1 every ReLU after the zeroed cell sees zeros: identical codes, singular kernel."""
    s = score(space, space.parse(DEGENERATE["all_none"]), ["nwot"])["nwot"]
    assert s.status == "nan" and "singular" in s.message


# ---- failures become statuses -------------------------------------------------------------------------


def test_a_raising_proxy_gives_error_and_the_others_still_run(space, arch, reference, temp_proxy):
    def boom(ctx):
        raise RuntimeError("boom\nsecond line of the traceback")

    bad = temp_proxy(boom)
    scores = score_architecture(space, arch, ["params", bad, "synflow", "snip"], TINY, 0)
    assert [s.proxy for s in scores] == ["params", bad, "synflow", "snip"]
    by_name = {s.proxy: s for s in scores}
    assert by_name[bad].status == "error"
    assert by_name[bad].value is None
    assert by_name[bad].message == "RuntimeError: boom"
    for name in ("params", "synflow", "snip"):
        assert by_name[name].status == "ok"
        assert by_name[name].value == reference[name].value


@pytest.mark.parametrize(
    ("returned", "status"),
    [(float("nan"), "nan"), (float("inf"), "inf"), (float("-inf"), "inf"), (2.5, "ok")],
)
def test_non_finite_values_become_statuses(space, arch, temp_proxy, returned, status):
    name = temp_proxy(lambda ctx: returned, needs_data=False)
    s = score(space, arch, [name])[name]
    assert s.status == status
    assert s.value == (returned if status == "ok" else None)
    if status != "ok":
        assert s.message


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (Undefined("K is singular"), "nan"),
        (OverflowError("too big"), "inf"),
        (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB\ndetails"), "oom"),
        (KeyError("missing"), "error"),
        (ZeroDivisionError("division by zero"), "error"),
    ],
)
def test_exceptions_become_statuses_with_one_line_messages(space, arch, temp_proxy, exc, status):
    def raiser(ctx):
        raise exc

    name = temp_proxy(raiser)
    s = score(space, arch, [name, "params"])
    assert s[name].status == status
    assert s[name].value is None
    assert s[name].message and "\n" not in s[name].message
    assert s["params"].status == "ok"


def test_an_oom_with_an_empty_message_is_still_a_status(space, arch, temp_proxy):
    def raiser(ctx):
        raise torch.OutOfMemoryError()

    name = temp_proxy(raiser)
    s = score(space, arch, [name])[name]
    assert s.status == "oom"


def test_unknown_proxy_is_a_clear_error(space, arch):
    with pytest.raises(KeyError, match="snip"):
        score_architecture(space, arch, ["snipp"], TINY, 0)


def test_temp_proxies_are_removed(temp_proxy):
    name = temp_proxy(lambda ctx: 1.0)
    assert name in proxies.list_proxies()
    PROXIES._entries.pop(name)
    assert name not in proxies.list_proxies()
    assert not [n for n in proxies.list_proxies() if n.startswith("zz_test_")]


# ---- isomorphic cells -------------------------------------------------------------------------------

# Node 2 is dead (its output edge is `none`) and its incoming ops have no parameters: the two cells
# differ only there, share an arch_id, build the same parameters in the same order and compute the
# same function bit for bit.
DEAD_NODE_PAIR = (
    "|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|none~2|",
    "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|",
)
# Isomorphic by NB201's rules with equal op multisets: out = pool(x) + conv(x) + pool(x) + conv(x),
# summed in a different order (so equal up to float rounding).
REORDERED_PAIR = (
    "|skip_connect~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|",
    "|skip_connect~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|skip_connect~2|",
)
# Same arch_id, but one carries a dead 3x3 conv: cost metrics are per concrete architecture.
DEAD_CONV_PAIR = (
    "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|",
)


def _pair(space, pair):
    a, b = (space.parse(t) for t in pair)
    assert a != b
    assert a.arch_id == b.arch_id
    return a, b


def test_dead_node_pair_is_bit_identical(space):
    a, b = _pair(space, DEAD_NODE_PAIR)
    assert sorted(space.ops_of(a)) == sorted(space.ops_of(b))
    sa, sb = score(space, a, ALL), score(space, b, ALL)
    for name in ALL:
        assert sa[name].status == sb[name].status == "ok"
        assert sa[name].value == sb[name].value, name
    ca, cb = ProxyContext(space, a, TINY, 0), ProxyContext(space, b, TINY, 0)
    x, _ = ca.batch()
    assert torch.equal(ca.fresh_model()(x), cb.fresh_model()(x))


def test_reordered_pair_is_functionally_equal(space):
    a, b = _pair(space, REORDERED_PAIR)
    assert sorted(space.ops_of(a)) == sorted(space.ops_of(b))
    ca, cb = ProxyContext(space, a, TINY, 0), ProxyContext(space, b, TINY, 0)
    x, _ = ca.batch()
    torch.testing.assert_close(ca.fresh_model()(x), cb.fresh_model()(x), rtol=1e-5, atol=1e-5)
    sa, sb = score(space, a, ALL), score(space, b, ALL)
    for name in ALL:
        assert sa[name].status == sb[name].status == "ok"
        assert sa[name].value == pytest.approx(sb[name].value, rel=1e-5), name
    # cost metrics count the same layers: exactly equal
    for name in ("params", "flops"):
        assert sa[name].value == sb[name].value, name
    # synflow sees the same |weights|, but its float64 sums run over the edges in a different order,
    # so only the last bits may differ (1 ulp on this machine's CPU kernels)
    assert sa["synflow"].value == pytest.approx(sb["synflow"].value, rel=1e-12, abs=0)


def test_dead_conv_pair_shares_arch_id_but_not_cost(space):
    a, b = _pair(space, DEAD_CONV_PAIR)
    sa, sb = score(space, a, ["params", "flops"]), score(space, b, ["params", "flops"])
    # a's dead 3x3 conv, one per stage at C = 4, 8, 16 channels, still has 9 C^2 weights and 2 C BN
    # parameters each
    assert (sa["params"].value - sb["params"].value) * 1e6 == pytest.approx(
        sum(9 * c * c + 2 * c for c in (4, 8, 16))
    )
    assert sa["flops"].value > sb["flops"].value
