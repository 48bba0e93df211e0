"""Recompute a sample of a table's records with the live code under the table's recorded settings.

A shipped or released number is only as good as the code that can still produce it. This module picks
records from a table (seeded, spread over metrics), rebuilds the unit that produced each one from the
manifest (the proxy protocol or training recipe by the record's ``protocol_hash``, the architecture,
task and seed) and runs it through the same evaluators a build uses (:func:`~.units.run_unit`), at the
table's recorded torch thread count. Where the CPU (model and kernel ISA flags) and the torch, numpy
and scipy versions are the table's, every value must be bit-identical; elsewhere proxies are compared
with a relative tolerance, and training curves and proxies built on near-singular spectra or discrete
counts are left out (:func:`comparable`), since no fixed tolerance holds for them across kernels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

PROXY_RTOL = 1e-3
"""Relative tolerance for proxy values recomputed on another CPU, thread count or library set."""
TRAIN_ATOL = 3.0
"""Absolute tolerance (accuracy points, loss units) for training curves compared across machines (the
demo's live check; tests compare training only where it must be bit-identical)."""


@dataclass(frozen=True)
class Recheck:
    """One recomputed record: the recorded and the recomputed value, and whether they agree."""

    metric: str
    arch: str
    seed: int
    epoch: float
    recorded: float
    recomputed: float
    exact_expected: bool
    trained: bool

    @property
    def tolerance(self) -> float:
        """Allowed difference off the table's machine: :data:`TRAIN_ATOL` for training values, else
        :data:`PROXY_RTOL` relative to the recorded value."""
        return TRAIN_ATOL if self.trained else PROXY_RTOL * max(abs(self.recorded), 1e-12)

    @property
    def agrees(self) -> bool:
        """Bit-identical where expected, else within the tolerance (NaN agrees with NaN)."""
        if math.isnan(self.recorded) or math.isnan(self.recomputed):
            return math.isnan(self.recorded) and math.isnan(self.recomputed)
        if self.exact_expected:
            return self.recorded == self.recomputed
        return abs(self.recorded - self.recomputed) <= self.tolerance


EXACT_PACKAGES = ("torch", "numpy", "scipy")
"""Packages whose versions must match the table's for bit-identical results."""
CONDITION_SENSITIVE = frozenset({"ntk", "meco", "jacob_cov", "linear_regions", "epe_nas"})
"""Proxies built on near-singular spectra or discrete counts: rounding moves them beyond any fixed
tolerance, so they are compared only where results must be bit-identical."""


def _lut_prediction(settings: dict[str, Any], arch: str, metric: str) -> float:
    from hw_profiles.lut_table import predict_record

    return predict_record(settings, arch, metric)


MODEL_RECOMPUTERS = {"lut": _lut_prediction}
"""Protocol kinds whose records a model predicted from settings the manifest holds: each recomputes one
record ``(settings, arch, metric) -> value`` with the live code, bit-identically (plain arithmetic)."""


def same_machine(manifest: dict[str, Any]) -> bool:
    """Whether results should be bit-identical here: the table's CPU (model and kernel ISA flags) and
    the versions of torch, numpy and scipy it was built with."""
    from benchmarks.storage.store import cpu_model, environment

    recorded = manifest.get("environment", {})
    here = environment()["packages"]
    same_packages = all(recorded.get("packages", {}).get(p) == here.get(p) for p in EXACT_PACKAGES)
    return recorded.get("cpu") == cpu_model() and same_packages


def stale_revisions(table: Any, metrics: set[str]) -> list[str]:
    """The proxies among ``metrics`` whose values the table holds from another revision of the proxy than
    the installed one (a card without ``revision`` is revision 1)."""
    from proxies.base import get_proxy

    cards = table.manifest.get("metrics", {})
    stale = []
    for name in sorted(metrics):
        try:
            installed = get_proxy(name).card.revision
        except KeyError:
            continue
        if int(cards.get(name, {}).get("revision", 1)) != installed:
            stale.append(name)
    return stale


def comparable(table: Any, rows: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The rows a recomputation here can judge, and why others were left out ("" if none were).

    Values of a proxy revision other than the installed one are never compared. Off the table's machine
    (see :func:`same_machine`), training curves (every step's rounding is amplified) and
    :data:`CONDITION_SENSITIVE` proxies cannot be held to a tolerance and are left out.
    """
    reasons = []
    protocols = table.manifest.get("protocols", {})
    measured = (
        rows["protocol_hash"].astype(str).map(lambda h: protocols.get(h, {}).get("kind") == "measurement")
    )
    if measured.any():
        dropped = sorted(set(rows.loc[measured, "metric"].astype(str)))
        rows = rows[~measured]
        reasons.append(
            f"hardware measurements (a re-run measures again, it cannot recompute): {', '.join(dropped)}"
        )
    stale = stale_revisions(table, set(rows["metric"].astype(str)))
    if stale:
        rows = rows[~rows["metric"].isin(stale)]
        reasons.append(
            f"computed by another revision of the proxy than the installed one: {', '.join(stale)}"
        )
    if not same_machine(table.manifest):
        recipes = set(table.manifest.get("recipes", {}))
        keep = ~rows["protocol_hash"].isin(recipes) & ~rows["metric"].isin(CONDITION_SENSITIVE)
        dropped = sorted(set(rows.loc[~keep, "metric"].astype(str)))
        rows = rows[keep]
        if dropped:
            reasons.append(
                f"not compared on this CPU or library set (bit-identical only where built): {', '.join(dropped)}"
            )
    return rows, "; ".join(reasons)


def pick_records(table: Any, per_metric: int, seed: int, metrics: list[str] | None = None) -> pd.DataFrame:
    """``per_metric`` ok records of each proxy metric and ``per_metric`` whole training runs, seeded.

    A training run is every ok record of one (architecture, seed, recipe): one run checks its whole
    curve. ``metrics`` restricts the proxy metrics (training runs are picked whenever a training
    metric is named or ``metrics`` is None).
    """
    records = table.records
    ok = records[records["status"] == "ok"]
    trained = ok["protocol_hash"].isin(set(table.manifest.get("recipes", {})))
    proxy_rows, train_rows = ok[~trained], ok[trained]
    names = sorted(proxy_rows["metric"].astype(str).unique())
    wanted = names if metrics is None else [m for m in metrics if m in names]
    rng = np.random.default_rng(seed)
    picked = []
    for name in wanted:
        rows = proxy_rows[proxy_rows["metric"] == name]
        take = rng.choice(len(rows), size=min(per_metric, len(rows)), replace=False)
        picked.append(rows.iloc[np.sort(take)])
    train_metrics = set(train_rows["metric"].astype(str))
    if len(train_rows) and (metrics is None or train_metrics & set(metrics)):
        keys = ["arch", "seed", "protocol_hash"]
        runs = train_rows[keys].astype(str).drop_duplicates().sort_values(keys)
        take = runs.iloc[np.sort(rng.choice(len(runs), size=min(per_metric, len(runs)), replace=False))]
        flat = train_rows[keys].astype(str)
        picked.append(train_rows[flat.apply(tuple, axis=1).isin(set(take.apply(tuple, axis=1)))])
    return pd.concat(picked) if picked else ok.iloc[:0]


def _unit_for(row: Any, manifest: dict[str, Any], space: str) -> Any:
    from benchmarks.pipeline.units import Unit

    protocols, recipes = manifest.get("protocols", {}), manifest.get("recipes", {})
    common = {"space": space, "arch": str(row.arch), "task": str(row.task), "seed": int(row.seed)}
    if row.protocol_hash in protocols:
        return Unit(
            "reverify", "proxies", proxies=(str(row.metric),), protocol=protocols[row.protocol_hash], **common
        )
    if row.protocol_hash in recipes:
        return Unit("reverify", "train", recipe=recipes[row.protocol_hash], **common)
    raise ValueError(f"record of {row.metric} names protocol {row.protocol_hash!r}, which the manifest lacks")


def recompute(table: Any, rows: pd.DataFrame) -> list[Recheck]:
    """Recompute ``rows`` (records of ``table``) with the live evaluators; one entry per compared value."""
    import torch

    from benchmarks.pipeline.units import run_unit

    manifest = table.manifest
    threads = manifest.get("environment", {}).get("torch_threads") or [None]
    recorded_threads = threads[0] if len(threads) == 1 else None
    exact = same_machine(manifest) and recorded_threads is not None
    before = torch.get_num_threads()
    if recorded_threads:
        torch.set_num_threads(int(recorded_threads))
    try:
        out: list[Recheck] = []
        runs: dict[tuple, list[dict[str, Any]]] = {}
        for row in rows.itertuples(index=False):
            settings = manifest.get("protocols", {}).get(str(row.protocol_hash), {})
            if (
                settings.get("kind") in MODEL_RECOMPUTERS
            ):  # a model's prediction: recomputed from its settings
                value = MODEL_RECOMPUTERS[settings["kind"]](settings, str(row.arch), str(row.metric))
                out.append(
                    Recheck(
                        str(row.metric),
                        str(row.arch),
                        int(row.seed),
                        0.0,
                        float(row.value),
                        value,
                        True,
                        False,
                    )
                )
                continue
            unit = _unit_for(row, manifest, str(row.space))
            key = (unit.kind, unit.arch, unit.task, unit.seed, row.protocol_hash, unit.proxies)
            if key not in runs:
                runs[key] = run_unit(unit)
            fresh = [
                r
                for r in runs[key]
                if r["metric"] == row.metric and (unit.kind != "train" or r["epoch"] == row.epoch)
            ]
            value = fresh[0]["value"] if fresh and fresh[0]["value"] is not None else math.nan
            epoch = 0.0 if pd.isna(row.epoch) else float(row.epoch)
            out.append(
                Recheck(
                    str(row.metric),
                    unit.arch,
                    unit.seed,
                    epoch,
                    float(row.value),
                    float(value),
                    exact,
                    unit.kind == "train",
                )
            )
        return out
    finally:
        torch.set_num_threads(before)


def compare_tables(live: Any, reference: Any) -> list[Recheck]:
    """Every ok record of ``live`` against the same record of ``reference`` (same arch_id, metric,
    task, seed, epoch and protocol), with :class:`Recheck`'s rules: bit-identical when the reference
    was built on this CPU model with the live table's thread count, else the tolerances above.

    Raises:
        ValueError: a live record has no counterpart in the reference.
    """
    keys = ["arch_id", "metric", "task", "seed", "epoch", "protocol_hash"]

    def keyed(frame: pd.DataFrame) -> pd.DataFrame:
        ok = frame[frame["status"] == "ok"]
        out = ok[[*keys, "arch", "value"]].astype({k: str for k in keys if k not in ("seed", "epoch")})
        return out.assign(epoch=out["epoch"].fillna(-1))

    joined = keyed(live.records).merge(keyed(reference.records), on=keys, how="left", suffixes=("", "_ref"))
    missing = joined[joined["value_ref"].isna()]
    if len(missing):
        first = missing.iloc[0]
        raise ValueError(
            f"the reference table has no {first.metric} record for {first.arch} (seed {first.seed})"
        )
    env_live = live.manifest.get("environment", {})
    env_ref = reference.manifest.get("environment", {})
    exact = same_machine(reference.manifest) and env_live.get("torch_threads") == env_ref.get("torch_threads")
    recipes = set(reference.manifest.get("recipes", {}))
    out = []
    for r in joined.itertuples(index=False):
        out.append(
            Recheck(
                r.metric,
                str(r.arch),
                int(r.seed),
                max(float(r.epoch), 0.0),
                float(r.value_ref),
                float(r.value),
                exact,
                r.protocol_hash in recipes,
            )
        )
    return out
