"""NDCG@k and regret@k (added to benchmarks.metrics for predictor evaluation), on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.metrics import ndcg_at_k, regret_at_k


def test_ndcg_is_one_for_the_true_order_and_matches_a_hand_computation():
    y = np.array([1.0, 4.0, 2.0, 3.0])  # gains y - 1: 0, 3, 1, 2
    assert ndcg_at_k(y, y, 2) == pytest.approx(1.0)
    x = np.array([0.0, 1.0, 3.0, 2.0])  # predicted order: idx 2, 3, 1, 0 -> gains 1, 2
    dcg = 1 / math.log2(2) + 2 / math.log2(3)
    ideal = 3 / math.log2(2) + 2 / math.log2(3)
    assert ndcg_at_k(x, y, 2) == pytest.approx(dcg / ideal)
    assert math.isnan(ndcg_at_k(x, np.ones(4), 2))


def test_regret_is_the_optimum_minus_the_best_of_the_predicted_top_k():
    y = np.array([90.0, 94.0, 92.0, 93.0])
    x = np.array([4.0, 1.0, 3.0, 2.0])  # predicted top-2: idx 0 (90), 2 (92)
    assert regret_at_k(x, y, 1) == pytest.approx(4.0)
    assert regret_at_k(x, y, 2) == pytest.approx(2.0)
    assert regret_at_k(x, y, 4) == 0.0


@pytest.mark.parametrize("fn", [ndcg_at_k, regret_at_k])
def test_bad_k_and_nonfinite_values_are_refused(fn):
    with pytest.raises(ValueError, match="k must be >= 1"):
        fn(np.ones(3), np.arange(3.0), 0)
    with pytest.raises(ValueError, match="finite"):
        fn(np.array([1.0, np.nan]), np.arange(2.0), 1)
