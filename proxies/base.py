"""Proxy cards, the `Proxy` wrapper, the per-architecture `ProxyContext` and the proxy registry.

A proxy is a function ``fn(ctx: ProxyContext) -> float`` plus a :class:`ProxyCard` that says what
it needs and which direction is better. Built-in proxies register their card here, with the function
as a lazy ``"module:function"`` target, so listing proxies never imports torch. Third parties add a
:class:`Proxy` object through the entry-point group ``archbench.proxies``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from proxies.shared import SHARED_PASSES
from spaces.base import ImageInput, InputSpec
from spaces.registry import Registry

if TYPE_CHECKING:
    import numpy as np
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
    shared: tuple[str, ...] = ()
    """Shared passes it reads (registered in :data:`proxies.shared.SHARED_PASSES`)."""
    inputs: tuple[str, ...] = ("image", "tokens")
    """Input kinds its math applies to (``image``: continuous pixels it may differentiate or perturb;
    ``tokens``: discrete ids); on another kind the record is status ``nan`` naming the reason."""
    activation: str = ""
    """The activation it reads (``"ReLU"`` for activation-pattern proxies): a network without one gets ``nan``."""
    revision: int = 1
    """Raised when a new implementation changes values (the module docstring says how); tables record a
    revision above 1 in the proxy's card, a journal refuses to mix revisions, and reverification compares
    only values of the installed revision."""


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
        """The proxy's value on ``ctx``'s architecture; raises :class:`Undefined` where undefined,
        including on inputs or networks its card says it does not apply to."""
        card = self.card
        spec = getattr(ctx, "input", None)  # duck-typed test contexts may have none: images
        kind = getattr(spec, "kind", "image")
        if kind not in card.inputs:
            raise Undefined(
                f"{card.name} is defined on {' / '.join(card.inputs)} inputs, not {kind} ({spec})"
            )
        if card.activation and hasattr(ctx, "has_module") and not ctx.has_module(card.activation):
            raise Undefined(f"{card.name} reads {card.activation} units; this network has none")
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
        self,
        space: SearchSpace,
        arch: Architecture,
        protocol: Protocol,
        seed: int,
        device: str = "cpu",
        shared: Iterable[str] = (),
    ) -> None:
        """``shared`` names the shared passes (:data:`proxies.shared.SHARED_PASSES`) the proxies to be
        scored will read, so the first request of a primary product computes every planned one in one
        forward; others are computed on demand."""
        from spaces.tasks import get_task

        unknown = set(shared) - set(SHARED_PASSES.names())
        if unknown:
            known = ", ".join(SHARED_PASSES.names())
            raise ValueError(f"unknown shared products {sorted(unknown)} (known: {known})")
        self._planned = frozenset(shared)

        self.space = space
        self.arch = arch
        self.protocol = protocol
        self.seed = int(seed)
        self.device = device
        self.task = get_task(protocol.task)
        self.input = self.input_at(protocol.resolution)
        """The task's input at the protocol's resolution, checked by the space."""
        self.resolution = getattr(self.input, "resolution", None)
        """Image side in pixels (None for inputs without one, such as token sequences)."""
        self._cache: dict[str, Any] = {}

    def input_at(self, resolution: int | None) -> InputSpec:
        """The task's input at ``resolution`` (None: native), checked by the space (ValueError if refused).

        A space without ``check_input`` (a duck-typed test double) is asked ``check_resolution``.
        """
        spec = self.task.input.at_resolution(resolution)
        check = getattr(self.space, "check_input", None)
        if check is not None:
            check(spec)
        elif isinstance(spec, ImageInput):
            self.space.check_resolution(spec.resolution)
        return spec

    @property
    def dtype(self) -> torch.dtype:
        """The protocol's torch dtype."""
        import torch

        return getattr(torch, self.protocol.dtype)

    @property
    def degenerate(self) -> bool:
        """True when the architecture's output ignores its input."""
        return self.space.is_degenerate(self.arch)

    def fresh_model(self, bn: bool = True, build: Mapping[str, Any] | None = None) -> torch.nn.Module:
        """A newly built, protocol-initialised network in the protocol's BN mode, dtype and device.

        Args:
            bn: False replaces every BatchNorm by identity (as SynFlow's reference does).
            build: build options that replace the protocol's (a proxy hyper-parameter, e.g. TE-NAS's
                thin network for linear regions); None keeps the protocol's.
        """
        import torch

        from proxies.init import INITS

        options = self.protocol.build_options() if build is None else dict(build)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = self.space.build(self.arch, self.task, **options)
            INITS.get(self.protocol.init)(model)
        if not bn:
            _strip_batchnorm(model)
        model.train(self.protocol.bn_mode == "train")
        return model.to(device=self.device, dtype=self.dtype)

    def has_module(self, class_name: str) -> bool:
        """True when the protocol's network has a module of class ``class_name`` (e.g. ``"ReLU"``)."""
        key = f"has:{class_name}"
        if key not in self._cache:
            self._cache[key] = any(type(m).__name__ == class_name for m in self.fresh_model().modules())
        return self._cache[key]

    def input_shape(self, batch_size: int | None = None) -> tuple[int, ...]:
        """The shape of a batch of the protocol's inputs (images: ``(batch, channels, side, side)``)."""
        return self.input.shape(self.protocol.batch_size if batch_size is None else batch_size)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The protocol's batch: from the train split, chosen by the seed; or the input's noise (with
        the real labels for ``gaussian``, uniform random labels and no data at all for ``random``)."""
        if "batch" not in self._cache:
            import torch

            from proxies import datasets

            if self.protocol.input == "random":  # no files: the shape and the number of classes
                n = self.protocol.batch_size
                generator = torch.Generator().manual_seed(self.seed)
                x = self.input.noise(n, generator, self.dtype)
                y = torch.randint(self.task.num_classes, self.task.output_shape(n)[:-1], generator=generator)
            else:
                x, y = datasets.batch(
                    self.task.dataset, self.protocol.batch_size, self.seed, self.input, self.dtype
                )
            if self.protocol.input == "gaussian":
                x = self.input.noise(len(x), torch.Generator().manual_seed(self.seed), self.dtype)
            self._cache["batch"] = (x.to(self.device), y.to(self.device))
        return self._cache["batch"]

    def loss_gradients(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Weights and loss gradients of every Conv2d/Linear layer after one shared forward+backward.

        Returns ``{layer_name: (weight, grad)}``; computed once per context and shared by every
        gradient proxy (snip, grad_norm, plain, grasp, ...). Tensors are detached copies: callers must
        not mutate them.
        """
        return self.shared("loss")

    def output_saliencies(self) -> dict[str, tuple[torch.Tensor, ...]]:
        """Per Conv2d/Linear layer, ``sum over positions of (output * dLoss/doutput)`` from the same pass.

        Returns ``{layer_name: (s, ...)}`` with one float64 tensor ``s`` of shape ``(batch, channels)``
        per call of the layer in the forward pass (positions are every dimension after the second, as
        in Turner et al.'s Fisher potential); a call whose output the loss does not reach gives zeros.
        Computed by the same forward+backward as :meth:`loss_gradients`, with hooks that only read.
        """
        return self.shared("saliency")

    def hessian_gradients(self) -> dict[str, torch.Tensor]:
        """GraSP's Hessian-gradient products ``{layer_name: H g}`` on the loss pass's own graph."""
        return self.shared("hessian")

    def input_jacobians(self) -> np.ndarray:
        """Per-image gradients of the summed outputs w.r.t. the input, ``(batch, features)`` float64.

        Shared by the Jacobian proxies (jacob_cov, epe_nas). The array is read-only.
        """
        return self.shared("jacobian")

    def relu_kernel(self) -> np.ndarray:
        """NASWOT's ``(batch, batch)`` float64 count of ReLU units on which two images agree (on/off)."""
        return self.shared("relu_kernel")

    def shared(self, name: str) -> Any:
        """The product of the registered shared pass ``name``, computed once per context.

        The first request of a primary product computes it with every planned primary product in one
        forward (:func:`proxies.passes.primary_pass`); a standalone pass runs its own ``compute``.
        """
        key = f"shared:{name}"
        if key not in self._cache:
            entry = SHARED_PASSES.get(name)
            if not entry.primary:
                self._cache[key] = entry.compute(self)
                return self._cache[key]
            from proxies.passes import primary_pass

            todo = {name} | {
                p for p in self._planned if SHARED_PASSES.get(p).primary and f"shared:{p}" not in self._cache
            }
            x, y = self.batch()
            if not x.is_floating_point():  # token ids: no gradient with respect to the input exists
                if name == "jacobian":
                    raise Undefined("input Jacobians need continuous inputs; token ids are discrete")
                todo.discard("jacobian")
            for product, value in primary_pass(self.fresh_model(), x, y, todo).items():
                self._cache[f"shared:{product}"] = value
        return self._cache[key]

    def synflow_gradients(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """SynFlow's pass: ``{layer: (|weight|, dR/d|weight|)}`` in float64 on a BN-free copy.

        R is the summed output for an all-ones input with every parameter made absolute (Tanaka et al.,
        NeurIPS 2020); shared by synflow and logsynflow. Needs no data.
        """
        return self.shared("synflow_gradients")


def _strip_batchnorm(model: torch.nn.Module) -> None:
    import torch

    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.modules.batchnorm._BatchNorm):
                setattr(parent, child_name, torch.nn.Identity())
