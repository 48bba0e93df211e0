"""Correlation reports: unique arch_ids, degenerate cells counted apart, the noise ceiling, Markdown."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _bench_helpers import ALL_NONE, ARCHS, DEAD_CONV, PROXIES, REP, SPACE, TRAIN_SEEDS, arch, shared_build

from benchmarks.journal import Journal
from benchmarks.metrics import kendall, spearman
from benchmarks.report import (
    CEILING,
    ceiling_from_halves,
    correlation_report,
    ground_truth,
    noise_ceiling,
    to_markdown,
    variant_labels,
)
from benchmarks.schema import arch_row, make_record
from benchmarks.store import export
from benchmarks.table import Table, open_table


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return open_table(shared_build(tmp_path_factory).table)


@pytest.fixture(scope="module")
def report(table):
    return correlation_report(table, target="val_acc", n_boot=200)


# ---- the small built table --------------------------------------------------------------------------------
def test_report_has_a_row_per_proxy_and_the_ceiling(report):
    assert list(report["proxy"]) == [*sorted(PROXIES), CEILING]
    assert set(report["task"]) == {"mnist5k"} and set(report["target"]) == {"val_acc"}


def test_n_counts_unique_non_degenerate_arch_ids(table, report):
    classes = {arch(a).arch_id for a in ARCHS}
    degenerate = {arch(a).arch_id for a in ARCHS if SPACE.is_degenerate(arch(a))}
    assert degenerate == {arch(ALL_NONE).arch_id}
    healthy = len(classes) - len(degenerate)
    assert healthy == 3  # 5 architectures, 4 classes, 1 degenerate
    proxies = report[report["proxy"] != CEILING]
    assert (proxies["n"] + proxies["n_failed"] == healthy).all()
    for name in ("params", "flops", "synflow", "snip"):
        row = report.set_index("proxy").loc[name]
        assert (row["n"], row["n_failed"], row["n_degenerate"]) == (healthy, 0, 1)
    assert report.set_index("proxy").loc[CEILING, "n"] == healthy


def test_correlations_match_an_independent_computation(table, report):
    degenerate = set(table.archs.loc[table.archs["degenerate"], "arch_id"])
    acc = table.filter(metric="val_acc", status="ok")
    acc = acc[~acc["arch_id"].isin(degenerate)]
    target = acc.groupby("arch_id")["value"].mean()
    # Cost metric of a class = that of its member with the lowest published index (REP, not DEAD_CONV).
    index = dict(zip(table.archs["arch"], table.archs["index"]))
    params = table.filter(metric="params", status="ok").assign(order=lambda f: f["arch"].map(index))
    params = params.sort_values("order").groupby("arch_id")["value"].first()
    assert params[arch(REP).arch_id] < table.filter(metric="params", arch=DEAD_CONV)["value"].iloc[0]
    x, y = params.reindex(target.index).to_numpy(), target.to_numpy()
    row = report.set_index("proxy").loc["params"]
    assert row["spearman"] == pytest.approx(spearman(x, y), nan_ok=True)
    assert row["kendall"] == pytest.approx(kendall(x, y), nan_ok=True)
    seeds = acc.pivot_table(index="arch_id", columns="seed", values="value")
    ceiling = report.set_index("proxy").loc[CEILING]
    assert ceiling["spearman"] == pytest.approx(
        ceiling_from_halves(spearman(seeds[0].to_numpy(), seeds[1].to_numpy()), "spearman"), nan_ok=True
    )


def test_intervals_bracket_the_point_estimates(report):
    for r in report.itertuples():
        for name in ("spearman", "kendall"):
            point, low, high = getattr(r, name), getattr(r, f"{name}_low"), getattr(r, f"{name}_high")
            if not math.isnan(point) and not math.isnan(low):
                assert low - 1e-12 <= point <= high + 1e-12, (r.proxy, name)
        assert math.isnan(r.top10_precision)  # fewer than 10 classes
    proxies = report[report["proxy"] != CEILING]
    assert (proxies["median_seconds"] > 0).all()


def test_ground_truth_is_an_arch_id_by_seed_matrix(table):
    truth = ground_truth(table, "val_acc", "mnist5k")
    assert list(truth.columns) == list(TRAIN_SEEDS)
    assert set(truth.index) == {arch(a).arch_id for a in ARCHS}
    with pytest.raises(ValueError, match="no ok 'test_acc' records"):
        ground_truth(table, "test_acc", "mnist5k")


def test_one_seed_gives_no_ceiling_row(table):
    seed0 = table.records[table.records["seed"] == 0]  # the table seen through seed 0 only
    one_seed = Table.from_frames(table.path, table.manifest, seed0, table.archs)
    report = correlation_report(one_seed, proxies=["params"], n_boot=50)
    assert list(report["proxy"]) == ["params"]


def test_to_markdown_renders_every_row(report):
    text = to_markdown(report)
    lines = text.strip().splitlines()
    assert len(lines) == 2 + len(report)
    assert lines[0].startswith("| proxy | n | Spearman")
    for line, r in zip(lines[2:], report.itertuples()):
        assert line.startswith(f"| {r.proxy} | {r.n} | ")
        assert f"{r.spearman:+.3f} [{r.spearman_low:+.3f}, {r.spearman_high:+.3f}]" in line
        assert line.count("|") == 9


# ---- a synthetic table with known answers ------------------------------------------------------------------
def _record(a, metric, value, seed=0, fidelity=0, epoch=0, arch_string=None, status="ok", protocol="0" * 64):
    return make_record(
        space="nb201",
        space_version=SPACE.version,
        arch_id=a.arch_id,
        arch=arch_string or a.string,
        task="mnist5k",
        metric=metric,
        value=value if status == "ok" else None,
        unit="%",
        fidelity=fidelity,
        epoch=epoch,
        seed=seed,
        device="cpu:test",
        protocol_hash=protocol,
        seconds=0.5,
        status=status,
        message="" if status == "ok" else "synthetic failure",
    )


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """12 healthy classes (one with two members) and 2 degenerate ones with known proxy values."""
    rng = np.random.default_rng(7)
    healthy, degenerate = {}, {}
    healthy[arch(REP).arch_id] = SPACE.representative(arch(REP))
    while len(healthy) < 12 or len(degenerate) < 2:
        a = SPACE.representative(SPACE.sample(rng))
        bucket = degenerate if SPACE.is_degenerate(a) else healthy
        if len(bucket) < (2 if bucket is degenerate else 12):
            bucket.setdefault(a.arch_id, a)
    members = [*healthy.values(), arch(DEAD_CONV), *degenerate.values()]
    accs = {aid: 50 + 4 * i + rng.uniform(0, 1) for i, aid in enumerate(healthy)}
    root = tmp_path_factory.mktemp("synthetic")
    with Journal(root / "journal.sqlite") as j:
        j.bind("space", {"name": "nb201", "version": SPACE.version})
        for metric, kind, higher in (
            ("val_acc", "functional", True),
            ("oracle", "functional", True),
            ("anti", "functional", False),
            ("flaky", "functional", True),
            ("size", "cost", True),
        ):
            j.bind(f"metric:{metric}", {"unit": "%", "kind": kind, "higher_is_better": higher})
        j.add_archs(arch_row(SPACE, a) for a in members)
        for n, a in enumerate(healthy.values()):
            acc = accs[a.arch_id]
            j.commit_unit(
                f"train|{a.arch_id}",
                [
                    _record(a, "val_acc", acc, seed=0, fidelity=2, epoch=2),
                    _record(a, "val_acc", acc + 0.25, seed=1, fidelity=2, epoch=2),
                    _record(a, "val_acc", 1.0, seed=0, fidelity=2, epoch=1),  # earlier epoch: ignored
                    _record(a, "val_acc", 99.0 - acc, seed=0, fidelity=1, epoch=1),  # smaller budget: ignored
                ],
                "t",
            )
            j.commit_unit(
                f"proxies|{a.arch_id}",
                [
                    _record(a, "oracle", acc + 0.125),
                    _record(a, "anti", -acc),
                    _record(a, "flaky", acc, status="ok" if n else "error"),
                ],
                "t",
            )
            j.commit_unit(f"cost|{a.string}", [_record(a, "size", 2 * acc)], "t")
        # The dead-conv member of the lowest-accuracy class (REP): a cost value that would break the order.
        dead = arch(DEAD_CONV)
        j.commit_unit(f"cost|{dead.string}", [_record(dead, "size", 1e9)], "t")
        for a in degenerate.values():
            junk = float(rng.uniform(0, 100))
            j.commit_unit(
                f"train|{a.arch_id}",
                [
                    _record(a, "val_acc", 10.0, seed=0, fidelity=2, epoch=2),
                    _record(a, "val_acc", 10.0, seed=1, fidelity=2, epoch=2),
                ],
                "t",
            )
            j.commit_unit(
                f"proxies|{a.arch_id}",
                [_record(a, "oracle", junk), _record(a, "anti", junk), _record(a, "flaky", junk)],
                "t",
            )
            j.commit_unit(f"cost|{a.string}", [_record(a, "size", 1e6)], "t")
    return open_table(export(root / "journal.sqlite", root / "table"))


def test_proxy_equal_to_the_target_has_perfect_correlations(synthetic):
    report = correlation_report(synthetic, n_boot=200).set_index("proxy")
    assert list(report.index) == ["anti", "flaky", "oracle", "size", CEILING]
    for name, sign in (("oracle", 1.0), ("size", 1.0), ("anti", -1.0), (CEILING, 1.0)):
        row = report.loc[name]
        assert row["spearman"] == pytest.approx(sign, abs=1e-12), name
        assert row["kendall"] == pytest.approx(sign, abs=1e-12), name
        assert row["spearman_low"] == pytest.approx(sign, abs=1e-12) == row["spearman_high"]
        assert row["n"] == 12 and row["n_failed"] == 0
    assert report.loc["oracle", "top10_precision"] == 1.0
    assert report.loc["anti", "top10_precision"] == 0.0
    assert bool(report.loc["anti", "higher_is_better"]) is False
    assert (report.loc[["oracle", "anti", "flaky", "size"], "n_degenerate"] == 2).all()
    assert report.loc["oracle", "median_seconds"] == 0.5


def test_failed_proxy_values_are_counted_not_used(synthetic):
    row = correlation_report(synthetic, proxies=["flaky"], n_boot=50).set_index("proxy").loc["flaky"]
    assert (row["n"], row["n_failed"]) == (11, 1)
    assert row["spearman"] == pytest.approx(1.0)


def test_unknown_proxy_gives_an_empty_row(synthetic):
    """A proxy never computed has n = 0 and no failures: only a record that says it failed is a failure
    (a table whose slow proxy covers a sample of its classes would otherwise report the rest as failed)."""
    row = correlation_report(synthetic, proxies=["missing"], n_boot=50).set_index("proxy").loc["missing"]
    assert (row["n"], row["n_failed"]) == (0, 0)
    assert math.isnan(row["spearman"])


# ---- several protocols per metric: one column each --------------------------------------------------------
RECIPE_1, RECIPE_4 = "1" * 64, "4" * 64
SOTL_1, SOTL_4_AT_1, SOTL_4 = "a" * 64, "b" * 64, "c" * 64


@pytest.fixture(scope="module")
def multi_fidelity(tmp_path_factory):
    """10 classes trained for 1 and 4 epochs, with SoTL derived per fidelity and horizon."""
    rng = np.random.default_rng(3)
    classes = {}
    while len(classes) < 10:
        a = SPACE.representative(SPACE.sample(rng))
        if not SPACE.is_degenerate(a):
            classes.setdefault(a.arch_id, a)
    root = tmp_path_factory.mktemp("multi")
    with Journal(root / "journal.sqlite") as j:
        j.bind("space", {"name": "nb201", "version": SPACE.version})
        j.bind("metric:val_acc", {"unit": "%", "kind": "functional", "higher_is_better": True})
        j.bind("metric:sotl", {"unit": "nats", "kind": "functional", "higher_is_better": False})
        j.bind(f"recipe:{RECIPE_1}", {"task": "mnist5k", "epochs": 1, "lr": 0.1})
        j.bind(f"recipe:{RECIPE_4}", {"task": "mnist5k", "epochs": 4, "lr": 0.1})
        for h, epochs, source in ((SOTL_1, 1, RECIPE_1), (SOTL_4_AT_1, 1, RECIPE_4), (SOTL_4, 4, RECIPE_4)):
            j.bind(f"protocol:{h}", {"derivation": "sotl", "epochs": epochs, "source_recipe": source})
        j.add_archs(arch_row(SPACE, a) for a in classes.values())
        for i, a in enumerate(classes.values()):
            acc = 50.0 + 3 * i
            j.commit_unit(
                f"u|{a.arch_id}",
                [
                    _record(a, "val_acc", acc, seed=0, fidelity=4, epoch=4, protocol=RECIPE_4),
                    _record(a, "val_acc", acc + 1, seed=1, fidelity=4, epoch=4, protocol=RECIPE_4),
                    _record(a, "val_acc", 100 - acc, fidelity=1, epoch=1, protocol=RECIPE_1),  # reversed
                    _record(a, "sotl", -acc, fidelity=4, protocol=SOTL_4),  # lower is better: exact
                    _record(a, "sotl", acc, fidelity=4, protocol=SOTL_4_AT_1),  # the wrong way round
                    _record(a, "sotl", float(rng.normal()), fidelity=1, protocol=SOTL_1),
                ],
                "t",
            )
    return open_table(export(root / "journal.sqlite", root / "table"))


def test_each_protocol_of_a_metric_is_its_own_labelled_row(multi_fidelity):
    report = correlation_report(multi_fidelity, n_boot=50).set_index("proxy")
    # SoTL: one row per (fidelity, horizon); the target: its lower fidelity only (the truth is left out)
    assert list(report.index) == [
        "sotl[epochs=1,fidelity=1]",
        "sotl[epochs=1,fidelity=4]",
        "sotl[epochs=4,fidelity=4]",
        "val_acc[epochs=1,fidelity=1]",
        CEILING,
    ]
    assert report.loc["sotl[epochs=4,fidelity=4]", "kendall"] == pytest.approx(-1.0)
    assert report.loc["sotl[epochs=1,fidelity=4]", "kendall"] == pytest.approx(1.0)
    assert report.loc["val_acc[epochs=1,fidelity=1]", "kendall"] == pytest.approx(-1.0)
    assert bool(report.loc["sotl[epochs=4,fidelity=4]", "higher_is_better"]) is False
    assert (report.loc[report.index != CEILING, "n"] == 10).all()
    # an explicit protocol still narrows to one plain column
    only = correlation_report(multi_fidelity, proxies=["sotl"], n_boot=50, protocol_hash=SOTL_4)
    assert list(only["proxy"]) == ["sotl", CEILING]
    assert only.iloc[0]["kendall"] == pytest.approx(-1.0)


def test_variant_labels_name_what_differs():
    labels = variant_labels(
        {
            "h1": {"epochs": 1, "lr": 0.1, "source": "9" * 64},
            "h2": {"epochs": 4, "lr": 0.1, "source": "8" * 64},
            "h3": {"epochs": 4, "lr": 0.1, "nested": {"a": 1}},
        }
    )
    assert labels == {"h1": "epochs=1", "h2": "epochs=4,h2", "h3": "epochs=4,h3"}


def test_the_truth_must_come_from_one_recipe(multi_fidelity, tmp_path):
    frame = multi_fidelity.records.copy()
    twin = frame[(frame["metric"] == "val_acc") & (frame["fidelity"] == 4)].assign(protocol_hash="5" * 64)

    class TwoRecipes:
        records = pd.concat([frame, twin], ignore_index=True)
        archs = multi_fidelity.archs

        def filter(self, frame=None, **conditions):
            return multi_fidelity.filter(self.records if frame is None else frame, **conditions)

    with pytest.raises(ValueError, match="at its largest fidelity comes from 2 recipes"):
        ground_truth(TwoRecipes(), "val_acc", "mnist5k")


# ---- the noise ceiling describes the truth actually used ---------------------------------------------------------
@pytest.mark.parametrize("seeds", [2, 3, 4])
@pytest.mark.parametrize("noise", [0.5, 1.0])
def test_the_ceiling_is_what_a_perfect_proxy_reaches_with_the_seed_mean(seeds, noise):
    """Simulated truth: a noise-free score z per architecture, each seed z + N(0, noise^2). The
    ceiling, estimated from the seeds alone, must match how well z itself ranks the seed mean (the
    best any proxy can do), which the simulation knows; the old seed-vs-seed figure sits below it."""
    rng = np.random.default_rng(seeds)
    z = rng.normal(size=4000)
    runs = pd.DataFrame({s: z + rng.normal(scale=noise, size=z.size) for s in range(seeds)})
    truth = runs.mean(axis=1).to_numpy()
    row = noise_ceiling(runs, "mean", n_boot=50)
    assert row["spearman"] == pytest.approx(spearman(z, truth), abs=0.015)
    assert row["kendall"] == pytest.approx(kendall(z, truth), abs=0.015)
    assert row["spearman_low"] <= row["spearman"] <= row["spearman_high"]
    assert row["spearman"] > spearman(runs[0].to_numpy(), runs[1].to_numpy())


def test_ceiling_from_halves_known_values():
    # Perfect halves give a perfect truth; halves at 0 leave nothing to find; negative clips to 0.
    assert ceiling_from_halves(1.0, "kendall") == pytest.approx(1.0)
    assert ceiling_from_halves(0.0, "spearman") == pytest.approx(0.0)
    assert ceiling_from_halves(-0.3, "kendall") == pytest.approx(0.0)
    # Pearson halves at r = 0.6: reliability 2r/(1+r) = 0.75, ceiling sqrt(0.75) = 0.866 (Pearson),
    # i.e. Kendall (2/pi) asin(0.866) = 2/3 from halves at Kendall (2/pi) asin(0.6).
    assert ceiling_from_halves(2 / np.pi * np.arcsin(0.6), "kendall") == pytest.approx(2 / 3)


def test_one_complete_seed_gives_no_ceiling():
    assert noise_ceiling(pd.DataFrame({0: [1.0, 2.0, 3.0], 1: [1.0, np.nan, 2.0]}), "mean", 10) is None
