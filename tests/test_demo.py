"""`archbench demo`: answered from a shipped table with a live recomputation, or everything live.

Tiny settings (C=4, N=1, 8 px, one 1-epoch seed) stand in for the demo's defaults; the shipped table
is a release of a live demo run, so the answered path can be checked against what it claims.
"""

from __future__ import annotations

import dataclasses

import pytest

from benchmarks.commands.demo import DemoConfig, _console, _matching_shipped, demo_settings, run_demo
from benchmarks.storage import shipped
from benchmarks.storage.release import release

TINY = DemoConfig(
    num_archs=4,
    epochs=1,
    train_seeds=(0,),
    workers=1,
    task="mnist5k",
    resolution=8,
    width=4,
    proxy_batch=8,
    train_batch=256,
    shipped="tinydemo",
    live_archs=2,
)


@pytest.fixture(scope="module")
def shipped_demo(tmp_path_factory):
    """A live tiny demo, released as the shipped table ``tinydemo-1.0.0``."""
    root = tmp_path_factory.mktemp("demo")
    run_demo(dataclasses.replace(TINY, live=True), root / "live")
    release(root / "live", "tinydemo", "1.0.0", root / "shipped")
    return root


def test_demo_answers_from_the_shipped_table_and_recomputes_live(shipped_demo, monkeypatch):
    """The answered demo reports the shipped correlations and finds its live values bit-identical."""
    monkeypatch.setattr(shipped, "SHIPPED_DIR", shipped_demo / "shipped")
    report = run_demo(TINY, shipped_demo / "answered")
    text = report.read_text()
    assert "answered from `tinydemo-1.0.0`" in text
    assert "live recomputation of 2 classes: all" in text and "bit-identical" in text
    live_rows = (shipped_demo / "live" / "report.md").read_text().split("\n\n")[3]
    assert live_rows.splitlines()[2:] == text.split("\n\n")[4].splitlines()[2:]  # same proxy rows


def test_demo_falls_back_to_live_when_the_settings_differ(shipped_demo, monkeypatch):
    """A shipped table built under another recipe is not used to answer (nothing is mixed)."""
    monkeypatch.setattr(shipped, "SHIPPED_DIR", shipped_demo / "shipped")
    other = dataclasses.replace(TINY, epochs=2)
    assert _matching_shipped(other, *demo_settings(other), _console()) is None
    assert _matching_shipped(TINY, *demo_settings(TINY), _console()) is not None
    missing = dataclasses.replace(TINY, shipped="no-such-table")
    assert _matching_shipped(missing, *demo_settings(missing), _console()) is None
