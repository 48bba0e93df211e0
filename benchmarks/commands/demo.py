"""`archbench demo`: the whole pipeline on the embedded data, offline, in minutes on 2 CPU cores.

Samples NB201 cells with a fixed seed (distinct ``arch_id``s), scores the first proxies on a train
batch, reduced-trains every cell with two seeds on a small network variant (ground truth: val
accuracy), builds and releases the table, and prints per proxy the Spearman and Kendall tau-b
against the ground truth with bootstrap 95% intervals, beside the truth's noise ceiling.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.commands.args import int_list

DEMO_PROXIES = ("params", "flops", "synflow", "snip", "grad_norm", "jacob_cov", "nwot")


@dataclass(frozen=True)
class DemoConfig:
    """Demo settings (each is a CLI flag of ``archbench demo``)."""

    num_archs: int = 60
    epochs: int = 2
    train_seeds: tuple[int, ...] = (0, 1)
    workers: int = field(default_factory=lambda: max(1, min(2, os.cpu_count() or 1)))
    sample_seed: int = 0
    task: str = "mnist5k"
    resolution: int = 12
    width: int = 8
    cells_per_stage: int = 1
    proxy_batch: int = 64
    train_batch: int = 128


def run_demo(config: DemoConfig, out: str | Path) -> Path:
    """Run the demo into ``out`` (resumable) and return the report path."""
    import numpy as np
    from rich.console import Console
    from rich.table import Table as RichTable

    import spaces
    from benchmarks.analysis.report import CEILING, correlation_report, to_markdown
    from benchmarks.pipeline.executors import LocalExecutor
    from benchmarks.pipeline.run import run_spec as build
    from benchmarks.pipeline.specs import BuildSpec
    from benchmarks.storage.store import export
    from benchmarks.storage.table import open_table
    from proxies.protocol import Protocol
    from proxies.training import Recipe

    console = Console(highlight=False) if Console().is_terminal else Console(width=120, highlight=False)
    start = time.perf_counter()
    out = Path(out)
    space = spaces.get("nb201")
    options = (("C", config.width), ("N", config.cells_per_stage))
    archs = space.sample_unique(config.num_archs, np.random.default_rng(config.sample_seed))
    protocol = Protocol(
        task=config.task, batch_size=config.proxy_batch, resolution=config.resolution, build=options
    )
    recipe = Recipe(
        task=config.task,
        epochs=config.epochs,
        batch_size=config.train_batch,
        resolution=config.resolution,
        build=options,
    )
    n_degenerate = sum(space.is_degenerate(a) for a in archs)
    console.print(
        f"[bold]archbench demo[/]: {len(archs)} NB201 cells ({n_degenerate} degenerate) on {config.task} "
        f"(5,000 real MNIST digits, split 3000/1000/1000), network C={config.width} N={config.cells_per_stage} "
        f"at {config.resolution}px\n  proxies {', '.join(DEMO_PROXIES)} on a batch of {config.proxy_batch} "
        f"from train (protocol {protocol.hash[:12]})\n  ground truth: val accuracy after {config.epochs} epochs, "
        f"seeds {list(config.train_seeds)} (recipe {recipe.hash[:12]}); {config.workers} workers"
    )
    spec = BuildSpec(
        space="nb201",
        task=config.task,
        archs=tuple(a.string for a in archs),
        proxies=DEMO_PROXIES,
        protocol=protocol,
        recipe=recipe,
        train_seeds=tuple(config.train_seeds),
    )
    result = build(spec, out / "journal.sqlite", LocalExecutor(config.workers, threads=1))
    table_dir = export(result.journal, out / "table", overwrite=True)
    table = open_table(table_dir)
    report = correlation_report(table, target="val_acc", task=config.task, proxies=list(DEMO_PROXIES))
    report.to_parquet(out / "correlations.parquet", index=False)
    per_arch = table.filter(metric=list(DEMO_PROXIES), status="ok").groupby(["arch", "seed"])["seconds"].sum()
    truth = table.wide(["val_acc"])["val_acc"]

    shown = RichTable(
        title=f"proxy vs val accuracy over {int(report['n'].max())} unique non-degenerate cells"
    )
    for column in (
        "proxy",
        "n",
        "Spearman [95% CI]",
        "Kendall tau-b [95% CI]",
        "degenerate",
        "failed",
        "median s",
    ):
        shown.add_column(column, justify="left" if column == "proxy" else "right")
    for r in report.itertuples():
        shown.add_row(
            r.proxy,
            str(r.n),
            f"{r.spearman:+.3f} [{r.spearman_low:+.3f}, {r.spearman_high:+.3f}]",
            f"{r.kendall:+.3f} [{r.kendall_low:+.3f}, {r.kendall_high:+.3f}]",
            str(r.n_degenerate),
            str(r.n_failed),
            "" if r.proxy == CEILING else f"{r.median_seconds:.3f}",
            style="dim" if r.proxy == CEILING else None,
        )
    console.print(shown)
    wall = time.perf_counter() - start
    summary = (
        f"val accuracy: mean {truth.mean():.1f}%, range {truth.min():.1f}-{truth.max():.1f}% over {len(truth)} classes; "
        f"proxy time per cell (all {len(DEMO_PROXIES)}): median {per_arch.median():.3f} s; "
        f"wall time {wall:.0f} s ({result.ran} units run, {result.skipped} resumed)"
    )
    report_path = out / "report.md"
    report_path.write_text(
        f"# archbench demo report\n\nprotocol `{protocol.hash}`: `{protocol.to_dict()}`\n\n"
        f"recipe `{recipe.hash}`: `{recipe.to_dict()}`\n\n{to_markdown(report)}\n{summary}\n"
    )
    console.print(summary)
    console.print(
        f"outputs: table {table_dir}  report {report_path}  correlations {out / 'correlations.parquet'}  "
        f"journal {result.journal}"
    )
    _final_steps(table_dir, out, config, console)
    return report_path


def _final_steps(table_dir: Path, out: Path, config: DemoConfig, console: object) -> None:
    """Steps other packages add to the demo (entry-point group ``archbench.demo_steps``), e.g. a leaderboard."""
    from importlib.metadata import entry_points

    for step in sorted(entry_points(group="archbench.demo_steps"), key=lambda ep: ep.name):
        step.load()(table_dir, out, DEMO_PROXIES, config.task, console)


# ---- the command ----------------------------------------------------------------------------------------
def register_demo(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench demo``."""
    d = DemoConfig()
    p = sub.add_parser(
        "demo",
        help="end-to-end demo on the embedded data (offline, minutes)",
        description="Sample NB201 cells, score proxies, reduced-train them with 2 seeds, "
        "build the table and print proxy-vs-accuracy rank correlations with 95%% intervals.",
    )
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder (default: runs/demo)")
    p.add_argument("--archs", type=int, default=d.num_archs, help=f"unique cells (default: {d.num_archs})")
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"training epochs (default: {d.epochs})")
    p.add_argument("--seeds", type=int_list, default=d.train_seeds, help="training seeds (default: 0,1)")
    p.add_argument("--workers", type=int, default=d.workers, help=f"worker processes (default: {d.workers})")
    p.add_argument("--seed", type=int, default=d.sample_seed, help="sampling seed (default: 0)")
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    config = DemoConfig(
        num_archs=args.archs,
        epochs=args.epochs,
        train_seeds=args.seeds,
        workers=args.workers,
        sample_seed=args.seed,
    )
    run_demo(config, args.out)
    return 0
