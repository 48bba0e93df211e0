"""DARTS / NAS-Bench-301 facts (spaces/darts*.py), each checked by a route independent of the code under test.

* the published DARTS_V2 genotype at C=36 with 20 cells has the reference log's 3,349,342 parameters;
* the space size is recounted by listing every node's edge pairs (distinct inputs, 7 ops);
* genotypes in the reference ``genotypes.py`` form (``range(2, 6)``) and with a node's edges swapped
  parse to the same architecture; malformed or foreign text gets a one-line ValueError, unevaluated.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

import spaces
from spaces.darts import CELL_SIZE, DARTS_V2, OPS, DARTSSpace

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def space() -> DARTSSpace:
    return spaces.get("darts")


def test_darts_v2_has_the_published_parameter_count(space) -> None:
    model = space.build(space.parse(DARTS_V2), "cifar10", C=36, N=6)
    assert len(model.cells) == 20
    assert [i for i, cell in enumerate(model.cells) if cell.ops[0].__class__.__name__ == "MaxPool2d"] == [
        6,
        13,
    ]
    assert sum(p.numel() for p in model.parameters()) == 3_349_342  # "param size = 3.349342MB"


def test_space_size_recounted_from_the_edge_pairs() -> None:
    per_cell = 1
    for k in range(4):
        pairs = {
            tuple(sorted(((o1, i1), (o2, i2))))
            for (o1, i1), (o2, i2) in itertools.product(itertools.product(OPS, range(k + 2)), repeat=2)
            if i1 != i2
        }
        per_cell *= len(pairs)
    assert per_cell == CELL_SIZE == 1_037_664_180
    assert spaces.get("darts").size == per_cell**2
    assert math.floor(math.log10(per_cell**2)) == 18  # NAS-Bench-301: "about 10^18"


def test_reference_genotype_form_and_swapped_edges_parse_to_one_architecture(space) -> None:
    reference = DARTS_V2.replace("[2, 3, 4, 5]", "range(2, 6)")
    swapped = DARTS_V2.replace(
        "('sep_conv_3x3', 0), ('sep_conv_3x3', 1)", "('sep_conv_3x3', 1), ('sep_conv_3x3', 0)"
    )
    archs = [space.parse(text) for text in (DARTS_V2, reference, swapped)]
    assert archs[0] == archs[1] == archs[2] and len({a.arch_id for a in archs}) == 1
    normal, _ = space.cells(archs[0])
    assert normal[4:6] == (("skip_connect", 0), ("sep_conv_3x3", 1))  # sorted by input


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("('dil_conv_3x3', 2)", "('none', 2)"), "unknown op 'none' \\(NAS-Bench-301 has no 'none'\\)"),
        (("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), "normal node 5: input 5 is not a state 0..4"),
        (("('dil_conv_3x3', 2)", "('dil_conv_3x3', 0)"), "both edges read state 0"),
        (("normal_concat=[2, 3, 4, 5]", "normal_concat=[4, 5]"), "normal_concat must be \\[2, 3, 4, 5\\]"),
        (("('sep_conv_3x3', 0), ", ""), "needs 8 \\(op, input\\) edges, got 7"),
        (("Genotype(", "Genome("), "expected Genotype"),
        (("reduce_concat", "reduce_cat"), "needs exactly the keywords"),
    ],
)
def test_malformed_genotypes_get_one_line_errors(space, edit, message) -> None:
    with pytest.raises(ValueError, match=message) as info:
        space.parse(DARTS_V2.replace(*edit, 1))
    assert "\n" not in str(info.value)


def test_text_is_never_evaluated(space) -> None:
    for text in ("__import__('os').system('true')", "Genotype(normal=[(x, 0)])", "Genotype(" * 5000):
        with pytest.raises(ValueError, match="malformed DARTS genotype"):
            space.parse(text)


def test_samples_and_neighbours_are_valid_canonical_genotypes(space) -> None:
    rng = np.random.default_rng(0)
    for arch in [space.sample(rng) for _ in range(20)]:
        for cell in space.cells(arch):
            for k in range(4):
                (_, a), (_, b) = cell[2 * k : 2 * k + 2]
                assert a < b < k + 2  # distinct inputs, sorted
        assert space.parse(arch.string) == arch
    v2 = space.parse(DARTS_V2)
    neighbours = space.neighbors(v2)
    assert len(neighbours) == 2 * (8 * 6 + 2 * (0 + 1 + 2 + 3))  # op changes + input changes per cell

    def edges(arch):  # (cell, node, op, input): a node's edge order carries no meaning
        return {(c, e // 2, *edge) for c, cell in enumerate(space.cells(arch)) for e, edge in enumerate(cell)}

    assert all(len(edges(n) ^ edges(v2)) == 2 for n in neighbours)  # exactly one edge replaced


def test_encodings_and_graph(space) -> None:
    v2 = space.parse(DARTS_V2)
    onehot = space.encode(v2, "onehot")
    assert onehot.shape == (192,) and onehot.sum() == 32  # 16 edges x (op + input)
    graph = space.graph(v2)
    assert graph.num_nodes == 19 and graph.ops.count("reduce_max_pool_3x3") == 5


def test_tiny_network_on_mnist_and_bad_options(space) -> None:
    model = space.build(space.parse(DARTS_V2), "mnist5k", C=4, N=1)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="even C >= 2"):
        space.build(space.parse(DARTS_V2), "mnist5k", C=5, N=1)
    with pytest.raises(ValueError, match="divisible by 4"):
        space.task_input("mnist5k", 30)
