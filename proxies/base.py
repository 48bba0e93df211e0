"""Proxy cards, the `Proxy` wrapper, the per-architecture `ProxyContext` and the proxy registry.

A proxy is a function ``fn(ctx: ProxyContext) -> float`` plus a :class:`ProxyCard` that says what
it needs and which direction is better. Built-in proxies register their card here, with the function
as a lazy ``"module:function"`` target, so listing proxies never imports torch. Third parties add a
:class:`Proxy` object through the entry-point group ``archbench.proxies``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from spaces.registry import Registry

if TYPE_CHECKING:
    import torch

    from proxies.protocol import Protocol
    from spaces.base import Architecture, SearchSpace


class Undefined(ArithmeticError):
    """A proxy's value is mathematically undefined for this architecture (stored as status ``nan``)."""


@dataclass(frozen=True)
class ProxyCard:
    """What a proxy needs and means; copied into tables and checked against behaviour by the tests."""

    name: str
    summary: str
    paper: str
    unit: str = "score"
    kind: Literal["functional", "cost"] = "functional"
    needs_data: bool = True
    needs_labels: bool = False
    needs_grad: bool = True
    higher_is_better: bool = True
    degenerate: str = "computed as usual"
    """What the proxy gives on a cell whose output ignores its input."""


@dataclass(frozen=True)
class Proxy:
    """A registered proxy: its card and its scoring function (imported on first use)."""

    card: ProxyCard
    target: str | Callable[[ProxyContext], float] = field(repr=False)

    @property
    def name(self) -> str:
        """The registered name."""
        return self.card.name

    def fn(self) -> Callable[[ProxyContext], float]:
        """The scoring function."""
        if callable(self.target):
            return self.target
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def score(self, ctx: ProxyContext) -> float:
        """The proxy's value on ``ctx``'s architecture; raises :class:`Undefined` where undefined."""
        return float(self.fn()(ctx))


PROXIES: Registry[Proxy] = Registry("proxy", entry_point_group="archbench.proxies")


def register_proxy(card: ProxyCard, target: str | Callable[[ProxyContext], float]) -> Proxy:
    """Register a proxy under ``card.name``."""
    proxy = Proxy(card, target)
    PROXIES.register(card.name, proxy)
    return proxy


def get_proxy(name: str) -> Proxy:
    """The proxy registered as ``name`` (KeyError with suggestions if unknown)."""
    proxy = PROXIES.get(name)
    if not isinstance(proxy, Proxy):
        raise TypeError(f"entry point for proxy {name!r} gave {type(proxy).__name__}, not a proxies.Proxy")
    return proxy


def list_proxies(filter: str | None = None) -> list[str]:
    """Registered proxy names, optionally filtered by an fnmatch pattern."""
    return PROXIES.names(filter)


class ProxyContext:
    """One architecture under one protocol and seed: fresh models, the batch, and shared passes.

    Every call of :meth:`fresh_model` returns an identically initialised network (the seed is applied
    inside ``torch.random.fork_rng``, so global RNG state is untouched). Work that several proxies
    use, such as one loss forward+backward, is computed once and cached here.
    """

    def __init__(
        self, space: SearchSpace, arch: Architecture, protocol: Protocol, seed: int, device: str = "cpu"
    ) -> None:
        from spaces.tasks import get_task

        self.space = space
        self.arch = arch
        self.protocol = protocol
        self.seed = int(seed)
        self.device = device
        self.task = get_task(protocol.task)
        self.resolution = protocol.resolution or self.task.resolution
        space.check_resolution(self.resolution)
        self._cache: dict[str, Any] = {}

    @property
    def dtype(self) -> torch.dtype:
        """The protocol's torch dtype."""
        import torch

        return getattr(torch, self.protocol.dtype)

    @property
    def degenerate(self) -> bool:
        """True when the architecture's output ignores its input."""
        return self.space.is_degenerate(self.arch)

    def fresh_model(self, bn: bool = True) -> torch.nn.Module:
        """A newly built, protocol-initialised network in the protocol's BN mode, dtype and device.

        Args:
            bn: False replaces every BatchNorm by identity (as SynFlow's reference does).
        """
        import torch

        from proxies.init import INITS

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = self.space.build(self.arch, self.task, **self.protocol.build_options())
            INITS.get(self.protocol.init)(model)
        if not bn:
            _strip_batchnorm(model)
        model.train(self.protocol.bn_mode == "train")
        return model.to(device=self.device, dtype=self.dtype)

    def input_shape(self, batch_size: int | None = None) -> tuple[int, int, int, int]:
        """``(batch, channels, resolution, resolution)`` of the protocol's inputs."""
        n = self.protocol.batch_size if batch_size is None else batch_size
        return (n, self.task.in_channels, self.resolution, self.resolution)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The protocol's batch from the train split, chosen by the seed (or Gaussian noise)."""
        if "batch" not in self._cache:
            import torch

            from proxies import datasets

            x, y = datasets.batch(
                self.task.dataset, self.protocol.batch_size, self.seed, self.resolution, self.dtype
            )
            if self.protocol.input == "gaussian":
                gen = torch.Generator().manual_seed(self.seed)
                x = torch.randn(x.shape, generator=gen, dtype=torch.float32).to(self.dtype)
            self._cache["batch"] = (x.to(self.device), y.to(self.device))
        return self._cache["batch"]

    def loss_gradients(self) -> dict[str, torch.Tensor]:
        """Weights and loss gradients of every Conv2d/Linear layer after one shared forward+backward.

        Returns ``{layer_name: (weight, grad)}``; computed once per context and shared by every
        gradient proxy (snip, grad_norm, ...). Tensors are detached copies: callers cannot mutate them.
        """
        if "loss_gradients" not in self._cache:
            import torch
            import torch.nn.functional as F

            model = self.fresh_model()
            x, y = self.batch()
            model.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            self._cache["loss_gradients"] = {
                name: (m.weight.detach().clone(), _grad_or_zero(m.weight))
                for name, m in model.named_modules()
                if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)
            }
        return self._cache["loss_gradients"]


def _grad_or_zero(weight: torch.Tensor) -> torch.Tensor:
    import torch

    return torch.zeros_like(weight) if weight.grad is None else weight.grad.detach().clone()


def _strip_batchnorm(model: torch.nn.Module) -> None:
    import torch

    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.modules.batchnorm._BatchNorm):
                setattr(parent, child_name, torch.nn.Identity())
