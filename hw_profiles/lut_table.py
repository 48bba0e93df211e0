"""A LUT latency model's predictions for every architecture of a space, as a table, checked on a profile.

``archbench profile`` measures a sample of a space; a decomposable space's LUT (:mod:`hw_profiles.lut`,
the nn-Meter idea) predicts the rest. :func:`write_lut_table` turns one measured profile table into:

* the LUT, its blocks measured on this machine under the profile's own measurement protocol, once per
  round of the profile (so each block entry is the min of as many rounds as each cell's);
* its calibration, fitted per batch size on ``n_fit`` of the measured architectures (the calibration
  grouping chosen by cross-validation on those alone), and its accuracy as nn-Meter reports it (share
  within +-10 %, RMSE, Spearman) on all the other measured architectures, which neither the table nor
  the calibration saw, beside the measurement's own even-vs-odd-rounds ceiling;
* a table with ``lut_latency_b<B>`` for every architecture the space enumerates, each record marked
  ``provenance="predicted"``, under a protocol that names the measured table's content id, the
  measurement protocol, the fitted coefficients and the held-out accuracy: a prediction is never taken
  for a measurement, and it says how good it is.

Blocks are measured after the profile, not interleaved with its cells as ``scripts/lut_accuracy.py``
does, so slow drift of the machine between the two reaches the calibration's intercept and scales.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from hw_profiles.lut import LatencyLUT, profile_lut
from hw_profiles.lut_study import RoundsMeasured, evaluate
from hw_profiles.protocol import MeasurementProtocol

METRIC_PREFIX = "lut_latency_b"
"""The predicted metric at batch ``B`` is ``lut_latency_b<B>`` (measured ones are ``latency_b<B>``)."""


def measurement_protocol(table: Any) -> MeasurementProtocol:
    """The one measurement protocol of a profile table (ValueError when it has none or several)."""
    protocols = table.manifest.get("protocols", {})
    found = {h: s for h, s in protocols.items() if s.get("kind") == "measurement"}
    if len(found) != 1:
        raise ValueError(
            f"a LUT table is fitted on one measured profile; {table.path} has {len(found)} protocols"
        )
    settings = dict(next(iter(found.values())))
    settings.pop("kind")
    return MeasurementProtocol.from_dict(settings)


def measured_rounds(table: Any, protocol: MeasurementProtocol) -> dict[int, dict[str, list[float]]]:
    """Per batch size, each architecture's latency (ms) in every round, for architectures with all rounds ok."""
    records = table.records
    records = records[(records["protocol_hash"] == protocol.hash) & (records["status"] == "ok")]
    out: dict[int, dict[str, list[float]]] = {}
    for batch in protocol.batch_sizes:
        rows = records[records["metric"] == f"latency_b{batch}"].sort_values(["arch", "seed"])
        per_arch = rows.groupby("arch")["value"].apply(list)
        out[batch] = {a: [float(v) for v in vs] for a, vs in per_arch.items() if len(vs) == protocol.rounds}
    common = set.intersection(*(set(cells) for cells in out.values()))
    return {b: {a: v for a, v in cells.items() if a in common} for b, cells in out.items()}


def lut_settings(lut: LatencyLUT) -> dict[str, Any]:
    """Everything :func:`lut_from_settings` needs to predict again: shape, block latencies, corrections."""
    return {
        "C": lut.C,
        "N": lut.N,
        "resolution": lut.resolution,
        "blocks": [{"key": r["key"], "batch": r["batch"], "latency_ms": r["latency_ms"]} for r in lut.rows],
        "correction": {str(b): list(c) for b, c in sorted(lut.correction.items())},
        "calibration": {str(b): c for b, c in sorted(lut.calibration.items())},
    }


def lut_from_settings(settings: dict[str, Any]) -> LatencyLUT:
    """The fitted LUT a ``kind: lut`` protocol records (its predictions recomputed by the live code)."""
    saved = settings["lut"]
    lut = LatencyLUT(
        MeasurementProtocol.from_dict(settings["measurement_protocol"]),
        int(saved["C"]),
        int(saved["N"]),
        int(saved["resolution"]),
        rows=[dict(r) for r in saved["blocks"]],
        space=settings["space"],
    )
    lut.correction = {int(b): tuple(float(v) for v in c) for b, c in saved["correction"].items()}
    lut.calibration = {int(b): str(c) for b, c in saved["calibration"].items()}
    return lut


def predict_record(settings: dict[str, Any], arch: str, metric: str) -> float:
    """The LUT prediction a record of ``metric`` (``lut_latency_b<B>``) for ``arch`` holds, recomputed."""
    import spaces

    if not metric.startswith(METRIC_PREFIX):
        raise ValueError(f"{metric!r} is not a LUT prediction ({METRIC_PREFIX}<batch>)")
    batch = int(metric[len(METRIC_PREFIX) :])
    return float(lut_from_settings(settings).predict(spaces.get(settings["space"]).parse(arch), batch))


def write_lut_table(
    profile: str | Path, out: str | Path, *, n_fit: int = 100, seed: int = 0, calibration: str = "auto"
) -> tuple[Path, dict[int, dict[str, Any]]]:
    """Measure the LUT, fit and judge it on the profile table ``profile``, write its predictions to ``out``.

    Returns the table folder and, per batch size, the held-out report of
    :func:`hw_profiles.lut_study.evaluate` (also written to ``out/report.json``; the LUT itself to
    ``out/lut.parquet``).
    """
    import spaces
    from benchmarks.published.importers import write_import
    from benchmarks.storage.schema import arch_fields, make_record
    from benchmarks.table import open_table
    from spaces.specs import sha256_of

    out = Path(out)
    if out.exists():
        raise ValueError(f"{out} already exists; choose a new folder")
    table = open_table(profile)
    protocol = measurement_protocol(table)
    space = spaces.get(table.manifest["space"]["name"])
    cells_ms = measured_rounds(table, protocol)
    measured = sorted(next(iter(cells_ms.values())))
    if not 2 <= n_fit <= len(measured) - 2:
        raise ValueError(f"{n_fit} fit architectures out of {len(measured)} measured leaves too few to judge")
    rng = np.random.default_rng(seed)
    fit_at = set(rng.choice(len(measured), size=n_fit, replace=False).tolist())
    fit = [space.parse(a) for i, a in enumerate(measured) if i in fit_at]
    held_out = [space.parse(a) for i, a in enumerate(measured) if i not in fit_at]

    luts = [profile_lut(protocol, space.name) for _ in range(protocol.rounds)]
    lut, reports = evaluate(space, RoundsMeasured(luts, cells_ms), fit, held_out, calibration=calibration)

    cells = list(space.enumerate())
    summary = {
        b: {
            k: r[k]
            for k in ("calibration", "coefficients", "corrected", "uncorrected", "measurement_ceiling")
        }
        for b, r in reports.items()
    }
    settings = {
        "kind": "lut",
        "model": "hw_profiles.lut.LatencyLUT (nn-Meter-style block sum, calibrated per batch size)",
        "space": space.name,
        "measurement_protocol": protocol.to_dict(),
        "measured_table": table.content_id,
        "fit_architectures": n_fit,
        "held_out_architectures": len(held_out),
        "split_seed": seed,
        "held_out": {str(b): s for b, s in summary.items()},
        "fit": sorted(a.string for a in fit),
        "lut": lut_settings(lut),
    }
    protocol_hash = sha256_of(settings)
    device = table.records["device"].dropna().iloc[0]
    records = [
        make_record(
            **arch_fields(space, arch),
            task=protocol.task,
            metric=f"{METRIC_PREFIX}{batch}",
            value=float(lut.predict(arch, batch)),
            unit="ms",
            fidelity=0,
            epoch=0,
            seed=0,
            device=device,
            protocol_hash=protocol_hash,
            status="ok",
            provenance="predicted",
        )
        for batch in protocol.batch_sizes
        for arch in cells
    ]
    cards = {
        f"{METRIC_PREFIX}{batch}": {
            "unit": "ms",
            "kind": "cost",
            "higher_is_better": False,
            "batch_size": batch,
            "predicted": True,
            "target": protocol.target,
            "description": "LUT latency model prediction (sum of measured blocks, calibrated on measured networks)",
            "source": "Zhang et al., nn-Meter, MobiSys 2021 (the LUT idea)",
        }
        for batch in protocol.batch_sizes
    }
    out.mkdir(parents=True)
    lut.save(out / "lut.parquet")
    (out / "report.json").write_text(json.dumps({str(b): r for b, r in reports.items()}, indent=1) + "\n")
    return write_import(out, space, {protocol_hash: settings}, cards, cells, records), reports
