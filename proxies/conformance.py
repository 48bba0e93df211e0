"""A conformance suite every proxy must pass (the scikit-learn ``check_estimator`` idea).

Each ``check_*`` is a small function ``check(proxy) -> None`` that raises AssertionError with a
message naming the proxy and the rule. :func:`proxy_checks` picks the checks that apply from the
proxy's card; :func:`check_proxy` runs them all and returns ``{check_name: "passed" | "failed: ..."}``.
Third-party proxies (entry-point group ``archbench.proxies``) run through the same suite.
The architectures (standard and degenerate), the task, the tiny build options and the resolution come
from the card of :data:`SPACE` (:class:`spaces.base.SpaceFixtures`); for NB201 that is a C=4, N=1
network at 8 px on the embedded data, so the checks take seconds.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Iterator
from functools import lru_cache

import torch

from proxies.base import Proxy, ProxyContext, get_proxy
from proxies.protocol import Protocol
from proxies.runner import ProxyScore, score_architecture
from spaces.base import SearchSpace, SpaceFixtures
from spaces.conformance import run_checks

Check = Callable[[Proxy], None]

SPACE = "nb201"
"""The space the suite scores image proxies on; its card supplies the architectures and the tiny build."""
SPACES_BY_INPUT = {"image": SPACE, "tokens": "gpt"}
"""The space the suite scores a proxy on, by the first input kind its card names (``ProxyCard.inputs``)."""
BATCH_SIZE = 8


@lru_cache(maxsize=2)
def _space(kind: str = "image") -> SearchSpace:
    import spaces

    space = spaces.get(SPACES_BY_INPUT[kind])
    if space.card.fixtures is None:
        raise ValueError(f"space {space.name!r} has no card fixtures to run the proxy conformance suite on")
    return space


def _kind(proxy: Proxy) -> str:
    return proxy.card.inputs[0]


def _fixtures(kind: str = "image") -> SpaceFixtures:
    return _space(kind).card.fixtures  # type: ignore[return-value]


@lru_cache(maxsize=2)
def _protocol(kind: str = "image") -> Protocol:
    """A tiny protocol from the card: its task, tiny build options and resolution, batch 8."""
    fixtures = _fixtures(kind)
    return Protocol(
        task=fixtures.task, batch_size=BATCH_SIZE, resolution=fixtures.resolution, build=fixtures.build
    )


def _score(proxy: Proxy, arch: str | None = None, seed: int = 0) -> ProxyScore:
    kind = _kind(proxy)
    space = _space(kind)
    arch = _fixtures(kind).archs[0] if arch is None else arch
    (score,) = score_architecture(space, space.parse(arch), [proxy.name], _protocol(kind), seed)
    return score


def _context(kind: str = "image") -> ProxyContext:
    space = _space(kind)
    return ProxyContext(space, space.parse(_fixtures(kind).archs[0]), _protocol(kind), 0)


def _fail(proxy: Proxy, rule: str) -> AssertionError:
    return AssertionError(f"proxy {proxy.name!r}: {rule}")


def check_card(proxy: Proxy) -> None:
    """The card is complete and coherent (cost proxies need neither data nor gradients)."""
    card = proxy.card
    if card.kind not in ("functional", "cost") or not isinstance(card.higher_is_better, bool):
        raise _fail(proxy, "card needs kind functional|cost and a boolean higher_is_better")
    if not card.paper or not card.summary:
        raise _fail(proxy, "card needs a paper and a summary")
    if card.kind == "cost" and (card.needs_data or card.needs_grad):
        raise _fail(proxy, "a cost proxy cannot need data or gradients")
    if card.needs_labels and not card.needs_data:
        raise _fail(proxy, "needs_labels implies needs_data")


def check_finite_on_standard_archs(proxy: Proxy) -> None:
    """Status ok and a finite value on every standard (non-degenerate) architecture."""
    for arch in _fixtures(_kind(proxy)).archs:
        score = _score(proxy, arch)
        if score.status != "ok" or score.value is None or not math.isfinite(score.value):
            raise _fail(proxy, f"got {score.status} ({score.message}) on {arch}")


def check_deterministic(proxy: Proxy) -> None:
    """Same seed, same protocol -> bit-identical value."""
    first, second = _score(proxy), _score(proxy)
    if (first.status, first.value) != (second.status, second.value):
        raise _fail(proxy, f"not deterministic: {first.value!r} then {second.value!r}")


def check_degenerate_documented(proxy: Proxy) -> None:
    """On a cell whose output ignores its input: a finite value or status nan with a reason, never an error.

    Spaces without degenerate architectures (the card lists none) have nothing to check.
    """
    for arch in _fixtures(_kind(proxy)).degenerate:
        score = _score(proxy, arch)
        if score.status == "ok" and score.value is not None and math.isfinite(score.value):
            continue
        if score.status == "nan" and score.message:
            continue
        raise _fail(
            proxy,
            f"degenerate cell gave {score.status} ({score.message}); card says: {proxy.card.degenerate}",
        )


def check_global_rng_untouched(proxy: Proxy) -> None:
    """Scoring leaves torch's global RNG state as it found it."""
    before = torch.get_rng_state()
    _score(proxy)
    if not torch.equal(before, torch.get_rng_state()):
        raise _fail(proxy, "changed torch's global RNG state")


def check_inputs_unchanged(proxy: Proxy) -> None:
    """The shared batch and the shared gradients are unchanged after the proxy ran."""
    ctx = _context(_kind(proxy))
    x, y = ctx.batch()
    x0, y0 = x.clone(), y.clone()
    grads = {k: (w.clone(), g.clone()) for k, (w, g) in ctx.loss_gradients().items()}
    proxy.score(ctx)
    if not (torch.equal(x, x0) and torch.equal(y, y0)):
        raise _fail(proxy, "mutated the shared input batch")
    for name, (w, g) in ctx.loss_gradients().items():
        if not (torch.equal(w, grads[name][0]) and torch.equal(g, grads[name][1])):
            raise _fail(proxy, f"mutated the shared loss gradients of layer {name}")


def check_data_independent(proxy: Proxy) -> None:
    """A proxy whose card says it needs no data never reads the batch."""
    ctx = _context(_kind(proxy))

    def refuse() -> None:
        raise AssertionError("batch() was called")

    ctx.batch = refuse  # type: ignore[method-assign]
    try:
        proxy.score(ctx)
    except AssertionError as exc:
        raise _fail(proxy, "card says needs_data=False but the proxy read the batch") from exc


def check_label_independent(proxy: Proxy) -> None:
    """A proxy whose card says it needs no labels gives the same value with permuted labels."""
    plain, shuffled = _context(_kind(proxy)), _context(_kind(proxy))
    x, y = shuffled.batch()
    shuffled._cache["batch"] = (x, (y + 1) % shuffled.task.num_classes)
    if proxy.score(plain) != proxy.score(shuffled):
        raise _fail(proxy, "card says needs_labels=False but the value depends on the labels")


def check_picklable(proxy: Proxy) -> None:
    """The proxy object pickles (process pools and Ray ship it to workers)."""
    try:
        clone = pickle.loads(pickle.dumps(proxy))
    except Exception as exc:
        raise _fail(proxy, f"cannot be pickled ({type(exc).__name__}: {exc})") from exc
    if clone.card != proxy.card:
        raise _fail(proxy, "card changed through pickling")


def proxy_checks(proxy: Proxy | str) -> Iterator[tuple[str, Check]]:
    """The checks that apply to ``proxy``, chosen from its card, as ``(name, check)`` pairs."""
    proxy = get_proxy(proxy) if isinstance(proxy, str) else proxy
    checks: list[Check] = [
        check_card,
        check_finite_on_standard_archs,
        check_deterministic,
        check_degenerate_documented,
        check_global_rng_untouched,
        check_inputs_unchanged,
        check_picklable,
    ]
    if not proxy.card.needs_data:
        checks.append(check_data_independent)
    if proxy.card.needs_data and not proxy.card.needs_labels:
        checks.append(check_label_independent)
    for check in checks:
        yield check.__name__, check


def check_proxy(proxy: Proxy | str, raise_on_fail: bool = False) -> dict[str, str]:
    """Run every applicable check; ``{check: "passed" | "failed: <reason>"}`` (or raise the first failure)."""
    proxy = get_proxy(proxy) if isinstance(proxy, str) else proxy
    return run_checks(proxy, proxy_checks(proxy), raise_on_fail)
