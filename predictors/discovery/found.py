"""Expressions found by archbench's own discovery runs: shipped files and ready :class:`proxies.base.Proxy` objects.

Each file under ``predictors/discovery/found/`` is an ``expression.json`` written by
``archbench proxies discover`` (its figures and the command that made it are in
``docs/proxy-discovery.md``). The objects below are what an ``archbench.proxies`` entry point names, e.g.
in a ``pyproject.toml``::

    [project.entry-points."archbench.proxies"]
    disc_nb201_fmnist = "predictors.discovery.found:NB201_FMNIST"

archbench does not register them itself (the built-in proxies are the published ones); a user or a
plugin package opts in with that one line, or calls :func:`predictors.discovery.register_discovered`.
"""

from __future__ import annotations

from pathlib import Path

from predictors.discovery.proxy import discovered_proxy, load_expression

FOUND = Path(__file__).parent / "found"
"""The folder of shipped expression files."""

NB201_FMNIST = discovered_proxy(load_expression(FOUND / "nb201-fmnist-val_acc.json"), "disc_nb201_fmnist")
"""Discovered on nb201-fmnist 1.0.0 against ``val_acc`` (2-epoch Fashion-MNIST training, seeds 0 and 1)."""
