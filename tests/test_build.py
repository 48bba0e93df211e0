"""Build planning, spec validation, resumable builds, the record schema and cross-process determinism."""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from datetime import datetime

import pytest
from _bench_helpers import (
    ALL_CONV,
    ALL_NONE,
    ARCHS,
    COST_PROXIES,
    DEAD_CONV,
    DEAD_CONV_1X1,
    FUNCTIONAL_PROXIES,
    MIXED,
    PROTOCOL,
    PROXIES,
    RECIPE,
    REP,
    SPACE,
    TRAIN_METRICS,
    TRAIN_SEEDS,
    arch,
    copy_journal,
    run_build,
    shared_build,
    small_spec,
)

from benchmarks.build import BuildSpec, metric_cards, plan
from benchmarks.journal import Journal, JournalError
from benchmarks.schema import RECORD_COLUMNS, STATUSES
from proxies.protocol import Protocol
from proxies.training import Recipe


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    return shared_build(tmp_path_factory)


@pytest.fixture(scope="module")
def records(shared):
    with Journal(shared.journal) as j:
        return j.rows("records")


# ---- plan ----------------------------------------------------------------------------------------------
def test_plan_counts_cost_per_arch_and_functional_per_class_and_seed():
    spec = small_spec(archs=(ALL_CONV, REP, DEAD_CONV), proxy_seeds=(0, 1), train_seeds=(0, 1, 2))
    units, arch_rows = plan(spec)
    kinds = Counter(u.key.split("|")[0] for u in units)
    # 3 concrete architectures, 2 classes (REP and DEAD_CONV are isomorphic).
    assert kinds == {"cost": 3, "proxies": 2 * 2, "train": 2 * 3}
    assert len({u.key for u in units}) == len(units)
    cost = [u for u in units if u.key.startswith("cost|")]
    assert sorted(u.arch for u in cost) == sorted([ALL_CONV, REP, DEAD_CONV])
    assert all(u.proxies == COST_PROXIES and u.kind == "proxies" and u.seed == 0 for u in cost)
    functional = [u for u in units if u.key.startswith("proxies|")]
    assert all(u.proxies == FUNCTIONAL_PROXIES and u.kind == "proxies" for u in functional)
    assert Counter((u.arch, u.seed) for u in functional) == {
        (a, s): 1 for a in (ALL_CONV, REP) for s in (0, 1)
    }
    train = [u for u in units if u.kind == "train"]
    assert {(u.arch, u.seed) for u in train} == {(a, s) for a in (ALL_CONV, REP) for s in (0, 1, 2)}
    assert all(u.recipe == RECIPE.to_dict() for u in train)
    assert all(u.protocol == PROTOCOL.to_dict() for u in cost + functional)
    assert [r["arch"] for r in arch_rows] == [ALL_CONV, REP, DEAD_CONV]
    assert [r["index"] for r in arch_rows] == [SPACE.index(arch(a)) for a in (ALL_CONV, REP, DEAD_CONV)]
    assert [r["degenerate"] for r in arch_rows] == [False, False, False]
    assert arch_rows[1]["arch_id"] == arch_rows[2]["arch_id"]


def test_isomorphic_pair_gives_one_functional_unit_on_the_representative():
    a, b = arch(DEAD_CONV), arch(DEAD_CONV_1X1)
    assert a.arch_id == b.arch_id and a.string != b.string
    representative = SPACE.representative(a)
    assert representative.string not in (a.string, b.string)
    units, arch_rows = plan(small_spec(archs=(a.string, b.string), train_seeds=(0,)))
    cost = [u for u in units if u.key.startswith("cost|")]
    functional = [u for u in units if u.key.startswith("proxies|")]
    train = [u for u in units if u.kind == "train"]
    assert sorted(u.arch for u in cost) == sorted([a.string, b.string])
    assert [u.arch for u in functional] == [representative.string]
    assert [u.arch for u in train] == [representative.string]
    assert [r["arch"] for r in arch_rows] == [a.string, b.string]


def test_duplicate_and_equivalent_spellings_are_planned_once():
    # The same cell twice, once with the inputs of node 3 written in another order.
    reordered = (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~2|nor_conv_3x3~0|nor_conv_3x3~1|"
    )
    units, arch_rows = plan(small_spec(archs=(ALL_CONV, reordered, ALL_CONV), train_seeds=()))
    assert len(arch_rows) == 1
    assert Counter(u.key.split("|")[0] for u in units) == {"cost": 1, "proxies": 1}


def test_unit_keys_depend_on_protocol_and_recipe():
    units, _ = plan(small_spec(archs=(ALL_CONV,), train_seeds=(0,)))
    other = small_spec(archs=(ALL_CONV,), train_seeds=(0,))
    other = BuildSpec(
        **{
            **other.__dict__,
            "protocol": Protocol(task="mnist5k", batch_size=16, resolution=8, build={"C": 4, "N": 1}),
            "recipe": Recipe(task="mnist5k", epochs=2, batch_size=256, resolution=8, build={"C": 4, "N": 1}),
        }
    )
    other_units, _ = plan(other)
    assert {u.key for u in units}.isdisjoint({u.key for u in other_units})


def test_proxy_only_and_training_only_plans():
    units, _ = plan(small_spec(archs=(ALL_CONV, MIXED), proxies=("params",), train_seeds=()))
    assert [u.key.split("|")[0] for u in units] == ["cost", "cost"]
    units, _ = plan(small_spec(archs=(ALL_CONV, MIXED), proxies=(), train_seeds=(0,)))
    assert [u.kind for u in units] == ["train", "train"]


# ---- BuildSpec validation ------------------------------------------------------------------------------
def test_spec_needs_architectures():
    with pytest.raises(ValueError, match="at least one architecture"):
        small_spec(archs=())


def test_spec_proxies_need_a_protocol():
    with pytest.raises(ValueError, match="protocol"):
        BuildSpec(space="nb201", task="mnist5k", archs=(ALL_CONV,), proxies=("params",))


def test_spec_training_seeds_need_a_recipe():
    with pytest.raises(ValueError, match="recipe"):
        BuildSpec(space="nb201", task="mnist5k", archs=(ALL_CONV,), train_seeds=(0,))


def test_spec_unknown_proxy_is_a_key_error_with_suggestions():
    with pytest.raises(KeyError) as info:
        small_spec(proxies=("params", "synflw"))
    message = info.value.args[0]
    assert "synflw" in message and "synflow" in message and "\n" not in message


@pytest.mark.parametrize("which", ["protocol", "recipe"])
def test_spec_task_mismatch(which):
    kwargs = {
        "protocol": Protocol(task="cifar10", batch_size=8) if which == "protocol" else PROTOCOL,
        "recipe": Recipe(task="cifar10", epochs=1) if which == "recipe" else RECIPE,
    }
    with pytest.raises(ValueError, match=f"{which} task 'cifar10' differs"):
        BuildSpec(
            space="nb201",
            task="mnist5k",
            archs=(ALL_CONV,),
            proxies=("params",),
            train_seeds=(0,),
            **kwargs,
        )


# ---- records of the shared build -----------------------------------------------------------------------
def test_shared_build_is_complete(shared, records):
    units, arch_rows = plan(shared.spec)
    with Journal(shared.journal) as j:
        assert j.done() == {u.key for u in units}
        assert j.rows("archs") == sorted(arch_rows, key=lambda r: r["arch"])
        assert sorted(r["arch"] for r in arch_rows) == sorted(ARCHS)
    classes = {arch(a).arch_id for a in ARCHS}
    per_metric = Counter(r["metric"] for r in records)
    assert per_metric == {
        **{m: len(ARCHS) for m in COST_PROXIES},
        **{m: len(classes) for m in FUNCTIONAL_PROXIES},
        **{m: len(classes) * len(TRAIN_SEEDS) * RECIPE.epochs for m in TRAIN_METRICS},
    }


def test_records_satisfy_the_schema(records):
    assert records
    for r in records:
        assert set(r) == set(RECORD_COLUMNS)
        assert r["status"] in STATUSES
        assert (r["value"] is None) == (r["status"] != "ok"), r
        if r["value"] is not None:
            assert math.isfinite(r["value"])
        assert (r["message"] == "") == (r["status"] == "ok"), r
        assert r["space"] == "nb201" and r["space_version"] == SPACE.version
        assert r["task"] == "mnist5k"
        assert arch(r["arch"]).arch_id == r["arch_id"]
        assert r["device"].startswith("cpu:")
        assert r["seconds"] >= 0
        assert r["archbench_version"]
        assert datetime.fromisoformat(r["created_at"]).tzinfo is not None


def test_proxy_records_have_fidelity_zero_and_the_protocol_hash(records):
    proxy_rows = [r for r in records if r["metric"] in PROXIES]
    assert proxy_rows
    for r in proxy_rows:
        assert (r["fidelity"], r["epoch"]) == (0, 0)
        assert r["protocol_hash"] == PROTOCOL.hash
        assert r["seed"] == 0
    # Cost metrics are stored per concrete architecture, functional ones on class representatives.
    assert {r["arch"] for r in proxy_rows if r["metric"] == "params"} == set(ARCHS)
    assert {r["arch"] for r in proxy_rows if r["metric"] == "synflow"} == {
        SPACE.representative(arch(a)).string for a in ARCHS
    }
    units = {r["unit"] for r in proxy_rows if r["metric"] == "params"}
    assert units == {"M"}


def test_training_records_have_the_recipe_budget_and_full_curves(records):
    train_rows = [r for r in records if r["metric"] in TRAIN_METRICS]
    assert train_rows
    for r in train_rows:
        assert r["fidelity"] == RECIPE.epochs
        assert 1 <= r["epoch"] <= RECIPE.epochs
        assert r["protocol_hash"] == RECIPE.hash
        assert r["seed"] in TRAIN_SEEDS
    curves = Counter((r["arch_id"], r["seed"], r["metric"]) for r in train_rows)
    classes = {arch(a).arch_id for a in ARCHS}
    assert set(curves) == {(c, s, m) for c in classes for s in TRAIN_SEEDS for m in TRAIN_METRICS}
    for key in curves:
        epochs = sorted(r["epoch"] for r in train_rows if (r["arch_id"], r["seed"], r["metric"]) == key)
        assert epochs == list(range(1, RECIPE.epochs + 1))
    accs = [r["value"] for r in train_rows if r["metric"] == "val_acc" and r["status"] == "ok"]
    assert all(0.0 <= v <= 100.0 for v in accs)


def test_degenerate_cell_is_recorded_not_dropped(records):
    dead = [r for r in records if r["arch_id"] == arch(ALL_NONE).arch_id]
    assert {r["metric"] for r in dead} == set(PROXIES) | set(TRAIN_METRICS)


def test_metric_cards_cover_every_metric(shared, records):
    cards = metric_cards(shared.spec)
    assert set(cards) == {r["metric"] for r in records}
    assert cards["params"]["kind"] == "cost" and cards["synflow"]["kind"] == "functional"
    assert cards["val_acc"] == {"unit": "%", "kind": "functional", "higher_is_better": True}


# ---- resumability ---------------------------------------------------------------------------------------
def test_second_build_runs_nothing(shared, tmp_path):
    journal = copy_journal(shared.journal, tmp_path / "journal.sqlite")
    with Journal(journal) as j:
        before = (j.count("records"), j.count("units"), j.count("archs"))
    result = run_build(shared.spec, journal)
    assert (result.ran, result.skipped, result.total) == (0, before[1], before[1])
    with Journal(journal) as j:
        assert (j.count("records"), j.count("units"), j.count("archs")) == before


def test_build_resumes_and_extends(tmp_path):
    journal = tmp_path / "journal.sqlite"
    first = run_build(small_spec(archs=(ALL_CONV,), proxies=("params",), train_seeds=()), journal)
    assert (first.ran, first.skipped) == (1, 0)
    second = run_build(small_spec(archs=(ALL_CONV, MIXED), proxies=("params",), train_seeds=()), journal)
    assert (second.total, second.ran, second.skipped) == (2, 1, 1)
    with Journal(journal) as j:
        rows = j.rows("records")
    assert sorted(r["arch"] for r in rows) == sorted([ALL_CONV, MIXED])
    assert len({(r["arch"], r["metric"]) for r in rows}) == len(rows)


def test_build_refuses_a_journal_of_another_space_version(tmp_path):
    journal = tmp_path / "journal.sqlite"
    with Journal(journal) as j:
        j.bind("space", {"name": "nb201", "version": "0.9"})
    with pytest.raises(JournalError, match="different space"):
        run_build(small_spec(archs=(ALL_CONV,), proxies=("params",), train_seeds=()), journal)
    with Journal(journal) as j:
        assert j.count("units") == 0


def test_adding_a_proxy_to_an_existing_build_computes_it_or_refuses(tmp_path):
    journal = tmp_path / "journal.sqlite"
    run_build(small_spec(archs=(ALL_CONV,), proxies=("params", "synflow"), train_seeds=()), journal)
    try:
        run_build(
            small_spec(archs=(ALL_CONV,), proxies=("params", "flops", "synflow", "nwot"), train_seeds=()),
            journal,
        )
    except JournalError:
        return  # refusing a changed proxy list is acceptable too
    with Journal(journal) as j:
        metrics = {r["metric"] for r in j.rows("records")}
    assert metrics == {"params", "flops", "synflow", "nwot"}


# ---- determinism across processes -----------------------------------------------------------------------
def test_two_worker_processes_give_bit_identical_values(shared, tmp_path):
    """The shared build ran inline (1 worker, 1 thread); a 2-process pool must reproduce its numbers."""
    spec = small_spec(archs=(ALL_CONV, MIXED), train_seeds=())
    keys = sorted(u.key for u in plan(spec)[0])
    result = run_build(spec, tmp_path / "two.sqlite", workers=2, threads=1)
    assert result.ran == len(keys) == 4
    rows = {}
    for name, path in (("one", shared.journal), ("two", tmp_path / "two.sqlite")):
        with sqlite3.connect(path) as db:
            rows[name] = db.execute(
                f"SELECT unit_key, row, arch, metric, status, value FROM records "
                f"WHERE unit_key IN ({', '.join('?' * len(keys))}) ORDER BY unit_key, row",
                keys,
            ).fetchall()
    assert len(rows["one"]) == 2 * len(PROXIES)
    assert all(r[4] == "ok" for r in rows["one"])
    assert rows["one"] == rows["two"]
