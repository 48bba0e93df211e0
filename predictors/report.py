"""Writing an evaluation: sample-efficiency curves as tables (CSV + Parquet), plots (PNG + SVG) and a report.

Everything goes into a temporary sibling folder that replaces ``out`` only when every file is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from benchmarks.store import atomic_folder
from predictors.evaluate import Evaluation

PLOTTED = (("kendall", "Kendall tau-b"), ("top10", "top-10 % precision"))


def to_markdown(
    curves: pd.DataFrame, metrics: tuple[str, ...] = ("kendall", "spearman", "top10", "regret")
) -> str:
    """One line per (model, train size): each metric as ``mean [low, high]`` plus the mean fit time."""
    header = "| model | n | " + " | ".join(metrics) + " | fit s |"
    lines = [header, "|" + "---|" * (len(metrics) + 3)]
    for _, r in curves.iterrows():
        cells = [f"{r[m]:.3f} [{r[m + '_low']:.3f}, {r[m + '_high']:.3f}]" for m in metrics]
        lines.append(f"| {r['model']} | {r['train_size']} | " + " | ".join(cells) + f" | {r['fit_s']:.2f} |")
    return "\n".join(lines) + "\n"


def plot_curves(curves: pd.DataFrame, path_stem: Path) -> list[Path]:
    """Kendall tau and top-10 % precision against train size (log axis), 95 % bands; PNG and SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(PLOTTED), figsize=(5.5 * len(PLOTTED), 4), constrained_layout=True)
    for ax, (metric, title) in zip(axes, PLOTTED):
        for model, group in curves.groupby("model", sort=False):
            group = group.sort_values("train_size")
            ax.plot(group["train_size"], group[metric], marker="o", label=model)
            ax.fill_between(group["train_size"], group[f"{metric}_low"], group[f"{metric}_high"], alpha=0.15)
        ax.set_xscale("log")
        ax.set_xlabel("training architectures")
        ax.set_ylabel(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    paths = [path_stem.with_suffix(".png"), path_stem.with_suffix(".svg")]
    for path in paths:
        fig.savefig(path, dpi=120)
    plt.close(fig)
    return paths


def write_evaluation(evaluation: Evaluation, out: str | Path, overwrite: bool = False) -> dict[str, Path]:
    """Write ``runs``, ``predictions``, ``curves`` (CSV + Parquet), plots and ``report.{md,json}`` to ``out``."""
    out = Path(out)
    with atomic_folder(out, overwrite) as tmp:
        evaluation.runs.to_csv(tmp / "runs.csv", index=False)
        evaluation.predictions.to_parquet(tmp / "predictions.parquet", index=False)
        evaluation.curves.to_csv(tmp / "curves.csv", index=False)
        evaluation.curves.to_parquet(tmp / "curves.parquet", index=False)
        plot_curves(evaluation.curves, tmp / "curves")
        (tmp / "report.json").write_text(
            json.dumps(evaluation.report, indent=1, sort_keys=True, default=str) + "\n"
        )
        report = evaluation.report
        (tmp / "report.md").write_text(
            f"# Predictor evaluation\n\nprotocol {report['protocol_hash'][:16]}, splits "
            f"{report['splits_sha256'][:16]}, target {report['truth']['metric']} from {report['truth']['table']}\n\n"
            + to_markdown(evaluation.curves)
        )
    names = (
        "runs.csv",
        "predictions.parquet",
        "curves.csv",
        "curves.parquet",
        "curves.png",
        "curves.svg",
        "report.md",
        "report.json",
    )
    return {name: out / name for name in names}
