"""Protocol sensitivity: how much a proxy's ranking depends on the recorded protocol.

A one-at-a-time design: a base protocol plus variants that each change one field (batch size, BN
mode, init scheme, real vs Gaussian input, ...), all built into one table, several proxy seeds each.
Per proxy and protocol the study reports (1) the rank correlation with the ground truth, (2) the rank
correlation of the proxy with itself under the base protocol (does the setting change the ranking?)
and (3) seed-to-seed agreement and spread (init seed and data batch both follow the seed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.analysis.metrics import bootstrap, kendall
from benchmarks.analysis.report import CEILING, correlation_report
from benchmarks.storage.markup import md_text
from benchmarks.storage.table import Table
from proxies.protocol import Protocol

VARIABLE_FIELDS = ("batch_size", "resolution", "dtype", "init", "bn_mode", "input")


def protocol_variants(base: Protocol, vary: Mapping[str, Sequence[Any]]) -> list[tuple[str, Protocol]]:
    """``[("base", base), ("bn_mode=eval", ...), ...]``: the base and one-field-at-a-time variants."""
    out = [("base", base)]
    for field, values in vary.items():
        if field not in VARIABLE_FIELDS:
            raise ValueError(f"cannot vary protocol field {field!r} (valid: {', '.join(VARIABLE_FIELDS)})")
        for value in values:
            if getattr(base, field) != value:
                out.append((f"{field}={value}", replace(base, **{field: value})))
    return out


def _differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    return {k: b.get(k) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def label_protocols(
    protocols: Mapping[str, Mapping[str, Any]], base: str | None = None
) -> tuple[str, dict[str, str]]:
    """The base protocol's hash and a label per protocol (``base`` or the fields that differ from it).

    Without ``base`` the base is the protocol that differs in exactly one field from the most others
    (the centre of a one-at-a-time design).
    """
    if not protocols:
        raise ValueError("the table records no protocols")
    if base is None:
        base = max(
            sorted(protocols),
            key=lambda h: sum(len(_differences(protocols[h], p)) == 1 for p in protocols.values()),
        )
    else:
        matches = [h for h in protocols if h.startswith(base)]
        if len(matches) != 1:
            raise ValueError(f"base protocol {base!r} matches {len(matches)} protocols of the table")
        base = matches[0]
    labels = {}
    for h, p in protocols.items():
        diff = _differences(protocols[base], p)
        labels[h] = "base" if h == base else ",".join(f"{k}={v}" for k, v in diff.items())
    return base, labels


def sensitivity_report(
    table: Table,
    target: str,
    task: str,
    proxies: list[str],
    truth: Table | None = None,
    base: str | None = None,
    n_boot: int = 500,
) -> dict[str, pd.DataFrame]:
    """Three frames: ``correlation`` (per proxy x protocol), ``self_agreement`` and ``seeds``."""
    protocols = {h: p for h, p in table.manifest.get("protocols", {}).items() if "batch_size" in p}
    base_hash, labels = label_protocols(protocols, base)
    correlation = []
    for h, label in labels.items():
        report = correlation_report(table, target, task, proxies, n_boot=n_boot, truth=truth, protocol_hash=h)
        correlation.append(report.assign(protocol=label, protocol_hash=h))
    degenerate = set(table.archs.loc[table.archs["degenerate"], "arch_id"])
    base_values = table.wide(proxies, task=task, protocol_hash=base_hash)
    agreement, seeds = [], []
    for h, label in labels.items():
        values = table.wide(proxies, task=task, protocol_hash=h)
        rows = table.filter(metric=proxies, task=task, status="ok", protocol_hash=h)
        rows = rows[~rows["arch_id"].isin(degenerate)]
        for proxy in proxies:
            if h != base_hash and proxy in values and proxy in base_values:
                both = pd.concat([base_values[proxy], values[proxy]], axis=1, keys=["a", "b"]).dropna()
                both = both[~both.index.isin(degenerate)]
                if len(both) >= 3:
                    est = bootstrap(kendall, both["a"].to_numpy(), both["b"].to_numpy(), n_boot=n_boot)
                    agreement.append(
                        {
                            "proxy": proxy,
                            "protocol": label,
                            "n": est.n,
                            "kendall_vs_base": est.value,
                            "low": est.low,
                            "high": est.high,
                        }
                    )
            by_seed = rows[rows["metric"] == proxy].pivot_table(
                index="arch_id", columns="seed", values="value"
            )
            if by_seed.shape[1] >= 2:
                complete = by_seed.dropna()
                spread = (complete.std(axis=1) / complete.abs().mean(axis=1).replace(0, np.nan)).median()
                tau = (
                    kendall(complete.iloc[:, 0].to_numpy(), complete.iloc[:, 1].to_numpy())
                    if len(complete) >= 3
                    else np.nan
                )
                seeds.append(
                    {
                        "proxy": proxy,
                        "protocol": label,
                        "n": len(complete),
                        "seeds": by_seed.shape[1],
                        "median_cv": float(spread),
                        "kendall_seed_vs_seed": tau,
                    }
                )
    return {
        "correlation": pd.concat(correlation, ignore_index=True),
        "self_agreement": pd.DataFrame(
            agreement, columns=["proxy", "protocol", "n", "kendall_vs_base", "low", "high"]
        ),
        "seeds": pd.DataFrame(
            seeds, columns=["proxy", "protocol", "n", "seeds", "median_cv", "kendall_seed_vs_seed"]
        ),
    }


def to_markdown(frames: dict[str, pd.DataFrame]) -> str:
    """The three frames as Markdown tables (Kendall tau-b throughout, 95% intervals in brackets)."""
    corr = frames["correlation"]
    corr = corr[corr["proxy"] != CEILING]
    lines = [
        "## Kendall tau-b with the ground truth, per protocol",
        "",
    ]
    order = sorted(corr["protocol"].unique(), key=lambda s: (s != "base", s))
    lines.append("| proxy | " + " | ".join(md_text(p) for p in order) + " |")
    lines.append("|---" * (len(order) + 1) + "|")
    for proxy, group in corr.groupby("proxy", sort=True):
        cells = {
            r.protocol: f"{r.kendall:+.3f} [{r.kendall_low:+.2f}, {r.kendall_high:+.2f}]"
            for r in group.itertuples()
        }
        lines.append(f"| {md_text(proxy)} | " + " | ".join(cells.get(p, "") for p in order) + " |")
    lines += [
        "",
        "## Rank agreement of each proxy with itself under the base protocol (Kendall tau-b)",
        "",
        "| proxy | protocol | n | tau vs base [95% CI] |",
        "|---|---|---|---|",
    ]
    for r in frames["self_agreement"].itertuples():
        lines.append(
            f"| {md_text(r.proxy)} | {md_text(r.protocol)} | {r.n} | {r.kendall_vs_base:+.3f} [{r.low:+.2f}, {r.high:+.2f}] |"
        )
    lines += [
        "",
        "## Seed-to-seed stability (init seed and data batch)",
        "",
        "| proxy | protocol | n | seeds | median CV | tau seed 0 vs 1 |",
        "|---|---|---|---|---|---|",
    ]
    for r in frames["seeds"].itertuples():
        lines.append(
            f"| {md_text(r.proxy)} | {md_text(r.protocol)} | {r.n} | {r.seeds} | {r.median_cv:.3g} | {r.kendall_seed_vs_seed:+.3f} |"
        )
    return "\n".join(lines) + "\n"
