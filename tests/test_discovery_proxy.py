"""Discovered expressions as files and proxies, the gather pass, a run on real table data, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

import proxies
import spaces
from benchmarks.cli import main
from benchmarks.table import Table, open_table
from predictors.discovery.expr import parse
from predictors.discovery.gather import COLS, ROWS, gather, unit_index
from predictors.discovery.proxy import Discovered, discovered_proxy, load_expression, save_expression
from proxies.base import PROXIES, ProxyContext
from proxies.conformance import check_proxy

ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"
TINY = proxies.Protocol(task="mnist5k", batch_size=8, resolution=8, build={"C": 4, "N": 1})


def _ctx(arch: str = ALL_CONV, protocol: proxies.Protocol = TINY) -> ProxyContext:
    nb201 = spaces.get("nb201")
    return ProxyContext(nb201, nb201.parse(arch), protocol, seed=0)


def test_gather_records_every_conv_and_linear_layer_with_true_counts(one_torch_thread):
    import torch.nn as nn

    ctx = _ctx()
    stats = gather(ctx)
    layers = [m for m in ctx.fresh_model().modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert stats.mask.shape == (1, len(layers)) and stats.mask.all()
    assert stats.data["W"].shape == (1, len(layers), ROWS, COLS) and stats.data["W"].dtype == np.float32
    # call order differs from module order, so compare the (rows, cols) of every layer as a multiset
    shapes = sorted(zip(stats.rows["W"][0].astype(int).tolist(), stats.cols["W"][0].astype(int).tolist()))
    assert shapes == sorted((m.weight.shape[0], m.weight[0].numel()) for m in layers)
    assert set(stats.rows["Z"][0]) == {8.0}  # per-image statistics: one row per image of the batch
    first = layers[0].weight.detach().reshape(len(layers[0].weight), -1).numpy()
    np.testing.assert_array_equal(stats.data["W"][0, 0, :4], first[:, unit_index(first.shape[1], COLS)])
    assert np.abs(stats.data["dZ"]).sum() > 0 and np.abs(stats.data["dW"]).sum() > 0
    again = gather(_ctx())
    assert all(np.array_equal(stats.data[t], again.data[t]) for t in stats.data)  # deterministic
    weights_only = gather(_ctx(), frozenset({"W"}))
    np.testing.assert_array_equal(weights_only.data["W"], stats.data["W"])


def test_unit_index_is_fixed_and_tiles_small_layers():
    assert np.array_equal(unit_index(1000, 64), unit_index(1000, 64)) and len(set(unit_index(1000, 64))) == 64
    small = unit_index(10, 64)
    assert sorted(np.bincount(small)) in ([6] * 6 + [7] * 4, [6] * 4 + [7] * 6) or set(
        np.bincount(small)
    ) <= {6, 7}


def _item(text: str = "layer_mean(sum(mul(Z, dZ)))", higher: bool = True) -> Discovered:
    return Discovered(parse(text), higher, TINY.to_dict(), figures={"train_kendall": 0.5})


def test_save_reload_and_refuse_tampered_files(tmp_path):
    item = _item()
    path = save_expression(item, tmp_path / "e.json")
    again = load_expression(path)
    assert again.expr == item.expr and again.higher_is_better and again.figures == {"train_kendall": 0.5}
    data = json.loads(path.read_text())
    assert data["formula"] == "mean over layers of sum((Z * dZ))" and data["hash"] == item.expr.hash
    data["expression"] = "layer_mean(sum(mul(Z, Z)))"
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="hash does not match"):
        load_expression(tmp_path / "bad.json")
    (tmp_path / "torn.json").write_text(path.read_text()[:40])
    with pytest.raises(ValueError, match="is not JSON"):
        load_expression(tmp_path / "torn.json")
    (tmp_path / "other.json").write_text('{"format": "x"}')
    with pytest.raises(ValueError, match="not a discovered-proxy file"):
        load_expression(tmp_path / "other.json")


@pytest.mark.parametrize(
    "text, needs",
    [
        ("layer_mean(sum(mul(Z, dZ)))", {"needs_data": True, "needs_labels": True, "needs_grad": True}),
        ("layer_max(norm(W))", {"needs_data": False, "needs_labels": False, "needs_grad": False}),
    ],
)
def test_a_registered_discovered_proxy_passes_the_conformance_suite(
    monkeypatch, one_torch_thread, text, needs
):
    proxy = discovered_proxy(_item(text, higher=False))
    PROXIES.names()  # load plugins first, then add ours for this test only
    monkeypatch.setitem(PROXIES._entries, proxy.name, proxy)
    card = proxies.get_proxy(proxy.name).card
    assert {k: getattr(card, k) for k in needs} == needs and not card.higher_is_better
    assert proxy.card.summary.startswith(f"discovered expression {parse(text).hash}")
    results = check_proxy(proxy.name)
    assert set(results.values()) == {"passed"}, results
    ctx = _ctx()
    direct = gather(ctx)
    from predictors.discovery.evaluate import evaluate

    assert proxy.score(ctx) == pytest.approx(float(evaluate(parse(text), direct).scores[0]), rel=1e-6)


def test_a_failing_expression_is_status_nan_with_its_reason(monkeypatch, one_torch_thread):
    from proxies.runner import score_architecture

    proxy = discovered_proxy(_item("layer_mean(sum(inv(sub(W, W))))"))
    PROXIES.names()
    monkeypatch.setitem(PROXIES._entries, proxy.name, proxy)
    nb201 = spaces.get("nb201")
    (score,) = score_architecture(nb201, nb201.parse(ALL_CONV), [proxy.name], TINY, 0)
    assert score.status == "nan" and "gives inf" in score.message


@pytest.fixture(scope="module")
def small_table() -> Table:
    """The shipped nb201-fmnist 1.0.0 (where every trained class has every proxy, grad_sign included) cut
    to 30 of its trained classes (the real protocol and truth)."""
    table = open_table("nb201-fmnist-1.0.0")
    trained = sorted(table.filter(metric="val_acc", status="ok")["arch_id"].astype(str).unique())[:30]
    records = table.records[table.records["arch_id"].astype(str).isin(trained)]
    archs = table.archs[table.archs["arch_id"].astype(str).isin(trained)]
    return Table.from_frames(
        table.path, table.manifest, records.reset_index(drop=True), archs.reset_index(drop=True)
    )


def test_discover_on_real_table_data_resumes_and_saves_a_proxy(small_table, tmp_path, one_torch_thread):
    from predictors.discovery.run import discover, transfer
    from predictors.discovery.search import SearchConfig

    config = SearchConfig(population=8, seed=0)
    said: list[str] = []
    first = discover(small_table, "val_acc", tmp_path, config, 1, test_size=10, n_boot=20, echo=said.append)
    assert any("gen    1" in s for s in said) and (tmp_path / "cache").is_dir()
    summary = discover(small_table, "val_acc", tmp_path, config, 2, test_size=10, n_boot=20, echo=said.append)
    assert summary["generations"] == 2 and summary["gather_seconds_per_arch"] == 0  # cached statistics
    assert (
        first["split_hash"] == summary["split_hash"] and summary["train"] == 20 and summary["held_out"] == 10
    )
    rows = {r["proxy"]: r for r in summary["held_out_report"]}
    assert {"discovered", "synflow", "nwot", "jacob_cov", "meco", "vote"} <= set(rows)
    assert all(r["n"] == 10 for r in rows.values())
    item = load_expression(tmp_path / "expression.json")
    assert item.expr.text == summary["expression"] and item.protocol["task"] == "fmnist14k"
    assert "Kendall tau-b" in (tmp_path / "report.md").read_text()
    moved = transfer(
        tmp_path / "expression.json", small_table, "val_acc", tmp_path / "t", n_boot=20, echo=said.append
    )
    rows = {r["proxy"]: r for r in moved["rows"]}
    assert rows["discovered"]["n"] == 30 and {"vote", "(noise ceiling)"} <= set(rows)
    assert (tmp_path / "t" / "transfer.md").exists()


def _call(capsys, *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--table", "no-such-table", "--target", "val_acc", "--budget", "1m"], "no-such-table"),
        (["--table", "nb201-fmnist", "--target", "val_accc", "--budget", "1m"], "has no metric 'val_accc'"),
        (["--table", "nb201-fmnist", "--target", "val_acc"], "give --budget or --generations"),
        (
            ["--table", "nb201-fmnist", "--target", "val_acc", "--protocol", "ffff", "--generations", "1"],
            "need exactly one proxy protocol matching 'ffff'",
        ),
    ],
)
def test_discover_bad_input_exits_2_with_one_line(capsys, tmp_path, args, message):
    code, _, err = _call(capsys, "proxies", "discover", *args, "--out", tmp_path / "run")
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "run" / "journal.jsonl").exists()


@pytest.mark.parametrize("budget", ["soon", "-5m", "0", "3d"])
def test_a_malformed_budget_is_one_argparse_line(capsys, tmp_path, budget):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "proxies",
                "discover",
                "--table",
                "nb201-fmnist",
                "--target",
                "val_acc",
                f"--budget={budget}",
                "--out",
                str(tmp_path),
            ]
        )
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "positive duration" in err


def test_transfer_refuses_a_missing_or_bad_expression_file(capsys, tmp_path):
    def transfer(expression):
        args = ("--table", "nb201-fmnist", "--target", "val_acc", "--out", tmp_path / "t")
        return _call(capsys, "proxies", "transfer", expression, *args)

    code, _, err = transfer(tmp_path / "none.json")
    assert code == 2 and "no expression file" in err and err.count("\n") == 1
    (tmp_path / "bad.json").write_text("{")
    code, _, err = transfer(tmp_path / "bad.json")
    assert code == 2 and "is not JSON" in err and not (tmp_path / "t").exists()


@pytest.fixture
def shipped(monkeypatch):
    """The shipped discovered proxy offered through a faked ``archbench.proxies`` entry point."""
    from _plugins import plugin_entries

    yield from plugin_entries(
        monkeypatch, PROXIES, {"disc_nb201_fmnist": "predictors.discovery.found:NB201_FMNIST"}
    )


def test_the_shipped_expression_registers_through_an_entry_point_and_passes_the_suite(
    shipped, one_torch_thread
):
    from predictors.discovery.found import FOUND

    assert "disc_nb201_fmnist" in proxies.list_proxies()
    item = load_expression(FOUND / "nb201-fmnist-val_acc.json")
    card = proxies.get_proxy("disc_nb201_fmnist").card
    assert item.expr.hash in card.summary and card.higher_is_better == item.higher_is_better
    assert item.protocol["task"] == "fmnist14k" and item.protocol["build"] == {"C": 8, "N": 1}
    results = check_proxy("disc_nb201_fmnist")
    assert set(results.values()) == {"passed"}, results
