"""Predictor fit and predict times (``make bench``) on NB201 at the protocol's largest train size.

Each model fits 1,000 classes (path encoding; the GCN on op graphs) and predicts the 1,000 test classes
of the frozen split, with its default hyper-parameters and one thread. The accuracy figures live in
``scripts/predictor_report.py``; here only the time is measured.
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


@pytest.mark.parametrize("name", MODELS)
def test_fit_and_predict_1000(benchmark, data, name, one_torch_thread):
    encoded, y, n = data
    X = encoded["graph" if get_predictor_class(name).card.input == "graph" else "path"]

    def run():
        return make_predictor(name, seed=0).fit(X[:n], y).predict(X[n:]).mean

    out = benchmark.pedantic(run, rounds=1, iterations=1)
    assert np.isfinite(out).all()
