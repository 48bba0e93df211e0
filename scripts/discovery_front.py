"""The size/fitness front of a discovery run, each member on the held-out classes and a held-out task.

Reads ``RUN/journal.jsonl`` (:func:`predictors.discovery.search.pareto_front`: chosen on the training
split only), evaluates every member on the run's held-out classes (statistics from ``RUN/cache``) and,
with ``--transfer-table``/``--transfer-truth``/``--transfer-target``, on another table's classes
(gathered under its protocol, cached in ``RUN/front-cache``). Prints a Markdown table of Kendall tau-b,
each expression oriented by its training sign. A diagnostic of bloat and over-fitting: selecting a
member by these held-out figures would spend the held-out set.

    python scripts/discovery_front.py runs/discover-fmnist --table nb201-fmnist --target val_acc \\
        --transfer-table runs/heldout-c10/build/table --transfer-truth runs/heldout-c10/published/table \\
        --transfer-target test_acc_200ep
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.analysis.metrics import kendall
from benchmarks.table import open_table
from predictors.discovery.data import gather_all, load_dataset, representatives, table_protocol
from predictors.discovery.evaluate import evaluate
from predictors.discovery.run import split_dataset
from predictors.discovery.search import pareto_front


def _tau(expr, stats, truth, sign) -> str:
    result = evaluate(expr, stats)
    return "fails" if result.scores is None else f"{kendall(sign * result.scores, truth):+.3f}"


def main() -> None:
    """Parse the arguments and print the front."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path)
    p.add_argument("--table", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--test-size", type=int, default=100)
    p.add_argument("--transfer-table")
    p.add_argument("--transfer-truth")
    p.add_argument("--transfer-target")
    args = p.parse_args()
    header = json.loads((args.run / "journal.jsonl").read_text().splitlines()[0])
    table = open_table(args.table)
    data, _ = load_dataset(table, args.target, header["task"], header["protocol_hash"], 0, args.run / "cache")
    _, _, held = split_dataset(
        data, header["task"], args.target, args.test_size, space=str(table.archs["space"].iloc[0])
    )
    other = None
    if args.transfer_table:
        from benchmarks.analysis.report import combined_truth, ground_truth

        t_table, t_truth = open_table(args.transfer_table), open_table(args.transfer_truth)
        task = str(t_table.records["task"].iloc[0])
        values = combined_truth(
            t_truth, args.transfer_target, ground_truth(t_truth, args.transfer_target, task)
        )
        ids = sorted(set(map(str, values.dropna().index)) & set(t_table.archs["arch_id"].astype(str)))
        _, protocol = table_protocol(t_table)
        stats, _ = gather_all(
            str(t_table.archs["space"].iloc[0]),
            representatives(t_table, ids),
            protocol,
            0,
            args.run / "front-cache",
        )
        other = (stats, values.reindex(ids).to_numpy())
    print(
        f"| size | training tau-b | held-out tau-b ({len(held.arch_ids)}) | held-out task tau-b | expression |"
    )
    print("|---|---|---|---|---|")
    for s in pareto_front(args.run):
        sign = 1.0 if s.tau >= 0 else -1.0
        transfer = _tau(s.expr, other[0], other[1], sign) if other else ""
        print(
            f"| {s.expr.size} | {s.tau:+.3f} | {_tau(s.expr, held.stats, held.truth, sign)} | {transfer} "
            f"| `{s.expr.text}` |"
        )


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
