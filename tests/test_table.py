"""The query API: lookups by string, published index and arch_id, shared vs per-architecture metrics, views."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from _bench_helpers import (
    ALL_CONV,
    ALL_NONE,
    ARCHS,
    COST_PROXIES,
    DEAD_CONV,
    FUNCTIONAL_PROXIES,
    MIXED,
    PROXIES,
    REP,
    SPACE,
    TRAIN_METRICS,
    TRAIN_SEEDS,
    arch,
    shared_build,
)

from benchmarks.table import Table, open_table

FUNCTIONAL = set(FUNCTIONAL_PROXIES) | set(TRAIN_METRICS)


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Table:
    return open_table(shared_build(tmp_path_factory).table)


def values(frame: pd.DataFrame, metric: str) -> list:
    return sorted(frame.loc[frame["metric"] == metric, "value"].dropna().tolist())


def test_open_table_loads_records_archs_and_metric_cards(table):
    assert set(table.archs["arch"]) == set(ARCHS)
    assert table.archs["degenerate"].dtype == bool
    assert table.archs.set_index("arch").loc[ALL_NONE, "degenerate"]
    assert not table.archs.set_index("arch").loc[ALL_CONV, "degenerate"]
    assert set(table.metrics) == set(PROXIES) | set(TRAIN_METRICS)
    assert sorted(table._cost_metrics()) == sorted(COST_PROXIES)
    assert "records=" in repr(table) and str(table.path) in repr(table)


def test_lookup_by_string_index_and_arch_id_agree(table):
    a = arch(ALL_CONV)
    index = SPACE.index(a)
    assert index == 1462
    by_string = table.lookup(arch=ALL_CONV)
    by_index = table.lookup(index=index)
    by_id = table.lookup(arch_id=a.arch_id)
    assert len(by_string) == len(by_index) == len(by_id) > 0
    for frame in (by_index, by_id):
        pd.testing.assert_frame_equal(frame.reset_index(drop=True), by_string.reset_index(drop=True))
    assert set(by_string["metric"]) == set(PROXIES) | set(TRAIN_METRICS)
    assert set(by_string["arch_id"]) == {a.arch_id}
    assert len(by_string[by_string["metric"] == "val_acc"]) == len(TRAIN_SEEDS)


def test_lookup_accepts_any_spelling_of_the_architecture(table):
    reordered = (
        "|nor_conv_3x3~0|+|nor_conv_3x3~1|nor_conv_3x3~0|+|nor_conv_3x3~2|nor_conv_3x3~1|nor_conv_3x3~0|"
    )
    pd.testing.assert_frame_equal(table.lookup(arch=reordered), table.lookup(arch=ALL_CONV))


def test_non_representative_gets_class_functional_and_own_cost_metrics(table):
    dead, rep = arch(DEAD_CONV), arch(REP)
    assert dead.arch_id == rep.arch_id
    assert SPACE.representative(dead) == rep
    mine, theirs = table.lookup(arch=DEAD_CONV), table.lookup(arch=REP)
    # Functional metrics: computed once, on the representative, answered for both members.
    for metric in FUNCTIONAL:
        assert values(mine, metric) == values(theirs, metric), metric
        assert set(mine.loc[mine["metric"] == metric, "arch"]) == {REP}
    # Cost metrics: per concrete architecture. The dead 3x3 conv still has parameters and FLOPs.
    for metric in COST_PROXIES:
        assert set(mine.loc[mine["metric"] == metric, "arch"]) == {DEAD_CONV}
        assert set(theirs.loc[theirs["metric"] == metric, "arch"]) == {REP}
        assert len(values(mine, metric)) == len(values(theirs, metric)) == 1
        assert values(mine, metric)[0] > values(theirs, metric)[0], metric
    # Lookup by arch_id answers for the whole class: both members' cost rows.
    by_id = table.lookup(arch_id=dead.arch_id)
    assert set(by_id.loc[by_id["metric"] == "params", "arch"]) == {DEAD_CONV, REP}


def test_lookup_with_filters(table):
    rows = table.lookup(arch=MIXED, metric=["params", "val_acc"], seed=1)
    assert set(rows["metric"]) == {"val_acc"}
    assert len(rows) == 1
    rows = table.lookup(arch=MIXED, metric="params")
    assert list(rows["arch"]) == [MIXED]


def test_unknown_architecture_is_a_one_line_key_error(table):
    absent = "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|"
    with pytest.raises(KeyError) as info:
        table.lookup(arch=absent)
    message = info.value.args[0]
    assert absent in message and str(table.path) in message and "\n" not in message
    with pytest.raises(KeyError, match="index 0"):
        table.lookup(index=0)
    with pytest.raises(KeyError, match="arch_id"):
        table.lookup(arch_id="0000000000000000")


@pytest.mark.parametrize(
    "bad",
    [
        "|bad|",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|",
        "|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "",
    ],
)
def test_malformed_architecture_string_is_a_value_error(table, bad):
    with pytest.raises(ValueError, match="NB201") as info:
        table.lookup(arch=bad)
    assert "\n" not in str(info.value)


def test_resolve_needs_exactly_one_key(table):
    with pytest.raises(ValueError, match="exactly one"):
        table.lookup()
    with pytest.raises(ValueError, match="exactly one"):
        table.resolve(arch=ALL_CONV, index=1462)


def test_filter_with_scalars_and_lists(table):
    both = table.filter(metric=["params", "flops"])
    assert set(both["metric"]) == {"params", "flops"}
    assert len(both) == 2 * len(ARCHS)
    assert len(table.filter(metric=("params",))) == len(table.filter(metric="params")) == len(ARCHS)
    seeds = table.filter(metric="val_acc", seed={0, 1})
    assert sorted(seeds["seed"].unique()) == list(TRAIN_SEEDS)
    one = table.filter(metric="val_acc", seed=1, task="mnist5k")
    assert list(one["seed"].unique()) == [1]
    assert table.filter(metric="nope").empty
    # None means "no condition".
    assert len(table.filter(metric=None)) == len(table.records)


def test_filter_unknown_column_is_a_key_error(table):
    with pytest.raises(KeyError, match="unknown column 'colour'"):
        table.filter(colour="red")


def test_wide_has_one_row_per_arch_id(table):
    wide = table.wide()
    ids = {arch(a).arch_id for a in ARCHS}
    assert set(wide.index) == ids
    assert wide.index.is_unique
    assert set(wide.columns) >= set(COST_PROXIES) | {"synflow", "snip", "val_acc"}
    # Mean over seeds of the last epoch.
    for arch_id in ids:
        seeds = table.filter(metric="val_acc", arch_id=arch_id, status="ok")
        assert wide.loc[arch_id, "val_acc"] == pytest.approx(seeds["value"].mean())


def test_wide_cost_metrics_come_from_the_lowest_published_index(table):
    wide = table.wide(["params", "synflow"])
    assert list(wide.columns) == ["params", "synflow"]
    rep_params = values(table.lookup(arch=REP), "params")[0]
    dead_params = values(table.lookup(arch=DEAD_CONV), "params")[0]
    assert rep_params != dead_params
    assert wide.loc[arch(REP).arch_id, "params"] == rep_params


def test_wide_with_conditions(table):
    wide = table.wide(["val_acc"], seed=0)
    seed0 = table.filter(metric="val_acc", seed=0).set_index("arch_id")["value"]
    seed0.index = seed0.index.astype(str)  # records' string columns are categoricals; wide's index is str
    pd.testing.assert_series_equal(
        wide["val_acc"].sort_index(), seed0.sort_index(), check_names=False, check_index_type=False
    )


def _with_card(table: Table, metric: str, **card) -> Table:
    manifest = {**table.manifest, "metrics": {**table.metrics, metric: {**table.metrics[metric], **card}}}
    return Table.from_frames(table.path, manifest, table.records, table.archs)


def test_a_card_can_say_how_seeds_combine(table):
    """``combine_seeds`` (the min over hardware rounds) reaches value() and wide(); the default is the mean."""
    high = _with_card(table, "val_acc", combine_seeds="max")
    wide, plain = high.wide(["val_acc", "synflow"]), table.wide(["val_acc", "synflow"])
    assert list(wide.columns) == ["synflow", "val_acc"]
    pd.testing.assert_series_equal(wide["synflow"], plain["synflow"])
    differ = 0
    for a in ARCHS:
        seeds = table.filter(metric="val_acc", arch_id=arch(a).arch_id, status="ok")["value"]
        assert len(seeds) == len(TRAIN_SEEDS)
        differ += seeds.max() > seeds.mean()
        assert high.value(arch=a, metric="val_acc") == seeds.max()
        assert table.value(arch=a, metric="val_acc") == pytest.approx(seeds.mean())
        assert wide.loc[arch(a).arch_id, "val_acc"] == seeds.max()
    assert differ >= 2  # the seeds disagree somewhere, so max and mean are told apart


def test_an_unknown_seed_combiner_is_one_clear_error(table):
    odd = _with_card(table, "val_acc", combine_seeds="mode")
    with pytest.raises(ValueError, match=r"combine_seeds 'mode' \(valid: mean, min, max, median\)"):
        odd.value(arch=REP, metric="val_acc")
    with pytest.raises(ValueError, match="combine_seeds 'mode'"):
        odd.wide(["val_acc"])


def test_value_and_wide_pick_the_same_member_when_the_representative_failed(table):
    """Cost metrics of a class: the lowest-indexed member with ok records, in value() as in wide()."""
    records = table.records.copy()
    failed = (records["arch"] == REP) & (records["metric"] == "params")
    assert failed.sum() == 1
    records["status"] = records["status"].astype(str).where(~failed, "error")
    broken = Table.from_frames(table.path, table.manifest, records, table.archs)
    class_id = arch(REP).arch_id
    fallback = values(table.lookup(arch=DEAD_CONV), "params")[0]
    assert broken.wide(["params"]).loc[class_id, "params"] == fallback
    assert broken.value(arch_id=class_id, metric="params") == fallback
    assert math.isnan(broken.value(arch=REP, metric="params"))  # asked for by name: its own failure
    assert table.value(arch_id=class_id, metric="params") == values(table.lookup(arch=REP), "params")[0]
