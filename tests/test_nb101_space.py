"""NAS-Bench-101 facts (spaces/nb101*.py), each checked by a route independent of the code under test.

* the graph hash of the reference README's Inception-like cell equals the one a google-research test
  (``mock_model_spec.graph_hash`` of that cell) records, and the data set's stored, renumbered copy
  (NASBench.ipynb's query output) hashes the same;
* the published network has the data set's 2,694,282 trainable parameters for that cell;
* ``vertex_channels`` reproduces the reference ``model_builder_test`` cases;
* the hash-based enumeration (``scripts/enumerate_nb101.py``) finds exactly the classes that brute-force
  isomorphism (all vertex permutations) finds, for up to 5 vertices.
"""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

import spaces
from spaces.nb101 import INCEPTION, INCEPTION_STORED, NB101Space
from spaces.nb101_graph import OPS, make_spec
from spaces.nb101_net import vertex_channels

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def space() -> NB101Space:
    return spaces.get("nb101")


def _script():
    path = Path(__file__).parents[1] / "scripts" / "enumerate_nb101.py"
    spec = importlib.util.spec_from_file_location("enumerate_nb101", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_cell_hash_matches_the_reference_hash(space) -> None:
    # google-research: a test mocking NB101's ModelSpec of this cell sets graph_hash to this value
    assert space.canonical(space.parse(INCEPTION)) == "28cfc7874f6d200472e1a9dcd8650aa0"
    assert space.parse(INCEPTION_STORED).arch_id == space.parse(INCEPTION).arch_id


def test_published_network_has_the_data_sets_parameter_count(space) -> None:
    for text in (INCEPTION, INCEPTION_STORED):
        model = space.build(space.parse(text), "cifar10")
        assert sum(p.numel() for p in model.parameters()) == 2_694_282
    out = model(torch.zeros(2, 3, 32, 32))
    assert out.shape == (2, 10)


@pytest.mark.parametrize(
    ("matrix", "c_in", "c_out", "expected"),
    [  # nasbench/tests/model_builder_test.py
        ([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], 8, 16, [8, 16, 16, 16]),
        ([[0, 1], [0, 0]], 5, 1, [5, 1]),
        ([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], 8, 15, [8, 8, 7, 15]),
        (
            [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0] * 5],
            8,
            8,
            [8, 3, 3, 2, 8],
        ),
        (
            [[0, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0] * 5],
            8,
            9,
            [8, 5, 5, 4, 9],
        ),
        (
            [[0, 1, 0, 1, 0], [0, 0, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0] * 5],
            8,
            15,
            [8, 8, 7, 7, 15],
        ),
    ],
)
def test_vertex_channels_match_the_reference_tests(matrix, c_in, c_out, expected) -> None:
    assert vertex_channels(c_in, c_out, np.array(matrix)) == expected


def test_pruning_removes_vertices_off_every_path(space) -> None:
    # vertex 2 has no input (dangling); vertex 3 feeds nothing
    arch = space.parse(
        "01010.00001.00001.00000.00000|input,conv3x3-bn-relu,maxpool3x3,conv1x1-bn-relu,output"
    )
    assert arch.string == "010.001.000|input,conv3x3-bn-relu,output"
    assert space.from_spec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"]) == arch


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("010.001.000|input,conv5x5,output", "unknown op 'conv5x5'"),
        ("010.000.000|input,conv3x3-bn-relu,output", "no path from input to output"),
        ("011.101.000|input,conv3x3-bn-relu,output", "strictly upper triangular"),
        ("01.00|output,input", "must start with 'input'"),
        ("0110.0001|input,output", "rows must be 2 strings"),
        (
            "01111111.00000001.00000001.00000001.00000001.00000001.00000001.00000000|input,"
            + ",".join(["conv3x3-bn-relu"] * 6)
            + ",output",
            "8 vertices, need 2..7",
        ),
        (
            "0111111.0000001.0000001.0000001.0000001.0000001.0000000|input,"
            + ",".join(["conv3x3-bn-relu"] * 5)
            + ",output",
            "11 edges after pruning, at most 9",
        ),
    ],
)
def test_invalid_cells_get_one_line_errors(space, text, message) -> None:
    with pytest.raises(ValueError, match=message) as info:
        space.parse(text)
    assert "\n" not in str(info.value)


def _random_relabel(text: str, rng: np.random.Generator) -> str:
    """The same cell with its interior vertices renumbered along a random topological order."""
    spec = make_spec(*_parse(text))
    n = spec.num_vertices
    order, remaining = [0], set(range(1, n - 1))
    while remaining:
        ready = sorted(v for v in remaining if all(u in order for u in np.flatnonzero(spec.matrix[:, v])))
        pick = ready[int(rng.integers(len(ready)))]
        order.append(pick)
        remaining.remove(pick)
    order.append(n - 1)
    matrix = spec.matrix[np.ix_(order, order)]
    rows = ".".join("".join(map(str, row)) for row in matrix)
    return f"{rows}|{','.join(spec.ops[v] for v in order)}"


def _parse(text: str):
    from spaces.nb101_graph import parse_string

    return parse_string(text)


def test_arch_id_is_invariant_under_vertex_renumbering(space) -> None:
    rng = np.random.default_rng(0)
    for _ in range(40):
        arch = space.sample(rng)
        other = space.parse(_random_relabel(arch.string, rng))
        assert other.arch_id == arch.arch_id


def test_encodings_have_the_documented_lengths(space) -> None:
    arch = space.parse(INCEPTION)
    assert space.encode(arch, "adjacency").shape == (56,)
    path = space.encode(arch, "path")
    assert path.shape == (364,) and path.sum() == 4  # 1x1; 3x3; 3x3>3x3; maxpool
    assert np.array_equal(path, space.encode(space.parse(INCEPTION_STORED), "path"))


def _brute_force_classes(vertices: int, max_edges: int) -> set:
    """Classes of full labelled DAGs under every vertex permutation fixing input and output."""
    pairs = [(i, j) for j in range(vertices) for i in range(j)]
    perms = [(0, *p, vertices - 1) for p in itertools.permutations(range(1, vertices - 1))]
    classes = set()
    for bits in range(1 << len(pairs)):
        edges = [pair for k, pair in enumerate(pairs) if bits >> k & 1]
        if len(edges) > max_edges:
            continue
        if {i for i, _ in edges} != set(range(vertices - 1)) or {j for _, j in edges} != set(
            range(1, vertices)
        ):
            continue
        for labels in itertools.product(range(len(OPS)), repeat=vertices - 2):
            full = (-1, *labels, -2)
            classes.add(
                min(
                    (
                        tuple(sorted((p[i], p[j]) for i, j in edges)),
                        tuple(full[p.index(v)] for v in range(vertices)),
                    )
                    for p in perms
                )
            )
    return classes


@pytest.mark.parametrize(("vertices", "max_edges"), [(3, 9), (4, 9), (5, 9), (5, 5)])
def test_hash_enumeration_matches_brute_force_isomorphism(vertices, max_edges) -> None:
    script = _script()
    found = script.enumerate_space(vertices, max_edges)[vertices]
    assert len(found) == len(_brute_force_classes(vertices, max_edges))
    nb101 = spaces.get("nb101")
    for bits, labels in list(found.values())[:20]:  # each found cell is a valid cell of its hash
        arch = nb101.parse(script.cell_string(vertices, bits, labels))
        assert nb101.canonical(arch) in found


def test_enumeration_script_prints_counts_and_checks_the_total(capsys, tmp_path) -> None:
    import csv
    import gzip

    script = _script()
    out = tmp_path / "cells.csv.gz"
    assert script.main(["--max-vertices", "4", "--out", str(out), "--expect", "91"]) == 0
    assert capsys.readouterr().out.splitlines()[:3] == [
        "2 vertices: 1 cells",
        "3 vertices: 6 cells",
        "4 vertices: 84 cells",
    ]
    with gzip.open(out, "rt") as f:
        rows = list(csv.DictReader(f))
    nb101 = spaces.get("nb101")
    assert len(rows) == 91 and all(nb101.canonical(nb101.parse(r["arch"])) == r["hash"] for r in rows)
    assert script.main(["--max-vertices", "3", "--expect", "8"]) == 1
    with pytest.raises(SystemExit) as info:
        script.main(["--max-vertices", "9"])
    assert info.value.code == 2


def test_build_refuses_too_narrow_a_stem(space) -> None:
    arch = space.parse(INCEPTION)  # 4 vertices feed the output
    with pytest.raises(ValueError, match="C >= the 4 vertices feeding the output, got C=3"):
        space.build(arch, "mnist5k", C=3, N=1)
    with pytest.raises(TypeError, match="unknown build options for nb101"):
        space.build(arch, "mnist5k", layers=3)
