"""The build pipeline: specs, evaluators, one planner and driver, executors, and the one-call table builds.

Parts (imports flow down this list, and on to :mod:`benchmarks.storage` and
:mod:`benchmarks.analysis`, never back):

* ``tables``: :func:`build_table` and :func:`profile_table`, a table folder in one call.
* ``select``: :func:`select_architectures`, the architectures a table covers.
* ``run``: :func:`run_spec`, the one journal set-up and plan over registered evaluators.
* ``specs``: :class:`BuildSpec` and :func:`preflight`; ``profile_units``: :class:`ProfileSpec`.
* ``proxy_units``, ``train_units``, ``profile_units``: the registered evaluators.
* ``units``: :class:`Unit`, :class:`Evaluator`, the ``EVALUATORS`` registry, :class:`RunResult`.
* ``driver``: the loop that commits finished units; ``executors`` and ``ray_executor``: where units run.

Names are imported on first use, so importing one part does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BuildSpec": "specs",
    "preflight": "specs",
    "ProfileSpec": "profile_units",
    "Unit": "units",
    "Evaluator": "units",
    "EVALUATORS": "units",
    "RunResult": "units",
    "run_unit": "units",
    "run_spec": "run",
    "plan_spec": "run",
    "export_journal": "run",
    "select_architectures": "select",
    "Selection": "select",
    "build_table": "tables",
    "profile_table": "tables",
    "TableBuild": "tables",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
