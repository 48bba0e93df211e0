"""Encodings and op graphs: hand-computed values, invariants over all of NB201, hypothesis properties."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spaces
from spaces.cell import CellSpec
from spaces.graph import OpGraph, adjacency_encoding, path_encoding
from spaces.nb201 import CELL, KERNEL_OPS, OPS, VOCAB

NB201 = spaces.get("nb201")
ALL = list(NB201.enumerate())
ops_strategy = st.lists(st.sampled_from(OPS), min_size=6, max_size=6)

# a hand-computed cell: 0>1 conv3x3, 0>2 skip, 1>2 none, 0>3 pool, 1>3 conv1x1, 2>3 skip
HAND = NB201.from_ops(
    ("nor_conv_3x3", "skip_connect", "none", "avg_pool_3x3", "nor_conv_1x1", "skip_connect")
)


def test_onehot_hand_value() -> None:
    enc = NB201.encode(HAND, "onehot")
    assert enc.dtype == np.float32 and enc.shape == (30,) and enc.ndim == 1
    rows = enc.reshape(6, 5)
    # OPS order: none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3
    assert rows.argmax(axis=1).tolist() == [3, 1, 0, 4, 2, 1]
    assert rows.sum(axis=1).tolist() == [1.0] * 6


def test_graph_hand_value() -> None:
    # output = pool(x) + conv1x1(conv3x3(x)) + x (skip 0>2 then skip 2>3; none 1>2 adds nothing);
    # terms in sorted order: the input, then (avg_pool_3x3, ...), then (nor_conv_1x1, ...)
    graph = NB201.graph(HAND)
    assert graph.ops == ("input", "avg_pool_3x3", "nor_conv_3x3", "nor_conv_1x1", "output")
    edges = {(int(i), int(j)) for i, j in zip(*np.nonzero(graph.adjacency))}
    assert edges == {(0, 4), (0, 1), (1, 4), (0, 2), (2, 3), (3, 4)}
    assert graph.paths == ((), ("avg_pool_3x3",), ("nor_conv_3x3", "nor_conv_1x1"))


def test_graph_counts_an_op_once_per_path() -> None:
    # node 1 = pool(x) reaches the output along 0>1>3 and 0>1>2>3 (skips): NB201 counts it twice
    arch = NB201.parse("|avg_pool_3x3~0|+|none~0|skip_connect~1|+|none~0|skip_connect~1|skip_connect~2|")
    graph = NB201.graph(arch)
    assert graph.ops == ("input", "avg_pool_3x3", "avg_pool_3x3", "output")
    assert graph == NB201.graph(  # two separate pools into the output: the same class
        NB201.parse("|avg_pool_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")
    )


def test_path_hand_value() -> None:
    enc = NB201.encode(HAND, "path")
    k = len(KERNEL_OPS)  # conv1x1=0, conv3x3=1, pool=2
    assert enc.shape == (1 + k + k**2 + k**3,)
    expected = {0, 1 + 2, 1 + k + 1 + 0 * k}  # (), (pool,), (conv3x3, conv1x1)
    assert set(np.flatnonzero(enc).tolist()) == expected


def test_adjacency_hand_value() -> None:
    enc = NB201.encode(HAND, "adjacency")
    assert enc.shape == (36 + 9 * len(VOCAB),)
    upper = np.zeros((9, 9))
    upper[np.triu_indices(9, k=1)] = enc[:36]
    slots = [0, 1, 2, 3, 8]  # four graph nodes up front, the output in the last slot
    assert {(slots.index(i), slots.index(j)) for i, j in zip(*np.nonzero(upper))} == {
        (0, 4),
        (0, 1),
        (1, 4),
        (0, 2),
        (2, 3),
        (3, 4),
    }
    onehot = enc[36:].reshape(9, len(VOCAB))
    assert onehot[[4, 5, 6, 7]].sum() == 0  # padding slots
    assert [VOCAB[onehot[s].argmax()] for s in slots] == list(NB201.graph(HAND).ops)


def test_onehot_is_a_bijection_over_the_space() -> None:
    codes = {NB201.encode(a, "onehot").tobytes(): a for a in ALL}
    assert len(codes) == NB201.size == 15625
    for blob, arch in list(codes.items())[::997]:
        ops = np.frombuffer(blob, dtype=np.float32).reshape(6, 5).argmax(axis=1)
        assert NB201.from_ops([OPS[i] for i in ops]) == arch


def test_equivalent_cells_have_equal_graphs_and_encodings() -> None:
    found: dict[str, set] = defaultdict(set)
    for arch in ALL:
        found[arch.arch_id].add(
            (
                NB201.graph(arch),
                NB201.encode(arch, "path").tobytes(),
                NB201.encode(arch, "adjacency").tobytes(),
            )
        )
    assert len(found) == 6466 and all(len(v) == 1 for v in found.values())


def test_path_encoding_separates_different_functions() -> None:
    # not injective over classes (no encoding of this size is), but it sees the ops that matter
    conv = NB201.parse("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|")
    pool = NB201.parse("|none~0|+|none~0|none~1|+|avg_pool_3x3~0|none~1|none~2|")
    assert not np.array_equal(NB201.encode(conv, "path"), NB201.encode(pool, "path"))
    assert len({NB201.encode(a, "path").tobytes() for a in ALL}) > 1000


def test_degenerate_cell_graph_and_encodings() -> None:
    dead = NB201.parse(NB201.card.fixtures.degenerate[0])
    assert NB201.graph(dead) == OpGraph(np.zeros((2, 2), dtype=np.uint8), ("input", "output"))
    assert not NB201.encode(dead, "path").any()


def test_unknown_kind_and_wrong_space_are_one_line_errors() -> None:
    with pytest.raises(
        ValueError, match=r"unknown encoding 'gcn' for space 'nb201' \(valid: onehot, adjacency, path\)"
    ):
        NB201.encode(HAND, "gcn")
    with pytest.raises(TypeError, match="expected an Architecture of space 'nb201'"):
        NB201.encode(HAND.string, "onehot")  # type: ignore[arg-type]


def test_encodings_are_fresh_float32_vectors() -> None:
    for kind in NB201.encodings:
        enc = NB201.encode(HAND, kind)
        assert enc.dtype == np.float32 and enc.ndim == 1 and enc.flags.writeable
        enc[:] = -1  # a caller's copy: the next call is unaffected
        assert NB201.encode(HAND, kind).min() == 0.0


@settings(max_examples=60, deadline=None)
@given(ops_strategy)
def test_encoding_lengths_fixed_and_graph_well_formed(ops: list[str]) -> None:
    arch = NB201.from_ops(ops)
    lengths = {kind: NB201.encode(arch, kind).shape for kind in NB201.encodings}
    assert lengths == {"onehot": (30,), "adjacency": (81,), "path": (40,)}
    graph = NB201.graph(arch)
    assert set(graph.ops) <= set(VOCAB) and graph.ops[0] == "input" and graph.ops[-1] == "output"
    assert not np.tril(graph.adjacency).any()
    # the graph's output is reached from its input exactly when the cell is not degenerate
    assert bool(graph.paths) != NB201.is_degenerate(arch)
    # every op node lies on an input->output path: it has an input and exactly one consumer
    for node in range(1, graph.num_nodes - 1):
        assert graph.adjacency[:, node].any() and graph.adjacency[node].sum() == 1


@settings(max_examples=60, deadline=None)
@given(ops_strategy)
def test_built_graph_is_the_eight_node_transform(ops: list[str]) -> None:
    graph = CELL.op_graph(ops)
    assert graph.ops == ("input", *ops, "output")
    # op node k+1 (edge src->dst) feeds op node m+1 exactly when edge m starts where edge k ends
    for k, (_, dst) in enumerate(CELL.edges):
        for m, (src, _) in enumerate(CELL.edges):
            assert graph.adjacency[k + 1, m + 1] == (dst == src)
    assert graph.adjacency[0, 1:7].tolist() == [int(src == 0) for src, _ in CELL.edges]
    assert graph.adjacency[1:7, 7].tolist() == [int(dst == 3) for _, dst in CELL.edges]
    # the class graph's paths are the built graph's paths with no none, skip_connect dropped
    live = {tuple(op for op in path if op != "skip_connect") for path in graph.paths if "none" not in path}
    assert set(NB201.graph(NB201.from_ops(ops)).paths) == live


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 5), st.data())
def test_path_encoding_counts_paths_on_generic_cells(num_nodes: int, data: st.DataObject) -> None:
    """On hypothesis cell spaces without identity or zero ops every path is live, once per node path."""
    cell = CellSpec.complete(num_nodes, ("a", "b"))
    ops = data.draw(st.lists(st.sampled_from(("a", "b")), min_size=len(cell.edges), max_size=len(cell.edges)))
    graph = cell.class_graph(ops)
    # paths of a complete DAG from node 0 to node n-1: 2^(n-2), each now a chain of its own op nodes
    assert len(graph.paths) == 2 ** (num_nodes - 2)
    assert graph.adjacency[:, -1].sum() == num_nodes - 1  # one output term per edge into the last node
    assert sorted(graph.paths) == sorted(cell.op_graph(ops).paths)
    enc = path_encoding(graph, ("a", "b"), num_nodes - 1)
    assert enc.sum() == len(set(graph.paths))


def test_graph_helpers_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="strictly upper-triangular"):
        OpGraph(np.array([[0, 1], [1, 0]]), ("input", "output"))
    with pytest.raises(ValueError, match="from 'input' to 'output'"):
        OpGraph(np.zeros((2, 2)), ("a", "output"))
    graph = NB201.graph(HAND)
    with pytest.raises(ValueError, match="more than the encoding's 3"):
        adjacency_encoding(graph, 3, VOCAB)
    with pytest.raises(ValueError, match="longer than the encoding's 1 ops"):
        path_encoding(graph, KERNEL_OPS, 1)
    with pytest.raises(ValueError, match="not one of the encoded ops"):
        path_encoding(graph, ("nor_conv_3x3",), 3)
