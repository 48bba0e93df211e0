"""Incremental proxy lists and whole-space plans: reruns compute only missing (arch, proxy) pairs."""

from __future__ import annotations

import sqlite3
from collections import Counter

import pytest
from _bench_helpers import (
    ALL_CONV,
    ALL_NONE,
    DEAD_CONV,
    DEAD_CONV_1X1,
    MIXED,
    PROTOCOL,
    REP,
    SPACE,
    arch,
    run_build,
    small_spec,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.build import PROXY_SEPARATOR, BuildSpec, finished_proxies, plan, unit_group
from benchmarks.journal import Journal, JournalError
from benchmarks.store import export
from benchmarks.table import open_table

ARCHS = (ALL_CONV, MIXED, ALL_NONE)
FIRST = ("params", "synflow")
SECOND = ("params", "flops", "synflow", "nwot")  # adds one cost and one functional proxy
ALL_COLUMNS = "unit_key, row, arch, metric, value, status, message, seconds, created_at"


def records(journal) -> list[tuple]:
    with sqlite3.connect(journal) as db:
        return db.execute(f"SELECT {ALL_COLUMNS} FROM records ORDER BY unit_key, row").fetchall()


def by_pair(rows) -> dict[tuple[str, str], tuple]:
    """(arch, metric) -> (value, status), failing on a duplicate pair."""
    pairs = Counter((r[2], r[3]) for r in rows)
    assert max(pairs.values()) == 1, [p for p, n in pairs.items() if n > 1]
    return {(r[2], r[3]): (r[4], r[5]) for r in rows}


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """A journal built with FIRST and then rerun with SECOND, plus a clean SECOND build to compare."""
    root = tmp_path_factory.mktemp("incremental")
    journal = root / "grown.sqlite"
    first = run_build(small_spec(archs=ARCHS, proxies=FIRST, train_seeds=()), journal)
    before = records(journal)
    second = run_build(small_spec(archs=ARCHS, proxies=SECOND, train_seeds=()), journal)
    clean = root / "clean.sqlite"
    run_build(small_spec(archs=ARCHS, proxies=SECOND, train_seeds=()), clean)
    return journal, clean, first, second, before


def test_second_run_computes_only_the_new_proxies(grown):
    journal, _, first, second, before = grown
    units = 3 + 3  # one cost unit per arch, one functional unit per class (3 classes, seed 0)
    assert (first.total, first.ran) == (units, units)
    assert (second.total, second.ran, second.skipped) == (units, units, 0)
    after = records(journal)
    new = [r for r in after if r not in before]
    assert Counter(r[3] for r in new) == {"flops": 3, "nwot": 3}
    assert all(r[0].endswith(f"{PROXY_SEPARATOR}{r[3]}") for r in new)  # keys name what they computed


def test_finished_values_are_untouched(grown):
    journal, _, _, _, before = grown
    after = records(journal)
    assert [r for r in after if r[3] in FIRST] == before  # same rows, values, timings and timestamps


def test_grown_table_equals_a_clean_build_of_the_longer_list(grown):
    journal, clean, *_ = grown
    grown_pairs, clean_pairs = by_pair(records(journal)), by_pair(records(clean))
    assert set(grown_pairs) == {(a, m) for a in ARCHS for m in SECOND if m in ("params", "flops")} | {
        (SPACE.representative(arch(a)).string, m) for a in ARCHS for m in ("synflow", "nwot")
    }
    # nwot computed alone (no synflow in its unit) gives the same bits as nwot computed beside synflow.
    assert grown_pairs == clean_pairs


def test_third_run_with_a_subset_or_another_order_runs_nothing(grown, tmp_path):
    journal, *_ = grown
    for proxies in (("nwot", "params"), tuple(reversed(SECOND))):
        result = run_build(small_spec(archs=ARCHS, proxies=proxies, train_seeds=()), journal)
        assert (result.ran, result.skipped) == (0, result.total)


def test_export_of_a_grown_journal_answers_every_metric(grown, tmp_path):
    journal, *_ = grown
    table = open_table(export(journal, tmp_path / "table"))
    rows = table.lookup(arch=MIXED)
    assert sorted(rows["metric"]) == sorted(SECOND)


def _legacy(journal) -> None:
    """Rewrite a journal into the pre-incremental format: keys without their proxy list."""
    with sqlite3.connect(journal) as db:
        for (key,) in db.execute("SELECT key FROM units").fetchall():
            old = unit_group(key)
            db.execute("UPDATE units SET key = ? WHERE key = ?", (old, key))
            db.execute("UPDATE records SET unit_key = ? WHERE unit_key = ?", (old, key))


def test_legacy_journal_resumes_and_grows(tmp_path):
    journal = tmp_path / "legacy.sqlite"
    run_build(small_spec(archs=ARCHS, proxies=FIRST, train_seeds=()), journal)
    _legacy(journal)
    with Journal(journal) as j:  # what the old build bound
        j.bind(f"proxies:{PROTOCOL.hash}", sorted(FIRST))
    assert run_build(small_spec(archs=ARCHS, proxies=FIRST, train_seeds=()), journal).ran == 0
    result = run_build(small_spec(archs=ARCHS, proxies=SECOND, train_seeds=()), journal)
    assert result.ran == 6
    pairs = by_pair(records(journal))
    assert Counter(m for _, m in pairs) == {"params": 3, "flops": 3, "synflow": 3, "nwot": 3}


def test_legacy_journal_without_its_proxy_list_is_refused_clearly(tmp_path):
    journal = tmp_path / "legacy.sqlite"
    run_build(small_spec(archs=(ALL_CONV,), proxies=("params",), train_seeds=()), journal)
    _legacy(journal)
    with pytest.raises(JournalError, match=r"names no proxies .* use a new output folder"):
        run_build(small_spec(archs=(ALL_CONV,), proxies=("params",), train_seeds=()), journal)


def test_finished_proxies_parses_keys_whose_arch_strings_contain_pipes():
    keys = {
        f"cost|mnist5k|{ALL_CONV}|0123456789abcdef{PROXY_SEPARATOR}flops,params",
        f"cost|mnist5k|{ALL_CONV}|0123456789abcdef{PROXY_SEPARATOR}zen",
        "proxies|mnist5k|aa|0|0123456789abcdef",  # legacy: its list comes from the meta entry
        "train|mnist5k|aa|0|fedcba9876543210",
    }
    meta = {"proxies:0123456789abcdef" + "0" * 48: ["nwot", "params"]}
    assert finished_proxies(keys, meta) == {
        f"cost|mnist5k|{ALL_CONV}|0123456789abcdef": {"flops", "params", "zen"},
        "proxies|mnist5k|aa|0|0123456789abcdef": {"nwot", "params"},
    }


NAMES = ("params", "flops", "synflow", "snip", "nwot", "grad_norm")


@settings(max_examples=40, deadline=None)
@given(
    first=st.lists(st.sampled_from(NAMES), min_size=1, unique=True),
    second=st.lists(st.sampled_from(NAMES), min_size=1, unique=True),
)
def test_plans_cover_exactly_the_missing_pairs(first, second):
    """Property: after building ``first``, ``second`` plans each group's missing proxies, once."""
    archs = (ALL_CONV, DEAD_CONV, DEAD_CONV_1X1)
    done = {u.key for u in plan(small_spec(archs=archs, proxies=tuple(first), train_seeds=()))[0]}
    full, _ = plan(small_spec(archs=archs, proxies=tuple(second), train_seeds=()))
    todo, _ = plan(small_spec(archs=archs, proxies=tuple(second), train_seeds=()), finished_proxies(done, {}))
    wanted = {(unit_group(u.key), p) for u in full for p in u.proxies}
    planned = Counter((unit_group(u.key), p) for u in todo for p in u.proxies)
    assert max(planned.values(), default=1) == 1
    assert set(planned) == {(g, p) for g, p in wanted if p not in first}
    assert not {u.key for u in todo} & done
    assert all(u.proxies == tuple(p for p in second if p in u.proxies) for u in todo)  # spec order


# ---- whole-space plans -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def whole_space():
    cells = tuple(a.string for a in SPACE.enumerate())
    spec = BuildSpec(
        space="nb201", task="mnist5k", archs=cells, proxies=("params", "synflow"), protocol=PROTOCOL
    )
    return cells, plan(spec)


def test_whole_space_plan_has_cost_per_cell_and_functional_per_class(whole_space):
    cells, (units, rows) = whole_space
    kinds = Counter(u.key.split("|")[0] for u in units)
    assert kinds == {"cost": 15_625, "proxies": 6_466}
    assert sorted(u.arch for u in units if u.kind == "proxies" and u.key.startswith("cost|")) == sorted(cells)
    # The functional unit of each class runs on its lowest published index (found here independently).
    lowest: dict[str, int] = {}
    for i, s in enumerate(cells):
        lowest.setdefault(SPACE.parse(s).arch_id, i)
    functional = [u for u in units if u.key.startswith("proxies|")]
    assert sorted(SPACE.index(arch(u.arch)) for u in functional) == sorted(lowest.values())
    assert [r["index"] for r in rows] == list(range(15_625))
    assert len({u.key for u in units}) == len(units)


def test_all_unique_lists_members_so_every_index_answers(tmp_path):
    """Functional metrics stored once per class are answered for every member's published index."""
    members = (DEAD_CONV, DEAD_CONV_1X1, REP)  # one class; REP is its representative
    spec = small_spec(archs=(REP,), proxies=("params", "synflow"), train_seeds=(), members=members)
    units, rows = plan(spec)
    assert [u.arch for u in units] == [REP, REP]
    assert sorted(r["arch"] for r in rows) == sorted(members)
    run_build(spec, tmp_path / "journal.sqlite")
    table = open_table(export(tmp_path / "journal.sqlite", tmp_path / "table"))
    synflow = {
        m: table.lookup(index=SPACE.index(arch(m)), metric="synflow")["value"].tolist() for m in members
    }
    assert len({tuple(v) for v in synflow.values()}) == 1 and len(synflow[REP]) == 1
    assert table.lookup(arch=DEAD_CONV, metric="params").empty  # cost metrics only where computed
    with pytest.raises(ValueError, match="belongs to no class of the build"):
        plan(small_spec(archs=(REP,), proxies=("params",), train_seeds=(), members=(ALL_CONV,)))
