"""Derived curve metrics written back into a journal (`benchmarks.derived`).

Hand-made journals hold curves with known values, so SoTL, early accuracy and the two-point
log-linear extrapolation are checked against hand sums; failures of the source run or of a fit
become records with a reason; a second call writes nothing. One tiny real build (NB201 C=4, N=1,
8 px, two cells, one seed) checks the route build -> derive -> release -> table end to end.
"""

from __future__ import annotations

import math

import pytest

from benchmarks.derived import DERIVATIONS, Derivation, derive, standard_derivations
from benchmarks.journal import Journal
from benchmarks.schema import make_record
from proxies.training import Recipe

RECIPE = Recipe(task="mnist5k", epochs=3, batch_size=256, resolution=8, build={"C": 4, "N": 1})
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"
LOSS_SUMS = [20.5, 11.25, 7.0]
VAL = [40.0, 55.0, 61.0]
SECONDS = [1.5, 1.25, 1.0]


def _row(
    arch_id: str,
    seed: int,
    metric: str,
    epoch: int,
    value: float | None,
    status: str = "ok",
    message: str = "",
):
    return make_record(
        space="nb201",
        space_version="1.0",
        arch_id=arch_id,
        arch=ARCH,
        task="mnist5k",
        metric=metric,
        value=value,
        unit="%",
        fidelity=RECIPE.epochs,
        epoch=epoch,
        seed=seed,
        device="cpu:test",
        protocol_hash=RECIPE.hash,
        seconds=SECONDS[epoch - 1],
        status=status,
        message=message,
    )


def _curve(arch_id: str, seed: int, loss_sums=LOSS_SUMS, val=VAL):
    rows = []
    for e in range(1, len(val) + 1):
        rows.append(_row(arch_id, seed, "train_loss_sum", e, loss_sums[e - 1]))
        rows.append(_row(arch_id, seed, "val_acc", e, val[e - 1]))
    return rows


@pytest.fixture
def journal(tmp_path):
    path = tmp_path / "journal.sqlite"
    with Journal(path) as j:
        j.bind(f"recipe:{RECIPE.hash}", RECIPE.to_dict())
        j.commit_unit("train|good|0", _curve("good", 0), "t")
        j.commit_unit("train|good|1", _curve("good", 1, [10.0, 5.0, 2.5], [50.0, 60.0, 65.0]), "t")
        diverged = _curve("nan", 0)
        diverged[2] = _row("nan", 0, "train_loss_sum", 2, None, "nan", "training diverged (NaN loss)")
        j.commit_unit("train|nan|0", diverged, "t")
        j.commit_unit(
            "train|dead|0", [_row("dead", 0, "val_acc", 3, None, "error", "RuntimeError: boom")], "t"
        )
    return path


def _derived(path, derivation):
    with Journal(path) as j:
        rows = [r for r in j.rows("records") if r["protocol_hash"] == derivation.hash]
    return {(r["arch_id"], r["seed"]): r for r in rows}


def test_sotl_records_are_the_hand_sums_with_their_own_protocol(journal):
    d = Derivation("sotl", RECIPE.hash, 2)
    assert derive(journal, [d]) == {"sotl": 4}
    rows = _derived(journal, d)
    assert rows[("good", 0)]["value"] == 31.75
    assert rows[("good", 1)]["value"] == 15.0
    good = rows[("good", 0)]
    assert (good["metric"], good["fidelity"], good["epoch"], good["status"]) == ("sotl", 3, 2, "ok")
    assert good["protocol_hash"] == d.hash != RECIPE.hash
    assert good["seconds"] == pytest.approx(2.75)  # the training time of the two epochs read
    assert good["unit"] == "nats" and good["arch"] == ARCH
    with Journal(journal) as j:
        meta = j.meta()
    assert meta[f"protocol:{d.hash}"] == {"derivation": "sotl", "source_recipe": RECIPE.hash, "epochs": 2}
    assert meta["metric:sotl"]["kind"] == "derived" and meta["metric:sotl"]["higher_is_better"] is False


def test_failures_are_records_with_reasons(journal):
    d = Derivation("sotl", RECIPE.hash, 3)
    derive(journal, [d])
    rows = _derived(journal, d)
    assert rows[("nan", 0)]["status"] == "nan" and rows[("nan", 0)]["value"] is None
    assert "epoch 2" in rows[("nan", 0)]["message"] and "diverged" in rows[("nan", 0)]["message"]
    assert rows[("dead", 0)]["status"] == "error"
    assert rows[("dead", 0)]["message"] == "source run failed: RuntimeError: boom"
    # a curve broken at epoch 2 yields no SoTL-E at epoch 3 either (conservative), but SoTL at epoch 1
    e3, e1 = Derivation("sotl_e", RECIPE.hash, 3), Derivation("sotl", RECIPE.hash, 1)
    derive(journal, [e3, e1])
    assert _derived(journal, e3)[("nan", 0)]["status"] == "nan"
    assert _derived(journal, e1)[("nan", 0)]["value"] == 20.5


def test_a_second_call_writes_nothing_and_changes_nothing(journal):
    ds = [Derivation("sotl", RECIPE.hash, 3), Derivation("early_acc", RECIPE.hash, 1)]
    first = derive(journal, ds)
    assert first == {"sotl": 4, "early_acc": 4}
    with Journal(journal) as j:
        before = j.rows("records")
    assert derive(journal, ds) == {}
    with Journal(journal) as j:
        assert j.rows("records") == before


def test_early_accuracy_and_two_point_loglinear_by_hand(journal):
    early = Derivation("early_acc", RECIPE.hash, 2)
    loglin = Derivation("extrap_loglinear", RECIPE.hash, 2, target=4)
    derive(journal, [early, loglin])
    assert _derived(journal, early)[("good", 0)]["value"] == 55.0
    assert _derived(journal, loglin)[("good", 0)]["value"] == pytest.approx(2 * 55.0 - 40.0)
    assert _derived(journal, loglin)[("good", 1)]["value"] == pytest.approx(2 * 60.0 - 50.0)
    # reads val only: the diverged loss does not matter, the failed run does
    assert _derived(journal, loglin)[("nan", 0)]["status"] == "ok"
    assert _derived(journal, loglin)[("dead", 0)]["status"] == "error"


def test_a_failed_fit_is_an_error_record(tmp_path):
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        j.bind(f"recipe:{RECIPE.hash}", RECIPE.to_dict())
        j.commit_unit("train|x|0", _curve("x", 0, val=[50.0, 60.0, 70.0]), "t")
    d = Derivation("extrap_pow3", RECIPE.hash, 3, target=12, ceiling=65.0)
    derive(path, [d])
    row = _derived(path, d)[("x", 0)]
    assert row["status"] == "error" and "ceiling 65.0" in row["message"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "sotl", "epochs": 0}, "positive integer"),
        ({"kind": "extrap_pow3", "epochs": 2, "target": 4}, "needs epochs >= 3"),
        ({"kind": "extrap_pow3", "epochs": 3}, "target epoch"),
        ({"kind": "extrap_loglinear", "epochs": 2, "target": 2}, "target epoch"),
        ({"kind": "sotl", "epochs": 2, "target": 4}, "does not extrapolate"),
        ({"kind": "sotl_e", "epochs": 2, "window": 3}, "window"),
        ({"kind": "sotl2", "epochs": 2}, "derivation 'sotl2'"),
    ],
)
def test_bad_derivations_are_refused_naming_the_problem(kwargs, match):
    with pytest.raises((ValueError, KeyError), match=match):
        Derivation(source=RECIPE.hash, **kwargs)


def test_derive_refuses_unknown_recipes_and_too_many_epochs(journal):
    with pytest.raises(ValueError, match="no training recipe"):
        derive(journal, [Derivation("sotl", "0" * 64, 1)])
    with pytest.raises(ValueError, match="reads 4 epochs but recipe"):
        derive(journal, [Derivation("sotl", RECIPE.hash, 4)])


def test_hash_covers_exactly_the_parameters_a_kind_uses():
    a = Derivation("sotl", RECIPE.hash, 2)
    assert a.hash == Derivation("sotl", RECIPE.hash, 2, ceiling=50.0).hash  # sotl has no ceiling
    assert a.hash != Derivation("sotl", RECIPE.hash, 3).hash
    assert a.hash != Derivation("sotl", RECIPE.scaled(4).hash, 2).hash
    assert a.hash != Derivation("sotl_e", RECIPE.hash, 2).hash
    x = Derivation("extrap_pow3", RECIPE.hash, 3, target=12)
    assert x.hash != Derivation("extrap_pow3", RECIPE.hash, 3, target=13).hash
    assert x.hash != Derivation("extrap_pow3", RECIPE.hash, 3, target=12, ceiling=99.0).hash


def test_standard_derivations_plan_what_each_budget_allows():
    recipes = {RECIPE.scaled(e).hash: RECIPE.scaled(e).to_dict() for e in (1, 2, 4, 12)}
    planned = standard_derivations(recipes, ["sotl", "extrap_pow3", "extrap_loglinear"])
    fidelity = {h: r["epochs"] for h, r in recipes.items()}
    got = {(d.kind, fidelity[d.source], d.epochs, d.target) for d in planned}
    assert got == {
        ("sotl", 1, 1, None),  # each fidelity's own full curve
        ("sotl", 2, 2, None),
        ("sotl", 4, 4, None),
        ("sotl", 12, 12, None),
        ("extrap_loglinear", 12, 2, 12),  # prefixes of the longest run, to its last epoch
        ("extrap_loglinear", 12, 4, 12),
        ("extrap_pow3", 12, 4, 12),
    }
    assert set(DERIVATIONS.names()) >= {"sotl", "sotl_e", "early_acc", "extrap_pow3", "extrap_exp3"}


@pytest.mark.usefixtures("one_torch_thread")
def test_build_derive_release_end_to_end(tmp_path):
    """A real 2-epoch build: SoTL(2) equals the sum of the stored per-epoch minibatch-loss sums."""
    from benchmarks.build import BuildSpec, build
    from benchmarks.executors import LocalExecutor
    from benchmarks.store import export
    from benchmarks.table import open_table

    recipe = RECIPE.scaled(2)
    archs = (ARCH, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    spec = BuildSpec(space="nb201", task="mnist5k", archs=archs, recipe=recipe, train_seeds=(0,))
    journal = tmp_path / "journal.sqlite"
    build(spec, journal, LocalExecutor(1, threads=1), progress=False)
    d = Derivation("sotl", recipe.hash, 2)
    assert derive(journal, [d]) == {"sotl": 2}
    table = open_table(export(journal, tmp_path / "table"))
    assert table.manifest["protocols"][d.hash]["derivation"] == "sotl"
    assert table.metrics["sotl"]["kind"] == "derived"
    sums = table.filter(metric="train_loss_sum", status="ok").groupby("arch_id")["value"].sum()
    sotl = table.wide(["sotl"], protocol_hash=d.hash)["sotl"]
    for arch_id, value in sotl.items():
        assert value == pytest.approx(sums[arch_id], rel=1e-12)
        assert math.isfinite(value) and value > 0
    measured = table.filter(metric=["train_loss_sum", "val_acc"])
    assert set(measured["protocol_hash"]) == {recipe.hash}
