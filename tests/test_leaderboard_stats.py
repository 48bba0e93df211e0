"""Commitments, ranks, paired bootstrap win rates and separability, checked against hand-computed cases."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from leaderboards import stats
from leaderboards.commitment import canonical_bytes, commit


def test_commitment_is_canonical_and_binding():
    frame = pd.DataFrame({"arch_id": ["b", "a", "c"], "value": [0.1, 0.2, 1 / 3]})
    salt = bytes(32)
    shuffled = frame.iloc[[2, 0, 1]]
    assert commit({"truth": frame}, salt) == commit({"truth": shuffled}, salt)
    body = b"arch_id,value\na,0.20000000000000001\nb,0.10000000000000001\nc,0.33333333333333331\n"
    assert canonical_bytes(frame) == body  # %.17g round-trips every float64 exactly
    expected = hashlib.sha256(salt + b"truth\x00" + str(len(body)).encode() + b"\x00" + body).hexdigest()
    assert commit({"truth": frame}, salt) == f"sha256:{expected}"  # the documented construction, recomputed
    nudged = frame.assign(value=[0.1, 0.2, np.nextafter(1 / 3, 1)])
    assert commit({"truth": nudged}, salt) != commit({"truth": frame}, salt)
    assert commit({"truth": frame}, b"\x01" * 32) != commit({"truth": frame}, salt)


def test_ranks_ties_and_direction():
    assert stats.ranks([0.5, 0.9, 0.5, float("nan")], higher_is_better=True) == [2, 1, 2, 4]
    assert stats.ranks([3.0, 1.0, 2.0], higher_is_better=False) == [3, 1, 2]


def test_win_rate_and_separability():
    better = np.array([1.0, 2.0, 3.0, 4.0])
    assert stats.win_rate(better, better - 1, True) == 1.0
    assert stats.win_rate(better, better, True) == 0.5  # ties count half
    assert stats.win_rate(better, np.array([0.0, 3.0, 2.0, 5.0]), True) == 0.5
    assert stats.win_rate(better, better + 1, False) == 1.0
    assert stats.separable(0.95) and not stats.separable(0.949) and not stats.separable(float("nan"))


def test_resamples_are_shared_and_estimates_bracket():
    a, b = stats.resamples(10, 50), stats.resamples(10, 50)
    assert a.shape == (50, 10) and (a == b).all()
    est = stats.estimate(0.5, np.linspace(0, 1, 101))
    assert est.low == pytest.approx(0.025) and est.high == pytest.approx(0.975)
    assert np.isnan(stats.estimate(0.1, np.full(5, np.nan)).low)
