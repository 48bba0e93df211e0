"""A discovery run end to end: data, frozen split, GP search with its journal, held-out report, saved expression.

Run folder layout (``OUT``): ``cache/stats-<key>.npz`` (gathered statistics, reused by a resumed run),
``journal.jsonl`` and ``timings.jsonl`` (:mod:`predictors.discovery.search`), ``split.json`` (the frozen
split and its hash), ``expression.json`` (:mod:`predictors.discovery.proxy`), ``report.md`` and
``report.json`` (training and held-out figures beside the hand-made proxies, the vote and the ceiling).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from predictors.discovery.data import Dataset, gather_all, load_dataset, representatives, table_protocol
from predictors.discovery.expr import formula
from predictors.discovery.gather import gather_settings
from predictors.discovery.proxy import Discovered, load_expression, save_expression
from predictors.discovery.report import compare, to_markdown
from predictors.discovery.search import Fitness, SearchConfig, best, run_search

Printer = Callable[[str], None]


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temporary sibling renamed into place)."""
    from spaces.atomic import atomic_file

    with atomic_file(path) as tmp:
        tmp.write_text(text)


def _table_id(table: Any) -> str:
    cid = table.content_id
    return str(cid() if callable(cid) else cid)


def split_dataset(
    data: Dataset, task: str, target: str, test_size: int, split_seed: int = 0, space: str = "nb201"
) -> tuple[Any, Dataset, Dataset]:
    """``(splits, train, held_out)``: the frozen :class:`predictors.protocol.EvalProtocol` split by ``arch_id``."""
    from predictors.protocol import EvalProtocol, make_splits

    n_train = len(data.arch_ids) - test_size
    if test_size < 10 or n_train < 10:
        raise ValueError(
            f"{len(data.arch_ids)} classes cannot give a held-out set of {test_size} and 10 to train on"
        )
    protocol = EvalProtocol(
        space=space,
        task=task,
        target=target,
        test_size=test_size,
        train_sizes=(n_train,),
        seeds=(0,),
        split_seed=split_seed,
    )
    splits = make_splits(protocol, data.arch_ids)
    return splits, data.subset(sorted(splits.train(n_train, 0))), data.subset(sorted(splits.test))


def _gap_line(report: Any) -> str:
    gap = report.attrs.get("gap")
    if not gap:
        return ""
    return (
        f"\n|Kendall tau-b| of the discovered expression minus that of the best hand-made proxy here "
        f"({gap['versus']}): {gap['gap']:+.3f} [{gap['low']:+.3f}, {gap['high']:+.3f}] (paired bootstrap, 95%)\n"
    )


def _progress_line(line: dict[str, Any], started: float, budget_s: float | None) -> str:
    b = line["best"]
    left = (
        ""
        if budget_s is None
        else f", {max(budget_s - (time.perf_counter() - started), 0) / 60:.1f} min left"
    )
    return (
        f"gen {line['generation']:4d}  best |tau| {b['fitness']:.4f} (size {b['size']})  "
        f"valid {line['valid']}/{len(line['population'])}  new {line['evaluated']}{left}  {b['expr']}"
    )


def discover(
    table: Any,
    target: str,
    out: Path,
    config: SearchConfig,
    generations: int,
    budget_s: float | None = None,
    task: str | None = None,
    protocol_hash: str | None = None,
    test_size: int = 100,
    n_boot: int = 1000,
    echo: Printer = print,
) -> dict[str, Any]:
    """Run (or resume) a discovery in ``out``; returns the summary written to ``report.json``."""
    out = Path(out)
    task = task or str(table.records["task"].iloc[0])
    p_hash, _ = table_protocol(table, protocol_hash)
    echo(f"gathering statistics of every {target!r} class under protocol {p_hash[:12]} ...")
    data, gather_s = load_dataset(table, target, task, p_hash, 0, out / "cache")
    per_arch = gather_s / len(data.arch_ids)
    echo(
        f"  {len(data.arch_ids)} architectures, {gather_s:.1f} s ({per_arch * 1000:.0f} ms each; 0 = cached)"
    )
    space = str(table.archs["space"].iloc[0])
    splits, train, held = split_dataset(data, task, target, test_size, space=space)
    _write(out / "split.json", json.dumps({**splits.to_dict(), "hash": splits.hash}, sort_keys=True))
    header = {
        "table": _table_id(table),
        "target": target,
        "task": task,
        "protocol_hash": p_hash,
        "gather": gather_settings(),
        "split_hash": splits.hash,
        "train": len(train.arch_ids),
        "held_out": len(held.arch_ids),
    }
    fitness = Fitness(train.stats, train.truth)
    started = time.perf_counter()
    population = run_search(
        out,
        header,
        config,
        fitness,
        generations,
        budget_s,
        report=lambda line: echo(_progress_line(line, started, budget_s)),
    )
    search_s = time.perf_counter() - started
    winner = best(population)
    sign = 1.0 if winner.tau >= 0 else -1.0
    from predictors.discovery.evaluate import evaluate

    held_eval = evaluate(winner.expr, held.stats)
    if held_eval.scores is None:
        raise ValueError(f"the best expression fails on the held-out architectures: {held_eval.message}")
    report = compare(
        table, target, task, held.arch_ids, {"discovered": sign * held_eval.scores}, n_boot=n_boot
    )
    lines = [json.loads(x) for x in (out / "timings.jsonl").read_text().splitlines() if x.strip()]
    summary = {
        "expression": winner.expr.text,
        "formula": formula(winner.expr),
        "hash": winner.expr.hash,
        "train_kendall": winner.tau,
        "held_out_report": report.to_dict(orient="records"),
        "held_out_gap": report.attrs.get("gap"),
        "generations": int(json.loads((out / "journal.jsonl").read_text().splitlines()[-1])["generation"]),
        "evaluated_this_session": fitness.evaluated,
        "search_seconds_this_session": round(search_s, 1),
        "search_seconds_total": round(sum(x["seconds"] for x in lines), 1),
        "gather_seconds_per_arch": round(per_arch, 4),
        **header,
    }
    item = Discovered(
        winner.expr,
        sign > 0,
        dict(table.manifest["protocols"][p_hash]),
        figures={
            "train_kendall": winner.tau,
            "held_out": summary["held_out_report"],
            "held_out_gap": summary["held_out_gap"],
        },
        provenance={k: header[k] for k in ("table", "target", "task", "protocol_hash", "split_hash")}
        | {"config": config.to_dict()},
    )
    save_expression(item, out / "expression.json")
    _write(out / "report.json", json.dumps(summary, indent=2, sort_keys=True, default=float) + "\n")
    md = (
        f"# Discovered proxy\n\n`{winner.expr.text}`\n\n{formula(winner.expr)}\n\n"
        f"Training Kendall tau-b ({len(train.arch_ids)} classes): {winner.tau:+.4f}; "
        f"held-out ({len(held.arch_ids)} classes), discovered oriented by its training sign:\n\n{to_markdown(report)}"
        f"{_gap_line(report)}"
    )
    _write(out / "report.md", md)
    echo(md)
    return summary


def transfer(
    expression: Path,
    table: Any,
    target: str,
    out: Path,
    truth: Any = None,
    task: str | None = None,
    protocol_hash: str | None = None,
    n_boot: int = 1000,
    echo: Printer = print,
) -> dict[str, Any]:
    """A saved expression on another table (a held-out task): gathered under that table's protocol and
    reported beside its proxies and vote; writes ``transfer.md`` and ``transfer.json`` in ``out``."""
    from benchmarks.analysis.report import combined_truth, ground_truth
    from predictors.discovery.evaluate import evaluate

    item = load_expression(expression)
    task = task or str(table.records["task"].iloc[0])
    p_hash, protocol = table_protocol(table, protocol_hash)
    source = truth if truth is not None else table
    values = combined_truth(source, target, ground_truth(source, target, task)).dropna()
    known = set(table.archs["arch_id"].astype(str))
    degenerate = set(table.archs.loc[table.archs["degenerate"], "arch_id"].astype(str))
    ids = sorted(str(a) for a in values.index if str(a) in known and str(a) not in degenerate)
    if len(ids) < 10:
        raise ValueError(f"only {len(ids)} architectures of the table have {target!r} (need 10)")
    space = str(table.archs["space"].iloc[0])
    echo(f"gathering {len(ids)} architectures under protocol {p_hash[:12]} ...")
    stats, seconds = gather_all(space, representatives(table, ids), protocol, 0, Path(out) / "cache")
    result = evaluate(item.expr, stats)
    if result.scores is None:
        raise ValueError(f"the expression fails on this table: {result.status}: {result.message}")
    sign = 1.0 if item.higher_is_better else -1.0
    report = compare(
        table, target, task, ids, {"discovered": sign * result.scores}, truth=truth, n_boot=n_boot
    )
    summary = {
        "expression": item.expr.text,
        "hash": item.expr.hash,
        "task": task,
        "target": target,
        "protocol_hash": p_hash,
        "table": _table_id(table),
        "gather_seconds": round(seconds, 1),
        "rows": report.to_dict(orient="records"),
        "gap": report.attrs.get("gap"),
    }
    Path(out).mkdir(parents=True, exist_ok=True)
    _write(Path(out) / "transfer.json", json.dumps(summary, indent=2, sort_keys=True, default=float) + "\n")
    md = f"# `{item.expr.text}` on {task} ({target})\n\n{to_markdown(report)}{_gap_line(report)}"
    _write(Path(out) / "transfer.md", md)
    echo(md)
    return summary


__all__ = ["discover", "split_dataset", "transfer"]
