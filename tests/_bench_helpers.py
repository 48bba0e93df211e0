"""Shared constants and builders for the benchmarks and CLI tests (imported explicitly, not a conftest).

Everything runs on tiny configurations: a C=4, N=1 NB201 network at 8 px, proxy batches of 8 and a
one-epoch training recipe. The small shared table (5 architectures in 4 classes, one of them
degenerate, two training seeds) is built once per test session and reused read-only; tests that
modify files work on copies.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import spaces
from benchmarks.build import BuildSpec, build
from benchmarks.executors import LocalExecutor
from benchmarks.store import export
from proxies.protocol import Protocol
from proxies.training import Recipe

OPTIONS = {"C": 4, "N": 1}
PROTOCOL = Protocol(task="mnist5k", batch_size=8, resolution=8, build=OPTIONS)
RECIPE = Recipe(task="mnist5k", epochs=1, batch_size=256, resolution=8, build=OPTIONS)
COST_PROXIES = ("params", "flops")
FUNCTIONAL_PROXIES = ("synflow", "snip", "nwot")
PROXIES = COST_PROXIES + FUNCTIONAL_PROXIES
TRAIN_SEEDS = (0, 1)
TRAIN_METRICS = ("train_loss", "train_acc", "train_loss_sum", "val_acc")

SPACE = spaces.get("nb201")

# Its own class representative (published index 1462).
ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
# Not its class representative (index 2670, representative 49).
MIXED = "|skip_connect~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|nor_conv_3x3~0|none~1|skip_connect~2|"
# The class "output = input": DEAD_CONV's conv on edge 0->1 feeds only `none` edges, so it is dead
# but still has parameters; REP (index 55) is the class representative and has no conv at all.
DEAD_CONV = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
DEAD_CONV_1X1 = "|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
REP = "|skip_connect~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|skip_connect~1|none~2|"
# Degenerate: the output ignores the input.
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"

ARCHS = (ALL_CONV, MIXED, REP, DEAD_CONV, ALL_NONE)


def arch(text: str) -> spaces.Architecture:
    """The parsed NB201 architecture."""
    return SPACE.parse(text)


def small_spec(
    archs: tuple[str, ...] = ARCHS,
    proxies: tuple[str, ...] = PROXIES,
    train_seeds: tuple[int, ...] = TRAIN_SEEDS,
    **kwargs: object,
) -> BuildSpec:
    """A tiny build spec (training only when ``train_seeds`` is non-empty)."""
    return BuildSpec(
        space="nb201",
        task="mnist5k",
        archs=tuple(archs),
        proxies=tuple(proxies),
        protocol=PROTOCOL if proxies else None,
        recipe=RECIPE if train_seeds else None,
        train_seeds=tuple(train_seeds),
        **kwargs,
    )


def run_build(spec: BuildSpec, journal: Path, workers: int = 1, threads: int | None = 1):
    """Build ``spec`` into ``journal`` quietly."""
    return build(spec, journal, LocalExecutor(workers, threads), progress=False)


@dataclass(frozen=True)
class SharedBuild:
    """The shared small build: its folder, journal, exported table and spec."""

    root: Path
    journal: Path
    table: Path
    spec: BuildSpec


_SHARED: dict[str, SharedBuild] = {}


def shared_build(tmp_path_factory) -> SharedBuild:
    """Build (once per session) and export the small shared table. Treat it as read-only."""
    key = str(tmp_path_factory.getbasetemp())
    if key not in _SHARED:
        root = tmp_path_factory.mktemp("shared_build")
        spec = small_spec()
        run_build(spec, root / "journal.sqlite")
        export(root / "journal.sqlite", root / "table")
        _SHARED[key] = SharedBuild(root, root / "journal.sqlite", root / "table", spec)
    return _SHARED[key]


def copy_tree(src: Path, dst: Path) -> Path:
    """A copy of a table folder (or any folder) at ``dst``."""
    shutil.copytree(src, dst)
    return dst


def copy_journal(src: Path, dst: Path) -> Path:
    """A copy of a closed journal file (with any WAL side files)."""
    shutil.copy2(src, dst)
    for suffix in ("-wal", "-shm"):
        side = Path(str(src) + suffix)
        if side.exists():
            shutil.copy2(side, Path(str(dst) + suffix))
    return dst


def flip_byte(path: Path, offset: int | None = None) -> None:
    """Invert one byte of ``path`` (the middle one by default)."""
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def rehash(table: Path, name: str, rows: int | None = None) -> None:
    """Update the manifest's SHA-256 (and optionally row count) of ``name`` to match the file on disk."""
    manifest_path = table / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][name]["sha256"] = hashlib.sha256((table / name).read_bytes()).hexdigest()
    if rows is not None:
        manifest["files"][name]["rows"] = rows
    manifest_path.write_text(json.dumps(manifest))


def archbench_exe() -> str:
    """The ``archbench`` console script of the interpreter running the tests."""
    exe = Path(sys.executable).parent / "archbench"
    if not exe.exists():
        found = shutil.which("archbench")
        if found is None:
            raise RuntimeError("the archbench console script is not installed")
        return found
    return str(exe)
