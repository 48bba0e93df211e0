"""Tests of the NAS-Bench-201 search space (spaces/nb201.py) and the ``Architecture`` value type.

Size and published index order, string parsing / formatting and its error messages, the
representative of an equivalence class, sampling / mutation / neighbourhoods, degenerate cells,
``Architecture`` equality and hashing, and the documented ``arch_id`` algorithm.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import hashlib
import itertools
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spaces
from spaces.base import ARCH_ID_LENGTH, Architecture, make_arch_id
from spaces.nb201 import OPS, NB201Space

ORACLE = Path(__file__).parent / "data" / "nb201_unique_str.csv.gz"

ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
DEAD_OUTPUT = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|"
VALID = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"

# The published strings at a few official indices (NAS-Bench-201 / NATS-Bench topology order).
PUBLISHED = {
    0: VALID,
    1: "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    10: DEAD_OUTPUT,
    15624: "|nor_conv_1x1~0|+|none~0|nor_conv_1x1~1|+|none~0|nor_conv_1x1~1|nor_conv_1x1~2|",
}

OPS6 = st.lists(st.sampled_from(OPS), min_size=6, max_size=6).map(tuple)


@pytest.fixture(scope="module")
def space() -> NB201Space:
    return spaces.get("nb201")


@pytest.fixture(scope="module")
def all_archs(space) -> list[Architecture]:
    return list(space.enumerate())


@pytest.fixture(scope="module")
def unique_strs() -> list[str]:
    with gzip.open(ORACLE, "rt", newline="") as f:
        return [r["unique_str"] for r in csv.DictReader(f)]


# ---- size, enumeration and the published index ---------------------------------------------------


def test_space_metadata(space):
    assert space.name == "nb201"
    assert space.version == "1.0"
    assert space.size == 15625 == 5**6
    assert space.card.num_unique == 6466
    assert space.card.ops == OPS


def test_enumerate_yields_every_cell_once(space, all_archs):
    assert len(all_archs) == 15625
    assert all(isinstance(a, Architecture) and a.space == "nb201" for a in all_archs)
    assert len({a.string for a in all_archs}) == 15625
    assert {space.ops_of(a) for a in all_archs} == set(itertools.product(OPS, repeat=6))


def test_enumerate_is_in_official_index_order(space, all_archs):
    assert [space.index(a) for a in all_archs] == list(range(15625))
    for i, text in PUBLISHED.items():
        assert all_archs[i].string == text
        assert space.from_index(i).string == text


@pytest.mark.parametrize("i", [0, 1, 2, 10, 99, 100, 1000, 7777, 15623, 15624])
def test_index_of_from_index_round_trips_on_sample(space, i):
    assert space.index(space.from_index(i)) == i


def test_index_of_from_index_round_trips_for_all(space):
    assert all(space.index(space.from_index(i)) == i for i in range(space.size))


@pytest.mark.parametrize("bad", [-1, 15625, 10**9])
def test_from_index_out_of_range_raises(space, bad):
    with pytest.raises(ValueError, match=rf"NB201 index {bad} is out of range 0..15624"):
        space.from_index(bad)


def test_methods_reject_non_nb201_architectures(space):
    foreign = Architecture("other", VALID, "0" * 16)
    for method in (space.index, space.canonical, space.is_degenerate, space.ops_of, space.neighbors):
        with pytest.raises(TypeError, match="expected an Architecture of space 'nb201'"):
            method(foreign)
    with pytest.raises(TypeError):
        space.canonical(VALID)  # a plain string is not an Architecture


# ---- strings --------------------------------------------------------------------------------------


def test_format_parse_round_trip_for_all_cells(space):
    for ops in itertools.product(OPS, repeat=6):
        arch = space.parse(space.format(ops))
        assert space.ops_of(arch) == ops
        assert arch.string == space.format(ops)
        assert arch == space.from_ops(ops)


def test_format_uses_published_edge_layout(space):
    assert space.format(("a", "b", "c", "d", "e", "f")) == "|a~0|+|b~0|c~1|+|d~0|e~1|f~2|"


@settings(max_examples=50, deadline=None)
@given(ops=OPS6, data=st.data())
def test_parse_accepts_node_inputs_in_any_order(space, ops, data):
    groups = [[f"{ops[0]}~0"], [f"{ops[1]}~0", f"{ops[2]}~1"], [f"{ops[3]}~0", f"{ops[4]}~1", f"{ops[5]}~2"]]
    shuffled = "+".join("|" + "|".join(data.draw(st.permutations(g))) + "|" for g in groups)
    arch = space.parse(shuffled)
    assert arch.string == space.format(ops)
    assert arch.arch_id == space.from_ops(ops).arch_id


def test_parse_strips_surrounding_whitespace(space):
    assert space.parse(f"  {VALID}\n").string == VALID


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "expected 3 node groups joined by '+'"),
        ("|none~0|", "expected 3 node groups joined by '+'"),
        ("|none~0||none~0|none~1||none~0|none~1|none~2|", "expected 3 node groups joined by '+'"),
        ("|none~0|+|none~0|none~1|", "expected 3 node groups joined by '+'"),
        (ALL_NONE + "+", "expected 3 node groups joined by '+'"),
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv'"),
        ("|none~0|+|none~0|sep_conv_5x5~1|+|none~0|none~1|none~2|", "unknown op 'sep_conv_5x5'"),
        ("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", "node 2 has a bad input 'none~0'"),
        ("|none~0|+|none~0|none~1|+|none~0|none~2|none~2|", "node 3 has a bad input 'none~2'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1 has a bad input 'none~1'"),
        ("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", "node 2 has a bad input 'none~2'"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", r"node 2 needs inputs 0..1"),
        ("|none~0|+|none~0|none~1|+|none~1|none~2|", "node 3 needs inputs 0..2"),
        ("none~0+|none~0|none~1|+|none~0|none~1|none~2|", "node 1 group 'none~0'"),
        ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1 group '|none0|'"),
        ("|none~0|+|None~0|none~1|+|none~0|none~1|none~2|", "node 2 group '|None~0|none~1|'"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~x|", "node 3 group"),
        ("|none~0| + |none~0|none~1| + |none~0|none~1|none~2|", "node 1 group"),
    ],
)
def test_malformed_strings_raise_value_error_naming_the_problem(space, text, problem):
    with pytest.raises(ValueError, match=re.escape(problem)) as info:
        space.parse(text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("bad", [None, 123, b"|none~0|", ["|none~0|"]])
def test_non_string_input_raises_value_error(space, bad):
    with pytest.raises(ValueError, match=f"must be a string, got {type(bad).__name__}"):
        space.parse(bad)


def test_from_ops_rejects_wrong_length_and_unknown_ops(space):
    with pytest.raises(ValueError, match="expected 6 edge ops, got 5"):
        space.from_ops(["none"] * 5)
    with pytest.raises(ValueError, match="unknown op 'conv'"):
        space.from_ops(["none"] * 5 + ["conv"])


# ---- equivalence classes and representatives -----------------------------------------------------


def test_representative_is_lowest_published_index_of_class(space, all_archs, unique_strs):
    # The class minimum computed independently from the published unique_str column.
    lowest: dict[str, int] = {}
    for i, unique in enumerate(unique_strs):
        lowest.setdefault(unique, i)
    for i, arch in enumerate(all_archs):
        rep = space.representative(arch)
        assert space.index(rep) == lowest[unique_strs[i]], arch.string
        assert rep.arch_id == arch.arch_id
    reps = {space.representative(a) for a in all_archs}
    assert len(reps) == 6466
    assert all(space.representative(r) == r for r in reps)


def test_isomorphic_cells_with_different_strings_share_arch_id(space):
    # Node 1 only feeds 'none' edges, so its op cannot matter: both compute "#+#+0".
    a = space.parse("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    b = space.parse("|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    assert a != b
    assert a.string != b.string
    assert a.arch_id == b.arch_id
    assert space.canonical(a) == space.canonical(b) == "#+#+0"
    assert space.representative(a) == space.representative(b)


def test_non_isomorphic_cells_have_different_arch_ids(space):
    assert space.parse(ALL_CONV).arch_id != space.parse(VALID).arch_id
    # Swapping the ops of two edges that feed the same node into different depths changes the cell.
    a = space.parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|skip_connect~2|")
    b = space.parse("|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|")
    assert a.arch_id != b.arch_id


# ---- Architecture value type and arch_id -----------------------------------------------------------


def test_architecture_equality_and_hash_use_space_and_string_only():
    a = Architecture("nb201", VALID, "aaaaaaaaaaaaaaaa")
    b = Architecture("nb201", VALID, "bbbbbbbbbbbbbbbb")
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    assert {a: 1}[b] == 1
    assert Architecture("other", VALID, a.arch_id) != a
    assert Architecture("nb201", ALL_CONV, a.arch_id) != a
    assert str(a) == VALID


def test_architecture_is_immutable(space):
    arch = space.parse(VALID)
    with pytest.raises(dataclasses.FrozenInstanceError):
        arch.string = ALL_CONV  # type: ignore[misc]


def test_parsed_architectures_compare_equal_and_hash_equal(space):
    a = space.parse(VALID)
    b = Architecture(a.space, a.string, a.arch_id)  # a separate object with the same value
    assert a == b == space.from_index(0)
    assert hash(a) == hash(b)
    assert a is not b


def test_arch_id_is_16_lower_hex_chars_for_all(all_archs):
    assert ARCH_ID_LENGTH == 16
    pattern = re.compile(r"^[0-9a-f]{16}$")
    assert all(pattern.match(a.arch_id) for a in all_archs)


def test_arch_id_follows_documented_sha256_algorithm(space):
    canonical = (
        "(((0)@nor_conv_3x3)@nor_conv_3x3+(0)@nor_conv_3x3)@nor_conv_3x3"
        "+((0)@nor_conv_3x3)@nor_conv_3x3+(0)@nor_conv_3x3"
    )
    expected = hashlib.sha256(f"nb201/1.0\n{canonical}".encode()).hexdigest()[:16]
    arch = space.parse(ALL_CONV)
    assert space.canonical(arch) == canonical
    assert arch.arch_id == expected == "c012c5480f76e32c"  # pinned: must never change within nb201/1.0
    assert make_arch_id("nb201", "1.0", canonical) == expected
    assert make_arch_id("nb201", "1.1", canonical) != expected  # the version is part of the hash


def test_arch_id_is_stable_across_parses_and_instances(space):
    fresh = NB201Space()
    assert (
        fresh.parse(ALL_CONV).arch_id
        == space.parse(ALL_CONV).arch_id
        == space.from_ops(("nor_conv_3x3",) * 6).arch_id
    )


# ---- sampling, mutation and neighbourhoods ---------------------------------------------------------


def test_same_seed_gives_same_samples(space):
    rng_a, rng_b = np.random.default_rng(123), np.random.default_rng(123)
    seq_a = [space.sample(rng_a) for _ in range(20)]
    seq_b = [space.sample(rng_b) for _ in range(20)]
    assert seq_a == seq_b
    assert len(set(seq_a)) > 1
    other = [space.sample(np.random.default_rng(124)) for _ in range(20)]
    assert other != seq_a


def test_samples_are_valid_and_cover_every_op_on_every_edge(space):
    rng = np.random.default_rng(0)
    samples = [space.sample(rng) for _ in range(2000)]
    assert all(space.index(a) is not None for a in samples)
    per_edge = [Counter(space.ops_of(a)[e] for a in samples) for e in range(6)]
    # Uniform: 400 expected per (edge, op), standard deviation ~18; 300 is > 5 sd away.
    assert all(set(c) == set(OPS) and min(c.values()) > 300 for c in per_edge)


def _differing_edges(space, a, b) -> int:
    return sum(x != y for x, y in zip(space.ops_of(a), space.ops_of(b)))


@pytest.mark.parametrize("text", [VALID, ALL_CONV, ALL_NONE, DEAD_OUTPUT])
def test_neighbors_are_24_distinct_one_edge_changes(space, text):
    arch = space.parse(text)
    neighbours = space.neighbors(arch)
    assert len(neighbours) == 24
    assert len(set(neighbours)) == 24
    assert arch not in neighbours
    assert all(_differing_edges(space, arch, n) == 1 for n in neighbours)
    assert all(arch in space.neighbors(n) for n in neighbours)  # symmetric


@settings(max_examples=25, deadline=None)
@given(ops=OPS6, seed=st.integers(0, 2**32 - 1))
def test_mutate_returns_a_neighbor_and_is_deterministic(space, ops, seed):
    arch = space.from_ops(ops)
    child = space.mutate(arch, np.random.default_rng(seed))
    assert child in space.neighbors(arch)
    assert _differing_edges(space, arch, child) == 1
    assert space.mutate(arch, np.random.default_rng(seed)) == child


def test_mutate_reaches_every_neighbor(space):
    arch = space.parse(VALID)
    rng = np.random.default_rng(7)
    seen = {space.mutate(arch, rng) for _ in range(1000)}
    assert seen == set(space.neighbors(arch))


# ---- degenerate cells ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "degenerate"),
    [
        (ALL_NONE, True),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|", True),
        ("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|none~0|none~1|none~2|", True),
        ("|none~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|nor_conv_3x3~2|", True),
        (ALL_CONV, False),
        ("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|", False),
        ("|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|none~0|none~1|skip_connect~2|", False),
        ("|avg_pool_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|", False),
    ],
)
def test_is_degenerate_examples(space, text, degenerate):
    assert space.is_degenerate(space.parse(text)) is degenerate


def test_degenerate_cells_are_exactly_those_without_a_live_path(space, all_archs):
    """A cell is degenerate iff none of the 4 input->output paths avoids a 'none' edge."""
    paths = [(3,), (0, 4), (1, 5), (0, 2, 5)]  # edge positions: (0,1),(0,2),(1,2),(0,3),(1,3),(2,3)
    for arch in all_archs:
        ops = space.ops_of(arch)
        live = any(all(ops[e] != "none" for e in path) for path in paths)
        assert space.is_degenerate(arch) is (not live), arch.string


# ---- regressions of review findings ----------------------------------------------------------------------
@pytest.mark.parametrize("bad", [1.5, True, "3", None])
def test_from_index_rejects_non_integers(bad):
    with pytest.raises(ValueError, match="integer"):
        spaces.get("nb201").from_index(bad)


def test_from_index_accepts_numpy_integers():
    import numpy as np

    space = spaces.get("nb201")
    assert space.from_index(np.int64(7)) == space.from_index(7)


@pytest.mark.parametrize(
    "text",
    [
        "|none~0|\n+|none~0|none~1|+|none~0|none~1|none~2|",
        "|none~\u0660|+|none~0|none~1|+|none~0|none~1|none~2|",
    ],
)
def test_parse_rejects_newlines_and_unicode_digits(text):
    with pytest.raises(ValueError, match="malformed"):
        spaces.get("nb201").parse(text)


def test_index_and_representative_trust_ops_not_hand_built_fields():
    from spaces.base import Architecture

    space = spaces.get("nb201")
    arch = space.from_index(11)
    forged = Architecture("nb201", arch.string, "bogus")
    assert space.representative(forged) == space.representative(arch)
    assert space.index(forged) == 11


@pytest.mark.parametrize("resolution", [30, 6, 2])
def test_resolution_not_divisible_by_4_is_refused(resolution):
    with pytest.raises(ValueError, match="divisible by 4"):
        spaces.get("nb201").check_resolution(resolution)


def test_sample_unique_gives_distinct_classes_deterministically():
    import numpy as np

    space = spaces.get("nb201")
    first = space.sample_unique(40, np.random.default_rng(3))
    assert len({a.arch_id for a in first}) == 40
    assert first == space.sample_unique(40, np.random.default_rng(3))
    with pytest.raises(ValueError, match="cannot sample 6467"):
        space.sample_unique(6467, np.random.default_rng(0))
