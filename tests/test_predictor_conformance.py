"""Every registered predictor, and a third-party predictor from an entry point, passes the conformance suite."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import numpy as np
import pytest

import spaces.registry as registry_module
from predictors.base import PREDICTORS, Predictor, PredictorCard, list_predictors
from predictors.conformance import EXPECTED_FAILURES, check_predictor, predictor_checks

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CASES = [(name, check) for name in list_predictors() for check, _ in predictor_checks(name)]


def _case(name: str, check: str):
    reason = EXPECTED_FAILURES.get((name, check))
    marks = [pytest.mark.xfail(reason=reason, strict=True, raises=AssertionError)] if reason else []
    return pytest.param(name, check, marks=marks, id=f"{name}-{check}")


@pytest.mark.parametrize(("predictor", "check"), [_case(n, c) for n, c in CASES])
def test_registered_predictor_conforms(predictor, check):
    dict(predictor_checks(predictor))[check](predictor)


def test_every_built_in_model_is_registered():
    assert {"lightgbm", "random_forest", "gp", "mlp_ensemble", "gnn", "best_feature"} <= set(
        list_predictors()
    )


class RidgePlugin(Predictor):
    """A third-party predictor: closed-form ridge regression (conforms)."""

    card = PredictorCard("zz_ridge", "ridge regression", "test plugin", defaults=(("alpha", 1.0),))

    def _fit(self, X, y):
        A = np.hstack([X, np.ones((len(X), 1))])
        self._w = np.linalg.solve(A.T @ A + self.params["alpha"] * np.eye(A.shape[1]), A.T @ y)

    def _predict(self, X):
        return np.hstack([X, np.ones((len(X), 1))]) @ self._w, None

    def _state(self):
        return {"w": self._w}, {}

    def _restore(self, arrays, texts):
        self._w = arrays["w"]


class BatchPeeker(RidgePlugin):
    """Broken on purpose: centres its predictions on the predicted batch (uses test rows together)."""

    card = PredictorCard("zz_peeker", "ridge centred per batch", "test plugin", defaults=(("alpha", 1.0),))

    def _predict(self, X):
        mean, _ = super()._predict(X)
        return mean - mean.mean(), None


@pytest.fixture
def plugins(monkeypatch):
    """Register the two plugins through a faked ``archbench.predictors`` entry-point group."""
    eps = [
        EntryPoint("zz_ridge", f"{__name__}:RidgePlugin", "archbench.predictors"),
        EntryPoint("zz_peeker", f"{__name__}:BatchPeeker", "archbench.predictors"),
    ]
    real = registry_module.entry_points

    def fake(group=None, **kwargs):
        return eps if group == "archbench.predictors" else real(group=group, **kwargs)

    monkeypatch.setattr(registry_module, "entry_points", fake)
    monkeypatch.setattr(PREDICTORS, "_plugins_loaded", False)
    yield
    for name in ("zz_ridge", "zz_peeker"):
        PREDICTORS._entries.pop(name, None)
    PREDICTORS._plugins_loaded = False


def test_entry_point_predictor_is_listed_and_passes_the_suite(plugins):
    assert "zz_ridge" in list_predictors()
    results = check_predictor("zz_ridge")
    assert set(results.values()) == {"passed"}, results


def test_suite_catches_a_predictor_that_uses_the_predicted_batch(plugins):
    results = check_predictor("zz_peeker")
    assert results["check_never_sees_test_rows"].startswith("failed: predictor 'zz_peeker'")
    with pytest.raises(AssertionError, match="other rows of the predicted batch"):
        check_predictor("zz_peeker", raise_on_fail=True)
