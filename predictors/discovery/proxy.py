"""A discovered expression as a saved file and as a registered proxy that passes ``check_proxy``.

The file (JSON, written atomically) holds the expression's text, its hash and formula, its direction
(the sign of its Kendall tau on the training architectures), the gather settings and the proxy
protocol it was discovered under, and its training and held-out figures. :func:`load_expression`
re-parses the text and refuses a file whose hash does not match it. :func:`register_discovered`
registers it in the proxy registry under ``name`` (default ``disc_<first 8 hex digits of the hash>``),
with a card whose summary carries the full expression hash and whose needs follow from its terminals,
so ``archbench build --proxies disc_...`` and the conformance suite treat it like any other proxy.
Scoring one architecture runs :func:`predictors.discovery.gather.gather` on the proxy context (the
protocol's network, batch and seed) and evaluates the expression on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from predictors.discovery.expr import Node, formula, parse
from predictors.discovery.gather import gather_settings

FORMAT = "archbench-discovered-proxy"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Discovered:
    """A discovered expression with what defines and documents it."""

    expr: Node
    higher_is_better: bool
    protocol: dict[str, Any] = field(default_factory=dict)
    gather: dict[str, Any] = field(default_factory=gather_settings)
    figures: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The default registry name, ``disc_`` plus the first 8 hex digits of the expression hash."""
        return f"disc_{self.expr.hash[:8]}"

    def to_dict(self) -> dict[str, Any]:
        """The file's JSON content."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "expression": self.expr.text,
            "hash": self.expr.hash,
            "formula": formula(self.expr),
            "higher_is_better": self.higher_is_better,
            "protocol": self.protocol,
            "gather": self.gather,
            "figures": self.figures,
            "provenance": self.provenance,
        }


def save_expression(item: Discovered, path: str | Path) -> Path:
    """Write ``item`` to ``path`` atomically (a temporary sibling renamed into place)."""
    from spaces.atomic import atomic_file

    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(item.to_dict(), indent=2, sort_keys=True) + "\n")
    return path


def load_expression(path: str | Path) -> Discovered:
    """The discovered expression saved at ``path``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, another format, a bad expression, or a hash that does not match it.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a discovered-proxy file (format must be {FORMAT!r})")
    if data.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has format_version {data.get('format_version')!r}, this archbench reads {FORMAT_VERSION}"
        )
    expr = parse(str(data.get("expression", "")))
    if data.get("hash") != expr.hash:
        raise ValueError(f"{path}: the recorded hash does not match the expression (edited or corrupt)")
    if data.get("gather", gather_settings()) != gather_settings():
        raise ValueError(
            f"{path} was discovered on other gather settings {data.get('gather')}, not {gather_settings()}"
        )
    if not isinstance(data.get("higher_is_better"), bool):
        raise ValueError(f"{path}: higher_is_better must be true or false")
    return Discovered(
        expr,
        data["higher_is_better"],
        dict(data.get("protocol") or {}),
        dict(data["gather"]) if "gather" in data else gather_settings(),
        dict(data.get("figures") or {}),
        dict(data.get("provenance") or {}),
    )


@dataclass(frozen=True)
class ExpressionScore:
    """The picklable scoring function of a discovered proxy: gather, then evaluate the expression."""

    text: str

    def __call__(self, ctx: Any) -> float:
        """The expression's value on ``ctx``'s architecture; :class:`proxies.base.Undefined` if it fails."""
        from predictors.discovery.evaluate import evaluate
        from predictors.discovery.gather import gather
        from proxies.base import Undefined

        expr = parse(self.text)
        result = evaluate(expr, gather(ctx, expr.terminals))
        if result.status != "ok" or result.scores is None:
            raise Undefined(f"the expression gives {result.status} here: {result.message}")
        return float(result.scores[0])


def discovered_card(item: Discovered, name: str | None = None) -> Any:
    """The proxy card of ``item``: needs from its terminals, direction from training, hash in the summary."""
    from proxies.base import ProxyCard

    terms = item.expr.terminals
    return ProxyCard(
        name or item.name,
        f"discovered expression {item.expr.hash}: {formula(item.expr)}",
        "archbench proxy discovery (EZNAS idea: Akhauri et al., NeurIPS 2022)",
        needs_data=not terms <= {"W"},
        needs_labels=bool(terms & {"dW", "dZ"}),
        needs_grad=bool(terms & {"dW", "dZ"}),
        higher_is_better=item.higher_is_better,
        degenerate="computed as usual on the gathered statistics; status nan where the expression is not finite",
        inputs=("image",),
    )


def discovered_proxy(item: Discovered, name: str | None = None) -> Any:
    """A :class:`proxies.base.Proxy` for ``item`` (not registered)."""
    from proxies.base import Proxy

    return Proxy(discovered_card(item, name), ExpressionScore(item.expr.text))


def register_discovered(path: str | Path, name: str | None = None) -> Any:
    """Load the file at ``path`` and register it as a proxy (ValueError if the name is taken)."""
    from proxies.base import PROXIES

    proxy = discovered_proxy(load_expression(path), name)
    PROXIES.register(proxy.name, proxy)
    return proxy
