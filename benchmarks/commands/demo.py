"""`archbench demo`: the whole pipeline on the embedded data, offline, in minutes on 2 CPU cores.

By default the answers come from the shipped table ``nb201-fmnist`` (instant: its proxies and its
two-seed ground truth over every trained class), and the pipeline runs live on a few of those cells
(build, journal, release) so that the demo shows both the table and that the live code reproduces it.
``--live`` computes everything instead, as below.


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
from typing import Any

from benchmarks.commands.args import int_list

DEMO_PROXIES = ("params", "flops", "synflow", "snip", "grad_norm", "jacob_cov", "nwot")
DATA_NOTES = {
    "mnist5k": "5,000 real MNIST digits, split 3000/1000/1000",
    "fmnist14k": "14,000 real Fashion-MNIST images, split 10000/2000/2000",
}


@dataclass(frozen=True)
class DemoConfig:
    """Demo settings (each is a CLI flag of ``archbench demo``)."""

    num_archs: int = 60
    epochs: int = 2
    train_seeds: tuple[int, ...] = (0, 1)
    workers: int = field(default_factory=lambda: max(1, min(2, os.cpu_count() or 1)))
    sample_seed: int = 0
    task: str = "fmnist14k"
    resolution: int = 12
    width: int = 8
    cells_per_stage: int = 1
    proxy_batch: int = 64
    train_batch: int = 128
    live: bool = False
    shipped: str = "nb201-fmnist"
    live_archs: int = 6


def demo_settings(config: DemoConfig) -> tuple[Any, Any]:
    """The proxy protocol and the training recipe the demo's numbers are defined by."""
    from proxies.protocol import Protocol
    from proxies.training import Recipe

    options = (("C", config.width), ("N", config.cells_per_stage))
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
    return protocol, recipe


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False) if Console().is_terminal else Console(width=120, highlight=False)


def _print_correlations(console: Any, report: Any, title: str) -> None:
    """The correlation report as a terminal table (the ceiling row dimmed)."""
    from rich.table import Table as RichTable

    from benchmarks.analysis.report import CEILING

    shown = RichTable(title=title)
    columns = (
        "proxy",
        "n",
        "Spearman [95% CI]",
        "Kendall tau-b [95% CI]",
        "degenerate",
        "failed",
        "median s",
    )
    for column in columns:
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


def run_demo(config: DemoConfig, out: str | Path) -> Path:
    """Run the demo into ``out`` (resumable) and return the report path.

    Answers from the shipped table when it holds the demo's exact protocol and recipe (and
    ``config.live`` is off), recomputing a few of its cells live; otherwise computes everything.
    """
    console = _console()
    protocol, recipe = demo_settings(config)
    shipped = None if config.live else _matching_shipped(config, protocol, recipe, console)
    if shipped is None:
        return _live_demo(config, Path(out), protocol, recipe, console)
    return _shipped_demo(config, Path(out), shipped, protocol, recipe, console)


def _matching_shipped(config: DemoConfig, protocol: Any, recipe: Any, console: Any) -> Any:
    """The shipped table if it opens, verifies and holds the demo's protocol and recipe, else None."""
    from benchmarks.storage.store import TableError
    from benchmarks.storage.table import open_table

    try:
        table = open_table(config.shipped)
    except (TableError, OSError) as exc:
        console.print(f"[yellow]shipped table unavailable ({exc}): computing everything live[/]")
        return None
    if protocol.hash not in table.manifest.get("protocols", {}) or recipe.hash not in table.manifest.get(
        "recipes", {}
    ):
        console.print(
            f"[yellow]{table.path.name} was built under another protocol or recipe than these demo "
            "settings: computing everything live[/]"
        )
        return None
    return table


def _build(config: DemoConfig, out: Path, archs: tuple[str, ...], protocol: Any, recipe: Any) -> Any:
    """Build (resumable) and export the demo's table for ``archs``; returns (build result, table)."""
    from benchmarks.pipeline.executors import LocalExecutor
    from benchmarks.pipeline.run import run_spec as build
    from benchmarks.pipeline.specs import BuildSpec
    from benchmarks.storage.store import export
    from benchmarks.storage.table import open_table

    spec = BuildSpec(
        space="nb201",
        task=config.task,
        archs=archs,
        proxies=DEMO_PROXIES,
        protocol=protocol,
        recipe=recipe,
        train_seeds=tuple(config.train_seeds),
    )
    result = build(spec, out / "journal.sqlite", LocalExecutor(config.workers, threads=1))
    return result, open_table(export(result.journal, out / "table", overwrite=True))


def _only(table: Any, archs: tuple[str, ...]) -> Any:
    """``table`` cut to the records and architectures of ``archs`` (a view; nothing is written)."""
    from benchmarks.storage.table import Table

    records = table.records[table.records["arch"].isin(archs)].reset_index(drop=True)
    rows = table.archs[table.archs["arch"].isin(archs)].reset_index(drop=True)
    return Table.from_frames(table.path, table.manifest, records, rows)


def _shipped_demo(
    config: DemoConfig, out: Path, shipped: Any, protocol: Any, recipe: Any, console: Any
) -> Path:
    """Correlations answered from the shipped table; a few of its cells rebuilt live and compared."""
    import numpy as np

    from benchmarks.analysis.report import correlation_report, to_markdown
    from benchmarks.pipeline.reverify import compare_tables

    start = time.perf_counter()
    report = correlation_report(shipped, target="val_acc", task=config.task, proxies=list(DEMO_PROXIES))
    answered = time.perf_counter() - start
    truth = shipped.wide(["val_acc"], task=config.task)["val_acc"].dropna()
    console.print(
        f"[bold]archbench demo[/]: answered from the shipped table [bold]{shipped.path.name}[/] "
        f"({shipped.content_id[:23]}), opened and hash-checked in place\n"
        f"  {len(truth)} NB201 classes trained on {config.task} (seeds {list(config.train_seeds)}, "
        f"{config.epochs} epochs, recipe {recipe.hash[:12]}); proxies {', '.join(DEMO_PROXIES)} "
        f"(protocol {protocol.hash[:12]})"
    )
    out.mkdir(parents=True, exist_ok=True)
    report.to_parquet(out / "correlations.parquet", index=False)
    _print_correlations(
        console,
        report,
        f"proxy vs val accuracy over {int(report['n'].max())} non-degenerate classes (shipped)",
    )
    rng = np.random.default_rng(config.sample_seed)
    picked = rng.choice(np.array(sorted(truth.index)), size=min(config.live_archs, len(truth)), replace=False)
    archs = tuple(shipped.locate(arch_id=str(i)).arch for i in picked)
    console.print(
        f"live: rebuilding {len(archs)} of these classes with the pipeline (proxies + {len(config.train_seeds)} "
        f"training runs each, {config.workers} workers) and comparing every value with the shipped one"
    )
    result, live = _build(config, out, archs, protocol, recipe)
    checks = compare_tables(_only(live, archs), shipped)  # OUT may hold earlier runs' classes too
    differing = [c for c in checks if not c.agrees]
    kind = "bit-identical" if checks and checks[0].exact_expected else "within tolerance (another CPU)"
    verdict = (
        f"all {len(checks)} live values {kind} to the shipped table"
        if not differing
        else f"{len(differing)} of {len(checks)} live values differ from the shipped table, e.g. {differing[0]}"
    )
    console.print(("[green]" if not differing else "[red]") + verdict + "[/]")
    summary = (
        f"val accuracy (shipped): mean {truth.mean():.1f}%, range {truth.min():.1f}-{truth.max():.1f}% over "
        f"{len(truth)} classes; answered in {answered:.2f} s; live part {result.seconds:.0f} s "
        f"({result.ran} units run, {result.skipped} resumed)"
    )
    report_path = out / "report.md"
    report_path.write_text(
        f"# archbench demo report\n\nanswered from `{shipped.path.name}` (`{shipped.content_id}`)\n\n"
        f"protocol `{protocol.hash}`: `{protocol.to_dict()}`\n\nrecipe `{recipe.hash}`: `{recipe.to_dict()}`\n\n"
        f"{to_markdown(report)}\n{summary}\n\nlive recomputation of {len(archs)} classes: {verdict}\n"
    )
    console.print(summary)
    console.print(
        f"outputs: shipped table {shipped.path}  live table {out / 'table'}  report {report_path}  "
        f"correlations {out / 'correlations.parquet'}  journal {result.journal}"
    )
    _final_steps(shipped.path, out, config, console)  # e.g. a leaderboard of the shipped proxies
    return report_path


def _live_demo(config: DemoConfig, out: Path, protocol: Any, recipe: Any, console: Any) -> Path:
    """Everything computed: sample cells, score proxies, train with every seed, report."""
    import numpy as np

    import spaces
    from benchmarks.analysis.report import correlation_report, to_markdown

    start = time.perf_counter()
    space = spaces.get("nb201")
    archs = space.sample_unique(config.num_archs, np.random.default_rng(config.sample_seed))
    n_degenerate = sum(space.is_degenerate(a) for a in archs)
    data = DATA_NOTES.get(config.task, "embedded data")
    console.print(
        f"[bold]archbench demo[/] (live): {len(archs)} NB201 cells ({n_degenerate} degenerate) on {config.task} "
        f"({data}), network C={config.width} N={config.cells_per_stage} "
        f"at {config.resolution}px\n  proxies {', '.join(DEMO_PROXIES)} on a batch of {config.proxy_batch} "
        f"from train (protocol {protocol.hash[:12]})\n  ground truth: val accuracy after {config.epochs} epochs, "
        f"seeds {list(config.train_seeds)} (recipe {recipe.hash[:12]}); {config.workers} workers"
    )
    result, table = _build(config, out, tuple(a.string for a in archs), protocol, recipe)
    report = correlation_report(table, target="val_acc", task=config.task, proxies=list(DEMO_PROXIES))
    report.to_parquet(out / "correlations.parquet", index=False)
    per_arch = table.filter(metric=list(DEMO_PROXIES), status="ok").groupby(["arch", "seed"])["seconds"].sum()
    truth = table.wide(["val_acc"])["val_acc"]
    _print_correlations(
        console, report, f"proxy vs val accuracy over {int(report['n'].max())} unique non-degenerate cells"
    )
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
        f"outputs: table {out / 'table'}  report {report_path}  correlations {out / 'correlations.parquet'}  "
        f"journal {result.journal}"
    )
    _final_steps(table.path, out, config, console)
    return report_path


def _final_steps(table_dir: Path, out: Path, config: DemoConfig, console: object) -> None:
    """Steps other packages add to the demo (entry-point group ``archbench.demo_steps``), e.g. a leaderboard."""
    from importlib.metadata import entry_points

    for step in sorted(entry_points(group="archbench.demo_steps"), key=lambda ep: ep.name):
        try:
            step.load()(table_dir, out, DEMO_PROXIES, config.task, console)
        except ValueError as exc:  # a step that cannot run on this table (too few cells, say) says why
            console.print(f"[yellow]demo step {step.name} skipped: {exc}[/]")


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
    p.add_argument(
        "--live",
        action="store_true",
        help=f"compute everything instead of answering from the shipped table {d.shipped}",
    )
    p.add_argument("--task", default=d.task, help=f"embedded task of a --live demo (default: {d.task})")
    p.add_argument(
        "--live-archs",
        type=int,
        default=d.live_archs,
        help=f"classes rebuilt live and compared with the shipped table (default: {d.live_archs})",
    )
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    d = DemoConfig()
    config = DemoConfig(
        num_archs=args.archs,
        epochs=args.epochs,
        train_seeds=args.seeds,
        workers=args.workers,
        sample_seed=args.seed,
        live=args.live or args.task != d.task,
        task=args.task,
        live_archs=args.live_archs,
    )
    run_demo(config, args.out)
    return 0
