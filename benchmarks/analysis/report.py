"""Proxy-vs-ground-truth correlation reports built on the rank metrics.

Honest by construction (DESIGN.md): correlations are over unique ``arch_id``s, use Kendall tau-b,
carry bootstrap 95% intervals, leave degenerate cells (output ignores input) out and count them
separately, and sit beside the noise ceiling of the ground truth actually used (its seeds combined).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.analysis.metrics import Estimate, bootstrap, kendall, spearman, top_k_precision
from benchmarks.storage.markup import md_text
from benchmarks.storage.table import Table

CEILING = "(noise ceiling)"
"""The report row of the best correlation any proxy can reach with the truth (:func:`noise_ceiling`)."""


def _truth_rows(table: Table, target: str, task: str) -> pd.DataFrame:
    rows = table.filter(metric=target, task=task, status="ok")
    if rows.empty:
        raise ValueError(f"table has no ok {target!r} records for task {task!r}")
    rows = rows[rows["fidelity"] == rows["fidelity"].max()]
    hashes = sorted(rows["protocol_hash"].astype(str).unique())
    if len(hashes) > 1:
        raise ValueError(
            f"{target!r} at its largest fidelity comes from {len(hashes)} recipes "
            f"({', '.join(h[:12] for h in hashes)}): build the ground truth under one recipe"
        )
    rows = rows[rows["epoch"] == rows["epoch"].max()]
    if table.metrics.get(target, {}).get("kind") == "cost":  # a class's cost value is its representative's
        rows = table.first_members(rows.astype({"arch_id": str, "arch": str, "metric": str}))
    return rows


def ground_truth(table: Table, target: str, task: str) -> pd.DataFrame:
    """``arch_id x seed`` matrix of the target at its last epoch of the largest fidelity (one recipe)."""
    rows = _truth_rows(table, target, task)
    return rows.pivot_table(index="arch_id", columns="seed", values="value", aggfunc="mean", observed=True)


def combined_truth(table: Table, target: str, by_seed: pd.DataFrame) -> pd.Series:
    """The target per arch_id: its seeds combined as :meth:`Table.value` does (the card's
    ``combine_seeds``: the mean over training seeds, the min over hardware measurement rounds)."""
    return by_seed.agg(table.seed_combiner(target), axis=1)


def truth_protocol(table: Table, target: str, task: str) -> str:
    """The recipe (protocol hash) of the records :func:`ground_truth` reads."""
    return str(_truth_rows(table, target, task)["protocol_hash"].iloc[0])


def _to_pearson(value: float, kind: str) -> float:
    """The Pearson r a rank correlation corresponds to for bivariate normal data (Kendall; Spearman)."""
    return float(np.sin(np.pi * value / 2)) if kind == "kendall" else float(2 * np.sin(np.pi * value / 6))


def _from_pearson(r: float, kind: str) -> float:
    return float(2 / np.pi * np.arcsin(r)) if kind == "kendall" else float(6 / np.pi * np.arcsin(r / 2))


def _reliability(single: float, runs: int) -> float:
    """Spearman–Brown: the reliability of a mean of ``runs`` runs whose single-run reliability is ``single``."""
    return runs * single / (1 + (runs - 1) * single)


def ceiling_from_halves(value: float, kind: str, halves: tuple[int, int] = (1, 1)) -> float:
    """The rank correlation a perfect proxy reaches with a truth made of two halves agreeing by ``value``.

    ``value`` is the rank correlation between two disjoint halves of the seeds (of ``halves`` seeds
    each, each half averaged). Two half-means of m1 and m2 runs correlate at sqrt(rho_m1 rho_m2), where
    the Spearman–Brown formula rho_m = m rho / (1 + (m - 1) rho) gives the reliability of an m-run mean
    from the single-run reliability rho; solving for rho and stepping up to all m1 + m2 runs gives
    the truth's reliability, and the classical attenuation bound says a proxy equal to the noise-free
    score correlates with the observed truth at its square root (Spearman 1904, 1910; Brown 1910).
    Rank correlations go through their Pearson equivalents under normality (Kendall: sin(pi tau/2);
    Spearman: 2 sin(pi rho_s/6)).
    """
    if not np.isfinite(value):
        return float("nan")
    r = min(max(_to_pearson(value, kind), 0.0), 1.0)
    m1, m2 = halves
    if r in (0.0, 1.0):
        single = r
    else:
        from scipy.optimize import brentq

        def agreement(rho: float) -> float:
            return float(np.sqrt(_reliability(rho, m1) * _reliability(rho, m2))) - r

        single = brentq(agreement, 0.0, 1.0)
    return _from_pearson(float(np.sqrt(_reliability(single, m1 + m2))), kind)


def noise_ceiling(by_seed: pd.DataFrame, combine: str, n_boot: int) -> dict[str, Any] | None:
    """The ceiling row of a report: how well a perfect proxy could agree with the seed-combined truth.

    The complete seeds split into two halves (the first half of the seeds vs the rest), each
    combined with ``combine`` as the truth is; their rank agreement (with its bootstrap interval over
    architectures) is stepped up by :func:`ceiling_from_halves` to the truth that combines all
    seeds. With 2 seeds the halves are single runs. None with fewer than 2 complete seeds. For a
    ``min``-combined truth (hardware rounds) the step-up assumes averaging, so it is approximate.
    """
    seeds = [s for s in by_seed.columns if by_seed[s].notna().all()]
    if len(seeds) < 2:
        return None
    half = len(seeds) // 2
    a = by_seed[seeds[:half]].agg(combine, axis=1).to_numpy()
    b = by_seed[seeds[half:]].agg(combine, axis=1).to_numpy()
    row = _row(CEILING, a, b, n_boot, n_degenerate=0, n_failed=0)
    for kind in ("spearman", "kendall"):
        for suffix in ("", "_low", "_high"):
            row[f"{kind}{suffix}"] = ceiling_from_halves(
                row[f"{kind}{suffix}"], kind, (half, len(seeds) - half)
            )
    for percent in TOP_PERCENTS:
        row[f"top{percent}_precision"] = float("nan")  # a precision has no step-up: not shown
    row.update(median_seconds=float("nan"), higher_is_better=True)
    return row


def correlation_row(name: str, x: np.ndarray, y: np.ndarray, n_boot: int) -> dict[str, Any]:
    """``proxy``, ``n`` and Spearman and Kendall tau-b of ``x`` against ``y``, each with its bootstrap CI."""
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
    }


def _row(name: str, x: np.ndarray, y: np.ndarray, n_boot: int, **extra: Any) -> dict[str, Any]:
    row = correlation_row(name, x, y, n_boot)
    for percent in TOP_PERCENTS:
        # top-p% precision is only meaningful once the top p% holds at least one architecture
        enough = len(x) * percent >= 100
        row[f"top{percent}_precision"] = top_k_precision(x, y, percent / 100) if enough else float("nan")
    return {**row, **extra}


TOP_PERCENTS = (1, 5, 10)


def default_proxies(table: Table, target: str) -> list[str]:
    """Every metric of ``table`` except training metrics (losses, accuracies) and the target.

    Curve metrics derived from training (SoTL, extrapolations, ``early_acc``) are proxies.
    """
    from benchmarks.analysis.derived import DERIVATIONS
    from benchmarks.storage.schema import TRAIN_METRICS

    derived = set(DERIVATIONS.names())
    return [
        m
        for m in table.metrics
        if m != target and m not in TRAIN_METRICS and (m in derived or not m.endswith("_acc"))
    ]


@dataclass(frozen=True)
class Column:
    """One proxy column of a report: a metric under one protocol (``None``: the caller's filter)."""

    name: str
    metric: str
    protocol_hash: str | None = None


def _scalar_fields(description: Mapping[str, Any]) -> dict[str, Any]:
    """Fields worth a label: scalars, except hashes (a source recipe is named by its fidelity)."""
    return {
        k: v
        for k, v in description.items()
        if isinstance(v, int | float | bool) or (isinstance(v, str) and not _is_hash(v) and k != "kind")
    }


def _is_hash(text: str) -> bool:
    return len(text) >= 32 and all(c in "0123456789abcdef" for c in text)


def variant_labels(descriptions: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """A short label per protocol hash: the fields whose values differ between the protocols.

    Two protocols that differ only in nested fields (or hashes) are told apart by a hash prefix.
    """
    fields = {h: _scalar_fields(d) for h, d in descriptions.items()}
    keys = sorted({k for f in fields.values() for k in f})
    varying = [k for k in keys if len({repr(f.get(k)) for f in fields.values()}) > 1]
    labels = {h: ",".join(f"{k}={f.get(k)}" for k in varying) for h, f in fields.items()}
    counts = Counter(labels.values())
    return {
        h: (label if label and counts[label] == 1 else f"{label},{h[:8]}".lstrip(","))
        for h, label in labels.items()
    }


def proxy_columns(
    table: Table,
    task: str,
    metrics: list[str],
    protocol_hash: str | list[str] | None = None,
    skip: Mapping[str, str] | None = None,
) -> list[Column]:
    """One column per metric, or one per protocol where a metric was measured under several.

    A multi-fidelity build derives SoTL per fidelity and per horizon, and records the target at every
    fidelity: each protocol becomes its own column, named ``metric[field=value,...]`` after what
    differs (its record fidelity and the protocol's fields), instead of being refused or averaged.
    ``skip`` maps a metric to the protocol hash that is the ground truth itself (left out).
    """
    rows = table.filter(metric=metrics, task=task, status="ok", protocol_hash=protocol_hash)
    found = rows.astype({"metric": str, "protocol_hash": str}).groupby("metric")
    descriptions = {**table.manifest.get("recipes", {}), **table.manifest.get("protocols", {})}
    columns = []
    for metric in metrics:
        if metric not in found.groups:
            columns.append(Column(metric, metric))
            continue
        group = found.get_group(metric)
        hashes = sorted(group["protocol_hash"].unique())
        keep = [h for h in hashes if h != (skip or {}).get(metric)]
        if len(hashes) == 1:
            columns += [Column(metric, metric, h) for h in keep]
            continue
        fidelity = group.groupby("protocol_hash")["fidelity"].max()
        labels = variant_labels(
            {h: {"fidelity": int(fidelity[h]), **descriptions.get(h, {})} for h in hashes}
        )
        keep.sort(key=lambda h: (int(fidelity[h]), labels[h]))
        columns += [Column(f"{metric}[{labels[h]}]", metric, h) for h in keep]
    return columns


def aligned(
    table: Table,
    target: str,
    task: str,
    proxies: list[str],
    truth: Table | None = None,
    protocol_hash: str | list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[Column]]:
    """Per-``arch_id`` proxy values beside the ground truth.

    Returns ``(frame, truth_by_seed, columns)``: ``frame`` has one row per arch_id present in both
    tables, with columns ``degenerate``, ``target`` (seeds combined by :func:`combined_truth`) and one column per entry of
    ``columns`` (:func:`proxy_columns`; NaN where the proxy failed); ``truth_by_seed`` is the
    arch_id x seed matrix of the target. Without ``truth``, the target's lower fidelities in ``table``
    are proxies too (``val_acc[fidelity=1]``): reduced training is scored like any other proxy.
    """
    truth_table = truth if truth is not None else table
    by_seed = ground_truth(truth_table, target, task)
    degenerate_ids = set(table.archs.loc[table.archs["degenerate"], "arch_id"])
    if truth is not None:
        by_seed = by_seed[by_seed.index.isin(set(table.archs["arch_id"]))]
        if by_seed.empty:
            raise ValueError(f"no architecture of {table.path} has a {target!r} value in {truth.path}")
    skip = {target: truth_protocol(table, target, task)} if truth is None and target in proxies else None
    columns = proxy_columns(table, task, proxies, protocol_hash, skip)
    frame = pd.DataFrame(
        {
            "degenerate": by_seed.index.isin(degenerate_ids),
            "target": combined_truth(truth_table, target, by_seed),
        }
    )
    for column in columns:
        wide = table.wide([column.metric], task=task, protocol_hash=column.protocol_hash or protocol_hash)
        frame[column.name] = wide[column.metric].reindex(frame.index) if column.metric in wide else np.nan
    return frame, by_seed, _collapse_identical(frame, columns)


def _collapse_identical(frame: pd.DataFrame, columns: list[Column]) -> list[Column]:
    """One plain column for a metric whose protocol variants hold identical values (e.g. ``params``
    under protocols that differ only in the proxy batch size): rows that say nothing new are noise."""
    kept: list[Column] = []
    for metric in dict.fromkeys(c.metric for c in columns):
        group = [c for c in columns if c.metric == metric]
        first = frame[group[0].name]
        if len(group) > 1 and all(frame[c.name].equals(first) for c in group[1:]):
            frame[metric] = first
            for dropped in (c.name for c in group if c.name != metric):
                del frame[dropped]  # the caller's frame loses the variant columns
            kept.append(Column(metric, metric, group[0].protocol_hash))
        else:
            kept += group
    return kept


def points(
    table: Table,
    target: str,
    task: str,
    proxies: list[str],
    truth: Table | None = None,
    protocol_hash: str | list[str] | None = None,
) -> pd.DataFrame:
    """Long form of :func:`aligned` for plots: task, proxy, arch_id, proxy_value, target, degenerate."""
    frame, _, columns = aligned(table, target, task, proxies, truth, protocol_hash)
    long = frame.reset_index().melt(
        id_vars=["arch_id", "degenerate", "target"],
        value_vars=[c.name for c in columns],
        var_name="proxy",
        value_name="proxy_value",
    )
    return long.dropna(subset=["proxy_value"]).assign(task=task)


def report_proxies(table: Table, target: str, truth: Table | None = None) -> list[str]:
    """The default proxies of a report: :func:`default_proxies`, plus the target itself when it
    comes from ``table`` (its lower fidelities then appear as proxies)."""
    proxies = default_proxies(table, target)
    return [*proxies, target] if truth is None and target in table.metrics else proxies


def correlation_report(
    table: Table,
    target: str = "val_acc",
    task: str | None = None,
    proxies: list[str] | None = None,
    n_boot: int = 1000,
    truth: Table | None = None,
    protocol_hash: str | list[str] | None = None,
) -> pd.DataFrame:
    """One row per proxy column (and a ceiling row): rank correlations with the target (seeds combined).

    Args:
        table: the table holding the proxy values (and, without ``truth``, the target).
        target: the ground-truth metric, e.g. ``val_acc``.
        task: the task to report (default: the table's first).
        proxies: proxies to report (default: :func:`report_proxies`). A metric measured under several
            protocols (e.g. SoTL per fidelity) gets one row per protocol (:func:`proxy_columns`).
        n_boot: bootstrap resamples for the 95% intervals.
        truth: another table holding the target (e.g. imported published accuracies), joined on arch_id.
        protocol_hash: restrict the proxy values to these protocol(s).
    """
    task = task or str(table.records["task"].iloc[0])
    proxies = report_proxies(table, target, truth) if proxies is None else proxies
    frame, by_seed, columns = aligned(table, target, task, proxies, truth, protocol_hash)
    healthy = frame[~frame["degenerate"]]
    n_degenerate = int(frame["degenerate"].sum())
    rows = []
    for column in columns:
        ok = healthy[column.name].notna()
        records = table.filter(
            metric=column.metric, task=task, protocol_hash=column.protocol_hash or protocol_hash
        )
        seconds = records.loc[records["status"] == "ok", "seconds"]
        # failed: a record that says so (error, nan, ...); a class never computed is not a failure
        failed_ids = set(records.loc[records["status"] != "ok", "arch_id"].astype(str))
        rows.append(
            _row(
                column.name,
                healthy.loc[ok, column.name].to_numpy(),
                healthy.loc[ok, "target"].to_numpy(),
                n_boot,
                n_degenerate=n_degenerate,
                n_failed=int((~ok & healthy.index.astype(str).isin(failed_ids)).sum()),
                median_seconds=float(seconds.median()) if len(seconds) else float("nan"),
                higher_is_better=table.metrics.get(column.metric, {}).get("higher_is_better", True),
            )
        )
    seeds_table = by_seed[~frame["degenerate"].reindex(by_seed.index).to_numpy()]
    ceiling = noise_ceiling(seeds_table, table.seed_combiner(target), n_boot)
    if ceiling is not None:
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
            f"| {md_text(r.proxy)} | {r.n} | {r.spearman:+.3f} [{r.spearman_low:+.3f}, {r.spearman_high:+.3f}] "
            f"| {r.kendall:+.3f} [{r.kendall_low:+.3f}, {r.kendall_high:+.3f}] | {r.top10_precision:.2f} "
            f"| {r.n_degenerate} | {r.n_failed} | {r.median_seconds:.3f} |"
        )
    return "\n".join(lines) + "\n"
