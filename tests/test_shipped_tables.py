"""Shipped tables: found and opened by name, manifests verified, and shipped rows recomputed live.

The recomputation is the point: a code change that silently changes a published number (a proxy's
formula, an initialisation, the data order of training) makes the live value differ from the shipped
one and fails here. On the CPU (model and ISA flags), thread count and torch/numpy/scipy versions a
table records, values must be bit-identical, training curves included; elsewhere the well-conditioned
proxies agree within a relative 1e-3 (see ``benchmarks.pipeline.reverify``).
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess

import pytest
from _bench_helpers import archbench_exe, shared_build

from benchmarks.pipeline.reverify import comparable, pick_records, recompute, same_machine
from benchmarks.storage import shipped
from benchmarks.storage.release import release
from benchmarks.storage.store import TableError
from benchmarks.storage.table import open_table

SHIPPED = shipped.shipped_tables()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The small shared build (read-only)."""
    return shared_build(tmp_path_factory)


def test_every_shipped_table_opens_by_name_and_verifies():
    """Each shipped release opens by bare name and by NAME-X.Y.Z, hash-checked, with its dataset card."""
    newest = {t.name: t for t in SHIPPED}  # sorted by version: the last of a name wins
    for t in SHIPPED:
        assert open_table(t.name).path == newest[t.name].path
        exact = open_table(f"{t.name}-{t.version}")
        assert exact.manifest["layout"] == "release" and exact.manifest["name"] == t.name
        assert (exact.path / "README.md").is_file() and t.rows == len(exact.records) > 0
        assert t.build_wall_s is not None and t.build_wall_s > 0


@pytest.mark.parametrize("table", SHIPPED, ids=[t.name for t in SHIPPED])
def test_shipped_rows_recompute_with_the_live_code(table):
    """One record of every proxy and one whole training run per task, recomputed under the manifest."""
    opened = open_table(table.path)
    recipes = set(opened.manifest.get("recipes", {}))
    cheap = [
        m
        for m in sorted(opened.records["metric"].astype(str).unique())
        if m not in ("ntk", "epe_nas", "grad_sign")  # each >0.3 s: covered by the other tables' rows
    ]
    rows, left_out = comparable(opened, pick_records(opened, 1, seed=0, metrics=cheap))
    assert len(rows) > 0
    checks = recompute(opened, rows)
    bad = [c for c in checks if not c.agrees]
    assert not bad, f"{len(bad)} of {len(checks)} shipped values changed, e.g. {bad[0]}"
    only_measurements = left_out.startswith("hardware measurements") and ";" not in left_out
    if same_machine(opened.manifest):
        assert all(c.exact_expected for c in checks) and (not left_out or only_measurements)
        if recipes:  # a training run was among them and its whole curve was compared
            assert any(c.epoch > 0 for c in checks)
    else:  # cost metrics and a LUT's predictions are exact on any machine
        assert {"params", "lut_latency_b1"} & {c.metric for c in checks}


LUT_TABLES = [
    t for t in SHIPPED if any(p.get("kind") == "lut" for p in t.manifest.get("protocols", {}).values())
]


@pytest.mark.parametrize("table", LUT_TABLES, ids=[t.name for t in LUT_TABLES])
def test_shipped_lut_predictions_and_their_held_out_figures_recompute(table):
    """200 seeded cells' LUT predictions recompute bit-identically from the manifest; the recorded held-out
    accuracy recomputes from the shipped measured (min of rounds) and predicted values of the cells the
    calibration never saw."""
    import numpy as np

    from hw_profiles.lut import accuracy
    from hw_profiles.lut_table import METRIC_PREFIX, predict_record

    opened = open_table(table.path)
    settings = next(s for s in opened.manifest["protocols"].values() if s.get("kind") == "lut")
    lut_hash = next(h for h, s in opened.manifest["protocols"].items() if s is settings)
    records = opened.records[opened.records["status"] == "ok"]
    predicted = records[records["protocol_hash"] == lut_hash]
    picked = predicted.iloc[np.sort(np.random.default_rng(0).choice(len(predicted), 200, replace=False))]
    for row in picked.itertuples(index=False):
        assert predict_record(settings, str(row.arch), str(row.metric)) == row.value, (row.arch, row.metric)
    measured_hash = next(
        h
        for h, s in opened.manifest["protocols"].items()
        if s.get("kind") == "measurement" and s == {"kind": "measurement", **settings["measurement_protocol"]}
    )
    fit = set(settings["fit"])
    for batch, recorded in settings["held_out"].items():
        rows = records[
            (records["protocol_hash"] == measured_hash) & (records["metric"] == f"latency_b{batch}")
        ]
        measured = rows.groupby("arch", observed=True)["value"].min()
        held = [a for a in measured.index if a not in fit]
        lut = predicted[predicted["metric"] == f"{METRIC_PREFIX}{batch}"].set_index("arch")["value"]
        again = accuracy([float(lut[a]) for a in held], [float(measured[a]) for a in held])
        assert len(held) == settings["held_out_architectures"]
        assert again == pytest.approx(recorded["corrected"], rel=1e-9)


def test_reverify_flags_a_changed_value(built):
    """The check fails when the stored value is not what the code computes (here: edited in memory)."""
    table = open_table(built.table)
    rows = pick_records(table, 1, seed=3, metrics=["synflow", "val_acc"])
    honest = recompute(table, rows)
    assert honest and all(c.agrees for c in honest)
    assert any(c.metric == "val_acc" for c in honest) and any(c.metric == "synflow" for c in honest)
    edited = rows.copy()
    edited.loc[edited["metric"] == "synflow", "value"] *= 1.001
    changed = [c for c in recompute(table, edited) if c.metric == "synflow"]
    assert changed and not any(c.agrees for c in changed)


def test_resolve_names_versions_and_errors(tmp_path, built, monkeypatch):
    """Bare names pick the newest version; NAME@X.Y.Z and NAME-X.Y.Z pick one; unknown names list what ships."""
    for version in ("1.0.0", "1.10.0", "1.2.0"):
        release(built.table, "tiny", version, tmp_path)
    (tmp_path / "notes").mkdir()  # not a release folder: ignored
    monkeypatch.setattr(shipped, "SHIPPED_DIR", tmp_path)
    assert [t.version for t in shipped.shipped_tables()] == ["1.0.0", "1.2.0", "1.10.0"]
    assert open_table("tiny").path.name == "tiny-1.10.0"
    assert open_table("tiny@1.2.0").path.name == "tiny-1.2.0"
    assert open_table("tiny-1.0.0").path.name == "tiny-1.0.0"
    with pytest.raises(
        TableError, match=r"no table folder or shipped table named 'tiny@9.9.9' \(shipped: tiny"
    ):
        open_table("tiny@9.9.9")
    with pytest.raises(TableError, match="shipped table named 'other'"):
        open_table("other")


def test_a_folder_beats_a_shipped_name(tmp_path, built, monkeypatch):
    """A path that exists is opened as a path even when a shipped table has the same name."""
    release(built.table, "tiny", "1.0.0", tmp_path / "shipped")
    monkeypatch.setattr(shipped, "SHIPPED_DIR", tmp_path / "shipped")
    shutil.copytree(built.table, tmp_path / "tiny")
    monkeypatch.chdir(tmp_path)
    assert open_table("tiny").manifest.get("layout") != "release"


def test_tampered_shipped_table_is_refused(tmp_path, built, monkeypatch):
    """A shipped table is verified like any release: an edited card fails with one line."""
    folder = release(built.table, "tiny", "1.0.0", tmp_path)
    monkeypatch.setattr(shipped, "SHIPPED_DIR", tmp_path)
    card = folder / "README.md"
    card.write_text(card.read_text() + "\nedited\n")
    with pytest.raises(TableError, match=r"README\.md"):
        open_table("tiny")


def test_cli_tables_list_show_verify_and_bad_names(tmp_path, built):
    """`archbench tables` lists what ships, shows a card, verifies, and answers bad names with exit 2."""
    exe = archbench_exe()
    listed = subprocess.run([exe, "tables", "list"], capture_output=True, text=True)
    assert listed.returncode == 0
    for t in SHIPPED:
        assert t.name in listed.stdout and t.version in listed.stdout
    bad = subprocess.run([exe, "tables", "show", "no-such-table"], capture_output=True, text=True)
    assert bad.returncode == 2 and "no table folder or shipped table named 'no-such-table'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    verify = subprocess.run(
        [exe, "tables", "verify", str(built.table), "--metric", "params,synflow"],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "values recomputed" in verify.stdout and "DIFF" not in verify.stdout
    unknown = subprocess.run(
        [exe, "tables", "verify", str(built.table), "--metric", "nope"], capture_output=True, text=True
    )
    assert unknown.returncode == 2 and "nope" in unknown.stderr
    if SHIPPED:
        shown = subprocess.run([exe, "tables", "show", SHIPPED[0].name], capture_output=True, text=True)
        assert shown.returncode == 0 and "content id: sha256:" in shown.stdout
        manifest = json.loads((SHIPPED[0].path / "manifest.json").read_text())
        assert manifest["name"] in shown.stdout


def _stratum(space, arch):
    """The live-op multiset a stratified sample groups ``arch``'s class by."""
    return tuple(sorted(op for op in space.graph(arch).ops if op not in ("input", "output")))


def _strata_sizes(space):
    """Classes per stratum over the whole space, and the number of classes."""
    from collections import Counter

    reps = {}
    for a in space.enumerate():
        reps.setdefault(a.arch_id, space.representative(a))
    return Counter(_stratum(space, a) for a in reps.values()), len(reps)


def test_stratified_classes_follow_the_space_mix():
    """A stratified sample holds each live-op stratum's proportional share, distinct classes, seeded."""
    from collections import Counter

    import spaces
    from benchmarks.pipeline.select import select_architectures

    space = spaces.get("nb201")
    first = select_architectures(space, stratified=200, seed=1).archs
    assert first == select_architectures(space, stratified=200, seed=1).archs
    assert first != select_architectures(space, stratified=200, seed=2).archs
    parsed = [space.parse(a) for a in first]
    assert len({a.arch_id for a in parsed}) == 200
    assert all(space.representative(a).string == a.string for a in parsed)

    everywhere, total = _strata_sizes(space)
    sampled = Counter(_stratum(space, a) for a in parsed)
    for key, size in everywhere.items():  # largest remainder: floor or ceil of the exact share
        share = 200 * size / total
        assert int(share) <= sampled.get(key, 0) <= int(share) + 1
    with pytest.raises(ValueError, match=r"--stratified must be 1\.\.6466"):
        select_architectures(space, stratified=0, seed=0)


def test_a_grown_stratified_sample_keeps_its_classes_and_the_space_mix(tmp_path):
    """``--stratified N --keep FILE`` holds every kept class, N classes in all, each stratum at its share."""
    from collections import Counter

    import spaces
    from benchmarks.pipeline.select import select_architectures

    space = spaces.get("nb201")
    small = select_architectures(space, stratified=60, seed=3).archs
    keep = tmp_path / "keep.txt"
    keep.write_text("# an earlier sample\n" + "\n".join(small) + "\n")
    grown = select_architectures(space, stratified=200, seed=0, keep=keep).archs
    assert grown[:60] == small and len(set(grown)) == len(grown)
    assert grown == select_architectures(space, stratified=200, seed=0, keep=keep).archs
    parsed = [space.parse(a) for a in grown]
    assert len({a.arch_id for a in parsed}) == len(grown)

    everywhere, total = _strata_sizes(space)
    sampled = Counter(_stratum(space, a) for a in parsed)
    kept = Counter(_stratum(space, space.parse(a)) for a in small)
    for key, size in everywhere.items():  # its share, or the kept classes where they already exceed it
        share = 200 * size / total
        assert max(int(share), kept[key]) <= sampled.get(key, 0) <= max(int(share) + 1, kept[key])
    assert 200 <= len(grown) <= 200 + sum(kept.values())
    # a member spelling in the file counts as its class representative
    by_string = dict(zip(grown, parsed))
    member = next(
        a for a in space.enumerate() if a.arch_id in {p.arch_id for p in parsed} and a.string not in by_string
    )
    keep.write_text(member.string + "\n")
    assert (
        select_architectures(space, stratified=10, seed=0, keep=keep).archs[0]
        == space.representative(member).string
    )
    with pytest.raises(ValueError, match="--keep grows a stratified sample"):
        select_architectures(space, sample=5, keep=keep)
    with pytest.raises(ValueError, match="more than --stratified 1"):
        keep.write_text("\n".join(small[:2]) + "\n")
        select_architectures(space, stratified=1, seed=0, keep=keep)


@pytest.mark.parametrize("table", SHIPPED, ids=[t.name for t in SHIPPED])
def test_shipped_costs_equal_the_nb201_closed_forms(table):
    """Every shipped NB201 params / FLOPs record equals the closed form (arithmetic, no network built)."""
    import spaces
    from spaces.nb201_closed_form import nb201_macs, nb201_params
    from spaces.tasks import get_task

    opened = open_table(table.path)
    space = spaces.get("nb201")
    rows = opened.records[
        opened.records["metric"].isin(["params", "flops"]) & (opened.records["space"] == "nb201")
    ]
    if not len(rows):
        pytest.skip(f"{table.name} has no NB201 cost records")
    checked = 0
    for (phash, task_name), group in rows.groupby(["protocol_hash", "task"], observed=True):
        protocol = opened.manifest["protocols"][phash]
        build = dict(protocol["build"])
        task = get_task(str(task_name))
        resolution = protocol["resolution"] or task.resolution
        for r in group.itertuples(index=False):
            ops = space.ops_of(space.parse(str(r.arch)))
            shape = (build["C"], build["N"])
            if r.metric == "params":
                expected = nb201_params(ops, *shape, task.num_classes, task.in_channels) / 1e6
            else:
                expected = nb201_macs(ops, *shape, resolution, task.num_classes, task.in_channels) / 1e6
            assert r.value == pytest.approx(expected, rel=1e-12, abs=1e-12), (r.metric, r.arch)
            checked += 1
    assert checked == len(rows)


def test_values_of_an_older_proxy_revision_are_not_compared():
    """nb201-fmnist 1.0.0 holds grad_sign revision 1 (one backward per image); the installed revision 2
    batches the per-image gradients and may flip near-zero signs, so its records are left out, saying why."""
    opened = open_table("nb201-fmnist")
    assert "revision" not in opened.manifest["metrics"]["grad_sign"]  # revision 1, from before revisions
    rows, why = comparable(opened, pick_records(opened, 2, seed=0, metrics=["grad_sign", "synflow"]))
    assert set(rows["metric"]) <= {"synflow"} and "grad_sign" in why and "revision" in why


def test_a_journal_refuses_to_mix_proxy_revisions(tmp_path):
    """A build journal started with grad_sign revision 1 refuses to resume with revision 2's card."""
    from benchmarks.pipeline.proxy_units import ProxyEvaluator
    from benchmarks.storage.journal import Journal, JournalError

    spec = type("Spec", (), {"proxies": ("grad_sign",)})()
    card = ProxyEvaluator().cards(spec)["grad_sign"]
    assert card["revision"] == 2
    journal = Journal(tmp_path / "journal.sqlite")
    journal.bind("metric:grad_sign", {k: v for k, v in card.items() if k != "revision"})
    with pytest.raises(JournalError, match="metric:grad_sign"):
        journal.bind("metric:grad_sign", card, added_fields=ProxyEvaluator.card_added_fields)


def test_shapes_holds_every_data_free_proxy_or_its_notes_say_why():
    """The newest ``nb201-shapes`` has every registered image proxy whose card needs no data on all three
    shapes for every class; each one it leaves out is named in the card's notes with its reason."""
    from proxies.base import get_proxy, list_proxies

    newest = open_table("nb201-shapes")
    cards = [get_proxy(name).card for name in list_proxies()]
    data_free = [card.name for card in cards if not card.needs_data and "image" in card.inputs]
    records = newest.records
    held = set(records["metric"].astype(str))
    notes = newest.manifest.get("notes", "")
    for name in data_free:
        if name in held:
            counted = records[records["metric"] == name].groupby("task", observed=True)["arch_id"].nunique()
            assert dict(counted) == dict.fromkeys(("cifar10", "cifar100", "imagenet16-120"), 6466), name
        else:
            assert f"`{name}`" in notes, f"{name} is neither in nb201-shapes nor named in its notes"


VERSION_PAIRS = [(a, b) for a, b in itertools.pairwise(SHIPPED) if a.name == b.name]


@pytest.mark.parametrize(
    "older,newer", VERSION_PAIRS, ids=[f"{b.name}-{b.version}" for _, b in VERSION_PAIRS]
)
def test_a_newer_release_keeps_every_record_of_the_one_before(older, newer):
    """Each shipped version holds the records of the version before it unchanged (value, status, protocol):
    a new version adds rows, it never silently moves a published number."""
    keys = ["arch", "task", "metric", "fidelity", "epoch", "seed", "protocol_hash"]
    old = open_table(older.path).records
    new = open_table(newer.path).records
    joined = old.merge(new, on=keys, how="left", suffixes=("", "_new"), validate="one_to_one")
    assert joined["status_new"].notna().all(), f"{newer.version} lost records of {older.version}"
    assert (joined["status"].astype(str) == joined["status_new"].astype(str)).all()
    ok = joined["value"].notna()
    assert (joined.loc[ok, "value"] == joined.loc[ok, "value_new"]).all()
    assert joined.loc[~ok, "value_new"].isna().all()
