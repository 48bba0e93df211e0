"""Proxy-vs-ground-truth correlation reports built on the rank metrics.

Honest by construction (DESIGN.md): correlations are over unique ``arch_id``s, use Kendall tau-b,
carry bootstrap 95% intervals, leave degenerate cells (output ignores input) out and count them
separately, and sit beside the ground truth's own seed-to-seed ceiling.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.metrics import Estimate, bootstrap, kendall, spearman, top_k_precision
from benchmarks.table import Table

CEILING = "(seed-to-seed ceiling)"


def ground_truth(table: Table, target: str, task: str) -> pd.DataFrame:
    """``arch_id x seed`` matrix of the target at its last epoch of the largest fidelity."""
    rows = table.filter(metric=target, task=task, status="ok")
    if rows.empty:
        raise ValueError(f"table has no ok {target!r} records for task {task!r}")
    rows = rows[rows["fidelity"] == rows["fidelity"].max()]
    rows = rows[rows["epoch"] == rows["epoch"].max()]
    return rows.pivot_table(index="arch_id", columns="seed", values="value", aggfunc="mean")


def _row(name: str, x: np.ndarray, y: np.ndarray, n_boot: int, **extra: Any) -> dict[str, Any]:
    rho: Estimate = bootstrap(spearman, x, y, n_boot=n_boot)
    tau: Estimate = bootstrap(kendall, x, y, n_boot=n_boot)
    return {
        "proxy": name,
        "n": len(x),
        "spearman": rho.value,
        "spearman_low": rho.low,
        "spearman_high": rho.high,
        "kendall": tau.value,
        "kendall_low": tau.low,
        "kendall_high": tau.high,
        "top10_precision": top_k_precision(x, y, 0.10) if len(x) >= 10 else float("nan"),
        **extra,
    }


def correlation_report(
    table: Table,
    target: str = "val_acc",
    task: str | None = None,
    proxies: list[str] | None = None,
    n_boot: int = 1000,
) -> pd.DataFrame:
    """One row per proxy (and a ceiling row): rank correlations with the mean-over-seeds target."""
    task = task or str(table.records["task"].iloc[0])
    truth = ground_truth(table, target, task)
    degenerate_ids = set(table.archs.loc[table.archs["degenerate"], "arch_id"])
    healthy = truth[~truth.index.isin(degenerate_ids)]
    target_mean = healthy.mean(axis=1)
    if proxies is None:
        proxies = [
            m
            for m in table.metrics
            if m not in (target, "train_loss", "train_acc") and not m.endswith("_acc")
        ]
    wide = table.wide(proxies, task=task)
    rows = []
    for proxy in proxies:
        values = (
            wide[proxy].reindex(target_mean.index) if proxy in wide else pd.Series(np.nan, target_mean.index)
        )
        ok = values.notna()
        seconds = table.filter(metric=proxy, task=task, status="ok")["seconds"]
        rows.append(
            _row(
                proxy,
                values[ok].to_numpy(),
                target_mean[ok].to_numpy(),
                n_boot,
                n_degenerate=int(truth.index.isin(degenerate_ids).sum()),
                n_failed=int((~ok).sum()),
                median_seconds=float(seconds.median()) if len(seconds) else float("nan"),
                higher_is_better=table.metrics.get(proxy, {}).get("higher_is_better", True),
            )
        )
    seeds = [s for s in healthy.columns if healthy[s].notna().all()]
    if len(seeds) >= 2:
        pairs = list(itertools.combinations(seeds, 2))
        a, b = pairs[0]
        ceiling = _row(
            CEILING, healthy[a].to_numpy(), healthy[b].to_numpy(), n_boot, n_degenerate=0, n_failed=0
        )
        ceiling["median_seconds"] = float("nan")
        ceiling["higher_is_better"] = True
        rows.append(ceiling)
    frame = pd.DataFrame(rows)
    frame.insert(0, "task", task)
    frame.insert(1, "target", target)
    return frame


def to_markdown(report: pd.DataFrame) -> str:
    """The report as a Markdown table with intervals in brackets."""
    lines = [
        "| proxy | n | Spearman [95% CI] | Kendall tau-b [95% CI] | top-10% precision | degenerate | failed | median s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report.itertuples():
        lines.append(
            f"| {r.proxy} | {r.n} | {r.spearman:+.3f} [{r.spearman_low:+.3f}, {r.spearman_high:+.3f}] "
            f"| {r.kendall:+.3f} [{r.kendall_low:+.3f}, {r.kendall_high:+.3f}] | {r.top10_precision:.2f} "
            f"| {r.n_degenerate} | {r.n_failed} | {r.median_seconds:.3f} |"
        )
    return "\n".join(lines) + "\n"
