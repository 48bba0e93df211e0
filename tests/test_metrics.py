"""Rank metrics: Spearman and Kendall tau-b against scipy and hand computations, top-k precision, bootstrap."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from benchmarks.metrics import RANK_METRICS, Estimate, bootstrap, kendall, spearman, top_k_precision


def naive_tau_b(x, y) -> float:
    """Kendall's tau-b by counting pairs (O(n^2), for checking)."""
    concordant = discordant = ties_x = ties_y = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        if dx == 0 and dy == 0:
            ties_x += 1
            ties_y += 1
        elif dx == 0:
            ties_x += 1
        elif dy == 0:
            ties_y += 1
        elif dx == dy:
            concordant += 1
        else:
            discordant += 1
    n0 = len(x) * (len(x) - 1) // 2
    return (concordant - discordant) / math.sqrt((n0 - ties_x) * (n0 - ties_y))


def naive_spearman(x, y) -> float:
    """Pearson correlation of average ranks."""
    return float(np.corrcoef(stats.rankdata(x), stats.rankdata(y))[0, 1])


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def paired(draw, elements=finite, min_size=3, max_size=30):
    """Two equally long, non-constant arrays."""
    n = draw(st.integers(min_size, max_size))
    x = np.array(draw(st.lists(elements, min_size=n, max_size=n)), dtype=np.float64)
    y = np.array(draw(st.lists(elements, min_size=n, max_size=n)), dtype=np.float64)
    assume(np.ptp(x) > 0 and np.ptp(y) > 0)
    return x, y


@settings(max_examples=60, deadline=None)
@given(paired())
def test_spearman_and_kendall_equal_scipy_on_random_data(xy):
    x, y = xy
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert kendall(x, y) == pytest.approx(stats.kendalltau(x, y, variant="b").statistic, abs=1e-12)
    assert spearman(x, y) == pytest.approx(naive_spearman(x, y), abs=1e-9)
    assert kendall(x, y) == pytest.approx(naive_tau_b(x, y), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(paired(elements=st.integers(0, 4).map(float), min_size=4))
def test_kendall_is_tau_b_on_heavily_tied_data(xy):
    x, y = xy
    assert kendall(x, y) == pytest.approx(naive_tau_b(x, y), abs=1e-12)
    assert spearman(x, y) == pytest.approx(naive_spearman(x, y), abs=1e-12)


def test_kendall_tau_b_hand_example():
    # Pairs: 4 concordant, 0 discordant, one tie in x only, one tie in y only, n0 = 6:
    # tau-b = 4 / sqrt((6 - 1) * (6 - 1)) = 0.8 (tau-a would be 4/6, tau-c 0.75).
    x = [1.0, 2.0, 2.0, 3.0]
    y = [1.0, 2.0, 3.0, 3.0]
    assert kendall(x, y) == pytest.approx(0.8, abs=1e-12)
    # Average ranks (1, 2.5, 2.5, 4) and (1, 2, 3.5, 3.5): Pearson of the ranks.
    assert spearman(x, y) == pytest.approx(naive_spearman(x, y), abs=1e-12)
    assert spearman(x, y) < 1.0


def test_perfect_and_inverse_orders():
    x = np.arange(10.0)
    assert spearman(x, x**3) == pytest.approx(1.0, abs=1e-12)
    assert kendall(x, x**3) == pytest.approx(1.0, abs=1e-12)
    assert spearman(x, -np.exp(x)) == pytest.approx(-1.0, abs=1e-12)
    assert kendall(x, -np.exp(x)) == pytest.approx(-1.0, abs=1e-12)


@pytest.mark.parametrize("metric", [spearman, kendall])
def test_constant_input_gives_nan(metric):
    assert math.isnan(metric([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    assert math.isnan(metric([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]))
    assert math.isnan(metric([1.0], [2.0]))


@pytest.mark.parametrize("metric", [spearman, kendall, lambda x, y: top_k_precision(x, y, 0.5)])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_input_raises(metric, bad):
    with pytest.raises(ValueError, match="finite"):
        metric([1.0, 2.0, bad], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="finite"):
        metric([1.0, 2.0, 3.0], [bad, 2.0, 3.0])


@pytest.mark.parametrize("metric", [spearman, kendall, lambda x, y: top_k_precision(x, y, 0.5)])
def test_length_mismatch_and_shape_raise(metric):
    with pytest.raises(ValueError, match="equal length"):
        metric([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="1-d"):
        metric(np.ones((2, 2)), np.ones((2, 2)))


def test_registry_holds_both_correlations():
    assert RANK_METRICS.get("spearman") is spearman
    assert RANK_METRICS.get("kendall") is kendall


def test_top_k_precision_hand_examples():
    assert top_k_precision([4.0, 3.0, 2.0, 1.0], [40.0, 30.0, 20.0, 10.0], 0.5) == 1.0
    assert top_k_precision([4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0], 0.5) == 0.0
    # Predicted top-2 {0, 1}, true top-2 {0, 2}: one of two.
    assert top_k_precision([10.0, 9.0, 1.0, 2.0], [10.0, 1.0, 9.0, 2.0], 0.5) == 0.5
    # k = max(1, round(0.1 * 4)) = 1: only the single best counts.
    assert top_k_precision([1.0, 5.0, 3.0, 2.0], [0.0, 9.0, 1.0, 2.0], 0.1) == 1.0
    assert top_k_precision([5.0, 1.0, 3.0, 2.0], [0.0, 9.0, 1.0, 2.0], 0.1) == 0.0
    # 10 items, top 30% = 3: predicted {9, 8, 7}, true {9, 8, 0}.
    x = np.arange(10.0)
    y = x.copy()
    y[0], y[7] = 100.0, -1.0
    assert top_k_precision(x, y, 0.3) == pytest.approx(2 / 3)


def noisy_monotone(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, n)
    return x, x + rng.normal(0, 0.3, n)


@pytest.mark.parametrize("metric", [spearman, kendall])
def test_bootstrap_point_interval_and_determinism(metric):
    x, y = noisy_monotone(40)
    est = bootstrap(metric, x, y, n_boot=300, seed=3)
    assert isinstance(est, Estimate)
    assert est.value == metric(x, y)
    assert est.n == 40
    assert est.low <= est.value <= est.high
    assert est.low < est.high
    assert bootstrap(metric, x, y, n_boot=300, seed=3) == est
    assert bootstrap(metric, x, y, n_boot=300, seed=4) != est
    assert str(est).startswith(f"{est.value:+.3f} [")


def test_bootstrap_wider_level_gives_wider_interval():
    x, y = noisy_monotone(40)
    narrow = bootstrap(spearman, x, y, n_boot=300, level=0.5)
    wide = bootstrap(spearman, x, y, n_boot=300, level=0.99)
    assert wide.low <= narrow.low <= narrow.high <= wide.high
    assert wide.high - wide.low > narrow.high - narrow.low


@pytest.mark.parametrize("metric", [spearman, kendall])
def test_bootstrap_interval_shrinks_with_more_data(metric):
    small = bootstrap(metric, *noisy_monotone(30), n_boot=300)
    large = bootstrap(metric, *noisy_monotone(300), n_boot=300)
    assert large.high - large.low < 0.6 * (small.high - small.low)
    assert large.low <= large.value <= large.high


def test_bootstrap_of_constant_data_is_nan():
    est = bootstrap(spearman, np.ones(10), np.arange(10.0), n_boot=50)
    assert math.isnan(est.value) and math.isnan(est.low) and math.isnan(est.high)
    assert est.n == 10


def test_bootstrap_rejects_bad_input():
    with pytest.raises(ValueError):
        bootstrap(spearman, [1.0, float("nan"), 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        bootstrap(spearman, [1.0, 2.0, 3.0], [1.0, 2.0])


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5])
def test_top_k_fraction_outside_unit_interval_is_refused(fraction):
    with pytest.raises(ValueError, match="fraction"):
        top_k_precision(np.arange(10.0), np.arange(10.0), fraction)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 40).flatmap(
        lambda n: st.tuples(
            st.lists(st.lists(st.integers(-3, 3), min_size=n, max_size=n), min_size=1, max_size=5),
            st.lists(st.lists(st.floats(-5, 5), min_size=n, max_size=n), min_size=1, max_size=5),
        )
    )
)
def test_batched_spearman_equals_scipy_per_row(pair):
    """The bootstrap's vectorised Spearman equals scipy's on every row, ties and constant rows included."""
    from benchmarks.analysis.metrics import spearman_rows

    xs, ys = pair
    rows = min(len(xs), len(ys))
    x, y = np.array(xs[:rows], dtype=float), np.array(ys[:rows], dtype=float)
    batched = spearman_rows(x, y)
    for i in range(rows):
        expected = spearman(x[i], y[i])
        assert (np.isnan(expected) and np.isnan(batched[i])) or abs(batched[i] - expected) < 1e-12
