"""The evaluation: only training rows reach a model, outputs are complete and atomic, errors are one line."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from _predictor_helpers import needs_shared_data, truth_table_path
from test_predictor_conformance import RidgePlugin

from benchmarks.importers import AccuracyImport, import_accuracies
from benchmarks.table import open_table
from predictors.base import PREDICTORS
from predictors.encodings import encode
from predictors.evaluate import Candidate, evaluate, representatives
from predictors.protocol import EvalProtocol, make_splits, space_classes
from predictors.report import write_evaluation

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = EvalProtocol(test_size=40, train_sizes=(5, 12), seeds=(0, 1), cv_min_train=12, n_boot=20)


@pytest.fixture(scope="module")
def truth():
    needs_shared_data()
    return open_table(truth_table_path())


class Spy(RidgePlugin):
    """Ridge that records every training matrix it is given (and has a grid, so CV runs)."""

    card = RidgePlugin.card.__class__(
        "zz_spy", "spy", "test", defaults=(("alpha", 1.0),), grid=((("alpha", 10.0),),)
    )
    seen: ClassVar[list[np.ndarray]] = []

    def _fit(self, X, y):
        Spy.seen.append(X.copy())
        super()._fit(X, y)


@pytest.fixture
def spy(monkeypatch):
    monkeypatch.setitem(PREDICTORS._entries, "zz_spy", Spy)
    Spy.seen = []
    yield Spy
    Spy.seen = []


def test_models_never_see_test_rows_even_in_cross_validation(truth, spy):
    result = evaluate(SMALL, truth, [Candidate("zz_spy", "onehot")])
    splits = make_splits(SMALL, space_classes("nb201"))
    test_rows = encode(truth_space(), representatives(truth, list(splits.test), "nb201"), "onehot").X
    test_keys = {row.tobytes() for row in test_rows}
    assert len(spy.seen) == 2 + 2 * (1 + 2 * SMALL.cv_folds)  # size 5: fit only; size 12: CV grid + fit
    for X in spy.seen:
        assert not {row.tobytes() for row in X} & test_keys
    cv = result.runs[result.runs["train_size"] == 12]["cv_kendall"]
    assert cv.notna().all() and result.runs[result.runs["train_size"] == 5]["cv_kendall"].isna().all()


def truth_space():
    import spaces

    return spaces.get("nb201")


def test_evaluation_outputs_are_complete_and_deterministic(truth, tmp_path):
    candidates = [Candidate("lightgbm", "path", (("n_estimators", 50),)), Candidate("best_feature", "onehot")]
    first = evaluate(SMALL, truth, candidates)
    again = evaluate(SMALL, truth, candidates)
    metrics = ["kendall", "spearman", "top5", "top10", "ndcg", "regret"]
    pd.testing.assert_frame_equal(first.runs[metrics], again.runs[metrics])
    assert len(first.runs) == 2 * 2 * 2 and len(first.predictions) == 8 * 40
    curves = first.curves
    assert list(curves["train_size"]) == [5, 12, 5, 12] and (curves["seeds"] == 2).all()
    assert curves["kendall"].between(-1, 1).all() and (curves["regret"] >= 0).all()
    assert (curves["kendall_low"] <= curves["kendall_high"]).all()
    assert first.report["splits_sha256"] == make_splits(SMALL, space_classes("nb201")).hash
    assert first.report["protocol_hash"] == SMALL.hash
    paths = write_evaluation(first, tmp_path / "ev")
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.values())
    assert pd.read_csv(paths["curves.csv"]).shape[0] == 4
    with pytest.raises(Exception, match="already exists"):
        write_evaluation(first, tmp_path / "ev")


def test_bad_inputs_are_one_line_errors(truth, tmp_path):
    cases = [
        (EvalProtocol(target="val_acc"), Candidate("lightgbm", "onehot"), "has no metric 'val_acc'"),
        (EvalProtocol(task="cifar100"), Candidate("lightgbm", "onehot"), "not 'cifar100'"),
        (SMALL, Candidate("lightgbm", "paths"), "unknown encoding 'paths'"),
        (SMALL, Candidate("lgbm", "onehot"), "unknown predictor 'lgbm'; did you mean lightgbm"),
        (SMALL, Candidate("gnn", "onehot"), "takes graph input"),
        (
            EvalProtocol(train_sizes=(10, 5500)),
            Candidate("lightgbm", "onehot"),
            "at most 5466 classes remain",
        ),
    ]
    for protocol, candidate, message in cases:
        with pytest.raises((ValueError, KeyError)) as info:
            evaluate(protocol, truth, [candidate])
        text = str(info.value.args[0])
        assert message in text and "\n" not in text, text


def test_a_truth_without_the_test_classes_is_refused(tmp_path):
    needs_shared_data()
    from _predictor_helpers import ACCURACY

    part = pd.read_parquet(ACCURACY).head(200)
    part.to_parquet(tmp_path / "part.parquet")
    spec = AccuracyImport(
        "nb201", "cifar10", "test_acc_200ep", "nb201_index", "cifar10_test_acc_200ep", key="index"
    )
    table = open_table(import_accuracies(tmp_path / "part.parquet", spec, tmp_path / "truth"))
    with pytest.raises(ValueError, match=r"the truth lacks 'test_acc_200ep' for \d+ of the 40 test classes"):
        evaluate(SMALL, table, [Candidate("lightgbm", "onehot")])


ONE = EvalProtocol(test_size=40, train_sizes=(12,), seeds=(0,), cv_min_train=12, n_boot=20)
TUNED = ("lightgbm", "random_forest", "gp", "mlp_ensemble", "gnn")


@pytest.mark.parametrize("name", TUNED)
def test_every_model_chooses_by_cv_inside_the_training_split_only(truth, monkeypatch, name):
    """Every fit and every CV prediction sees training rows only; the test rows are predicted once."""
    import spaces
    from predictors.base import get_predictor_class

    cls = get_predictor_class(name)
    assert len(cls.card.grid) >= 1, f"{name} has no hyper-parameter grid"
    if "epochs" in dict(cls.card.defaults):  # torch models: the real grid, trained for few epochs
        short = lambda pairs: tuple((k, 10 if k == "epochs" else v) for k, v in pairs)  # noqa: E731
        card = dataclasses.replace(
            cls.card, defaults=short(cls.card.defaults), grid=tuple(short(g) for g in cls.card.grid)
        )
        monkeypatch.setattr(cls, "card", card)
    calls: list[tuple[str, np.ndarray]] = []
    fit, predict = cls._fit, cls._predict
    monkeypatch.setattr(
        cls, "_fit", lambda self, X, y, **kw: (calls.append(("fit", X.copy())), fit(self, X, y, **kw))[1]
    )
    monkeypatch.setattr(
        cls, "_predict", lambda self, X: (calls.append(("predict", X.copy())), predict(self, X))[1]
    )
    encoding = "graph" if cls.card.input == "graph" else "onehot"
    result = evaluate(ONE, truth, [Candidate(name, encoding)])
    splits = make_splits(ONE, space_classes("nb201"))
    space = spaces.get("nb201")
    train = list(splits.train(12, 0))
    pools = list(dict.fromkeys(c for _, pool in splits.pools for c in pool))
    ids = list(splits.test) + pools  # encoded together, as evaluate does (graphs padded alike)
    X_all = encode(space, representatives(truth, ids, "nb201"), encoding).X
    key_of = dict(zip(ids, (r.tobytes() for r in X_all)))
    train_keys = {key_of[c] for c in train}
    test_keys = {
        key_of[c] for c in splits.test
    } - train_keys  # classes whose encodings coincide (degenerate) are left out
    assert test_keys
    fits = [X for kind, X in calls if kind == "fit"]
    predicts = [X for kind, X in calls if kind == "predict"]
    # the grid (defaults + candidates) x 3 folds, then the final fit on all 12 rows
    assert len(fits) == (1 + len(cls.card.grid)) * ONE.cv_folds + 1
    for X in fits + predicts[:-1]:
        seen = {r.tobytes() for r in X}
        assert seen <= train_keys and not seen & test_keys
    assert {r.tobytes() for r in predicts[-1]} >= test_keys and len(predicts[-1]) == 40
    chosen = result.runs["params"].iloc[0]
    assert result.runs["cv_kendall"].notna().all() and "members" not in chosen  # CV-only settings stay out


def test_the_vote_predictor_is_the_papers_vote_against_its_training_rows():
    """Predicting the training rows themselves gives each its Copeland score among them, exactly
    proxies.ensemble.vote's (plus the half win of the tie with itself), with directions from the data."""
    import numpy as np

    from predictors.base import make_predictor
    from proxies.ensemble import vote

    rng = np.random.default_rng(3)
    X = np.round(rng.normal(size=(40, 3)), 1)  # rounded: tied votes happen
    y = X @ np.array([1.0, 0.5, -2.0]) + rng.normal(0, 0.1, 40)
    model = make_predictor("vote").fit(X, y)
    scores = {f"p{c}": {str(i): float(X[i, c]) for i in range(40)} for c in range(3)}
    wins = vote(scores, proxies=None, higher_is_better={"p0": True, "p1": True, "p2": False})
    expected = np.array([wins[str(i)] for i in range(40)])
    assert np.allclose(model.predict(X).mean * 40 - 0.5, expected, atol=1e-12)
    # a new architecture's score is its share of wins against the 40 reference rows, alone or in a batch
    new = rng.normal(size=(5, 3))
    assert np.array_equal(model.predict(new).mean[[2]], model.predict(new[2:3]).mean)
