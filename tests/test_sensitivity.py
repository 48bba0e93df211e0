"""Protocol sensitivity: one-at-a-time variants, protocol labels, the mixed-protocol guard, the CLI study."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from _bench_helpers import ALL_CONV, ALL_NONE, MIXED, PROTOCOL, REP

from benchmarks.cli import main
from benchmarks.report import CEILING, correlation_report
from benchmarks.sensitivity import label_protocols, protocol_variants, sensitivity_report
from benchmarks.table import open_table


def test_variants_change_one_field_each_and_skip_the_base_value():
    variants = protocol_variants(PROTOCOL, {"bn_mode": ["eval", "train"], "batch_size": [4, 16]})
    labels = [label for label, _ in variants]
    assert labels == ["base", "bn_mode=eval", "batch_size=4", "batch_size=16"]
    for label, p in variants[1:]:
        field, value = label.split("=")
        diff = {k for k, v in p.to_dict().items() if v != PROTOCOL.to_dict()[k]}
        assert diff == {field} and str(getattr(p, field)) == value


def test_unknown_or_fixed_fields_cannot_be_varied():
    with pytest.raises(ValueError, match="cannot vary protocol field 'split'"):
        protocol_variants(PROTOCOL, {"split": ["val"]})


def test_labels_find_the_centre_of_a_one_at_a_time_design():
    variants = protocol_variants(
        PROTOCOL, {"bn_mode": ["eval"], "batch_size": [4], "init": ["kaiming_normal"]}
    )
    protocols = {p.hash: p.to_dict() for _, p in reversed(variants)}
    base, labels = label_protocols(protocols)
    assert base == PROTOCOL.hash
    assert sorted(labels.values()) == sorted(["base", "bn_mode=eval", "batch_size=4", "init=kaiming_normal"])
    with pytest.raises(ValueError, match="matches 0 protocols"):
        label_protocols(protocols, base="ffff-not-a-hash")


@pytest.fixture(scope="module")
def varied(tmp_path_factory):
    """A tiny table built with --vary (3 protocols, 2 proxy seeds) plus 2-seed training on the base."""
    root = tmp_path_factory.mktemp("varied")
    archs = root / "archs.txt"
    archs.write_text("\n".join([ALL_CONV, MIXED, REP, ALL_NONE]) + "\n")
    code = main(
        [
            "build",
            "--archs",
            str(archs),
            "--proxies",
            "params,synflow,snip",
            "--batch-size",
            "8",
            "--resolution",
            "8",
            "--build-options",
            "C=4,N=1",
            "--proxy-seeds",
            "0,1",
            "--train-epochs",
            "1",
            "--train-seeds",
            "0,1",
            "--train-batch-size",
            "256",
            "--vary",
            "bn_mode=eval",
            "--vary",
            "batch_size=4",
            "--threads",
            "1",
            "--quiet",
            "--out",
            str(root / "b"),
        ]
    )
    assert code == 0
    return root / "b" / "table"


def test_a_table_with_several_protocols_refuses_silent_averaging(varied):
    table = open_table(varied)
    assert len(table.manifest["protocols"]) == 3
    with pytest.raises(ValueError, match="several protocols"):
        table.wide(["snip"])
    # A report gives each protocol its own row, labelled by what differs, equal to that protocol alone.
    report = correlation_report(table, "val_acc", proxies=["snip"], n_boot=20).set_index("proxy")
    rows = [name for name in report.index if name.startswith("snip[")]
    assert len(rows) == 3 and "snip[batch_size=4,bn_mode=train]" in rows
    compared = []
    for h, protocol in table.manifest["protocols"].items():
        alone = correlation_report(table, "val_acc", proxies=["snip"], n_boot=20, protocol_hash=h)
        name = f"snip[batch_size={protocol['batch_size']},bn_mode={protocol['bn_mode']}]"
        assert report.loc[name, "kendall"] == pytest.approx(alone.iloc[0]["kendall"], nan_ok=True)
        compared.append(alone.iloc[0]["kendall"])
    assert not all(math.isnan(k) for k in compared)  # the comparison above checked real numbers
    # params does not depend on the proxy protocol: its identical variants collapse into one row
    both = correlation_report(table, "val_acc", proxies=["params", "snip"], n_boot=20)
    assert [p for p in both["proxy"] if not p.startswith("snip[")] == ["params", CEILING]
    one = next(iter(table.manifest["protocols"]))
    assert (
        len(table.wide(["snip"], protocol_hash=one)) == 4
    )  # 4 distinct classes, the degenerate one included


def test_sensitivity_report_frames(varied):
    table = open_table(varied)
    frames = sensitivity_report(table, "val_acc", "mnist5k", ["params", "synflow", "snip"], n_boot=20)
    corr = frames["correlation"]
    assert set(corr["protocol"]) == {"base", "bn_mode=eval", "batch_size=4"}
    agreement = frames["self_agreement"].set_index(["proxy", "protocol"])
    # params and synflow do not depend on BN mode or batch size: identical rankings
    assert agreement.loc[("params", "bn_mode=eval"), "kendall_vs_base"] == pytest.approx(1.0)
    assert agreement.loc[("synflow", "batch_size=4"), "kendall_vs_base"] == pytest.approx(1.0)
    seeds = frames["seeds"].set_index(["proxy", "protocol"])
    assert ("params", "base") not in seeds.index  # cost proxies run once, not per seed
    assert seeds.loc[("synflow", "base"), "median_cv"] > 0.0  # the init follows the seed
    assert seeds.loc[("snip", "base"), "median_cv"] > 0.0  # init and batch follow the seed


def test_sensitivity_cli_writes_markdown_and_parquet(varied, tmp_path, capsys):
    out = tmp_path / "s"
    code = main(
        [
            "proxies",
            "sensitivity",
            "--table",
            str(varied),
            "--target",
            "val_acc",
            "--n-boot",
            "20",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = (out / "sensitivity.md").read_text()
    assert "Kendall tau-b with the ground truth" in text and "bn_mode=eval" in text
    assert len(pd.read_parquet(out / "sensitivity_correlation.parquet")) > 0
    assert "outputs:" in capsys.readouterr().out
