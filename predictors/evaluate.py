"""Sample-efficiency evaluation of predictors under an :class:`~predictors.protocol.EvalProtocol`.

Honest by construction: the split is made (and hashed) before any model is fitted; each model sees only
its training rows, chooses hyper-parameters by k-fold cross-validation inside them
(:func:`choose_params`), and predicts the fixed test set once per (size, seed). Metrics are over unique
``arch_id``s; each (model, size) gets the mean over seeds with a bootstrap 95 % interval that resamples
test architectures (the same resample for every seed, so the interval covers test-set sampling).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from benchmarks.metrics import kendall, ndcg_at_k, regret_at_k, spearman, top_k_precision
from predictors.base import get_predictor_class, make_predictor
from predictors.encodings import Encoded, encode
from predictors.protocol import EvalProtocol, Splits, make_splits, space_classes

if TYPE_CHECKING:
    from benchmarks.table import Table


@dataclass(frozen=True)
class Candidate:
    """A predictor on an encoding (with hyper-parameter overrides that replace its CV search)."""

    predictor: str
    encoding: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        """``predictor[encoding]``, the name in tables and plots."""
        return f"{self.predictor}[{self.encoding}]"


@dataclass
class Evaluation:
    """What :func:`evaluate` produced: per-run rows, predictions, the curves and the report."""

    runs: pd.DataFrame
    predictions: pd.DataFrame
    curves: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)


def metric_functions(protocol: EvalProtocol) -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    """The protocol's metrics as ``f(predicted, true)``: higher is better except ``regret``."""
    return {
        "kendall": kendall,
        "spearman": spearman,
        "top5": lambda x, y: top_k_precision(x, y, 0.05),
        "top10": lambda x, y: top_k_precision(x, y, 0.10),
        "ndcg": lambda x, y: ndcg_at_k(x, y, protocol.ndcg_k),
        "regret": lambda x, y: regret_at_k(x, y, protocol.regret_k),
    }


def truth_values(table: Table, protocol: EvalProtocol) -> pd.Series:
    """The target per ``arch_id`` from ``table`` (seeds combined); ValueError if the table lacks it."""
    if protocol.target not in table.metrics:
        raise ValueError(
            f"table {table.path} has no metric {protocol.target!r} (metrics: {', '.join(sorted(table.metrics))})"
        )
    tasks = set(table.filter(metric=protocol.target)["task"].astype(str))
    if protocol.task not in tasks:
        raise ValueError(
            f"table {table.path} has {protocol.target!r} for tasks {sorted(tasks)}, not {protocol.task!r}"
        )
    wide = table.wide(metrics=[protocol.target], task=protocol.task)
    values = wide[protocol.target].dropna()
    if values.empty:
        raise ValueError(f"table {table.path} has no ok {protocol.target!r} values")
    return values


def universe(protocol: EvalProtocol, truth: pd.Series) -> list[str]:
    """The classes the protocol splits: every class of the space when it is enumerable, else the truth's."""
    try:
        return space_classes(protocol.space)
    except NotImplementedError:
        return sorted(truth.index)


def check_coverage(splits: Splits, truth: pd.Series, protocol: EvalProtocol) -> None:
    """Every test class and every drawn training class has a target value; ValueError naming how many lack one."""
    missing = [c for c in splits.test if c not in truth.index]
    if missing:
        raise ValueError(
            f"the truth lacks {protocol.target!r} for {len(missing)} of the {len(splits.test)} test classes"
        )
    for seed, pool in splits.pools:
        absent = [c for c in pool if c not in truth.index]
        if absent:
            raise ValueError(
                f"the truth lacks {protocol.target!r} for {len(absent)} training classes of seed {seed}"
            )


def choose_params(
    name: str, X: np.ndarray, y: np.ndarray, folds: int, seed: int
) -> tuple[dict[str, Any], float | None]:
    """The card's grid point with the best mean Kendall tau over ``folds`` folds of the training rows.

    The defaults are always a candidate (first, so they win ties); the card's ``cv_params`` (e.g. one
    ensemble member) apply to the CV fits only. Returns ``(params, cv_tau)``; no grid means the
    defaults and ``None``. Only ``X`` and ``y`` (the training rows) are ever seen.
    """
    card = get_predictor_class(name).card
    cheap = dict(card.cv_params)
    grid = [{}] + [dict(g) for g in card.grid if dict(g)]
    if len(grid) == 1:
        return {}, None
    order = np.random.default_rng([seed, len(y)]).permutation(len(y))
    parts = np.array_split(order, folds)
    best, best_score = {}, -np.inf
    for params in grid:
        scores = []
        for k in range(folds):
            held = parts[k]
            kept = np.concatenate([parts[j] for j in range(folds) if j != k])
            model = make_predictor(name, seed=seed, **{**params, **cheap})
            pred = model.fit(X[kept], y[kept]).predict(X[held]).mean
            tau = kendall(pred, y[held])
            scores.append(-1.0 if np.isnan(tau) else tau)
        if np.mean(scores) > best_score:
            best, best_score = params, float(np.mean(scores))
    return best, best_score


def representatives(table: Table, ids: Sequence[str], space_name: str) -> list:
    """The class representative (lowest published index) of each ``arch_id``, parsed in the space."""
    import spaces

    space = spaces.get(space_name)
    return [space.parse(table.locate(arch_id=i).arch) for i in ids]


def _seed_mean_ci(
    fn: Callable[[np.ndarray, np.ndarray], float],
    preds: np.ndarray,
    y: np.ndarray,
    n_boot: int,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean over seeds (rows of ``preds``) of ``fn``, and a percentile 95 % interval over test resamples."""
    point = float(np.nanmean([fn(p, y) for p in preds]))
    if n_boot == 0:
        return point, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = []
    for idx in rng.integers(0, len(y), size=(n_boot, len(y))):
        values = [fn(p[idx], y[idx]) for p in preds]
        if not np.all(np.isnan(values)):
            draws.append(np.nanmean(values))
    if not draws:
        return point, float("nan"), float("nan")
    low, high = np.percentile(draws, [2.5, 97.5])
    return point, float(low), float(high)


def evaluate(
    protocol: EvalProtocol,
    truth_table: Table,
    candidates: Sequence[Candidate],
    features_table: Table | None = None,
    features: Sequence[str] | None = None,
    log: Callable[[str], None] | None = None,
    features_task: str | None = None,
) -> Evaluation:
    """Run every candidate over the protocol's train sizes and seeds; see the module docstring.

    ``features_table`` / ``features`` serve the ``zc`` encoding, read on ``features_task`` (default: the
    target's task; another one transfers proxies computed on other data, e.g. nb201-fmnist's Fashion-MNIST
    proxies as features for CIFAR-10 accuracy). ``log`` receives one line per run.
    Raises ValueError (one line) on an unknown predictor or encoding, a missing target, a train size the
    pool cannot hold, or test/train classes without a target value.
    """
    import spaces

    for c in candidates:  # fail on names before any work
        get_predictor_class(c.predictor)
    truth = truth_values(truth_table, protocol)
    splits = make_splits(protocol, universe(protocol, truth))
    check_coverage(splits, truth, protocol)
    if log:  # the split is fixed and named before any model sees data
        log(f"protocol {protocol.hash[:16]}, splits {splits.hash[:16]}: {len(splits.test)} test classes")
    test_ids = list(splits.test)
    train_ids = list(dict.fromkeys(c for _, pool in splits.pools for c in pool))
    all_ids = test_ids + train_ids
    row_of = {c: i for i, c in enumerate(all_ids)}
    archs = representatives(truth_table, all_ids, protocol.space)
    space = spaces.get(protocol.space)
    encoded: dict[str, Encoded] = {}
    for c in candidates:
        if c.encoding not in encoded:
            encoded[c.encoding] = encode(
                space,
                archs,
                c.encoding,
                features_table,
                features,
                features_task or protocol.task,
                exclude=[protocol.target],
            )
        wanted = get_predictor_class(c.predictor).card.input
        if encoded[c.encoding].input != wanted:
            raise ValueError(
                f"predictor {c.predictor!r} takes {wanted} input; encoding {c.encoding!r} is {encoded[c.encoding].input}"
            )
    y_all = truth.reindex(all_ids).to_numpy(dtype=np.float64)
    y_test = y_all[: len(test_ids)]
    fns = metric_functions(protocol)

    runs, preds = [], []
    for c in candidates:
        X = encoded[c.encoding].X
        X_test = X[: len(test_ids)]
        for size in protocol.train_sizes:
            for seed in protocol.seeds:
                rows = [row_of[i] for i in splits.train(size, seed)]
                start = time.perf_counter()
                if c.params:
                    params, cv_tau = dict(c.params), None
                elif size >= protocol.cv_min_train:
                    params, cv_tau = choose_params(c.predictor, X[rows], y_all[rows], protocol.cv_folds, seed)
                else:
                    params, cv_tau = {}, None
                model = make_predictor(c.predictor, seed=seed, **params).fit(X[rows], y_all[rows])
                fit_s = time.perf_counter() - start
                start = time.perf_counter()
                pred = model.predict(X_test)
                predict_s = time.perf_counter() - start
                values = {m: fn(pred.mean, y_test) for m, fn in fns.items()}
                runs.append(
                    {
                        "model": c.label,
                        "predictor": c.predictor,
                        "encoding": c.encoding,
                        "train_size": size,
                        "seed": seed,
                        "params": json.dumps(params, sort_keys=True),
                        "cv_kendall": cv_tau,
                        "fit_s": fit_s,
                        "predict_s": predict_s,
                        **values,
                    }
                )
                preds.append(
                    pd.DataFrame(
                        {
                            "model": c.label,
                            "train_size": size,
                            "seed": seed,
                            "arch_id": test_ids,
                            "mean": pred.mean,
                            "std": np.nan if pred.std is None else pred.std,
                            "truth": y_test,
                        }
                    )
                )
                if log:
                    log(f"{c.label} n={size} seed={seed}: kendall {values['kendall']:+.3f} ({fit_s:.1f} s)")
    runs_frame = pd.DataFrame(runs)
    predictions = pd.concat(preds, ignore_index=True)
    curves = summarise(predictions, protocol)
    timing = runs_frame.groupby(["model", "train_size"], sort=False)[["fit_s", "predict_s"]].mean()
    curves = curves.join(timing, on=["model", "train_size"])
    report = {
        "protocol": protocol.to_dict(),
        "protocol_hash": protocol.hash,
        "splits_sha256": splits.hash,
        "truth": {"table": str(truth_table.path), "metric": protocol.target, "classes": len(truth)},
        "encodings": {spec: e.provenance | {"width": int(e.X.shape[1])} for spec, e in encoded.items()},
        "candidates": [c.label for c in candidates],
    }
    return Evaluation(runs_frame, predictions, curves, report)


def summarise(predictions: pd.DataFrame, protocol: EvalProtocol) -> pd.DataFrame:
    """Per (model, train size): each metric's mean over seeds with its bootstrap 95 % interval
    (``protocol.n_boot`` resamples for Kendall and Spearman, at most 200 for the others)."""
    fns = metric_functions(protocol)
    rows = []
    for (model, size), group in predictions.groupby(["model", "train_size"], sort=False):
        by_seed = group.pivot(index="arch_id", columns="seed", values="mean")
        truth = group.drop_duplicates("arch_id").set_index("arch_id")["truth"].reindex(by_seed.index)
        preds = by_seed.to_numpy().T
        row = {"model": model, "train_size": int(size), "seeds": preds.shape[0], "test_size": len(truth)}
        for name, fn in fns.items():
            boots = protocol.n_boot if name in ("kendall", "spearman") else min(protocol.n_boot, 200)
            row[name], row[f"{name}_low"], row[f"{name}_high"] = _seed_mean_ci(
                fn, preds, truth.to_numpy(), boots
            )
            row[f"{name}_seed_std"] = float(np.nanstd([fn(p, truth.to_numpy()) for p in preds]))
        rows.append(row)
    return pd.DataFrame(rows)
