"""`Protocol` and `Recipe` are data: canonical JSON hashed with SHA-256, validated, round-trippable.

DESIGN.md ("Protocol is data"): everything that defines *what* is measured is in the protocol and
its hash; seed, device and library versions are not. The hash is SHA-256 of the canonical JSON
(sorted keys, compact separators) of ``to_dict()``, recomputed here independently with hashlib+json.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from proxies.protocol import Protocol
from proxies.training import Recipe

TINY = {"task": "mnist5k", "batch_size": 8, "resolution": 8, "build": {"C": 4, "N": 1}}


def independent_hash(d: dict) -> str:
    """SHA-256 of canonical JSON, written without the project's helpers."""
    text = json.dumps(d, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---- Protocol: the hash ---------------------------------------------------------------------------


def test_hash_is_sha256_of_canonical_json_of_to_dict():
    p = Protocol(**TINY, params={"jacob_cov": {"k": 1e-4}})
    assert p.hash == independent_hash(p.to_dict())
    assert len(p.hash) == 64
    assert all(c in "0123456789abcdef" for c in p.hash)


def test_hash_golden_value_of_the_tiny_protocol():
    """The exact hashed text is pinned: a new field or a changed serialisation orphans every table."""
    text = (
        '{"batch_size":8,"bn_mode":"train","build":{"C":4,"N":1},"dtype":"float32","init":"default",'
        '"input":"data","loss":"cross_entropy","params":{},"resolution":8,"split":"train","task":"mnist5k"}'
    )
    p = Protocol(**TINY)
    assert json.dumps(p.to_dict(), sort_keys=True, separators=(",", ":")) == text
    assert p.hash == hashlib.sha256(text.encode()).hexdigest()
    assert p.hash == "9aa5077a83ee0bd7fccd49f35ac79e22c8af00daa7cd1c2137a451e8fa05ae79"


def test_every_field_is_hashed_and_seed_device_are_not():
    d = Protocol().to_dict()
    assert set(d) == {f.name for f in dataclasses.fields(Protocol)}
    assert not {"seed", "device", "threads", "version"} & set(d)
    json.dumps(d, allow_nan=False)  # plain JSON


def test_hash_is_stable_across_dict_orderings():
    a = Protocol(
        **{**TINY, "build": {"C": 4, "N": 1}},
        params={"jacob_cov": {"k": 1e-5, "z": 2}, "nwot": {"a": 1, "b": [1, 2]}},
    )
    b = Protocol(
        **{**TINY, "build": {"N": 1, "C": 4}},
        params={"nwot": {"b": [1, 2], "a": 1}, "jacob_cov": {"z": 2, "k": 1e-5}},
    )
    assert a == b
    assert a.hash == b.hash
    assert a.to_dict() == b.to_dict()


def test_hash_is_stable_across_processes_and_calls():
    p = Protocol(**TINY)
    assert p.hash == Protocol(**TINY).hash == p.hash


CHANGES = {
    "task": "cifar10",
    "batch_size": 16,
    "resolution": 16,
    "dtype": "float64",
    "init": "kaiming_normal",
    "bn_mode": "eval",
    "input": "gaussian",
    "build": {"C": 8, "N": 1},
    "params": {"jacob_cov": {"k": 1e-4}},
}


@pytest.mark.parametrize("field_name", sorted(CHANGES))
def test_hash_changes_when_a_field_changes(field_name):
    base = Protocol(**TINY)
    changed = Protocol(**{**TINY, field_name: CHANGES[field_name]})
    assert changed != base
    assert changed.hash != base.hash
    assert changed.hash == independent_hash(changed.to_dict())


def test_changeable_fields_cover_every_field_with_more_than_one_valid_value():
    """``loss`` and ``split`` accept one value each today; every other field is exercised above."""
    assert set(CHANGES) | {"loss", "split"} == {f.name for f in dataclasses.fields(Protocol)}


def test_hash_changes_with_a_nested_proxy_param_value():
    a = Protocol(**TINY, params={"jacob_cov": {"k": 1e-5}})
    b = Protocol(**TINY, params={"jacob_cov": {"k": 1e-4}})
    assert a.hash != b.hash


def test_resolution_none_differs_from_an_explicit_value():
    """None (the task's native resolution) is recorded as given, so it is hashed as null."""
    assert Protocol(resolution=None).to_dict()["resolution"] is None
    assert Protocol(resolution=None).hash != Protocol(resolution=8).hash


# ---- Protocol: round trip and validation ------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        TINY,
        {**TINY, "params": {"jacob_cov": {"k": 0.001}, "nwot": {"x": "y"}}},
        {"dtype": "bfloat16", "init": "xavier_uniform", "bn_mode": "eval", "input": "gaussian"},
    ],
)
def test_from_dict_round_trip(kwargs):
    p = Protocol(**kwargs)
    q = Protocol.from_dict(p.to_dict())
    assert q == p
    assert q.hash == p.hash
    # and through JSON text, as a manifest stores it
    r = Protocol.from_dict(json.loads(json.dumps(p.to_dict())))
    assert r == p
    assert r.hash == p.hash


def test_from_dict_fills_defaults_for_missing_keys():
    assert Protocol.from_dict({"batch_size": 8}) == Protocol(batch_size=8)


def test_from_dict_unknown_field_is_named():
    d = Protocol().to_dict()
    d["sead"] = 3
    with pytest.raises(ValueError, match="sead"):
        Protocol.from_dict(d)


def test_from_dict_seed_is_not_a_protocol_field():
    with pytest.raises(ValueError, match="seed"):
        Protocol.from_dict({**Protocol().to_dict(), "seed": 0})


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("batch_size", 0),
        ("batch_size", -3),
        ("batch_size", 8.0),
        ("resolution", 2),
        ("dtype", "float16x"),
        ("bn_mode", "foo"),
        ("input", "image"),
        ("loss", "mse"),
        ("split", "val"),
        ("split", "test"),
    ],
)
def test_invalid_value_raises_naming_the_field(field_name, value):
    with pytest.raises(ValueError, match=field_name) as info:
        Protocol(**{field_name: value})
    assert repr(value) in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match=field_name):
        Protocol.from_dict({**Protocol().to_dict(), field_name: value})


def test_protocol_is_immutable():
    p = Protocol(**TINY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.batch_size = 4  # type: ignore[misc]


def test_accessors():
    p = Protocol(**TINY, params={"jacob_cov": {"k": 0.5}})
    assert p.build_options() == {"C": 4, "N": 1}
    assert p.proxy_params("jacob_cov") == {"k": 0.5}
    assert p.proxy_params("nwot") == {}


# ---- Recipe -------------------------------------------------------------------------------------------

TINY_RECIPE = {"epochs": 2, "batch_size": 256, "resolution": 8, "build": {"C": 4, "N": 1}}


def test_recipe_hash_is_sha256_of_canonical_json():
    r = Recipe(**TINY_RECIPE)
    assert r.hash == independent_hash(r.to_dict())
    assert set(r.to_dict()) == {f.name for f in dataclasses.fields(Recipe)}
    assert "seed" not in r.to_dict()


def test_recipe_hash_is_stable_across_build_orderings():
    a = Recipe(**{**TINY_RECIPE, "build": {"C": 4, "N": 1}})
    b = Recipe(**{**TINY_RECIPE, "build": {"N": 1, "C": 4}})
    assert a == b
    assert a.hash == b.hash


RECIPE_CHANGES = {
    "task": "cifar10",
    "epochs": 3,
    "batch_size": 128,
    "optimizer": "adamw",
    "lr": 0.05,
    "momentum": 0.8,
    "nesterov": False,
    "weight_decay": 1e-4,
    "schedule": "constant",
    "lr_min": 1e-3,
    "augment": "flip_crop",
    "resolution": 16,
    "eval_split": "test",
    "build": {"C": 8, "N": 1},
}


def test_recipe_changes_cover_every_field():
    assert set(RECIPE_CHANGES) == {f.name for f in dataclasses.fields(Recipe)}


@pytest.mark.parametrize("field_name", sorted(RECIPE_CHANGES))
def test_recipe_hash_changes_when_a_field_changes(field_name):
    base = Recipe(**TINY_RECIPE)
    changed = Recipe(**{**TINY_RECIPE, field_name: RECIPE_CHANGES[field_name]})
    assert changed.hash != base.hash
    assert changed.hash == independent_hash(changed.to_dict())


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("eval_split", "train"),
        ("eval_split", "validation"),
        ("epochs", 0),
        ("schedule", "step"),
        ("augment", "mixup"),
        ("batch_size", 0),
        ("lr", 0.0),
    ],
)
def test_recipe_invalid_value_raises_naming_the_field(field_name, value):
    with pytest.raises(ValueError, match=field_name):
        Recipe(**{**TINY_RECIPE, field_name: value})


def test_recipe_refuses_to_evaluate_on_train():
    with pytest.raises(ValueError, match="never train"):
        Recipe(eval_split="train")


def test_recipe_from_dict_round_trips_and_refuses_unknown_fields():
    r = Recipe(**{**TINY_RECIPE, "build": {"C": 4, "N": 1}})
    assert Recipe.from_dict(r.to_dict()) == r
    assert Recipe.from_dict(r.to_dict()).hash == r.hash
    with pytest.raises(ValueError, match="unknown recipe fields \\['optimiser'\\]"):
        Recipe.from_dict({**r.to_dict(), "optimiser": "adam"})
