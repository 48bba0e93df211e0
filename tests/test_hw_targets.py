"""hw_profiles: target registry, device descriptors, profiling NB201 cells and resumable profile tables."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
import torch.nn as nn

import spaces
from benchmarks.cli import main
from benchmarks.journal import Journal
from benchmarks.profile_table import profile_table
from benchmarks.table import open_table
from hw_profiles import TARGETS, MeasurementProtocol, Target, get_target
from hw_profiles.device import allocator_settings, cpu_frequency, describe, host_memory_bytes
from hw_profiles.profile import metric_names, profile_arch, profile_module

FAST = {"warmup": 1, "repeats": 3, "min_run_time": 0.01, "energy_seconds": 0.01, "cv_threshold": 10.0}
TINY = {"task": "cifar10", "resolution": 8, "build": {"C": 4, "N": 1}, **FAST}
ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"


@pytest.fixture(scope="module")
def nb201():
    return spaces.get("nb201")


# ---- registry and devices -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TARGETS.names())
def test_every_registered_target_is_a_target(name: str) -> None:
    target = get_target(name)
    assert isinstance(target, Target) and target.name == name and "float32" in target.dtypes


def test_unknown_target_gives_one_line_with_suggestions() -> None:
    with pytest.raises(KeyError) as info:
        get_target("onnxruntime-cpuu")
    assert "did you mean onnxruntime-cpu" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("target", "settings", "words"),
    [
        ("onnxruntime-cpu", {"dtype": "bfloat16"}, "does not support dtype 'bfloat16'"),
        ("cpu", {"dtype": "float16"}, "does not support dtype 'float16'"),
        ("cpu", {"threads": 4096}, "exceeds the"),
    ],
)
def test_impossible_settings_are_refused(target: str, settings: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        get_target(target).check(MeasurementProtocol(target=target, **settings))


def test_cuda_without_gpu_is_one_clear_line() -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the no-GPU error path cannot be exercised")
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        get_target("cuda").check(MeasurementProtocol(target="cuda"))


def test_device_descriptor_reads_fake_sysfs(tmp_path: Path) -> None:
    freq = tmp_path / "cpu0" / "cpufreq"
    freq.mkdir(parents=True)
    (freq / "scaling_governor").write_text("performance\n")
    (freq / "scaling_cur_freq").write_text("2450000\n")
    (freq / "cpuinfo_max_freq").write_text("3500000\n")
    assert cpu_frequency(tmp_path) == {"governor": "performance", "freq_mhz": 2450.0, "max_freq_mhz": 3500.0}
    assert cpu_frequency(tmp_path / "missing") == {"governor": None, "freq_mhz": None, "max_freq_mhz": None}
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       1000 kB\nMemFree: 3 kB\n")
    assert host_memory_bytes(meminfo) == 1000 * 1024
    device = describe("cpu", sysfs_root=tmp_path)
    assert device.governor == "performance" and device.to_dict()["label"] == device.label
    with pytest.raises(ValueError, match="unknown device kind"):
        describe("tpu")


def test_device_descriptor_records_the_allocator(monkeypatch) -> None:
    environ = {
        "LD_PRELOAD": "/usr/lib/libjemalloc.so.2",
        "MALLOC_CONF": "background_thread:true",
        "MALLOC_MMAP_THRESHOLD_": "4294967296",
        "MALLOCX": "not an allocator variable",
        "PATH": "/bin",
    }
    found = dict(allocator_settings(environ))
    assert set(found) == {"libc", "LD_PRELOAD", "MALLOC_CONF", "MALLOC_MMAP_THRESHOLD_"}
    assert found["MALLOC_MMAP_THRESHOLD_"] == "4294967296" and found["libc"]
    assert list(allocator_settings({})) == [("libc", found["libc"])]  # nothing set: the defaults
    recorded = describe("cpu").to_dict()["allocator"]
    assert recorded == dict(allocator_settings())
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "123")  # too late: the allocator read its settings at start
    assert describe("cpu").to_dict()["allocator"] == recorded


# ---- profiling ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "dtype"),
    [("cpu", "float32"), ("cpu", "int8"), ("onnxruntime-cpu", "float32"), ("onnxruntime-cpu", "int8")],
)
def test_profile_nb201_cell_on_cpu_targets(nb201, target: str, dtype: str) -> None:
    protocol = MeasurementProtocol(target=target, dtype=dtype, batch_sizes=(2,), **TINY)
    found = {m.metric: m for m in profile_arch(nb201, nb201.parse(ARCH), protocol, 2)}
    assert sorted(found) == sorted(metric_names(protocol))
    lat = found["latency_b2"]
    assert lat.status == "ok" and lat.unit == "ms" and lat.value > 0
    assert found["latency_p90_b2"].value >= lat.value >= 0
    assert found["latency_runs_b2"].value >= 3
    assert found["energy_b2"].status in ("ok", "unavailable") and (found["energy_b2"].value is None) == (
        found["energy_b2"].status != "ok"
    )
    memory = found["peak_memory_b2"]
    if target == "cpu":
        assert memory.status == "ok" and memory.value > 0
    else:
        assert memory.status == "unavailable" and "ONNX Runtime" in memory.message


def test_onnxruntime_matches_torch_output(nb201) -> None:
    """The ONNX export runs the same network: outputs agree with eager torch."""
    from hw_profiles.profile import build_network, example_input
    from hw_profiles.targets import OnnxRuntimeCPU
    from spaces.tasks import get_task

    protocol = MeasurementProtocol(target="onnxruntime-cpu", batch_sizes=(3,), **TINY)
    model = build_network(nb201, nb201.parse(ARCH), protocol).eval()
    x = example_input(get_task("cifar10"), 3, 8)
    out = OnnxRuntimeCPU().prepare(model, x, protocol).run()[0]
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(out), model(x), atol=1e-4)


def test_peak_memory_grows_with_batch(nb201) -> None:
    protocol = MeasurementProtocol(batch_sizes=(1, 8), metrics=("memory",), **TINY)
    arch = nb201.parse(ARCH)
    small, large = (profile_arch(nb201, arch, protocol, b)[0].value for b in (1, 8))
    assert large > small > 0


def test_failures_become_records_not_exceptions() -> None:
    class Broken(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("kernel exploded\nsecond line")

    protocol = MeasurementProtocol(batch_sizes=(1,), metrics=("latency", "memory"), **FAST)
    found = profile_module(Broken(), torch.randn(1, 3), protocol)
    assert {m.status for m in found} == {"error"}
    assert all(m.message == "RuntimeError: kernel exploded" and m.value is None for m in found)


@pytest.mark.gpu
def test_cuda_target_profiles_a_cell(nb201) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU on this machine: CUDA events and allocator stats need one")
    protocol = MeasurementProtocol(target="cuda", batch_sizes=(4,), **TINY)
    found = {m.metric: m for m in profile_arch(nb201, nb201.parse(ARCH), protocol, 4)}
    assert found["latency_b4"].status == "ok" and found["latency_b4"].value > 0
    assert found["peak_memory_b4"].status == "ok" and found["peak_memory_b4"].value > 0


# ---- tables and the CLI ----------------------------------------------------------------------------------------


def test_profile_table_is_resumable_and_records_protocol_and_device(nb201, tmp_path: Path) -> None:
    protocol = MeasurementProtocol(batch_sizes=(1, 2), metrics=("latency", "energy"), **TINY)
    archs = [ARCH, "|skip_connect~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"]
    first = profile_table("nb201", archs[:1], protocol, tmp_path, progress=False)
    assert (first.total, first.ran) == (2, 2)
    second = profile_table("nb201", archs, protocol, tmp_path, progress=False)
    assert (second.total, second.skipped, second.ran) == (4, 2, 2)
    table = open_table(tmp_path / "table")
    records = table.records
    assert len(records) == 4 * 6 and set(records.protocol_hash) == {protocol.hash}
    manifest = json.loads((tmp_path / "table" / "manifest.json").read_text())
    assert manifest["protocols"][protocol.hash]["batch_sizes"] == [1, 2]
    assert len(manifest["hw_devices"]) == 1 and manifest["hw_devices"][0]["threads"] == 1
    assert manifest["metrics"]["latency_b2"]["unit"] == "ms"
    with Journal(tmp_path / "journal.sqlite") as journal:
        assert journal.count("units") == 4


def test_profile_units_run_in_a_fixed_order_unrelated_to_the_given_one(nb201) -> None:
    """Drift of the machine's speed must not line up with enumeration order (all-none cells first)."""
    from benchmarks.profile_table import plan

    protocol = MeasurementProtocol(batch_sizes=(1, 2), **TINY)
    archs = [a.string for a in list(nb201.enumerate())[:40]]
    units, _ = plan("nb201", archs, protocol, "cpu:test")
    again, _ = plan("nb201", archs[::-1], protocol, "cpu:test")
    assert [u.key for u in units] == [u.key for u in again]  # the same order on every resume
    given = [(a, b) for a in archs for b in protocol.batch_sizes]
    assert [(u.arch, u.batch_size) for u in units] != given and sorted(given) == sorted(
        (u.arch, u.batch_size) for u in units
    )


def test_rounds_run_round_after_round_and_the_table_takes_the_min(nb201, tmp_path: Path) -> None:
    """Interleaved rounds: every unit of round r runs before any of round r + 1; latency = min of rounds."""
    from benchmarks.profile_table import plan

    protocol = MeasurementProtocol(batch_sizes=(1, 2), metrics=("latency", "memory"), rounds=3, **TINY)
    archs = [ARCH, "|skip_connect~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"]
    units, _ = plan("nb201", archs, protocol, "cpu:test")
    assert [u.round_index for u in units] == [0] * 4 + [1] * 4 + [2] * 4
    assert len({u.key for u in units}) == 12
    orders = [[(u.arch, u.batch_size) for u in units if u.round_index == r] for r in range(3)]
    assert sorted(orders[0]) == sorted(orders[1]) == sorted(orders[2]) and len(set(map(tuple, orders))) > 1

    first = profile_table("nb201", archs, protocol, tmp_path, progress=False)
    assert (first.total, first.ran) == (12, 12)
    assert profile_table("nb201", archs, protocol, tmp_path, progress=False).ran == 0
    table = open_table(tmp_path / "table")
    assert table.metrics["latency_b1"]["combine_seeds"] == "min"
    assert table.metrics["peak_memory_b1"]["combine_seeds"] == "mean"
    wide = table.wide(["latency_b2", "peak_memory_b2", "latency_cv_b2"])
    for arch in archs:
        rows = table.lookup(arch=arch, metric="latency_b2")
        assert sorted(rows.seed) == [0, 1, 2] and set(rows.status) == {"ok"}
        assert rows.value.nunique() > 1  # the rounds differ, so min and mean are told apart
        expected = rows.value.min()
        assert table.value(arch=arch, metric="latency_b2") == expected
        assert table.value(arch=arch, metric="latency_b2", seed=1) == rows[rows.seed == 1].value.iloc[0]
        arch_id = table.locate(arch=arch).arch_id
        assert wide.loc[arch_id, "latency_b2"] == expected
        cvs = table.lookup(arch=arch, metric="latency_cv_b2").value
        assert wide.loc[arch_id, "latency_cv_b2"] == pytest.approx(cvs.mean())  # other stats: the mean
    from benchmarks.report import aligned

    frame, by_seed, _ = aligned(table, "latency_b2", "cifar10", ["latency_b1"])
    assert by_seed.shape == (2, 3)  # a hardware target as ground truth: its rounds are the seeds
    assert frame["target"].to_dict() == wide["latency_b2"].to_dict()  # combined by min, as wide()
    from benchmarks.release import release

    released = release(tmp_path / "table", "hw", "0.1.0", tmp_path / "release")
    assert "| `latency_b2` | cost | ms | lower | min |" in (released / "README.md").read_text()
    again = open_table(released)
    assert [again.value(arch=a, metric="latency_b1") for a in archs] == [
        table.value(arch=a, metric="latency_b1") for a in archs
    ]


def test_a_profile_journal_from_before_rounds_resumes(nb201, tmp_path: Path) -> None:
    """Journals whose metric cards predate ``combine_seeds`` resume, and their cards are upgraded."""
    protocol = MeasurementProtocol(batch_sizes=(1,), metrics=("latency",), **TINY)
    archs = [ARCH, "|skip_connect~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"]
    profile_table("nb201", archs[:1], protocol, tmp_path, progress=False)
    with Journal(tmp_path / "journal.sqlite") as journal:  # make it look as older versions wrote it
        for key, card in journal.meta().items():
            if key.startswith("metric:"):
                card.pop("combine_seeds")
                journal._db.execute("UPDATE meta SET value = ? WHERE key = ?", (json.dumps(card), key))
        journal._db.commit()
    assert profile_table("nb201", archs, protocol, tmp_path, progress=False).ran == 1
    with Journal(tmp_path / "journal.sqlite") as journal:
        assert journal.meta()["metric:latency_b1"]["combine_seeds"] == "min"
    assert open_table(tmp_path / "table").metrics["latency_b1"]["combine_seeds"] == "min"


def test_cli_profile_builds_a_table(tmp_path: Path, capsys) -> None:
    archs = tmp_path / "archs.txt"
    archs.write_text(f"# two cells\n{ARCH}\n\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n")
    out = tmp_path / "run"
    argv = [
        "profile",
        "--archs",
        str(archs),
        "--batch",
        "1,2",
        "--resolution",
        "8",
        "--build-options",
        "C=4,N=1",
    ]
    argv += ["--repeats", "3", "--min-run-time", "0.01", "--energy-seconds", "0.01", "--warmup", "1"]
    argv += ["--metrics", "latency,memory", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    assert "4 units run" in capsys.readouterr().out
    assert main(argv) == 0
    assert "0 units run, 4 already done" in capsys.readouterr().out
    table = open_table(out / "table")
    assert set(table.records.metric) >= {"latency_b1", "peak_memory_b2"}


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--device", "tpu"], "unknown device 'tpu'"),
        (["--device", "cuda"] if not torch.cuda.is_available() else ["--dtype", "int4"], "cuda"),
        (["--batch", "0"], "batch size must be an integer >= 1"),
        (["--rounds", "0"], "rounds must be an integer >= 1"),
        (["--threads", "100000"], "threads must be in [1, "),
        (["--dtype", "int4"], "dtype 'int4'"),
        (["--build-options", "X=3"], "unknown build options"),
        (["--resolution", "10"], "divisible by 4"),
        (["--task", "imagenet-21k"], "unknown task"),
    ],
)
def test_cli_bad_input_is_one_line(tmp_path: Path, capsys, extra: list[str], words: str) -> None:
    if words == "cuda" and torch.cuda.is_available():
        words = "dtype 'int4'"
    argv = ["profile", "--sample", "1", "--out", str(tmp_path / "o"), "--quiet", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o" / "table").exists()


def test_allocator_effect_script_measures_each_setting_in_its_own_process(tmp_path: Path) -> None:
    """Each allocator setting runs in a fresh child whose descriptor shows exactly that setting."""
    import subprocess
    import sys

    script = Path(__file__).parents[1] / "scripts" / "allocator_effect.py"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | {"MALLOC_ARENA_MAX": "1"}
    command = [sys.executable, str(script), "--batch", "1,2", "--rounds", "1", "--C", "4", "--N", "1"]
    done = subprocess.run([*command, "--out", str(tmp_path)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    runs = json.loads((tmp_path / "allocator_effect.json").read_text())
    assert list(runs) == ["default", "no_trim"]
    default, no_trim = (dict(runs[n]["allocator"]) for n in runs)
    assert not any(k.startswith("MALLOC_") for k in default)  # the parent's MALLOC_* never leak in
    assert no_trim["MALLOC_MMAP_THRESHOLD_"] == no_trim["MALLOC_TRIM_THRESHOLD_"] == "4294967296"
    for run in runs.values():
        for batch in ("1", "2"):
            assert set(run["ms"][batch]) == {
                "none",
                "skip_connect",
                "nor_conv_1x1",
                "nor_conv_3x3",
                "avg_pool_3x3",
                "mixed",
            }
            assert all(v > 0 for v in run["ms"][batch].values())
    assert done.stdout.count("batch   2 ") == 6 and "no_trim" in done.stdout
    bad = subprocess.run([sys.executable, str(script), "--rounds", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--rounds must be at least 1, got 0" in bad.stderr
