"""The search figures of the README on the published NB201 CIFAR-10 truth (25 seeds per strategy).

Imports ``nb201_cifar10_accuracy.parquet`` (200-epoch validation and test columns, two imports through
the accuracy importer) and one device's column of ``nb201_latency_18_devices.parquet`` (through the
hardware importer), then runs every strategy for ``--seeds`` seeds at ``--budget`` queries, selecting on
validation accuracy only and reporting test accuracy; the multi-objective runs select on validation
accuracy x latency. Strategy parameters are the published defaults (nothing is tuned here). Writes one
results folder per run (see :mod:`predictors.search.report`) and ``report.md`` / ``report.json``.

Usage: python scripts/search_report.py [--data ../shared/data] [--out runs/search_report] [--seeds 25]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
VAL, TEST, LATENCY = "val_acc_200ep", "test_acc_200ep", "latency"


def import_truth(data: Path, work: Path, device: str) -> list[Path]:
    """The three tables (validation, test, one device's latency), imported once into ``work``."""
    from benchmarks.importers import AccuracyImport, HardwareImport, import_accuracies, import_hardware_table

    out = []
    for metric, column in ((VAL, "cifar10_val_acc_200ep"), (TEST, "cifar10_test_acc_200ep")):
        folder = work / metric
        if not (folder / "table").is_dir():
            spec = AccuracyImport("nb201", "cifar10", metric, "nb201_index", column, key="index")
            import_accuracies(data / "nb201_cifar10_accuracy.parquet", spec, folder)
        out.append(folder / "table")
    folder = work / f"latency_{device}"
    if not (folder / "table").is_dir():
        wide = pd.read_parquet(data / "nb201_latency_18_devices.parquet", columns=["nb201_index", device])
        long = wide.melt(id_vars="nb201_index", var_name="device", value_name="value").assign(metric=LATENCY)
        source = work / f"latency_{device}.parquet"
        long.to_parquet(source, index=False)
        spec = HardwareImport(
            "nb201", "cifar10", "nb201_index", "device", "metric", "value", key="index", unit="ms"
        )
        import_hardware_table(source, spec, folder)
    out.append(folder / "table")
    return out


def plot_all(out: Path, names: list[str]) -> None:
    """``curves_val.png`` (regret, incumbent test) and ``curves_mo.png`` (HV ratio) over every run so far."""
    from predictors.search.run import plot_curves

    frames = [pd.read_csv(out / n / "curves.csv").assign(strategy=n) for n in names if (out / n).is_dir()]
    if not frames:
        return
    table = pd.concat(frames, ignore_index=True)
    val = table[table["strategy"].str.contains("_val")]
    mo = table[table["strategy"].str.endswith("_mo")]
    if len(val):
        plot_curves(val, ["regret", f"incumbent_{TEST}"], str(out / "curves_val.png"), "NB201 CIFAR-10")
    if len(mo):
        plot_curves(mo, ["hv_ratio"], str(out / "curves_mo.png"), f"NB201 CIFAR-10, {VAL} x latency")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "search_report")
    parser.add_argument("--seeds", type=int, default=25)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument(
        "--device", default="gold_6240", help="latency column (default: a Xeon Gold 6240 CPU)"
    )
    parser.add_argument("--strategies", default="random,rea,local,bananas")
    parser.add_argument("--mo-strategies", default="random,nsga2_predictor")
    parser.add_argument("--random-hits", type=int, default=200, help="seeds of the whole-space random check")
    parser.add_argument(
        "--param", action="append", default=[], help="STRATEGY.KEY=JSON for a labelled variant"
    )
    parser.add_argument("--label", default="", help="suffix of the run names (for variants)")
    args = parser.parse_args(argv)

    import spaces
    from benchmarks.table import open_table
    from predictors.search.multiobjective import FrontScale, to_min
    from predictors.search.oracle import Objective, Truth
    from predictors.search.report import write_results
    from predictors.search.run import at_step, hit_steps, run_search

    args.out.mkdir(parents=True, exist_ok=True)
    tables = [open_table(p) for p in import_truth(args.data, args.out / "tables", args.device)]
    truth = Truth.from_tables(tables, [VAL, TEST, LATENCY], task="cifar10")
    space = spaces.get("nb201")
    seeds = list(range(args.seeds))
    single, multi = (Objective(VAL),), (Objective(VAL), Objective(LATENCY, maximize=False))
    previous = args.out / "report.json"
    runs_so_far = json.loads(previous.read_text())["runs"] if previous.is_file() else {}
    params: dict[str, dict[str, object]] = {}
    for item in args.param:
        key, _, value = item.partition("=")
        strategy, _, name = key.partition(".")
        params.setdefault(strategy, {})[name] = json.loads(value) if value[:1] in "0123456789[{tf-" else value
    report: dict[str, object] = {
        "classes": len(truth.frame),
        "best_val": truth.best(Objective(VAL)),
        "best_test": truth.best(Objective(TEST)),
        "test_optimal_classes": len(truth.optimal_ids(Objective(TEST))),
        "device": args.device,
        "seeds": args.seeds,
        "budget": args.budget,
        "tables": list(truth.sources),
        "runs": runs_so_far,
    }

    # the closed form (N + 1) / (k + 1) for random search to hit one of the k test-optimal classes
    start = time.perf_counter()
    if not args.random_hits and previous.is_file():
        report["random_to_test_optimum"] = json.loads(previous.read_text()).get("random_to_test_optimum")
    n, k = len(truth.frame), len(truth.optimal_ids(Objective(TEST)))
    hits = [
        hit_steps(run_search(space, truth, "random", [Objective(TEST)], n, s)).iloc[0]
        for s in range(args.random_hits)
    ]
    if args.random_hits:
        report["random_to_test_optimum"] = {
            "seeds": args.random_hits,
            "mean": float(np.mean(hits)),
            "sem": float(np.std(hits, ddof=1) / np.sqrt(len(hits))),
            "closed_form": (n + 1) / (k + 1),
            "seconds": time.perf_counter() - start,
        }
    print("random search to a test-optimal class:", report.get("random_to_test_optimum"), flush=True)

    scale = FrontScale(to_min(truth.frame[[VAL, LATENCY]].to_numpy(), multi))
    runs = [(s, single) for s in args.strategies.split(",") if s] + [
        (s, multi) for s in args.mo_strategies.split(",") if s
    ]
    for strategy, objectives in runs:
        name = f"{strategy}_{'mo' if len(objectives) > 1 else 'val'}{args.label}"
        folder = args.out / name
        start = time.perf_counter()
        logs = []
        for seed in seeds:
            logs.append(
                run_search(
                    space, truth, strategy, objectives, args.budget, seed, [TEST], params.get(strategy), scale
                )
            )
            print(f"{name} seed {seed}: {logs[-1]['seconds'].iloc[0]:.1f} s", flush=True)
        log = pd.concat(logs, ignore_index=True)
        seconds = time.perf_counter() - start
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        folder.mkdir()
        summary = write_results(
            folder, log, truth, strategy, objectives, args.budget, [TEST], params.get(strategy)
        )
        hits = hit_steps(log)
        entry = {
            "budget": args.budget,
            "params": summary["params"],
            "median_queries_to_best_val": float(hits.fillna(np.inf).median()),
            "reached_best_val": int(hits.notna().sum()),
            "seconds_total": seconds,
            "seconds_per_seed_median": summary["figures"]["seconds_per_seed_median"],
        }
        for step in (150, args.budget):
            row = at_step(log, step)
            entry[f"test_at_{step}_mean"] = float(row[f"incumbent_{TEST}"].mean())
            entry[f"test_at_{step}_std"] = float(row[f"incumbent_{TEST}"].std(ddof=1))
            entry[f"val_at_{step}_median"] = float(row["best_so_far"].median())
            if "hv_ratio" in row:
                entry[f"hv_ratio_at_{step}_median"] = float(row["hv_ratio"].median())
                entry[f"hv_ratio_at_{step}_min"] = float(row["hv_ratio"].min())
                entry[f"seeds_hv_ge_0.95_at_{step}"] = int((row["hv_ratio"] >= 0.95).sum())
        report["runs"][name] = entry  # type: ignore[index]
        print(name, json.dumps(entry), flush=True)

    (args.out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [
        f"NB201 CIFAR-10, {report['classes']} classes; select {VAL}, report {TEST} (mean ± std over seeds); "
        f"{args.seeds} seeds; latency: {args.device}",
        "",
        "| run | budget | median queries to best val | seeds reaching it | test @150 | test @budget "
        "| HV ratio @budget (median, min) | s/seed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, e in report["runs"].items():  # type: ignore[union-attr]
        b = e["budget"]
        hv = e.get(f"hv_ratio_at_{b}_median")
        hv_text = "-" if hv is None else f"{hv:.3f}, {e[f'hv_ratio_at_{b}_min']:.3f}"
        lines.append(
            f"| {name} | {b} | {e['median_queries_to_best_val']:g} | {e['reached_best_val']}/{args.seeds} | "
            f"{e['test_at_150_mean']:.2f} ± {e['test_at_150_std']:.2f} | "
            f"{e[f'test_at_{b}_mean']:.2f} ± {e[f'test_at_{b}_std']:.2f} | {hv_text} | "
            f"{e['seconds_per_seed_median']:.1f} |"
        )
    plot_all(args.out, list(report["runs"]))  # type: ignore[arg-type]
    (args.out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
