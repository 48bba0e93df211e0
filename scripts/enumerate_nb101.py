"""Enumerate the NAS-Bench-101 space: count the cells distinct under the reference graph hash.

Follows the reference ``nasbench/scripts/generate_graphs.py`` (Ying et al., ICML 2019): for every
vertex count 2..``--max-vertices``, every upper-triangular matrix whose vertices all lie on an
input->output path ("full DAG") with at most ``--max-edges`` edges, and every labelling of its interior
vertices with the 3 ops, keep the first cell of each :func:`spaces.nb101_graph.hash_module` hash. The
published space (7 vertices, 9 edges) has 423,624 cells; the full run hashes ~10^7 labelled graphs and
takes minutes on many cores (``--workers``), hours on one.

Prints one line per vertex count and a total; ``--out FILE.csv.gz`` also writes one row per cell
(``hash, arch`` in the :mod:`spaces.nb101` string format), atomically. ``--expect N`` exits 1 unless
the total is N. Bad arguments exit 2.

    python scripts/enumerate_nb101.py --workers 16 --expect 423624
"""

from __future__ import annotations

import argparse
import csv
import gzip
import itertools
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def full_dags(vertices: int, max_edges: int, start: int = 0, stop: int | None = None) -> list[int]:
    """Edge bitmasks (bit ``i + j(j-1)/2`` is edge i->j, the reference's order) of the full DAGs."""
    pairs = [(i, j) for j in range(vertices) for i in range(j)]
    stop = 1 << len(pairs) if stop is None else stop
    found = []
    for bits in range(start, stop):
        if bits.bit_count() > max_edges:
            continue
        has_out = [False] * vertices
        has_in = [False] * vertices
        for k, (i, j) in enumerate(pairs):
            if bits >> k & 1:
                has_out[i] = has_in[j] = True
        if all(has_out[:-1]) and all(has_in[1:]):
            found.append(bits)
    return found


def hash_chunk(vertices: int, masks: list[int]) -> dict[str, tuple[int, tuple[int, ...]]]:
    """``{hash: (mask, labelling)}`` of the first labelled cell per hash among ``masks``."""
    from spaces.nb101_graph import OPS, hash_labelled

    pairs = [(i, j) for j in range(vertices) for i in range(j)]
    seen: dict[str, tuple[int, tuple[int, ...]]] = {}
    for bits in masks:
        preds: list[list[int]] = [[] for _ in range(vertices)]
        succs: list[list[int]] = [[] for _ in range(vertices)]
        for k, (i, j) in enumerate(pairs):
            if bits >> k & 1:
                preds[j].append(i)
                succs[i].append(j)
        for interior in itertools.product(range(len(OPS)), repeat=vertices - 2):
            labels = (-1, *interior, -2)
            seen.setdefault(hash_labelled(preds, succs, labels), (bits, labels))
    return seen


def cell_string(vertices: int, bits: int, labels: tuple[int, ...]) -> str:
    """The :mod:`spaces.nb101` string of a mask and a labelling."""
    from spaces.nb101_graph import INPUT, OPS, OUTPUT

    pairs = [(i, j) for j in range(vertices) for i in range(j)]
    edges = {pair for k, pair in enumerate(pairs) if bits >> k & 1}
    rows = ".".join(
        "".join("1" if (i, j) in edges else "0" for j in range(vertices)) for i in range(vertices)
    )
    names = [INPUT, *(OPS[label] for label in labels[1:-1]), OUTPUT]
    return f"{rows}|{','.join(names)}"


def enumerate_space(
    max_vertices: int = 7, max_edges: int = 9, workers: int = 1
) -> dict[int, dict[str, tuple[int, tuple[int, ...]]]]:
    """``{vertices: {hash: (mask, labelling)}}`` for every vertex count 2..``max_vertices``."""
    out = {}
    with ProcessPoolExecutor(workers) if workers > 1 else _Inline() as pool:
        for vertices in range(2, max_vertices + 1):
            masks = full_dags(vertices, max_edges)
            chunks = [masks[k :: workers * 8] for k in range(workers * 8)] if workers > 1 else [masks]
            merged: dict[str, tuple[int, tuple[int, ...]]] = {}
            for part in pool.map(hash_chunk, itertools.repeat(vertices), chunks):
                for key, value in part.items():
                    merged.setdefault(key, value)
            out[vertices] = merged
    return out


class _Inline:
    """A stand-in for a process pool that maps in this process (``--workers 1``)."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn, *iterables):
        return map(fn, *iterables)


def main(argv: list[str] | None = None) -> int:
    """Enumerate, print the counts, optionally write the cells and check the total."""
    parser = argparse.ArgumentParser(prog="enumerate_nb101", description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-vertices", type=int, default=7, help="2..7 (default: 7, NB101's)")
    parser.add_argument("--max-edges", type=int, default=9, help="1..21 (default: 9, NB101's)")
    parser.add_argument("--workers", type=int, default=1, help="processes (default: 1)")
    parser.add_argument("--out", help="write hash,arch rows to this .csv.gz")
    parser.add_argument("--expect", type=int, help="exit 1 unless the total is this")
    args = parser.parse_args(argv)
    for name, low, high in (("max_vertices", 2, 7), ("max_edges", 1, 21), ("workers", 1, 1024)):
        if not low <= getattr(args, name) <= high:
            parser.error(f"--{name.replace('_', '-')} must be in {low}..{high}, got {getattr(args, name)}")
    start = time.perf_counter()
    found = enumerate_space(args.max_vertices, args.max_edges, args.workers)
    total = sum(len(cells) for cells in found.values())
    for vertices, cells in found.items():
        print(f"{vertices} vertices: {len(cells):,} cells")
    print(f"total: {total:,} cells ({time.perf_counter() - start:.1f} s)")
    if args.out:
        from spaces.atomic import atomic_file

        with atomic_file(args.out) as tmp, gzip.open(tmp, "wt", newline="") as f:
            tmp.chmod(0o644)  # a data file to share (mkstemp makes it private)
            writer = csv.writer(f)
            writer.writerow(["hash", "arch"])
            for vertices, cells in found.items():
                for key, (bits, labels) in sorted(cells.items()):
                    writer.writerow([key, cell_string(vertices, bits, labels)])
    if args.expect is not None and total != args.expect:
        print(f"FAILED: {total:,} cells, expected {args.expect:,}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
