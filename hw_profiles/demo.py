"""A step of ``archbench demo``: the latency of the demo's best cells, answered from the shipped ``nb201-cpu``.

The demo trains small networks; ``nb201-cpu`` holds the same cells at the published size (C=16, N=5,
CIFAR-10 shape) on a 2-core CPU: PyTorch eager and ONNX Runtime latency measured for a 500-cell
sample, and a LUT model's prediction for every cell. For the demo table's five best classes by
validation accuracy the step prints each source that has the cell, marks which numbers are predicted,
and writes ``OUT/latency.csv``. Nothing is measured live: measurements describe the machine that made
them, and the table's hardware descriptor says which one that was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SHIPPED = "nb201-cpu"
TOP = 5
METRICS = ("lut_latency_b1", "lut_latency_b64", "latency_b1", "latency_b64")
"""Predicted (every cell) and measured (the sampled cells, per target) latencies, in that order."""


def demo_latency(table_dir: Path, out: Path, proxies: tuple[str, ...], task: str, console: Any) -> Path:
    """Print and write the published-size latencies of the demo table's best classes; return the CSV."""
    import pandas as pd
    from rich.markup import escape

    from benchmarks.storage.shipped import shipped_tables
    from benchmarks.storage.table import open_table

    if not any(t.name == SHIPPED for t in shipped_tables()):
        raise ValueError(f"the shipped table {SHIPPED!r} is not installed")
    demo = open_table(table_dir)
    if demo.manifest.get("space", {}).get("name") != "nb201":
        raise ValueError("the demo table is not an NB201 table")
    cpu = open_table(SHIPPED)
    truth = demo.wide(["val_acc"], task=task)["val_acc"].dropna().sort_values(ascending=False).head(TOP)
    protocols = cpu.manifest["protocols"]
    rows = []
    for arch_id, acc in truth.items():
        arch = demo.locate(arch_id=str(arch_id)).arch
        row: dict[str, Any] = {"arch": arch, "val_acc": acc}
        found = cpu.records[(cpu.records["arch"] == arch) & (cpu.records["status"] == "ok")]
        for metric in METRICS:
            for phash, group in found[found["metric"] == metric].groupby("protocol_hash", observed=True):
                settings = protocols[str(phash)]
                source = "predicted" if settings.get("kind") == "lut" else settings["target"]
                row[f"{metric}[{source}]"] = float(group["value"].min())  # min of the rounds
        rows.append(row)
    frame = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "latency.csv"
    frame.to_csv(path, index=False)
    lut = next(s for s in protocols.values() if s.get("kind") == "lut")
    held = ", ".join(
        f"batch {b}: {r['corrected']['within']:.0%} of {int(r['corrected']['n'])} held-out cells within +-10 %"
        for b, r in lut["held_out"].items()
    )
    measured = sum(any(k.startswith("latency_b") for k in r) for r in rows)
    console.print(
        f"latency of the {len(rows)} best classes at the published size (C=16, N=5, 32 px), answered from the "
        f"shipped table [bold]{SHIPPED}[/] (nothing measured live): LUT predictions for all ({held}); "
        f"measured PyTorch eager / ONNX Runtime values where a cell is in its 500-cell sample ({measured} of "
        f"{len(rows)} here)"
    )
    for r in rows:
        parts = [f"{k} {v:.2f} ms" for k, v in r.items() if k not in ("arch", "val_acc")]
        console.print(escape(f"  {r['val_acc']:.1f}%  {r['arch']}  " + "  ".join(parts)))
    console.print(f"latency table: {path}")
    return path
