"""The board plot: each entry's hidden score with its bootstrap interval, and public vs hidden rank.

Labels are ranks and submission ids only (archbench-made strings), never user text: matplotlib parses
``$...$`` as mathtext, and user strings belong in escaped HTML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_scores(scores: dict[str, Any], path: Path) -> None:
    """An SVG of the hidden main metric with 95% intervals per entry (best first)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = scores["entries"]
    with matplotlib.rc_context({"svg.hashsalt": "archbench", "svg.fonttype": "path"}):
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 0.35 * max(len(entries), 4) + 1.2))
        labels = [f"{e['rank']}. {e['id']}" for e in entries]
        y = list(range(len(entries)))[::-1]
        for yy, e in zip(y, entries):
            h = e["hidden"]
            if h["value"] is None:
                continue
            low = h["low"] if h["low"] is not None else h["value"]
            high = h["high"] if h["high"] is not None else h["value"]
            left.errorbar(
                h["value"], yy, xerr=[[h["value"] - low], [high - h["value"]]], fmt="o", color="C0", capsize=3
            )
        left.set_yticks(y, labels, fontsize=8)
        left.set_xlabel(
            f"hidden {scores['main']} ({'higher' if scores['higher_is_better'] else 'lower'} is better), 95% CI"
        )
        left.grid(axis="x", alpha=0.3)
        public = [(e["public_rank"], e["rank"]) for e in entries]
        right.scatter([p for p, _ in public], [h for _, h in public], color="C1")
        top = max([1, *[max(p, h) for p, h in public]]) + 0.5
        right.plot([0.5, top], [0.5, top], color="grey", lw=0.8, ls="--")
        right.set_xlim(0.5, top)
        right.set_ylim(top, 0.5)
        right.set_xlabel("public rank")
        right.set_ylabel("hidden rank")
        right.set_title("public vs hidden rank", fontsize=9)
        fig.tight_layout()
        fig.savefig(path, format="svg", metadata={"Date": None})
        plt.close(fig)
