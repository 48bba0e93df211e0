"""The evaluation protocol is data with a stable hash, and its splits are by arch_id, frozen and nested."""

from __future__ import annotations

import pytest

import spaces
from predictors.protocol import EvalProtocol, make_splits, space_classes

NB201_SPLITS_SHA256 = "bf9b6bf34bc36e15de0a7bd2b95e542486a4f6f5d747085d51dd25602f5f9400"
PROTOCOL_SHA256 = "3149b0939b56aa3472b0b1c311bab0b057bbc3c4d4cfd8adf4e52fbbe056a8ba"


@pytest.fixture(scope="module")
def classes():
    return space_classes("nb201")


def test_protocol_round_trips_and_hash_names_every_field():
    p = EvalProtocol()
    assert EvalProtocol.from_dict(p.to_dict()) == p
    assert p.hash == PROTOCOL_SHA256, "the default protocol changed: published figures no longer name it"
    assert EvalProtocol(seeds=(0, 1, 2, 3, 5)).hash != p.hash
    assert EvalProtocol(test_size=999).hash != p.hash
    assert p.train_sizes == (10, 20, 50, 100, 200, 500, 1000) and len(p.seeds) >= 5 and p.test_size == 1000


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"train_sizes": (3, 10)}, "train_sizes"),
        ({"train_sizes": (10, 10)}, "train_sizes"),
        ({"seeds": ()}, "seeds"),
        ({"test_size": 5}, "test_size"),
        ({"cv_folds": 1}, "cv_folds"),
    ],
)
def test_bad_protocols_are_refused_in_one_line(fields, message):
    with pytest.raises(ValueError, match=message) as info:
        EvalProtocol(**fields)
    assert "\n" not in str(info.value)


def test_unknown_field_is_named():
    with pytest.raises(ValueError, match="unknown predictor evaluation protocol fields \\['folds'\\]"):
        EvalProtocol.from_dict({"folds": 3})


def test_nb201_splits_are_disjoint_nested_and_by_class(classes):
    p = EvalProtocol()
    splits = make_splits(p, classes)
    assert len(classes) == 6466 and len(set(splits.test)) == 1000
    for seed in p.seeds:
        largest = splits.train(1000, seed)
        assert len(set(largest)) == 1000 and not set(largest) & set(splits.test)
        for small, big in zip(p.train_sizes, p.train_sizes[1:]):
            assert splits.train(big, seed)[:small] == splits.train(small, seed)
    assert splits.train(100, 0) != splits.train(100, 1)
    # isomorphic cells share an arch_id, so no class straddles train and test: check on the cells
    space = spaces.get("nb201")
    test = set(splits.test)
    train = set(splits.train(1000, 0))
    members = {}
    for arch in space.enumerate():
        members.setdefault(arch.arch_id, set()).add(arch.string)
    assert not {s for c in test for s in members[c]} & {s for c in train for s in members[c]}


def test_splits_are_frozen(classes):
    splits = make_splits(EvalProtocol(), classes)
    assert splits.hash == make_splits(EvalProtocol(), list(reversed(classes))).hash
    assert splits.hash == NB201_SPLITS_SHA256, (
        "the frozen NB201 split changed: figures are no longer comparable"
    )


def test_train_size_larger_than_the_pool_is_refused(classes):
    with pytest.raises(ValueError, match="cannot hold a test set of 1000 plus a train size of 6000"):
        make_splits(EvalProtocol(train_sizes=(10, 6000)), classes)
    splits = make_splits(EvalProtocol(train_sizes=(10, 20)), classes)
    with pytest.raises(ValueError, match="train size 50 is larger than the 20 classes"):
        splits.train(50, 0)
    with pytest.raises(ValueError, match="seed 9 is not one of"):
        splits.train(10, 9)
