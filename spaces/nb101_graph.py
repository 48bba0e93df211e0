"""NAS-Bench-101 cells as labelled DAGs: validation, pruning, the string format and the graph hash.

Source: Ying et al., "NAS-Bench-101: Towards Reproducible Neural Architecture Search", ICML 2019
(arXiv:1902.09635), and its reference code (github.com/google-research/nasbench, Apache-2.0):
``lib/model_spec.py`` (pruning), ``lib/graph_util.py`` (``hash_module``) and ``api.py`` (validity).

A cell is an upper-triangular 0/1 adjacency matrix over at most 7 vertices with one op label per
vertex: vertex 0 is ``input``, the last ``output``, the others one of :data:`OPS`. The reference
prunes every vertex that is not on an input->output path (then counts edges: at most 9), and
identifies isomorphic cells by an iterated MD5 hash of (out-degree, in-degree, label) triples that
absorbs the sorted hashes of each vertex's in- and out-neighbours, once per vertex; the published
data set holds 423,624 cells, one per hash.

The string of a cell is ``"<rows>|<ops>"``: the matrix rows as 0/1 digits joined by ``.``, then the
op names joined by ``,``, e.g. ``"011.001.000|input,conv3x3-bn-relu,output"``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

INPUT = "input"
OUTPUT = "output"
OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
"""Interior ops in the reference's ``canonical_ops`` order (their index is the hash label)."""
MAX_VERTICES = 7
MAX_EDGES = 9
_LABEL = {INPUT: -1, OUTPUT: -2, **{op: i for i, op in enumerate(OPS)}}


class Spec:
    """A pruned, validated NB101 cell: an immutable ``matrix`` (uint8) and its ``ops``."""

    __slots__ = ("matrix", "ops")

    def __init__(self, matrix: np.ndarray, ops: tuple[str, ...]) -> None:
        self.matrix = matrix
        self.ops = ops

    @property
    def num_vertices(self) -> int:
        """Vertices after pruning, input and output included."""
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        """Edges after pruning."""
        return int(self.matrix.sum())

    def to_string(self) -> str:
        """``"<rows>|<ops>"`` (see the module docstring)."""
        rows = ".".join("".join(str(int(b)) for b in row) for row in self.matrix)
        return f"{rows}|{','.join(self.ops)}"

    def hash(self) -> str:
        """The reference ``ModelSpec.hash_spec``: :func:`hash_module` with NB101's labels."""
        return hash_module(self.matrix, [_LABEL[op] for op in self.ops])


def parse_string(text: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """The raw (unpruned) matrix and ops of ``"<rows>|<ops>"``; ValueError names the problem."""
    if not isinstance(text, str):
        raise ValueError(f"NB101 architecture must be a string, got {type(text).__name__}")
    rows_text, sep, ops_text = text.strip().partition("|")
    if not sep or "|" in ops_text:
        raise ValueError(f"malformed NB101 string {text!r}: expected '<rows>|<ops>'")
    rows = rows_text.split(".")
    ops = tuple(ops_text.split(","))
    n = len(rows)
    if any(len(row) != n or set(row) - {"0", "1"} for row in rows):
        raise ValueError(f"malformed NB101 string {text!r}: rows must be {n} strings of {n} 0/1 digits")
    matrix = np.array([[int(c) for c in row] for row in rows], dtype=np.uint8)
    return matrix, ops


def make_spec(matrix: np.ndarray | Sequence[Sequence[int]], ops: Sequence[str], where: str = "") -> Spec:
    """Check, prune and count a cell as the reference ``api.NASBench.is_valid`` does.

    Raises ValueError (naming ``where``, e.g. the string) for a matrix that is not square, 0/1 and
    strictly upper triangular, ops that are not ``input, <interior ops>..., output``, more than
    :data:`MAX_VERTICES` vertices, no input->output path, or more than :data:`MAX_EDGES` edges after
    pruning.
    """
    at = f" {where!r}" if where else ""
    matrix = np.array(matrix, dtype=np.int64)
    ops = tuple(ops)
    n = len(ops)
    if matrix.shape != (n, n):
        raise ValueError(f"NB101 cell{at}: matrix shape {matrix.shape} does not match {n} ops")
    if not 2 <= n <= MAX_VERTICES:
        raise ValueError(f"NB101 cell{at}: {n} vertices, need 2..{MAX_VERTICES}")
    if ((matrix != 0) & (matrix != 1)).any() or np.tril(matrix).any():
        raise ValueError(f"NB101 cell{at}: matrix must be 0/1 and strictly upper triangular")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise ValueError(f"NB101 cell{at}: ops must start with 'input' and end with 'output'")
    bad = [op for op in ops[1:-1] if op not in OPS]
    if bad:
        raise ValueError(f"NB101 cell{at}: unknown op {bad[0]!r} (valid: {', '.join(OPS)})")
    keep = _on_path(matrix)
    if not keep[0]:
        raise ValueError(f"NB101 cell{at}: no path from input to output")
    idx = np.flatnonzero(keep)
    pruned = matrix[np.ix_(idx, idx)].astype(np.uint8)
    if pruned.sum() > MAX_EDGES:
        raise ValueError(f"NB101 cell{at}: {int(pruned.sum())} edges after pruning, at most {MAX_EDGES}")
    pruned.setflags(write=False)
    return Spec(pruned, tuple(ops[i] for i in idx))


def _on_path(matrix: np.ndarray) -> np.ndarray:
    """Vertices reachable from the input that also reach the output (the reference's pruning rule)."""
    n = len(matrix)
    forward = np.zeros(n, dtype=bool)
    forward[0] = True
    for v in range(1, n):
        forward[v] = bool((matrix[:v, v].astype(bool) & forward[:v]).any())
    backward = np.zeros(n, dtype=bool)
    backward[-1] = True
    for v in range(n - 2, -1, -1):
        backward[v] = bool((matrix[v, v + 1 :].astype(bool) & backward[v + 1 :]).any())
    return forward & backward


def hash_module(matrix: np.ndarray, labeling: Sequence[int]) -> str:
    """NB101's isomorphism-invariant graph hash (reference ``graph_util.hash_module``).

    Each vertex starts as MD5 of ``str((out_degree, in_degree, label))``; then, as many times as
    there are vertices, it becomes MD5 of its in-neighbours' sorted hashes joined, ``|``, its
    out-neighbours' sorted hashes joined, ``|``, its own hash. The fingerprint is MD5 of ``str`` of
    the sorted vertex hashes. Labels: -1 input, -2 output, the op's index in :data:`OPS`.
    """
    adj = np.asarray(matrix)
    n = len(labeling)
    preds = [[w for w in range(n) if adj[w, v]] for v in range(n)]
    succs = [[w for w in range(n) if adj[v, w]] for v in range(n)]
    return hash_labelled(preds, succs, labeling)


def hash_labelled(
    preds: Sequence[Sequence[int]], succs: Sequence[Sequence[int]], labeling: Sequence[int]
) -> str:
    """:func:`hash_module` of a graph given as predecessor and successor lists (for enumeration loops)."""
    n = len(labeling)
    hashes = [_md5(str((len(succs[v]), len(preds[v]), labeling[v]))) for v in range(n)]
    for _ in range(n):
        hashes = [
            _md5(
                "".join(sorted(hashes[w] for w in preds[v]))
                + "|"
                + "".join(sorted(hashes[w] for w in succs[v]))
                + "|"
                + hashes[v]
            )
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()
