"""Tests of the generic cell canonicaliser (spaces/cell.py).

* The oracle: on all 15,625 NB201 cells the canonical form equals NB201's published ``unique_str``
  (tests/data/nb201_unique_str.csv.gz) and ``arch_id`` groups exactly its 6,466 classes.
* Hand-checked expressions for each rule of the canonical form.
* Hypothesis properties on generated cell spaces (3..5 nodes, random op names, random identity /
  zero op subsets): soundness against a modular-arithmetic model of the cell, invariance under the
  order in which edges are listed, injectivity when there are no special ops, and the meaning of
  ``is_degenerate``.
* ``CellSpec`` validation errors.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import random
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spaces
from spaces.cell import INPUT, ZERO, CellSpec
from spaces.nb201 import CELL

ORACLE = Path(__file__).parent / "data" / "nb201_unique_str.csv.gz"

# A large prime (2^61 - 1): random coefficients make accidental equalities vanishingly unlikely.
P = (1 << 61) - 1

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------------------------------------
# A reference model of a cell, written independently of spaces.cell: node j = sum over its incoming
# edges (i, j) of f_op(node i), evaluated exactly (Python ints), optionally mod P.
# ------------------------------------------------------------------------------------------------


def evaluate(spec: CellSpec, ops, maps, x: int, modulus: int | None = P) -> int:
    """The output-node value of the cell for input ``x`` under per-op maps ``maps[op](v)``."""
    values = [x] + [0] * (spec.num_nodes - 1)
    for j in range(1, spec.num_nodes):
        total = 0
        for (src, dst), op in zip(spec.edges, ops):
            if dst == j:
                total += maps[op](values[src])
        values[j] = total % modulus if modulus else total
    return values[-1]


def zero_fixing_maps(spec: CellSpec, rnd: random.Random) -> dict:
    """identity -> x, zero -> 0, every other op a random map f(v) = a*v + c*v^2 (mod P), a != 0.

    Why f(0) = 0 and not a general affine a*v + b: NB201's published rule turns an edge whose *input*
    is the zero token into the zero token (``op(#) = #``), i.e. it models every op as mapping a zero
    feature map to zero (true for bias-free conv / pooling on an all-zero input). An offset b != 0
    would break exactly that modelling assumption, not the canonicaliser. The quadratic term makes
    the maps non-additive and non-commuting under composition, so the model distinguishes strictly
    more cells than a linear one would (a stronger soundness check).
    """

    def plain(rnd: random.Random):
        a, c = rnd.randrange(1, P), rnd.randrange(P)
        return lambda v: (a * v + c * v * v) % P

    return _op_maps(spec, rnd, plain)


def affine_maps(spec: CellSpec, rnd: random.Random) -> dict:
    """identity -> x, zero -> 0, every other op a random affine map a*v + b (mod P), a != 0."""

    def plain(rnd: random.Random):
        a, b = rnd.randrange(1, P), rnd.randrange(P)
        return lambda v: (a * v + b) % P

    return _op_maps(spec, rnd, plain)


def _op_maps(spec: CellSpec, rnd: random.Random, plain) -> dict:
    """identity -> x, zero -> 0, every other op ``plain(rnd)`` (drawn in op order, so seeds stay put)."""
    return {
        op: (lambda v: 0) if op in spec.zero_ops else (lambda v: v) if op in spec.identity_ops else plain(rnd)
        for op in spec.ops
    }


# ------------------------------------------------------------------------------------------------
# Strategies: a second, generated cell space.
# ------------------------------------------------------------------------------------------------

# Op names without digits, '+', '#', '(', ')' or '@', so that the token "0" can only be the input.
OP_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6)


@st.composite
def cell_specs(draw, num_nodes=None, max_ops=5, specials=True, sparse=False):
    """A CellSpec: complete (NB201 edge order) or, with ``sparse``, a random forward-edge subset in random order."""
    n = draw(st.integers(3, 5)) if num_nodes is None else num_nodes
    ops = draw(st.lists(OP_NAME, min_size=1, max_size=max_ops, unique=True))
    if specials:
        roles = draw(
            st.lists(st.sampled_from(["plain", "identity", "zero"]), min_size=len(ops), max_size=len(ops))
        )
    else:
        roles = ["plain"] * len(ops)
    identity = [op for op, r in zip(ops, roles) if r == "identity"]
    zero = [op for op, r in zip(ops, roles) if r == "zero"]
    spec = CellSpec.complete(n, ops, identity_ops=identity, zero_ops=zero)
    if sparse and draw(st.booleans()):
        edges = draw(st.lists(st.sampled_from(spec.edges), unique=True, max_size=len(spec.edges)))
        spec = CellSpec(n, tuple(edges), spec.ops, spec.identity_ops, spec.zero_ops)
    return spec


def cells_of(spec: CellSpec):
    """A strategy for op lists of ``spec``."""
    return st.lists(st.sampled_from(spec.ops), min_size=len(spec.edges), max_size=len(spec.edges))


def cell_pool(spec: CellSpec, rnd: random.Random, limit: int = 1500) -> list[tuple[str, ...]]:
    """Every cell of ``spec`` if there are at most ``limit``, else ``limit`` random ones."""
    if len(spec.ops) ** len(spec.edges) <= limit:
        return list(itertools.product(spec.ops, repeat=len(spec.edges)))
    return [tuple(rnd.choice(spec.ops) for _ in spec.edges) for _ in range(limit)]


# ------------------------------------------------------------------------------------------------
# The NB201 oracle.
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oracle() -> list[str]:
    """unique_str of every NB201 cell, by official index."""
    with gzip.open(ORACLE, "rt", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["nb201_index"]) for r in rows] == list(range(15625))
    return [r["unique_str"] for r in rows]


@pytest.fixture(scope="module")
def nb201_archs():
    space = spaces.get("nb201")
    return [space.from_index(i) for i in range(space.size)]


def test_oracle_canonical_form_equals_published_unique_str_for_all_15625_cells(oracle, nb201_archs):
    space = spaces.get("nb201")
    mismatches = [
        (i, arch.string) for i, arch in enumerate(nb201_archs) if space.canonical(arch) != oracle[i]
    ]
    assert mismatches == []


def test_oracle_arch_id_equality_matches_unique_str_equality(oracle, nb201_archs):
    ids_by_str: dict[str, set[str]] = defaultdict(set)
    strs_by_id: dict[str, set[str]] = defaultdict(set)
    for arch, unique in zip(nb201_archs, oracle):
        ids_by_str[unique].add(arch.arch_id)
        strs_by_id[arch.arch_id].add(unique)
    assert len(ids_by_str) == 6466
    assert len(strs_by_id) == 6466
    assert all(len(v) == 1 for v in ids_by_str.values())  # equal unique_str -> equal arch_id
    assert all(len(v) == 1 for v in strs_by_id.values())  # equal arch_id -> equal unique_str


def test_nb201_classes_are_functionally_sound_under_modular_model(nb201_archs):
    """Every NB201 equivalence class computes one function in the modular model of the cell."""
    space = spaces.get("nb201")
    rnd = random.Random(201)
    maps = zero_fixing_maps(CELL, rnd)
    inputs = [rnd.randrange(1, P) for _ in range(3)]
    outputs: dict[str, set[tuple[int, ...]]] = defaultdict(set)
    for arch in nb201_archs:
        ops = space.ops_of(arch)
        outputs[space.canonical(arch)].add(tuple(evaluate(CELL, ops, maps, x) for x in inputs))
    assert len(outputs) == 6466
    assert [k for k, v in outputs.items() if len(v) != 1] == []


def test_nb201_degenerate_iff_input_token_absent_from_unique_str(oracle, nb201_archs):
    space = spaces.get("nb201")
    flags = [space.is_degenerate(a) for a in nb201_archs]
    assert flags == ["0" not in u for u in oracle]
    assert 0 < sum(flags) < len(flags)


# ------------------------------------------------------------------------------------------------
# The rules, on hand-checked examples.
# ------------------------------------------------------------------------------------------------

SMALL = CellSpec.complete(3, ["skip", "none", "f", "g"], identity_ops=["skip"], zero_ops=["none"])
# SMALL edges: (0,1), (0,2), (1,2)


def test_complete_spec_orders_edges_by_destination_then_source():
    assert CellSpec.complete(4, ["a"]).edges == ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
    assert SMALL.edges == ((0, 1), (0, 2), (1, 2))


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        (("f", "g", "f"), ["0", "(0)@f", "((0)@f)@f+(0)@g"]),  # ops wrap their input, terms sorted
        (("skip", "f", "skip"), ["0", "0", "(0)@f+0"]),  # identity passes its input through
        (("none", "f", "g"), ["0", "#", "#+(0)@f"]),  # op on the zero token stays zero
        (("f", "none", "none"), ["0", "(0)@f", "#+#"]),  # no '#+# = #' algebra
        (("skip", "none", "skip"), ["0", "0", "#+0"]),  # no 'x + 0 = x' algebra
        (("none", "none", "f"), ["0", "#", "#+#"]),
    ],
)
def test_node_expressions_follow_published_rules(ops, expected):
    assert SMALL.node_expressions(ops) == expected
    assert SMALL.canonical_form(ops) == expected[-1]


def test_equivalent_cells_share_canonical_form_by_hand():
    # x + 0 either way round; a zero edge into node 1 kills the (1,2) edge whatever its op.
    assert SMALL.canonical_form(("skip", "skip", "none")) == SMALL.canonical_form(("skip", "none", "skip"))
    assert SMALL.canonical_form(("none", "f", "g")) == SMALL.canonical_form(("none", "f", "none"))
    assert SMALL.canonical_form(("f", "g", "f")) != SMALL.canonical_form(("f", "f", "g"))


def test_node_without_incoming_edges_is_zero():
    spec = CellSpec(3, ((0, 1),), ("f",))
    assert spec.node_expressions(("f",)) == [INPUT, "(0)@f", ZERO]
    assert spec.is_degenerate(("f",))


def test_is_degenerate_by_hand():
    assert SMALL.is_degenerate(("f", "none", "none"))
    assert SMALL.is_degenerate(("none", "none", "f"))
    assert not SMALL.is_degenerate(("none", "f", "none"))
    assert not SMALL.is_degenerate(("f", "none", "g"))


# ------------------------------------------------------------------------------------------------
# Properties on generated cell spaces.
# ------------------------------------------------------------------------------------------------


@PROPERTY
@given(spec=cell_specs(sparse=True), rnd=st.randoms(use_true_random=False))
def test_equal_canonical_forms_compute_equal_functions(spec, rnd):
    """Soundness: cells with one canonical form give one output for every input (modular model)."""
    maps = zero_fixing_maps(spec, rnd)
    inputs = [rnd.randrange(1, P) for _ in range(3)]
    classes: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for ops in cell_pool(spec, rnd):
        classes[spec.canonical_form(ops)].append(ops)
    for form, members in classes.items():
        if len(members) > 1:
            outs = {tuple(evaluate(spec, ops, maps, x) for x in inputs) for ops in members}
            assert len(outs) == 1, (form, members[:5])


@PROPERTY
@given(data=st.data())
def test_canonical_form_is_invariant_to_edge_listing_order(data):
    spec = data.draw(cell_specs())
    ops = data.draw(cells_of(spec))
    perm = data.draw(st.permutations(range(len(spec.edges))))
    shuffled = CellSpec(
        spec.num_nodes, tuple(spec.edges[k] for k in perm), spec.ops, spec.identity_ops, spec.zero_ops
    )
    shuffled_ops = [ops[k] for k in perm]
    assert shuffled.node_expressions(shuffled_ops) == spec.node_expressions(ops)
    assert shuffled.canonical_form(shuffled_ops) == spec.canonical_form(ops)
    assert shuffled.is_degenerate(shuffled_ops) == spec.is_degenerate(ops)


@PROPERTY
@given(data=st.data())
def test_without_special_ops_distinct_cells_have_distinct_canonical_forms(data):
    n = data.draw(st.integers(3, 5))
    # Keep the enumeration small: 3 edges x <=6 ops, 6 edges x <=3 ops, 10 edges x 2 ops (<= 1,024 cells).
    max_ops = {3: 6, 4: 3, 5: 2}[n]
    spec = data.draw(cell_specs(num_nodes=n, max_ops=max_ops, specials=False))
    cells = list(itertools.product(spec.ops, repeat=len(spec.edges)))
    forms = {spec.canonical_form(ops) for ops in cells}
    assert len(forms) == len(cells)


@PROPERTY
@given(data=st.data(), rnd=st.randoms(use_true_random=False))
def test_degenerate_cells_output_zero_and_ignore_input(data, rnd):
    """is_degenerate -> output identically 0 (ops fixing 0) and independent of the input (affine ops).

    Only this direction holds mod P: a live cell's path weights can cancel (e.g. skip + (P-1)*x is
    0 mod P), so 'output 0 mod P -> degenerate' is not a theorem; the exact-integer test below
    proves the converse instead.
    """
    spec = data.draw(cell_specs(sparse=True))
    inputs = [rnd.randrange(1, P) for _ in range(4)]
    zero_fixing, affine = zero_fixing_maps(spec, rnd), affine_maps(spec, rnd)
    for ops in cell_pool(spec, rnd, limit=300):
        if spec.is_degenerate(ops):
            assert [evaluate(spec, ops, zero_fixing, x) for x in inputs] == [0] * len(inputs), ops
            assert len({evaluate(spec, ops, affine, x) for x in inputs}) == 1, ops


@PROPERTY
@given(data=st.data(), rnd=st.randoms(use_true_random=False))
def test_is_degenerate_iff_output_zero_with_positive_integer_weights(data, rnd):
    """With injective positive linear ops over the integers (no modulus) nothing can cancel.

    The output is x times the sum over input->output paths of the product of edge weights (identity
    1, zero 0, other ops >= 1), which is 0 exactly when every path crosses a zero op: both
    directions of the equivalence are guaranteed here.
    """
    spec = data.draw(cell_specs(sparse=True))
    maps = {}
    for op in spec.ops:
        if op in spec.zero_ops:
            maps[op] = lambda v: 0
        elif op in spec.identity_ops:
            maps[op] = lambda v: v
        else:
            weight = rnd.randint(1, 9)
            maps[op] = lambda v, a=weight: a * v
    for ops in cell_pool(spec, rnd, limit=300):
        out = evaluate(spec, ops, maps, 1, modulus=None)
        assert out >= 0
        assert spec.is_degenerate(ops) == (out == 0), ops


@PROPERTY
@given(data=st.data())
def test_is_degenerate_iff_input_token_absent_from_canonical_form(data):
    spec = data.draw(cell_specs(sparse=True))
    for ops in cell_pool(spec, random.Random(0), limit=300):
        assert spec.is_degenerate(ops) == (INPUT not in spec.canonical_form(ops)), ops


# ------------------------------------------------------------------------------------------------
# Validation.
# ------------------------------------------------------------------------------------------------


def test_cell_spec_needs_two_nodes():
    with pytest.raises(ValueError, match="at least an input and an output"):
        CellSpec(1, (), ("a",))


@pytest.mark.parametrize("edge", [(1, 0), (1, 1), (0, 3), (-1, 1), (2, 5)])
def test_cell_spec_rejects_non_forward_or_out_of_range_edges(edge):
    with pytest.raises(ValueError, match=rf"edge {edge[0]}->{edge[1]} is not forward within 3 nodes"):
        CellSpec(3, ((0, 1), edge), ("a",))


def test_cell_spec_rejects_special_ops_outside_the_op_set():
    with pytest.raises(ValueError, match=r"special ops \['skip'\] are not in the op set"):
        CellSpec.complete(3, ["a", "none"], identity_ops=["skip"], zero_ops=["none"])
    with pytest.raises(ValueError, match=r"special ops \['zero'\]"):
        CellSpec.complete(3, ["a"], zero_ops=["zero"])


@pytest.mark.parametrize("method", ["canonical_form", "node_expressions", "is_degenerate"])
def test_wrong_number_of_ops_is_rejected(method):
    with pytest.raises(ValueError, match="expected 3 edge ops, got 2"):
        getattr(SMALL, method)(["f", "g"])
    with pytest.raises(ValueError, match="expected 3 edge ops, got 4"):
        getattr(SMALL, method)(["f", "g", "f", "g"])


@pytest.mark.parametrize("method", ["canonical_form", "node_expressions", "is_degenerate"])
def test_unknown_op_is_rejected_naming_edge_and_op(method):
    with pytest.raises(ValueError, match=r"edge 1 has unknown op 'conv' \(valid: skip, none, f, g\)"):
        getattr(SMALL, method)(["f", "conv", "g"])


# ---- regressions of review findings ----------------------------------------------------------------------
def test_op_cannot_be_both_identity_and_zero():
    with pytest.raises(ValueError, match="both identity and zero"):
        CellSpec.complete(3, ["a", "b"], identity_ops=["a"], zero_ops=["a"])


def test_duplicate_edges_are_refused():
    with pytest.raises(ValueError, match="twice"):
        CellSpec(3, ((0, 1), (0, 1), (1, 2)), ("a",))


def test_special_ops_given_as_a_bare_string_are_refused():
    with pytest.raises(TypeError, match="not the string"):
        CellSpec.complete(3, ["skip", "conv"], identity_ops="skip")
