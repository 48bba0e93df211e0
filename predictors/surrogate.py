"""Surrogate benchmark tables: a fitted predictor's mean and std for every class of a space, as a table.

Like NAS-Bench-301 (Zela et al., ICLR 2022), a surrogate answers architectures nobody trained; here the
answer is an ordinary archbench table (journal -> Parquet + manifest), so every query tool reads it.
Each class gets ``<target>_surrogate`` (the predicted mean) and, for models with an uncertainty,
``<target>_surrogate_std``, computed on its representative and answered for every member. The protocol hash names the predictor
artefact (SHA-256 of its ``predictor.json``, which itself hashes every state file) and its encoding, and
the records say ``device = "surrogate"`` so they are never mistaken for measurements.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.importers import write_import
from benchmarks.schema import arch_fields, make_record
from benchmarks.store import sha256_file
from predictors.base import MANIFEST, Predictor
from predictors.encodings import encode
from spaces.specs import sha256_of

if TYPE_CHECKING:
    from benchmarks.table import Table


def surrogate_table(model: Predictor, artefact: Path, out: Path, features: Table | None = None) -> Path:
    """Predict every class of the model's space and release the predictions as ``out/table``.

    The model must carry the metadata ``predictors fit`` saves (space, encoding, task, target).
    """
    import spaces

    meta = model.meta
    missing = sorted({"space", "encoding", "task", "target"} - set(meta))
    if missing:
        raise ValueError(
            f"{artefact}: the predictor records no {missing}; save it with 'archbench predictors fit'"
        )
    out = Path(out)
    if out.exists():
        raise ValueError(f"{out} already exists; choose a new folder")
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
        "artefact_sha256": sha256_file(Path(artefact) / MANIFEST),
        "encoding": meta["encoding"],
        "trained_on": {
            k: meta.get(k) for k in ("target", "task", "protocol_hash", "splits_sha256", "train_size")
        },
    }
    protocol_hash = sha256_of(settings)
    name = f"{meta['target']}_surrogate"
    columns = [(name, pred.mean)] + ([(f"{name}_std", pred.std)] if pred.std is not None else [])
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
        )
        for metric, values in columns
        for i, arch in enumerate(archs)
    ]
    card = {"kind": "functional", "higher_is_better": True, "source": f"predictor {model.card.name}"}
    cards = {metric: {**card, "unit": meta.get("unit", ""), "surrogate": True} for metric, _ in columns}
    return write_import(out, space, {protocol_hash: settings}, cards, cells, records)
