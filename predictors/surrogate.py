"""Surrogate benchmark tables: a fitted predictor ensemble's mean and std for every class of a space.

Like NAS-Bench-301 (Zela et al., ICLR 2022), a surrogate answers architectures nobody trained; here the
answer is an ordinary archbench table (journal -> Parquet + manifest) that answers the same queries as
the measured one: ``open_table(...).value(arch, metric=<target>)`` gives the predicted mean, the metric
``<target>_std`` the ensemble's standard deviation, and every record carries ``provenance =
"predicted"`` (a column of the record schema since schema version 2), so a prediction is never taken for
a measurement. :func:`answer` reads all three at once from any table.

The protocol settings (in the manifest) name what made it: the predictor, its artefact's SHA-256 (its
``predictor.json`` hashes every state file), the encoding, the content ids of the truth and feature
tables it was fitted on, the evaluation protocol and split, and the held-out report: rank correlation
and the coverage of the 68 % / 95 % intervals (:mod:`predictors.calibration`) on the protocol's frozen
test classes, which the model never saw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmarks.importers import write_import
from benchmarks.metrics import kendall, spearman
from benchmarks.schema import arch_fields, make_record
from benchmarks.store import sha256_file
from predictors.base import MANIFEST, Predictor
from predictors.calibration import LEVELS, interval_coverage
from predictors.encodings import encode
from spaces.specs import sha256_of

if TYPE_CHECKING:
    from benchmarks.table import Table

STD_SUFFIX = "_std"
"""The std of metric ``m`` is the metric ``m + STD_SUFFIX`` (one row per class, like the mean)."""
NEEDED_META = ("space", "encoding", "task", "target", "protocol", "splits_sha256")


@dataclass(frozen=True)
class Answer:
    """A table's answer for one architecture and metric: the value, its std (or None) and provenance."""

    value: float
    std: float | None
    provenance: str


def answer(
    table: Table, arch: str | None = None, *, metric: str, arch_id: str | None = None, **query: Any
) -> Answer:
    """``table.value(...)`` with the std (metric ``<metric>_std`` where the table has it) and provenance.

    Works on any table: a measured one answers ``std=None`` and ``provenance="measured"`` (or
    ``imported``). ``query`` takes :meth:`~benchmarks.storage.table.Table.value`'s filters.
    """
    value = table.value(arch=arch, arch_id=arch_id, metric=metric, **query)
    std_metric = metric + STD_SUFFIX
    std = (
        table.value(arch=arch, arch_id=arch_id, metric=std_metric, **query)
        if std_metric in table.metrics
        else None
    )
    rows = table.lookup(arch=arch, arch_id=arch_id, metric=metric, status="ok")
    kinds = sorted(set(rows["provenance"].astype(str)))
    return Answer(value, None if std is None or math.isnan(std) else std, "+".join(kinds) or "measured")


def held_out_report(model: Predictor, truth: Table, features: Table | None) -> dict[str, Any]:
    """Kendall tau-b, Spearman and interval coverage of ``model`` on its protocol's frozen test classes.

    The protocol and split are those recorded when the model was fitted; the split is rebuilt and its
    hash checked against the recorded one, so the test classes are exactly those kept from training.
    """
    import spaces
    from predictors.evaluate import representatives, truth_values, universe
    from predictors.protocol import EvalProtocol, make_splits

    meta = model.meta
    protocol = EvalProtocol.from_dict(meta["protocol"])
    values = truth_values(truth, protocol)
    splits = make_splits(protocol, universe(protocol, values))
    if splits.hash != meta["splits_sha256"]:
        raise ValueError(
            f"the truth table gives split {splits.hash[:16]}, the model was fitted on {meta['splits_sha256'][:16]}; "
            "pass the truth table it was fitted on"
        )
    test = [c for c in splits.test if c in values.index]
    archs = representatives(truth, test, protocol.space)
    X = encode(
        spaces.get(protocol.space),
        archs,
        meta["encoding"],
        features,
        meta.get("features") or None,
        protocol.task,
        [protocol.target],
    ).X
    pred = model.predict(X)
    y = values.reindex(test).to_numpy(dtype=np.float64)
    report: dict[str, Any] = {
        "test_classes": len(test),
        "kendall": kendall(pred.mean, y),
        "spearman": spearman(pred.mean, y),
        "rmse": float(np.sqrt(np.mean((pred.mean - y) ** 2))),
    }
    if pred.std is not None:
        report["coverage"] = interval_coverage(pred.mean, pred.std, y, LEVELS)
        report["mean_std"] = float(np.mean(pred.std))
    return report


def surrogate_table(
    model: Predictor, artefact: Path, out: Path, truth: Table, features: Table | None = None
) -> tuple[Path, dict[str, Any]]:
    """Predict every class of the model's space, release the predictions as ``out/table``; and the
    held-out report (:func:`held_out_report`) recorded in the table's protocol settings.

    The model must give a std (an ensemble, a forest or a GP) and carry the metadata ``predictors fit``
    saves (space, encoding, task, target, protocol, split).
    """
    import spaces

    meta = model.meta
    missing = sorted(set(NEEDED_META) - set(meta))
    if missing:
        raise ValueError(
            f"{artefact}: the predictor records no {missing}; save it with 'archbench predictors fit'"
        )
    if not model.card.has_std:
        raise ValueError(
            f"predictor {model.card.name!r} gives no standard deviation; a surrogate needs one "
            "(e.g. random_forest, mlp_ensemble, gnn, gp)"
        )
    out = Path(out)
    if out.exists():
        raise ValueError(f"{out} already exists; choose a new folder")
    report = held_out_report(model, truth, features)
    space = spaces.get(meta["space"])
    try:
        cells = list(space.enumerate())
        archs = list({a.arch_id: space.representative(a) for a in cells}.values())
    except NotImplementedError:
        raise ValueError(
            f"space {space.name!r} cannot be enumerated; a surrogate table needs every class"
        ) from None
    encoded = encode(
        space, archs, meta["encoding"], features, meta.get("features") or None, meta["task"], [meta["target"]]
    )
    pred = model.predict(encoded.X)
    settings = {
        "surrogate": model.card.name,
        "params": model.params,
        "artefact_sha256": sha256_file(Path(artefact) / MANIFEST),
        "encoding": meta["encoding"],
        "trained_on": {
            k: meta.get(k)
            for k in (
                "target",
                "task",
                "protocol_hash",
                "splits_sha256",
                "train_size",
                "truth_table",
                "features_table",
            )
        },
        "features_table": None if features is None else features.content_id,
        "held_out": report,
    }
    protocol_hash = sha256_of(settings)
    target = meta["target"]
    columns = [(target, pred.mean), (target + STD_SUFFIX, pred.std)]
    records = [
        make_record(
            **arch_fields(space, arch),
            task=meta["task"],
            metric=metric,
            value=float(values[i]),
            unit=meta.get("unit", ""),
            fidelity=0,
            epoch=0,
            seed=model.seed,
            device="surrogate",
            protocol_hash=protocol_hash,
            status="ok",
            provenance="predicted",
        )
        for metric, values in columns
        for i, arch in enumerate(archs)
    ]
    card = {"kind": "functional", "higher_is_better": True, "source": f"predictor {model.card.name}"}
    cards = {
        target: {**card, "unit": meta.get("unit", ""), "predicted": True},
        target + STD_SUFFIX: {
            **card,
            "unit": meta.get("unit", ""),
            "predicted": True,
            "std_of": target,
            "higher_is_better": False,
        },
    }
    return write_import(out, space, {protocol_hash: settings}, cards, cells, records), report
