"""Proxy-vs-ground-truth correlation reports built on the rank metrics.

Honest by construction (DESIGN.md): correlations are over unique ``arch_id``s, use Kendall tau-b,
carry bootstrap 95% intervals, leave degenerate cells (output ignores input) out and count them
separately, and sit beside the ground truth's own seed-to-seed ceiling.
"""

from __future__ import annotations

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
    row = {
        "proxy": name,
        "n": len(x),
        "spearman": rho.value,
        "spearman_low": rho.low,
        "spearman_high": rho.high,
        "kendall": tau.value,
        "kendall_low": tau.low,
        "kendall_high": tau.high,
    }
    for percent in TOP_PERCENTS:
        # top-p% precision is only meaningful once the top p% holds at least one architecture
        enough = len(x) * percent >= 100
        row[f"top{percent}_precision"] = top_k_precision(x, y, percent / 100) if enough else float("nan")
    return {**row, **extra}


TOP_PERCENTS = (1, 5, 10)


def default_proxies(table: Table, target: str) -> list[str]:
    """Every metric of ``table`` except training metrics (losses, accuracies) and the target."""
    from benchmarks.build import TRAIN_METRICS

    return [m for m in table.metrics if m != target and m not in TRAIN_METRICS and not m.endswith("_acc")]


def aligned(
    table: Table,
    target: str,
    task: str,
    proxies: list[str],
    truth: Table | None = None,
    protocol_hash: str | list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-``arch_id`` proxy values beside the ground truth.

    Returns ``(frame, truth_by_seed)``: ``frame`` has one row per arch_id present in both tables, with
    columns ``degenerate``, ``target`` (mean over seeds) and one column per proxy (NaN where the proxy
    failed); ``truth_by_seed`` is the arch_id x seed matrix of the target.
    """
    truth_table = truth if truth is not None else table
    by_seed = ground_truth(truth_table, target, task)
    degenerate_ids = set(table.archs.loc[table.archs["degenerate"], "arch_id"])
    if truth is not None:
        by_seed = by_seed[by_seed.index.isin(set(table.archs["arch_id"]))]
        if by_seed.empty:
            raise ValueError(f"no architecture of {table.path} has a {target!r} value in {truth.path}")
    wide = table.wide(proxies, task=task, protocol_hash=protocol_hash)
    frame = pd.DataFrame({"degenerate": by_seed.index.isin(degenerate_ids), "target": by_seed.mean(axis=1)})
    for proxy in proxies:
        frame[proxy] = wide[proxy].reindex(frame.index) if proxy in wide else np.nan
    return frame, by_seed


def points(
    table: Table,
    target: str,
    task: str,
    proxies: list[str],
    truth: Table | None = None,
    protocol_hash: str | list[str] | None = None,
) -> pd.DataFrame:
    """Long form of :func:`aligned` for plots: task, proxy, arch_id, proxy_value, target, degenerate."""
    frame, _ = aligned(table, target, task, proxies, truth, protocol_hash)
    long = frame.reset_index().melt(
        id_vars=["arch_id", "degenerate", "target"],
        value_vars=proxies,
        var_name="proxy",
        value_name="proxy_value",
    )
    return long.dropna(subset=["proxy_value"]).assign(task=task)


def correlation_report(
    table: Table,
    target: str = "val_acc",
    task: str | None = None,
    proxies: list[str] | None = None,
    n_boot: int = 1000,
    truth: Table | None = None,
    protocol_hash: str | list[str] | None = None,
) -> pd.DataFrame:
    """One row per proxy (and a ceiling row): rank correlations with the mean-over-seeds target.

    Args:
        table: the table holding the proxy values (and, without ``truth``, the target).
        target: the ground-truth metric, e.g. ``val_acc``.
        task: the task to report (default: the table's first).
        proxies: proxies to report (default: every non-training metric of the table).
        n_boot: bootstrap resamples for the 95% intervals.
        truth: another table holding the target (e.g. imported published accuracies), joined on arch_id.
        protocol_hash: the protocol(s) of the proxy values, required when the table holds several.
    """
    task = task or str(table.records["task"].iloc[0])
    proxies = default_proxies(table, target) if proxies is None else proxies
    frame, by_seed = aligned(table, target, task, proxies, truth, protocol_hash)
    healthy = frame[~frame["degenerate"]]
    n_degenerate = int(frame["degenerate"].sum())
    rows = []
    for proxy in proxies:
        ok = healthy[proxy].notna()
        seconds = table.filter(metric=proxy, task=task, status="ok", protocol_hash=protocol_hash)["seconds"]
        rows.append(
            _row(
                proxy,
                healthy.loc[ok, proxy].to_numpy(),
                healthy.loc[ok, "target"].to_numpy(),
                n_boot,
                n_degenerate=n_degenerate,
                n_failed=int((~ok).sum()),
                median_seconds=float(seconds.median()) if len(seconds) else float("nan"),
                higher_is_better=table.metrics.get(proxy, {}).get("higher_is_better", True),
            )
        )
    seeds_table = by_seed[~frame["degenerate"].reindex(by_seed.index).to_numpy()]
    seeds = [s for s in seeds_table.columns if seeds_table[s].notna().all()]
    if len(seeds) >= 2:
        a, b = seeds[0], seeds[1]  # the first two complete seeds: single run vs single run
        ceiling = _row(
            CEILING, seeds_table[a].to_numpy(), seeds_table[b].to_numpy(), n_boot, n_degenerate=0, n_failed=0
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
