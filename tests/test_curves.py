"""Learning-curve proxies (`proxies.curves`): SoTL against hand sums, fits against known curves.

SoTL (Ru et al., NeurIPS 2021) is checked on a hand-computed curve and by hypothesis properties
(monotone in E for positive losses, increments equal the epoch sums, SoTL-E windows add up).
Extrapolation (Domhan et al., IJCAI 2015) must recover the parameters of noise-free synthetic
curves, stay close under seeded noise, and match closed forms (two-point log-linear).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxies.curves import CURVE_MODELS, CurveError, extrapolate, fit_curve, sotl, sotl_e

LOSS_SUMS = [20.5, 11.25, 7.0, 5.5]  # sums of minibatch losses of epochs 1..4


def test_sotl_by_hand():
    assert sotl(LOSS_SUMS, 1) == 20.5
    assert sotl(LOSS_SUMS, 2) == 31.75
    assert sotl(LOSS_SUMS, 4) == 44.25
    assert sotl_e(LOSS_SUMS, 3) == 7.0
    assert sotl_e(LOSS_SUMS, 4, window=2) == 12.5


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: sotl(LOSS_SUMS, 5), "at least that many epochs"),
        (lambda: sotl(LOSS_SUMS, 0), "at least that many epochs"),
        (lambda: sotl_e(LOSS_SUMS, 2, window=3), "window"),
        (lambda: sotl([1.0, float("nan")], 2), "non-finite value at epoch 2"),
    ],
)
def test_sotl_refuses_bad_input_with_a_reason(call, match):
    with pytest.raises(CurveError, match=match):
        call()


losses = st.lists(st.floats(min_value=1e-6, max_value=1e3), min_size=1, max_size=30)


@given(losses)
def test_sotl_is_monotone_in_e_and_its_increments_are_the_epoch_sums(sums):
    values = [sotl(sums, e) for e in range(1, len(sums) + 1)]
    assert all(b > a for a, b in itertools.pairwise(values))
    for e in range(2, len(sums) + 1):
        assert values[e - 1] - values[e - 2] == pytest.approx(sums[e - 1], rel=1e-9, abs=1e-9)


@given(losses, st.data())
def test_sotl_e_windows_partition_sotl(sums, data):
    e = data.draw(st.integers(1, len(sums)))
    w = data.draw(st.integers(1, e))
    assert sotl_e(sums, e, window=e) == sotl(sums, e)
    head = sotl(sums, e - w) if e > w else 0.0
    assert head + sotl_e(sums, e, window=w) == pytest.approx(sotl(sums, e), rel=1e-12)
    assert sotl_e(sums, e, window=1) == sums[e - 1]


# ---- extrapolation ---------------------------------------------------------------------------------
X = np.arange(1, 21, dtype=float)


@pytest.mark.parametrize(
    ("model", "params"),
    [("pow3", (90.0, 60.0, 0.8)), ("exp3", (85.0, 0.4, 4.0)), ("loglinear", (12.0, 30.0))],
)
def test_fit_recovers_the_parameters_of_a_noise_free_curve(model, params):
    y = CURVE_MODELS.get(model).function(X, *params)
    fit = fit_curve(X, y, model, ceiling=100.0)
    np.testing.assert_allclose(fit.params, params, rtol=1e-5)
    assert fit.rmse < 1e-6 and fit.n_points == 20


def test_pow3_under_seeded_noise_stays_close():
    rng = np.random.default_rng(0)
    y = 90.0 - 60.0 * X**-0.8 + rng.normal(0.0, 0.3, size=X.shape)
    fit = fit_curve(X, y, "pow3", ceiling=100.0)
    c, a, alpha = fit.params
    assert c == pytest.approx(90.0, abs=1.5)
    assert a == pytest.approx(60.0, rel=0.05)
    assert alpha == pytest.approx(0.8, rel=0.1)
    assert 0.15 < fit.rmse < 0.45  # close to the noise level, not overfitted to zero


def test_pow3_extrapolates_from_the_first_points():
    truth = 90.0 - 60.0 * X**-0.8
    value, fit = extrapolate(truth[:6], target=20, model="pow3", ceiling=100.0)
    assert value == pytest.approx(truth[-1], abs=1e-4)
    assert fit.n_points == 6


def test_two_point_loglinear_is_the_closed_form():
    """Through (1, y1) and (2, y2): y(x) = y1 + (y2 - y1) log2(x), so y(4) = 2 y2 - y1."""
    value, fit = extrapolate([40.0, 55.0], target=4, model="loglinear")
    assert value == pytest.approx(70.0, abs=1e-9)
    assert fit.params[1] == pytest.approx(40.0) and fit.params[0] == pytest.approx(15.0 / math.log(2))


def test_ceiling_bounds_the_asymptote():
    """A straight rising line would extrapolate past 100 %: pow3's asymptote stays at the ceiling."""
    value, fit = extrapolate([60.0, 75.0, 90.0], target=50, model="pow3", ceiling=100.0)
    assert fit.params[0] <= 100.0 and value <= 100.0


@pytest.mark.parametrize(
    ("values", "target", "model", "match"),
    [
        ([50.0], 4, "loglinear", "needs as many epochs"),
        ([50.0, 60.0], 4, "pow3", "needs as many epochs"),
        ([50.0, 60.0, 65.0], 2, "pow3", "inside the 3 fitted epochs"),
        ([50.0, float("inf"), 65.0], 4, "pow3", "non-finite"),
        ([50.0, 160.0, 165.0], 4, "pow3", "ceiling"),
    ],
)
def test_extrapolation_refuses_with_a_reason(values, target, model, match):
    with pytest.raises(CurveError, match=match):
        extrapolate(values, target, model, ceiling=100.0)


def test_unknown_model_is_named():
    with pytest.raises(KeyError, match="curve model 'pow4'"):
        extrapolate([1.0, 2.0, 3.0], 5, "pow4")


@settings(max_examples=40, deadline=None)
@given(
    c=st.floats(60.0, 99.0),
    a=st.floats(10.0, 50.0),
    alpha=st.floats(0.3, 2.0),
)
def test_pow3_fits_any_saturating_curve_of_its_family(c, a, alpha):
    y = c - a * X[:8] ** -alpha
    value, fit = extrapolate(y, target=20, model="pow3", ceiling=100.0)
    assert value == pytest.approx(c - a * 20.0**-alpha, abs=1e-3)
    assert fit.rmse < 1e-4


@given(st.lists(st.floats(0.0, 100.0), min_size=2, max_size=10))
def test_loglinear_least_squares_matches_numpy_polyfit(values):
    """An independent route: ordinary least squares on log(x) via numpy."""
    x = np.arange(1, len(values) + 1, dtype=float)
    value, _ = extrapolate(values, target=len(values) + 3, model="loglinear")
    slope, intercept = np.polyfit(np.log(x), values, 1)
    assert value == pytest.approx(slope * math.log(len(values) + 3) + intercept, rel=1e-9, abs=1e-9)
