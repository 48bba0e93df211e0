"""Shared passes: work several proxies read, computed once per :class:`~proxies.base.ProxyContext`.

A proxy names the passes it reads in its card (``ProxyCard.shared``) and reads them with
``ctx.shared(name)``. A pass is either one of the *primary* products, all computed from one forward
of the protocol's batch (:func:`proxies.passes.primary_pass`: ``loss``, ``saliency``, ``hessian``,
``jacobian``, ``relu_kernel``), or a standalone pass with its own ``compute(ctx)`` (``synflow_gradients``:
a BN-free all-ones pass). A new standalone pass is one module defining a :class:`SharedPass` plus one
line here (or a plugin under the entry-point group ``archbench.shared_passes``); the context, the
runner and the cards need no edit. Listing passes imports no torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from spaces.registry import Registry

PRIMARY_PRODUCTS = ("loss", "saliency", "hessian", "jacobian", "relu_kernel")
"""Products of the one shared forward pass of the protocol's batch (:func:`proxies.passes.primary_pass`)."""


@dataclass(frozen=True)
class SharedPass:
    """A registered shared pass: ``compute(ctx)`` returns its product (None for the primary products)."""

    name: str
    compute: Callable[[Any], Any] | None = None

    @property
    def primary(self) -> bool:
        """True for the products of the one shared forward (computed together, not by ``compute``)."""
        return self.compute is None


SHARED_PASSES: Registry[SharedPass] = Registry("shared pass", entry_point_group="archbench.shared_passes")
for _name in PRIMARY_PRODUCTS:
    SHARED_PASSES.register(_name, SharedPass(_name))
SHARED_PASSES.register("synflow_gradients", "proxies.synflow:SYNFLOW_PASS")
