"""Render a proxy correlation report: Markdown, a static HTML page, scatter plots and a heat-map (PNG).

Plots use matplotlib's non-interactive Agg backend, so rendering works headless and offline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.analysis.report import CEILING, to_markdown
from benchmarks.storage.markup import html_text, md_text, slug


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _plain(text: object) -> str:
    """A label matplotlib draws as typed: ``$`` would start mathtext, which a name must not reach."""
    return str(text).replace("$", r"\$")


def scatter_png(points: pd.DataFrame, proxy: str, target: str, path: Path, title: str) -> Path:
    """Proxy value vs target per architecture (degenerate cells drawn apart, in grey)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 3.4), dpi=110)
    healthy = points[~points["degenerate"]]
    ax.scatter(healthy["proxy_value"], healthy["target"], s=12, alpha=0.75, color="#1f77b4", label="cells")
    dead = points[points["degenerate"]]
    if len(dead):
        ax.scatter(dead["proxy_value"], dead["target"], s=14, marker="x", color="#999999", label="degenerate")
        ax.legend(fontsize=7, loc="best")
    values = healthy["proxy_value"].to_numpy(dtype=float)
    if len(values) and np.all(values > 0) and values.max() / values.min() > 1e3:
        ax.set_xscale("log")
    ax.set_xlabel(_plain(proxy))
    ax.set_ylabel(_plain(target))
    ax.set_title(_plain(title), fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def heatmap_png(report: pd.DataFrame, path: Path, column: str = "kendall") -> Path:
    """Proxy x task heat-map of a correlation column."""
    plt = _pyplot()
    grid = report[report["proxy"] != CEILING].pivot_table(index="proxy", columns="task", values=column)
    fig, ax = plt.subplots(figsize=(1.6 + 1.1 * grid.shape[1], 0.8 + 0.38 * grid.shape[0]), dpi=110)
    image = ax.imshow(grid.to_numpy(dtype=float), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [_plain(c) for c in grid.columns], fontsize=8)
    ax.set_yticks(range(grid.shape[0]), [_plain(i) for i in grid.index], fontsize=8)
    for (i, j), value in np.ndenumerate(grid.to_numpy(dtype=float)):
        if np.isfinite(value):
            ax.text(j, i, f"{value:+.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, label=column)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(
    report: pd.DataFrame, points: pd.DataFrame, out: str | Path, header: str = ""
) -> dict[str, Path]:
    """Write ``correlations.parquet``, ``report.md``, ``report.html`` and the PNGs into ``out``.

    ``points`` has columns task, proxy, arch_id, proxy_value, target, degenerate (one row per
    architecture and proxy).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "parquet": out / "correlations.parquet",
        "markdown": out / "report.md",
        "html": out / "report.html",
    }
    report.to_parquet(paths["parquet"], index=False)
    paths["heatmap"] = heatmap_png(report, out / "heatmap.png")
    figures = []
    for (task, proxy), group in points.groupby(["task", "proxy"], sort=True):
        row = report[(report["task"] == task) & (report["proxy"] == proxy)].iloc[0]
        title = (
            f"{task}: Kendall {row.kendall:+.3f} [{row.kendall_low:+.3f}, {row.kendall_high:+.3f}], n={row.n}"
        )
        name = f"scatter_{slug(task)}_{slug(proxy)}.png"
        figures.append((task, proxy, scatter_png(group, proxy, str(row.target), out / name, title)))
    sections = []
    for task, group in report.groupby("task", sort=True):
        sections.append(f"## {md_text(task)}\n\n{to_markdown(group)}")
    paths["markdown"].write_text(
        "# Proxy correlation report\n\n"
        + "".join(f"{md_text(line)}  \n" for line in header.splitlines())
        + "\n"
        + "\n".join(sections)
        + "\n![heat-map](heatmap.png)\n"
    )
    rows = "".join(
        f"<tr><td>{html_text(r.task)}</td><td>{html_text(r.proxy)}</td><td>{r.n}</td>"
        f"<td>{r.spearman:+.3f} [{r.spearman_low:+.3f}, {r.spearman_high:+.3f}]</td>"
        f"<td>{r.kendall:+.3f} [{r.kendall_low:+.3f}, {r.kendall_high:+.3f}]</td>"
        f"<td>{r.n_degenerate}</td><td>{r.n_failed}</td></tr>"
        for r in report.itertuples()
    )
    images = "".join(
        f'<figure><img src="{html_text(p.name)}" alt="{html_text(proxy)} on {html_text(task)}">'
        f"<figcaption>{html_text(proxy)} on {html_text(task)}</figcaption></figure>"
        for task, proxy, p in figures
    )
    paths["html"].write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>archbench proxy report</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:4px 8px;text-align:right}td:nth-child(-n+2){text-align:left}figure{display:inline-block;margin:4px}"
        "</style></head><body><h1>Proxy correlation report</h1>"
        f"<pre>{html_text(header)}</pre><table><tr><th>task</th><th>proxy</th><th>n</th>"
        "<th>Spearman [95% CI]</th><th>Kendall tau-b [95% CI]</th><th>degenerate</th><th>failed</th></tr>"
        f"{rows}</table><h2>Heat-map</h2><img src='heatmap.png' alt='heat-map'><h2>Scatter plots</h2>{images}"
        "</body></html>\n"
    )
    return paths
