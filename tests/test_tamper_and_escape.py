"""A table is exactly its manifest, a content id pins the manifest, and every page escapes what it shows.

Regression tests for the hardening issue's serious cases: an unlisted ``records/*.parquet`` beside a
release (read by the card's own pandas recipe), a records or ``.arrow`` entry dropped from a manifest,
and stored XSS through a metric named ``x" onerror="alert(1)`` in ``report.html``, ``report.md`` and
the release card. Pages are checked with an HTML parser (and Markdown through markdown-it, which
passes raw HTML through as GitHub-style renderers do), never with substring searches alone.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from _bench_helpers import copy_tree, shared_build
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

import spaces
from benchmarks.hf import save_hf
from benchmarks.journal import Journal
from benchmarks.release import release
from benchmarks.render import write_report
from benchmarks.schema import arch_fields, arch_row, make_record
from benchmarks.store import TableError, content_id, export, sha256_file
from benchmarks.table import open_table

HOSTILE = [
    "$\\frac{$",
    'x" onerror="alert(1)',
    "<script>alert(1)</script>",
    "a|b`c`\n## heading",
    "<img src=x onerror=alert(2)>",
    "[link](javascript:alert(3))",
]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    return shared_build(tmp_path_factory)


@pytest.fixture(scope="module")
def released(shared, tmp_path_factory):
    return release(shared.root, "tiny", "1.0.0", tmp_path_factory.mktemp("rel"))


def rewrite_manifest(folder: Path, change) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


# ---- a release is exactly its manifest ---------------------------------------------------------------------
def test_an_unlisted_records_file_beside_a_release_is_refused(released, tmp_path):
    copy = copy_tree(released, tmp_path / "r")
    shutil.copy(copy / "records/mnist5k.parquet", copy / "records/extra.parquet")
    # What the card's pandas recipe would do: read both files, every row twice.
    assert len(pd.read_parquet(copy / "records")) == 2 * len(open_table(released).records)
    with pytest.raises(TableError, match=r"records/extra.parquet is not listed in manifest.json"):
        open_table(copy)


@pytest.mark.parametrize("name", [".hidden", "notes.txt", "records/.DS_Store"])
def test_any_unlisted_file_is_refused(released, tmp_path, name):
    copy = copy_tree(released, tmp_path / "r")
    (copy / name).write_text("x")
    with pytest.raises(TableError, match=r"is not listed in manifest\.json"):
        open_table(copy)


def test_a_dropped_records_entry_is_refused_with_or_without_its_file(released, tmp_path):
    copy = copy_tree(released, tmp_path / "r")
    rewrite_manifest(copy, lambda m: m["files"].pop("records/mnist5k.parquet"))
    with pytest.raises(TableError, match=r"not listed in manifest\.json|do not match the summary"):
        open_table(copy)
    (copy / "records/mnist5k.parquet").unlink()  # entry and file both gone: 0 records would open
    with pytest.raises(TableError, match=r"records files \(none\) do not match the summary"):
        open_table(copy)


def test_a_link_inside_a_table_is_refused(released, tmp_path):
    copy = copy_tree(released, tmp_path / "r")
    target = copy / "architectures.parquet"
    moved = tmp_path / "elsewhere.parquet"
    target.rename(moved)
    target.symlink_to(moved)
    with pytest.raises(TableError, match="is a link"):
        open_table(copy)


def test_a_flat_table_refuses_extra_files_too(shared, tmp_path):
    table = export(shared.journal, tmp_path / "t")
    (table / "records.parquet.bak").write_bytes((table / "records.parquet").read_bytes())
    with pytest.raises(TableError, match=r"records.parquet.bak is not listed"):
        open_table(table)


def test_an_hf_export_with_a_dropped_arrow_entry_and_an_edited_value_is_refused(shared, tmp_path):
    out = save_hf(open_table(shared.root / "table"), tmp_path / "hf")
    arrows = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.arrow"))
    records_arrow = next(a for a in arrows if a.startswith("records"))
    rewrite_manifest(out, lambda m: m["files"].pop(records_arrow))
    with pytest.raises(TableError, match=re.escape(f"{records_arrow} is not listed in manifest.json")):
        open_table(out)


# ---- content ids -----------------------------------------------------------------------------------------------
def test_content_id_pins_a_release_and_is_shown_in_its_card(released, tmp_path):
    table = open_table(released)
    cid = table.content_id
    assert cid.startswith("sha256:") and len(cid) == 7 + 64
    assert cid in (released / "README.md").read_text()
    assert open_table(released, expect=cid).content_id == cid
    assert open_table(released, expect=cid[: 7 + 16]).content_id == cid  # 16+ hex digits suffice
    with pytest.raises(TableError, match="not the table you pinned"):
        open_table(released, expect="sha256:" + "0" * 64)
    with pytest.raises(TableError, match="is not sha256:<16 to 64 hex digits>"):
        open_table(released, expect="abc")


def test_a_consistently_edited_release_opens_but_fails_its_pin(released, tmp_path):
    """Anyone can rewrite a file and its hash in manifest.json; only the pinned content id catches it."""
    cid = open_table(released).content_id
    copy = copy_tree(released, tmp_path / "r")
    frame = pd.read_parquet(copy / "records/mnist5k.parquet")
    frame.loc[frame["status"] == "ok", "value"] = frame.loc[frame["status"] == "ok", "value"] + 1.0
    import pyarrow as pa
    import pyarrow.parquet as pq

    from benchmarks.schema import RECORD_SCHEMA

    pq.write_table(
        pa.Table.from_pandas(frame, schema=RECORD_SCHEMA, preserve_index=False),
        copy / "records/mnist5k.parquet",
    )
    new_sha = sha256_file(copy / "records/mnist5k.parquet")
    rewrite_manifest(copy, lambda m: m["files"]["records/mnist5k.parquet"].update(sha256=new_sha))
    assert open_table(copy).content_id != cid  # the edit opens as a different table ...
    with pytest.raises(TableError, match="not the table you pinned"):
        open_table(copy, expect=cid)  # ... and never as the pinned one


def test_the_card_is_checked_but_not_part_of_the_id(released):
    manifest = json.loads((released / "manifest.json").read_text())
    without_card = {k: v for k, v in manifest["files"].items() if v["role"] != "card"}
    assert content_id(manifest) == content_id({**manifest, "files": without_card})


def test_query_accepts_expect_and_prints_the_content_id(released, capsys):
    from benchmarks.cli import main

    cid = open_table(released).content_id
    assert main(["query", str(released), "--expect", cid]) == 0
    assert cid in capsys.readouterr().out
    assert main(["query", str(released), "--expect", "sha256:" + "1" * 64]) == 2
    assert "not the table you pinned" in capsys.readouterr().err


# ---- bounded JSON ----------------------------------------------------------------------------------------------
def test_a_deeply_nested_manifest_is_one_line_not_a_recursion_error(released, tmp_path):
    copy = copy_tree(released, tmp_path / "r")
    (copy / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(TableError, match=r"nested too deeply|nested .* levels deep") as info:
        open_table(copy)
    assert "\n" not in str(info.value)


def test_a_manifest_entry_without_a_sha256_names_the_file_not_a_key_error(shared, tmp_path):
    table = export(shared.journal, tmp_path / "t")
    rewrite_manifest(table, lambda m: m["files"]["records.parquet"].pop("sha256"))
    with pytest.raises(TableError, match=r"file 'records\.parquet' has no valid SHA-256"):
        open_table(table)


# ---- escaping: pages, Markdown and the card ----------------------------------------------------------------------
class Elements(HTMLParser):
    """Every start tag and its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(markup: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(markup)
    parser.close()
    return parser.tags


def markdown_elements(text: str) -> list[tuple[str, dict[str, str | None]]]:
    """What a GitHub-style renderer makes of ``text`` (raw HTML passes through)."""
    return elements(MarkdownIt("commonmark", {"html": True}).enable("table").render(text))


def assert_nothing_injected(found: list[tuple[str, dict[str, str | None]]], allowed_tags: set[str]) -> None:
    for tag, attrs in found:
        assert tag in allowed_tags, f"injected element <{tag}>"
        assert not any(name.startswith("on") for name in attrs), f"injected handler on <{tag}>: {attrs}"
        for name in ("src", "href"):
            assert not str(attrs.get(name, "")).lower().startswith("javascript:"), attrs


def hostile_report(names: list[str], task: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    rows, points = [], []
    for name in names:
        rows.append(
            {
                "task": task,
                "target": "val_acc",
                "proxy": name,
                "n": 5,
                **{f"{m}{s}": 0.1 for m in ("spearman", "kendall") for s in ("", "_low", "_high")},
                "top10_precision": 0.5,
                "n_degenerate": 0,
                "n_failed": 0,
                "median_seconds": 0.01,
                "higher_is_better": True,
            }
        )
        for i in range(5):
            points.append(
                {
                    "task": task,
                    "proxy": name,
                    "arch_id": f"a{i}",
                    "proxy_value": float(rng.random()),
                    "target": float(rng.random()),
                    "degenerate": False,
                }
            )
    return pd.DataFrame(rows), pd.DataFrame(points)


REPORT_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "pre", "table", "tr", "th", "td"}
REPORT_TAGS |= {"img", "figure", "figcaption"}


def check_report_folder(out: Path, names: list[str]) -> None:
    found = elements((out / "report.html").read_text())
    assert_nothing_injected(found, REPORT_TAGS)
    images = [attrs["src"] for tag, attrs in found if tag == "img"]
    assert len(images) == 1 + len(set(names))  # the heat-map and one scatter per proxy, none lost
    for src in images:
        assert (out / src).is_file() and Path(src).name == src  # a plain file in the folder
    assert_nothing_injected(
        markdown_elements((out / "report.md").read_text()),
        {"h1", "h2", "p", "br", "table", "thead", "tbody", "tr", "th", "td", "img", "code"},
    )


def test_hostile_names_in_a_report_inject_nothing(tmp_path):
    report, points = hostile_report(HOSTILE, task='t" onmouseover="x')
    out = tmp_path / "rep"
    write_report(report, points, out, header='table: <b onclick="x">t</b>\ntarget: val_acc')
    check_report_folder(out, HOSTILE)
    assert {p.name for p in out.iterdir()} <= {
        "correlations.parquet",
        "report.md",
        "report.html",
        "heatmap.png",
    } | {p.name for p in out.glob("scatter_*.png")}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=3, unique=True),
    task=st.text(min_size=1, max_size=20),
)
def test_no_name_injects_anything_into_a_report(tmp_path_factory, names, task):
    report, points = hostile_report(names, task)
    out = tmp_path_factory.mktemp("rep")
    write_report(report, points, out)
    check_report_folder(out, names)


def hostile_journal(path: Path) -> Path:
    """A journal whose metric, task and device names are hostile (the importers refuse such names now)."""
    space = spaces.get("nb201")
    archs = [space.from_index(i) for i in (0, 1, 2)]
    records = [
        make_record(
            **arch_fields(space, a),
            task=HOSTILE[1],
            metric=name,
            value=float(i),
            unit="<u>",
            fidelity=0,
            epoch=0,
            seed=0,
            device=HOSTILE[0],
            protocol_hash="p" * 64,
            seconds=None,
            status="ok",
        )
        for name in HOSTILE
        for i, a in enumerate(archs)
    ]
    with Journal(path) as journal:
        journal.bind("space", {"name": space.name, "version": space.version})
        journal.bind("protocol:" + "p" * 64, {"source": "<script>alert(4)</script>", "note": "a|b\nc"})
        for name in HOSTILE:
            journal.bind(
                f"metric:{name}",
                {"unit": "<u>", "kind": "cost", "higher_is_better": False, "paper": HOSTILE[3]},
            )
        journal.add_archs(arch_row(space, a) for a in archs)
        journal.commit_unit("import|x", records, "2026-01-01T00:00:00Z")
    return path


def test_hostile_names_in_a_release_card_inject_nothing(tmp_path):
    target = release(hostile_journal(tmp_path / "j.sqlite"), "hostile", "1.0.0", tmp_path / "rel")
    card = (target / "README.md").read_text()
    front, body = card.split("---\n")[1], card.split("---\n", 2)[2]
    assert set(yaml.safe_load(front)) == {"license", "pretty_name", "tags", "configs"}
    assert_nothing_injected(
        markdown_elements(body),
        {"h1", "h2", "h3", "p", "table", "thead", "tbody", "tr", "th", "td", "code", "pre", "em", "strong"},
    )
    assert open_table(target).records["metric"].nunique() == len(HOSTILE)  # the names survive as data


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"licence": "CC-BY-4.0\nmalicious: true"}, "is not an SPDX-style id"),
        ({"licence": ""}, "is not an SPDX-style id"),
        ({"citation": "@misc{x}\n```\n<script>alert(1)</script>"}, "plain BibTeX text"),
        ({"notes": "left out: x <script>alert(1)</script>"}, "no HTML tags"),
        ({"notes": "<!-- hidden -->"}, "no HTML tags"),
        ({"notes": " \n "}, "non-empty Markdown"),
        ({"notes": "a\x00b"}, "no control characters"),
    ],
)
def test_release_refuses_values_that_would_escape_the_card(shared, tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        release(shared.root, "tiny", "1.0.0", tmp_path, **options)
    assert list(tmp_path.iterdir()) == []
