"""Fidelity study: how well do 1- and 2-epoch signals rank NB201 cells by their 4-epoch val accuracy?

Trains ``--archs`` sampled NB201 cells (C=8, N=1, 12 px, mnist5k, like ``archbench demo``) under the
NB201 recipe scaled to 1, 2 and 4 epochs, two seeds each, in one resumable journal; derives SoTL,
SoTL-E, early val accuracy and curve extrapolations (``benchmarks.derived``); and prints, per cheap
signal, Kendall tau-b (95% bootstrap CI) with the mean-over-seeds 4-epoch val accuracy, over unique
non-degenerate cells, beside the target's seed-to-seed ceiling. Proxy values are single runs (seed 0),
the cost a user would pay. Rerunning resumes; ``--out`` keeps the journal, table and ``study.md``.

    .venv/bin/python scripts/fidelity_study.py --out runs/fidelity_study
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

FIDELITIES = (1, 2, 4)
TARGET = 4


def build_tables(args: argparse.Namespace):
    """Build every fidelity into one journal and return ``(journal, recipes by fidelity, archs)``."""
    import numpy as np

    import spaces
    from benchmarks.build import BuildSpec, build
    from benchmarks.executors import LocalExecutor
    from proxies.training import Recipe

    space = spaces.get("nb201")
    archs = tuple(a.string for a in space.sample_unique(args.archs, np.random.default_rng(args.sample_seed)))
    base = Recipe(task="mnist5k", batch_size=args.batch, resolution=12, build={"C": 8, "N": 1})
    recipes = {f: base.scaled(f) for f in FIDELITIES}
    journal = args.out / "journal.sqlite"
    executor = LocalExecutor(args.workers, threads=1)
    for fidelity, recipe in recipes.items():
        spec = BuildSpec(
            space="nb201", task="mnist5k", archs=archs, recipe=recipe, train_seeds=tuple(args.seeds)
        )
        result = build(spec, journal, executor, progress=not args.quiet)
        print(
            f"fidelity {fidelity}: {result.ran} units run, {result.skipped} resumed, {result.seconds:.0f} s"
        )
    return journal, recipes, archs


def derivations_for(recipes):
    """The cheap signals of the study: (label, cost in epochs, Derivation)."""
    from benchmarks.derived import Derivation

    out = []
    for f in (1, 2):
        r = recipes[f].hash
        out += [
            (f"val acc, {f}-epoch run", f, Derivation("early_acc", r, f)),
            (f"SoTL, {f}-epoch run", f, Derivation("sotl", r, f)),
            (f"SoTL-E, {f}-epoch run", f, Derivation("sotl_e", r, f)),
        ]
    full = recipes[TARGET].hash
    for k in (1, 2):
        out += [
            (f"val acc, epoch {k} of the 4-epoch run", k, Derivation("early_acc", full, k)),
            (f"SoTL, first {k} epoch(s) of the 4-epoch run", k, Derivation("sotl", full, k)),
            (f"SoTL-E, epoch {k} of the 4-epoch run", k, Derivation("sotl_e", full, k)),
        ]
    out.append(
        (
            "loglinear extrap. to epoch 4, 2-epoch run",
            2,
            Derivation("extrap_loglinear", recipes[2].hash, 2, TARGET),
        )
    )
    out.append(
        ("loglinear extrap. to epoch 4 from epochs 1-2", 2, Derivation("extrap_loglinear", full, 2, TARGET))
    )
    for model in ("pow3", "exp3", "loglinear"):
        out.append(
            (f"{model} extrap. to epoch 4 from epochs 1-3", 3, Derivation(f"extrap_{model}", full, 3, TARGET))
        )
    return out


def analyse(journal: Path, recipes, args: argparse.Namespace) -> str:
    """Derive, export, and return the Markdown result table."""
    from benchmarks.derived import derive
    from benchmarks.metrics import bootstrap, kendall
    from benchmarks.report import ground_truth
    from benchmarks.store import export
    from benchmarks.table import open_table

    signals = derivations_for(recipes)
    counts = derive(journal, [d for _, _, d in signals])
    table = open_table(export(journal, args.out / "table", overwrite=True))
    degenerate = set(table.archs.loc[table.archs["degenerate"], "arch_id"])
    truth = ground_truth(table, "val_acc", "mnist5k")
    truth = truth[~truth.index.isin(degenerate)].dropna()
    target = truth.mean(axis=1)
    first, last = args.seeds[0], args.seeds[-1]
    lines = [
        f"{len(target)} unique non-degenerate cells ({len(degenerate)} degenerate left out); "
        f"target: 4-epoch val accuracy, mean of seeds {list(truth.columns)} "
        f"(mean {target.mean():.1f}%, range {target.min():.1f}-{target.max():.1f}%); "
        f"signals from seed {first}; derived records written now: {counts or 'none (resumed)'}",
        "",
        f"| signal (seed {first}) | cost (epochs) | n | tau-b vs mean of seeds [95% CI] "
        f"| tau-b vs seed {last} only [95% CI] | failed |",
        "|---|---|---|---|---|---|",
    ]
    records = table.filter(seed=first)
    for label, cost, d in signals:
        rows = records[(records["protocol_hash"] == d.hash) & records["arch_id"].isin(target.index)]
        ok = rows[rows["status"] == "ok"].set_index("arch_id")["value"]
        values = ok.reindex(target.index).dropna()
        sign = -1.0 if d.kind in ("sotl", "sotl_e") else 1.0  # lower loss is better: rank by -SoTL
        x = sign * values.to_numpy()
        est = bootstrap(kendall, x, target[values.index].to_numpy(), n_boot=args.boot)
        other = bootstrap(kendall, x, truth.loc[values.index, last].to_numpy(), n_boot=args.boot)
        name = f"−{label}" if sign < 0 else label
        lines.append(f"| {name} | {cost} | {est.n} | {est} | {other} | {len(target) - len(values)} |")
    if first != last:
        est = bootstrap(kendall, truth[first].to_numpy(), truth[last].to_numpy(), n_boot=args.boot)
        lines.append(f"| (ceiling: 4-epoch val acc of seed {first}) | 4 | {est.n} | | {est} | 0 |")
        for f in (1, 2):
            low = table.filter(metric="val_acc", status="ok", protocol_hash=recipes[f].hash, epoch=f)
            matrix = low.pivot_table(index="arch_id", columns="seed", values="value").reindex(target.index)
            both = matrix[[first, last]].dropna()
            est = bootstrap(kendall, both[first].to_numpy(), both[last].to_numpy(), n_boot=args.boot)
            lines.append(
                f"| ({f}-epoch val acc, seed {first} vs {f}-epoch seed {last}) | {f} | {est.n} | | {est} | 0 |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the study (resumable) and write ``OUT/study.md``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/fidelity_study"))
    parser.add_argument("--archs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    journal, recipes, _ = build_tables(args)
    if args.build_only:
        return
    text = analyse(journal, recipes, args)
    text += f"\nwall time {time.perf_counter() - start:.0f} s (resumed builds are skipped)\n"
    (args.out / "study.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
