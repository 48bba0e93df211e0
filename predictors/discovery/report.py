"""Held-out figures of a discovered expression beside the hand-made proxies and the vote, on the same classes.

Every row is computed over exactly the same unique, non-degenerate ``arch_id``s (those where every
reported proxy has a value): Spearman and Kendall tau-b with percentile-bootstrap 95% intervals
(:func:`benchmarks.analysis.metrics.bootstrap`), plus the noise ceiling of the truth on those classes
where it has two or more seeds (:func:`benchmarks.analysis.report.noise_ceiling`). Hand-made proxies
keep their raw sign, as in the table's own report; the discovered expression is multiplied by the
sign it had on the training architectures, so a positive value means its training direction held.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.analysis.metrics import kendall
from benchmarks.analysis.report import correlation_row

BASELINES = ("synflow", "nwot", "jacob_cov", "meco")
"""The hand-made proxies every discovery report shows (issue 19), beside the vote and the table's best."""
VOTE = "vote"


def compare(
    table: Any,
    target: str,
    task: str,
    ids: Sequence[str],
    discovered: dict[str, np.ndarray],
    proxies: Sequence[str] | None = None,
    truth: Any = None,
    n_boot: int = 1000,
) -> pd.DataFrame:
    """Rows for each discovered score column, each table proxy, the vote and the ceiling, on ``ids``.

    Args:
        table: the table with the hand-made proxies (and the target unless ``truth`` is given).
        discovered: ``{label: scores}``, scores aligned with ``ids`` (already oriented).
        proxies: table proxies to report (default: :data:`BASELINES` plus every other proxy of the table).
        truth: a table holding the target (e.g. imported published accuracies).
    """
    from benchmarks.analysis.report import aligned, default_proxies, noise_ceiling
    from proxies.ensemble import VOTE_PROXIES, vote

    available = set(table.metrics)
    if proxies is None:
        extra = [p for p in default_proxies(table, target) if p not in BASELINES]
        proxies = [p for p in (*BASELINES, *extra) if p in available]
    wanted = list(dict.fromkeys([*proxies, *(p for p in VOTE_PROXIES if p in available)]))
    frame, by_seed, _ = aligned(table, target, task, wanted, truth)
    frame = frame.reindex(list(ids))
    for label, scores in discovered.items():
        frame[label] = np.asarray(scores, dtype=np.float64)
    columns = [*discovered, *proxies]
    keep = frame[["target", *columns]].notna().all(axis=1) & ~frame["degenerate"].fillna(True).astype(bool)
    can_vote = all(p in frame for p in VOTE_PROXIES)
    if can_vote:
        keep &= frame[list(VOTE_PROXIES)].notna().all(axis=1)
    frame = frame[keep]
    y = frame["target"].to_numpy()
    rows = [correlation_row(c, frame[c].to_numpy(), y, n_boot) for c in columns]
    if can_vote:
        wins = vote({p: frame[p].to_dict() for p in VOTE_PROXIES})
        rows.append(correlation_row(VOTE, np.array([wins[a] for a in frame.index]), y, n_boot))
    ceiling = noise_ceiling(
        by_seed.reindex(frame.index),
        table.seed_combiner(target) if truth is None else truth.seed_combiner(target),
        n_boot,
    )
    if ceiling is not None:
        rows.append({k: ceiling[k] for k in rows[0]})
    out = pd.DataFrame(rows)
    scores = {c: frame[c].to_numpy() for c in columns}
    if "discovered" in discovered and len(out) > 1:
        out.attrs["gap"] = gap_to_best(out, scores, y, n_boot)
    return out


def paired_gap(
    a: np.ndarray, b: np.ndarray, y: np.ndarray, n_boot: int = 1000, seed: int = 0
) -> dict[str, float]:
    """|tau_b(a, y)| - |tau_b(b, y)| with a paired percentile-bootstrap 95% interval (same resamples for both).

    Two proxies scored on the same architectures are correlated, so their separate intervals overlap
    more than their difference varies; resampling architectures once for both measures the difference.
    """
    a, b, y = (np.asarray(v, dtype=np.float64) for v in (a, b, y))
    rng = np.random.default_rng(seed)
    draws = []
    for rows in rng.integers(0, len(y), size=(n_boot, len(y))):
        draws.append(abs(kendall(a[rows], y[rows])) - abs(kendall(b[rows], y[rows])))
    finite = np.array(draws)[np.isfinite(draws)]
    low, high = np.percentile(finite, [2.5, 97.5]) if len(finite) else (np.nan, np.nan)
    return {"gap": abs(kendall(a, y)) - abs(kendall(b, y)), "low": float(low), "high": float(high)}


def gap_to_best(
    report: pd.DataFrame, frame_scores: dict[str, np.ndarray], y: np.ndarray, n_boot: int
) -> dict[str, Any]:
    """The paired Kendall gap between ``discovered`` and the hand-made proxy with the largest |tau_b|."""
    hand = report[~report["proxy"].isin(["discovered", VOTE, "(noise ceiling)"])].dropna(subset=["kendall"])
    best = str(hand.loc[hand["kendall"].abs().idxmax(), "proxy"])
    return {"versus": best, **paired_gap(frame_scores["discovered"], frame_scores[best], y, n_boot)}


def to_markdown(report: pd.DataFrame) -> str:
    """The comparison as a Markdown table, intervals in brackets."""
    lines = ["| proxy | n | Spearman [95% CI] | Kendall tau-b [95% CI] |", "|---|---|---|---|"]
    for r in report.itertuples():
        if not np.isfinite(r.kendall):
            lines.append(f"| {r.proxy} | {r.n} | undefined (constant on these classes) | |")
            continue
        lines.append(
            f"| {r.proxy} | {r.n} | {r.spearman:+.3f} [{r.spearman_low:+.3f}, {r.spearman_high:+.3f}] "
            f"| {r.kendall:+.3f} [{r.kendall_low:+.3f}, {r.kendall_high:+.3f}] |"
        )
    return "\n".join(lines) + "\n"
