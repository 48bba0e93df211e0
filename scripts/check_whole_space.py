"""Check a whole-space NB201 table: coverage, statuses, closed-form cost metrics, class answers.

For a table built with ``archbench build --space nb201 --all`` (``scripts/whole_space.sh``):

* coverage: every one of the 15,625 cells has its cost metrics, every one of the 6,466 equivalence
  classes its functional metrics, each value ``ok`` or a failure with a status and message;
* an independent route for the cost metrics: ``params`` and ``flops`` of **every** cell equal the
  closed forms of :mod:`spaces.nb201_closed_form` (arithmetic, no network built) to the unit;
* class answers: for sampled published indices, :meth:`Table.value` by index returns the class's
  functional value (computed once, on the representative) and the cell's own cost value.

Prints one line per check and exits 1 if any fails.

    python scripts/check_whole_space.py runs/whole_space/table [--lookups 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

CLOSED_FORMS = ("params", "flops")


def main(argv: list[str] | None = None) -> int:
    """Run every check on the table and print a line each."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("table", type=Path, help="table folder (a build's OUT/table or a release)")
    p.add_argument("--lookups", type=int, default=1000, help="published indices spot-checked (default: 1000)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    import spaces
    from benchmarks.store import TableError
    from benchmarks.table import open_table
    from spaces.nb201_closed_form import nb201_macs, nb201_params
    from spaces.tasks import get_task

    start = time.perf_counter()
    try:
        table = open_table(args.table)
    except (TableError, OSError, ValueError) as exc:
        print(f"check_whole_space: error: {exc}", file=sys.stderr)
        return 2
    print(f"opened {args.table} in {time.perf_counter() - start:.2f} s: {len(table.records):,} records")
    space = spaces.get("nb201")
    proxy_protocols = [p for p in table.manifest.get("protocols", {}).values() if "batch_size" in p]
    if len(proxy_protocols) != 1:
        print(f"FAIL: expected one proxy protocol, found {len(proxy_protocols)}")
        return 1
    (protocol,) = proxy_protocols
    task = get_task(protocol["task"])
    build = dict(protocol.get("build") or {})
    C, N = int(build.get("C", 16)), int(build.get("N", 5))
    resolution = protocol.get("resolution") or task.resolution
    cells = list(space.enumerate())
    classes = {a.arch_id for a in cells}
    records = table.records.astype({"metric": str, "arch": str, "arch_id": str, "status": str})
    failures: list[str] = []

    def check(ok: bool, text: str) -> None:
        print(("ok:   " if ok else "FAIL: ") + text)
        if not ok:
            failures.append(text)

    cards = table.metrics
    cost = sorted(m for m in set(records["metric"]) if cards.get(m, {}).get("kind") == "cost")
    functional = sorted(set(records["metric"]) - set(cost))
    for metric in cost:
        rows = records[records["metric"] == metric]
        check(
            set(rows["arch"]) == {a.string for a in cells} and len(rows) == len(cells),
            f"{metric}: one record for each of the {len(cells):,} cells ({len(rows):,} records)",
        )
    for metric in functional:
        rows = records[records["metric"] == metric]
        status = rows["status"].value_counts().to_dict()
        repeated = rows.duplicated(["arch_id", "seed", "fidelity", "epoch", "protocol_hash"]).any()
        check(
            set(rows["arch_id"]) == classes and not repeated,
            f"{metric}: records for each of the {len(classes):,} classes, none twice; statuses {status}",
        )

    formulas = {
        "params": lambda ops: nb201_params(ops, C, N, task.num_classes, task.in_channels),
        "flops": lambda ops: nb201_macs(ops, C, N, resolution, task.num_classes, task.in_channels),
    }
    for metric in (m for m in CLOSED_FORMS if m in cost):
        rows = records[(records["metric"] == metric) & (records["status"] == "ok")]
        counted = dict(zip(rows["arch"], np.rint(rows["value"].to_numpy() * 1e6).astype(np.int64)))
        wrong = [a.string for a in cells if counted.get(a.string) != formulas[metric](space.ops_of(a))]
        check(
            not wrong,
            f"{metric} equals the closed form (C={C}, N={N}, {resolution} px, {task.num_classes} classes) "
            f"on {len(cells) - len(wrong):,} of {len(cells):,} cells"
            + (f"; first wrong: {wrong[0]}" if wrong else ""),
        )

    rng = np.random.default_rng(args.seed)
    picks = rng.choice(len(cells), size=min(args.lookups, len(cells)), replace=False)
    proxies = [m for m in functional if (records.loc[records["metric"] == m, "epoch"] == 0).all()]
    functional_ok = records[records["metric"].isin(proxies) & (records["status"] == "ok")]
    by_class = functional_ok.groupby(["arch_id", "metric"])["value"].mean().to_dict()
    own = records[records["metric"].isin(cost) & (records["status"] == "ok")]
    by_cell = dict(zip(zip(own["arch"], own["metric"]), own["value"]))

    def same(got: float, want: float) -> bool:  # means over seeds may differ in the last bit
        return bool(np.isclose(got, want, rtol=1e-12, atol=0.0, equal_nan=True))

    mismatched = 0
    start = time.perf_counter()
    for i in picks:
        arch = cells[int(i)]
        index = space.index(arch)
        for metric in proxies:
            mismatched += not same(
                table.value(index=index, metric=metric), by_class.get((arch.arch_id, metric), np.nan)
            )
        for metric in cost:  # a failed cost record reads as NaN on both sides
            mismatched += not same(
                table.value(index=index, metric=metric), by_cell.get((arch.string, metric), np.nan)
            )
    per = (time.perf_counter() - start) / max(1, len(picks) * (len(proxies) + len(cost)))
    check(
        mismatched == 0,
        f"Table.value by published index answers the class's proxy values and the cell's own cost "
        f"values: {len(picks):,} indices x {len(proxies) + len(cost)} metrics, {mismatched} mismatches "
        f"({per * 1e6:.0f} us per value)",
    )
    print(f"{'all checks passed' if not failures else f'{len(failures)} checks failed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
