"""Derived metrics: proxies computed from stored learning curves, written back as their own records.

A :class:`Derivation` names its kind (``sotl``, ``sotl_e``, ``early_acc``, ``extrap_pow3``,
``extrap_exp3``, ``extrap_loglinear``), the hash of the training recipe whose curves it reads, how
many epochs of them it reads (E) and its parameters; its SHA-256 (canonical JSON, like a
``Protocol``) is the ``protocol_hash`` of every record it writes, and the journal stores the
derivation itself under ``protocol:<hash>`` (so a released table's manifest lists it with the
proxy protocols, marked by its ``derivation`` key). Derived records are never mixed with measured
ones: their metric names are their own, their cards say ``kind: derived``, and their protocol hash
differs from the recipe's. ``fidelity`` is the source run's budget, ``epoch`` is E (the point of
the curve at which the value is known) and ``seconds`` the training time of epochs 1..E (what the
proxy costs). A failed source run or fit is a record with status ``error`` or ``nan`` and the reason.

Derivations run over a build journal, one unit per ``(derivation, arch_id, seed)``, so they are
idempotent and resumable like builds; curves trained later are picked up by the next call.

* SoTL / SoTL-E: Ru et al., "Speedy Performance Estimation for Neural Architecture Search", NeurIPS 2021.
* Extrapolation: Domhan et al., "Speeding up Automatic Hyperparameter Optimization of Deep Neural
  Networks by Extrapolation of Learning Curves", IJCAI 2015.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.storage.journal import Journal
from benchmarks.storage.schema import make_record, utc_now
from proxies.curves import CURVE_MODELS, CurveError, extrapolate, sotl, sotl_e
from spaces.registry import Registry
from spaces.specs import sha256_of

LOSS_SUM = "train_loss_sum"


@dataclass(frozen=True)
class DerivationKind:
    """What a derivation reads (``loss`` sums or the ``eval`` accuracy), its card and its function."""

    reads: str
    unit: str
    higher_is_better: bool
    paper: str
    compute: Callable[[Sequence[float], Derivation], float]
    extrapolates: bool = False


DERIVATIONS: Registry[DerivationKind] = Registry("derivation", entry_point_group="archbench.derivations")

_RU = "Ru et al., Speedy Performance Estimation for Neural Architecture Search, NeurIPS 2021"
_DOMHAN = "Domhan, Springenberg & Hutter, Extrapolation of Learning Curves, IJCAI 2015"

DERIVATIONS.register("sotl", DerivationKind("loss", "nats", False, _RU, lambda v, d: sotl(v, d.epochs)))
DERIVATIONS.register(
    "sotl_e", DerivationKind("loss", "nats", False, _RU, lambda v, d: sotl_e(v, d.epochs, d.window))
)
DERIVATIONS.register(
    "early_acc",
    DerivationKind(
        "eval",
        "%",
        True,
        "early stopping baseline (e.g. Ru et al. 2021)",
        lambda v, d: float(v[d.epochs - 1]),
    ),
)
for _model in ("pow3", "exp3", "loglinear"):
    DERIVATIONS.register(
        f"extrap_{_model}",
        DerivationKind(
            "eval",
            "%",
            True,
            _DOMHAN,
            lambda v, d, m=_model: extrapolate(v[: d.epochs], d.target, m, d.ceiling)[0],
            extrapolates=True,
        ),
    )


@dataclass(frozen=True)
class Derivation:
    """One derived metric over the curves of one recipe.

    Args:
        kind: a registered derivation (the metric name of its records).
        source: the full hash of the training recipe whose curves it reads.
        epochs: E, how many leading epochs of each curve it reads (1..the recipe's epochs).
        target: extrapolations only: the epoch whose value is predicted (> E).
        window: ``sotl_e`` only: how many epochs ending at E are summed.
        ceiling: extrapolations only: upper bound of the fitted asymptote (100 for percent).
    """

    kind: str
    source: str
    epochs: int
    target: int | None = None
    window: int = 1
    ceiling: float = 100.0

    def __post_init__(self) -> None:
        spec = DERIVATIONS.get(self.kind)
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"derivation epochs must be a positive integer, got {self.epochs!r}")
        if spec.extrapolates:
            if not isinstance(self.target, int) or self.target <= self.epochs:
                raise ValueError(
                    f"{self.kind} needs a target epoch beyond its {self.epochs} epochs, got {self.target!r}"
                )
            needed = CURVE_MODELS.get(self.kind.removeprefix("extrap_")).n_params
            if self.epochs < needed:
                raise ValueError(
                    f"{self.kind} fits {needed} parameters and needs epochs >= {needed}, got {self.epochs}"
                )
        elif self.target is not None:
            raise ValueError(f"{self.kind} does not extrapolate: give no target")
        if self.kind == "sotl_e" and not 1 <= self.window <= self.epochs:
            raise ValueError(f"sotl_e window must be in 1..{self.epochs}, got {self.window}")

    def to_dict(self) -> dict[str, Any]:
        """The hashed content: kind, source recipe, epochs read and only the parameters the kind uses."""
        out: dict[str, Any] = {"derivation": self.kind, "source_recipe": self.source, "epochs": self.epochs}
        if DERIVATIONS.get(self.kind).extrapolates:
            out.update(target=self.target, ceiling=self.ceiling)
        if self.kind == "sotl_e":
            out["window"] = self.window
        return out

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict`."""
        return sha256_of(self.to_dict())

    def card(self) -> dict[str, Any]:
        """The metric card of the records (kind ``derived``)."""
        spec = DERIVATIONS.get(self.kind)
        return {
            "unit": spec.unit,
            "kind": "derived",
            "higher_is_better": spec.higher_is_better,
            "paper": spec.paper,
        }


def standard_derivations(recipes: dict[str, dict[str, Any]], kinds: Iterable[str]) -> list[Derivation]:
    """The derivations ``archbench build --derive`` plans over ``recipes`` (hash -> recipe dict).

    SoTL, SoTL-E and early accuracy read each fidelity's full curve (E = its epochs). Extrapolations
    follow Domhan et al.: they read the first F epochs of the longest run, for every shorter budget
    F with at least as many epochs as the model has parameters, and predict the longest run's last
    epoch (a shorter run's own curve is not a prefix of it: its schedule ends sooner).
    """
    kinds = list(kinds)
    for kind in kinds:
        DERIVATIONS.get(kind)  # unknown names fail here
    ordered = sorted(recipes.items(), key=lambda kv: kv[1]["epochs"])
    longest, target = ordered[-1][0], ordered[-1][1]["epochs"]
    out = []
    for digest, recipe in ordered:
        e = recipe["epochs"]
        for kind in kinds:
            if not DERIVATIONS.get(kind).extrapolates:
                out.append(Derivation(kind, digest, e))
            elif e < target and e >= CURVE_MODELS.get(kind.removeprefix("extrap_")).n_params:
                out.append(Derivation(kind, longest, e, target))
    return out


def _value(derivation: Derivation, curve: dict[str, dict[int, dict[str, Any]]], read: str) -> dict[str, Any]:
    """Status, value and message of one derivation on one run's curve."""
    points = curve.get(read, {})
    failed = [r for rows in curve.values() for r in rows.values() if r["status"] == "error"]
    if failed:
        return {"status": "error", "value": None, "message": f"source run failed: {failed[0]['message']}"}
    missing = [e for e in range(1, derivation.epochs + 1) if e not in points]
    if missing:
        return {
            "status": "error",
            "value": None,
            "message": f"source curve has no {read} at epoch {missing[0]}",
        }
    rows = [points[e] for e in range(1, derivation.epochs + 1)]
    bad = next((r for r in rows if r["status"] != "ok"), None)
    if bad is not None:
        return {
            "status": bad["status"],
            "value": None,
            "message": f"source {read} is {bad['status']} at epoch {bad['epoch']}: {bad['message']}",
        }
    try:
        value = DERIVATIONS.get(derivation.kind).compute([r["value"] for r in rows], derivation)
    except CurveError as exc:
        return {"status": "error", "value": None, "message": str(exc)}
    if not math.isfinite(value):
        return {"status": "nan", "value": None, "message": f"{derivation.kind} is not finite"}
    return {"status": "ok", "value": float(value), "message": ""}


def derive(journal_path: str | Path, derivations: Sequence[Derivation]) -> dict[str, int]:
    """Write every derivation's records for every finished run of its source recipe into the journal.

    Returns the number of records written per metric in this call (0 when all were already there).
    Raises ValueError naming the problem when a source recipe is not in the journal or has fewer
    epochs than a derivation reads.
    """
    written: dict[str, int] = defaultdict(int)
    with Journal(journal_path) as journal:
        meta = journal.meta()
        for d in derivations:
            recipe = meta.get(f"recipe:{d.source}")
            if recipe is None:
                raise ValueError(f"{journal_path}: no training recipe {d.source[:12]}... in this journal")
            if d.epochs > recipe["epochs"]:
                raise ValueError(
                    f"{d.kind} reads {d.epochs} epochs but recipe {d.source[:12]}... trains {recipe['epochs']}"
                )
        for d in derivations:
            journal.bind(f"protocol:{d.hash}", d.to_dict())
            journal.bind(f"metric:{d.kind}", d.card())
        sources = {d.source for d in derivations}
        runs: dict[tuple[str, str, int], dict[str, dict[int, dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(dict)
        )
        for row in journal.rows("records"):
            if row["protocol_hash"] in sources:
                runs[(row["protocol_hash"], row["arch_id"], row["seed"])][row["metric"]][row["epoch"]] = row
        done = journal.done()
        for d in derivations:
            recipe = meta[f"recipe:{d.source}"]
            read = LOSS_SUM if DERIVATIONS.get(d.kind).reads == "loss" else f"{recipe['eval_split']}_acc"
            for (source, arch_id, seed), curve in sorted(runs.items()):
                key = f"derived|{d.hash[:16]}|{arch_id}|{seed}"
                if source != d.source or key in done:
                    continue
                any_row = next(iter(next(iter(curve.values())).values()))
                result = _value(d, curve, read)
                epoch_rows = curve.get(read, {})
                seconds = sum(epoch_rows[e]["seconds"] for e in range(1, d.epochs + 1) if e in epoch_rows)
                record = make_record(
                    **{
                        c: any_row[c]
                        for c in ("space", "space_version", "arch_id", "arch", "task", "seed", "device")
                    },
                    metric=d.kind,
                    unit=d.card()["unit"],
                    fidelity=recipe["epochs"],
                    epoch=d.epochs,
                    protocol_hash=d.hash,
                    seconds=seconds,
                    **result,
                )
                if journal.commit_unit(key, [record], utc_now()):
                    written[d.kind] += 1
    return dict(written)
