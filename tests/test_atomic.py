"""The one atomic-write helper (``spaces.atomic``): all or nothing, for files and folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.store import TableError
from benchmarks.store import atomic_folder as table_folder
from spaces.atomic import atomic_file, atomic_folder


def test_a_file_is_replaced_only_when_the_block_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "lut.parquet"
    with atomic_file(target) as tmp:
        tmp.write_text("first")
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError, match="killed"), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["lut.parquet"]  # no leftover


def test_a_folder_is_all_or_nothing_and_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    out = tmp_path / "table"
    with atomic_folder(out) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(FileExistsError, match="already exists"), atomic_folder(out):
        pass
    with pytest.raises(TableError, match="already exists"), table_folder(out):
        pass  # the table store's wrapper raises its own error type
    with pytest.raises(RuntimeError), atomic_folder(out, overwrite=True) as tmp:
        (tmp / "b").write_text("2")
        raise RuntimeError("failed")
    assert sorted(p.name for p in out.iterdir()) == ["a"]
    with atomic_folder(out, overwrite=True) as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["b"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".table.") and p.is_dir()] == []
