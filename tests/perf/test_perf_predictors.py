"""Predictor fit and predict times (``make bench``) on NB201 at 100 and 1,000 training classes.

Each model fits the frozen split's first 100 or 1,000 training classes of seed 0 (path encoding; the GCN
on op graphs) with its default hyper-parameters and one thread (fit timed alone), and predicts the
1,000 test classes (predict timed alone). The accuracy figures live in ``scripts/predictor_report.py``;
here only the time is measured.
"""

from __future__ import annotations

import numpy as np
import pytest
from _predictor_helpers import needs_shared_data, truth_table_path

import spaces
from benchmarks.table import open_table
from predictors.base import get_predictor_class, make_predictor
from predictors.encodings import encode
from predictors.evaluate import representatives, truth_values, universe
from predictors.protocol import EvalProtocol, make_splits

MODELS = ("lightgbm", "random_forest", "gp", "mlp_ensemble", "gnn")


@pytest.fixture(scope="module")
def data():
    needs_shared_data()
    table = open_table(truth_table_path())
    protocol = EvalProtocol()
    truth = truth_values(table, protocol)
    splits = make_splits(protocol, universe(protocol, truth))
    train, test = list(splits.train(1000, 0)), list(splits.test)
    archs = representatives(table, train + test, "nb201")
    space = spaces.get("nb201")
    encoded = {kind: encode(space, archs, kind).X for kind in ("path", "graph")}
    return encoded, truth.reindex(train).to_numpy(), len(train)


SIZES = (100, 1000)


def _inputs(data, name: str, size: int):
    encoded, y, n = data
    X = encoded["graph" if get_predictor_class(name).card.input == "graph" else "path"]
    return X[:size], y[:size], X[n:]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", MODELS)
def test_fit(benchmark, data, name, size, one_torch_thread):
    X, y, _ = _inputs(data, name, size)
    model = benchmark.pedantic(lambda: make_predictor(name, seed=0).fit(X, y), rounds=1, iterations=1)
    assert model.fitted


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", MODELS)
def test_predict_1000_test_classes(benchmark, data, name, size, one_torch_thread):
    X, y, X_test = _inputs(data, name, size)
    model = make_predictor(name, seed=0).fit(X, y)
    out = benchmark.pedantic(lambda: model.predict(X_test).mean, rounds=3, iterations=1)
    assert out.shape == (len(X_test),) and np.isfinite(out).all()
