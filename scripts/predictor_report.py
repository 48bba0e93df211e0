"""Measure predictor sample-efficiency curves on NAS-Bench-201 CIFAR-10 under the frozen protocol.

Usage (from the repository root; one thread per library, resumable: a finished model is skipped):

    nice -n 10 .venv/bin/python scripts/predictor_report.py --out runs/predictors \
        --features-table runs/nb201_zc/table \
        --models lightgbm:adjacency+zc,lightgbm:path+zc,random_forest:path+zc,gp:path+zc,\
mlp_ensemble:path+zc,gnn:graph,lightgbm:onehot,best_feature:zc

Without ``--truth`` the published accuracies are imported from ``../shared/data`` through
:func:`benchmarks.importers.import_accuracies` into ``OUT/truth``. Each model is evaluated by
:func:`predictors.evaluate.evaluate` (CV inside training splits, test set touched once per figure) and
written to ``OUT/<model>/``; then every model's curves are gathered into ``OUT/curves.{csv,parquet,png,svg}``
and ``OUT/summary.md``, beside the NAS-Bench-Suite-Zero anchor (Krishnakumar et al., NeurIPS 2022:
XGBoost on adjacency + 11 zero-cost proxies; Kendall tau 0.32 at 10, 0.71 at 56, 0.77 at 135, 0.78 at
209, 0.81 at 500 training architectures).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

ANCHOR = {10: 0.32, 56: 0.71, 135: 0.77, 209: 0.78, 500: 0.81}
"""NAS-Bench-Suite-Zero's XGBoost (adjacency + 11 proxies) Kendall tau on NB201 CIFAR-10, by train size."""
COMPARE = {10: 10, 50: 56, 100: 135, 200: 209, 500: 500}
"""Our train size -> the anchor's (ours never larger, so the comparison is at least as hard for us)."""
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _truth(out: Path) -> Path:
    from benchmarks.importers import AccuracyImport, import_accuracies

    folder = out / "truth"
    if (folder / "table").is_dir():
        return folder / "table"
    out.mkdir(parents=True, exist_ok=True)
    source = SHARED / "nb201_cifar10_accuracy.parquet"
    spec = AccuracyImport(
        space="nb201",
        task="cifar10",
        metric="test_acc_200ep",
        key_column="nb201_index",
        value_column="cifar10_test_acc_200ep",
        key="index",
    )
    return import_accuracies(source, spec, folder)


def main(argv: list[str] | None = None) -> int:
    """Run the models one by one, then gather their curves; bad input is one line and exit code 2."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--truth", type=Path, default=None, help="table with test_acc_200ep (default: import)")
    p.add_argument("--features-table", type=Path, default=None)
    p.add_argument("--features", default=None, help="zc metrics to use (default: every proxy/cost metric)")
    p.add_argument("--features-task", default=None, help="task of the zc features (default: the target's)")
    p.add_argument("--models", required=True, help="predictor:encoding,...")
    p.add_argument("--train-sizes", default=None, help="override (changes the protocol hash)")
    p.add_argument("--seeds", default=None, help="override (changes the protocol hash)")
    args = p.parse_args(argv)
    try:
        return _run(args)
    except (ValueError, KeyError, FileNotFoundError) as exc:  # TableError is a ValueError
        print(f"predictor_report: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    """The evaluation of ``main``'s parsed arguments."""
    from benchmarks.table import open_table
    from predictors.evaluate import Candidate, evaluate
    from predictors.protocol import EvalProtocol
    from predictors.report import plot_curves, to_markdown, write_evaluation

    truth = open_table(args.truth or _truth(args.out))
    features = open_table(args.features_table) if args.features_table else None
    args.out.mkdir(parents=True, exist_ok=True)  # only once both tables opened: bad input writes nothing
    overrides = {}
    if args.train_sizes:
        overrides["train_sizes"] = tuple(int(v) for v in args.train_sizes.split(","))
    if args.seeds:
        overrides["seeds"] = tuple(int(v) for v in args.seeds.split(","))
    protocol = EvalProtocol(**overrides)
    print(f"protocol {protocol.hash[:16]}", flush=True)
    for item in args.models.split(","):
        name, _, encoding = item.strip().partition(":")
        candidate = Candidate(name, encoding)
        folder = args.out / candidate.label.replace("[", "__").replace("]", "").replace("+", "-")
        if folder.exists():
            print(f"{candidate.label}: done already ({folder})", flush=True)
            continue
        start = time.perf_counter()
        chosen = args.features.split(",") if args.features else None
        evaluation = evaluate(
            protocol,
            truth,
            [candidate],
            features,
            chosen,
            log=lambda line: print(line, flush=True),
            features_task=args.features_task,
        )
        evaluation.report["wall_s"] = time.perf_counter() - start
        write_evaluation(evaluation, folder)
        print(f"{candidate.label}: {time.perf_counter() - start:.0f} s -> {folder}", flush=True)

    frames = []
    for folder in sorted(args.out.iterdir()):
        if (folder / "curves.parquet").is_file():
            frames.append(pd.read_parquet(folder / "curves.parquet"))
    curves = pd.concat(frames, ignore_index=True)
    curves.to_csv(args.out / "curves.csv", index=False)
    curves.to_parquet(args.out / "curves.parquet", index=False)
    plot_curves(curves, args.out / "curves")
    lines = [f"# NB201 CIFAR-10 predictors, protocol {protocol.hash[:16]}\n", to_markdown(curves)]
    lines.append("\n## Against the NAS-Bench-Suite-Zero anchor (Kendall tau, ours at n <= theirs)\n")
    lines.append("| model | " + " | ".join(f"{a} vs {b}" for a, b in COMPARE.items()) + " |")
    lines.append("|---|" + "---|" * len(COMPARE))
    for model, group in curves.groupby("model", sort=False):
        tau = dict(zip(group["train_size"], group["kendall"]))
        cells = [f"{tau[a]:.3f} / {ANCHOR[b]:.2f}" if a in tau else "-" for a, b in COMPARE.items()]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
