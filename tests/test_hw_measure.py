"""hw_profiles: protocol hashing, latency statistics and re-measurement, energy counters, CPU peak memory."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st

from hw_profiles.energy import (
    EnergyMeter,
    EnergyUnavailable,
    NvmlMeter,
    RaplMeter,
    counter_delta,
    measure_energy,
)
from hw_profiles.memory import cpu_peak_bytes, tensor_bytes
from hw_profiles.protocol import MeasurementProtocol
from hw_profiles.timing import measure_stable, summarize, timer_samples

# ---- protocol ---------------------------------------------------------------------------------------


def test_protocol_hash_is_canonical_and_round_trips() -> None:
    a = MeasurementProtocol(batch_sizes=(1, 64), build={"N": 1, "C": 8})
    b = MeasurementProtocol.from_dict(a.to_dict())
    assert a == b and a.hash == b.hash
    assert (
        MeasurementProtocol(build={"C": 8, "N": 1}).hash == MeasurementProtocol(build={"N": 1, "C": 8}).hash
    )
    assert a.hash != MeasurementProtocol(batch_sizes=(1, 64), build={"C": 8, "N": 1}, threads=2).hash
    assert a.with_batch(64).batch_sizes == (64,)


def test_rounds_leave_every_one_round_hash_unchanged() -> None:
    """``rounds`` came after tables were published: at its default it is not in the hashed JSON."""
    from spaces.specs import sha256_of

    spelled_out = {  # every field as it was hashed before ``rounds`` existed
        "task": "cifar10",
        "target": "cpu",
        "dtype": "float32",
        "batch_sizes": [1],
        "resolution": None,
        "threads": 1,
        "warmup": 5,
        "repeats": 10,
        "min_run_time": 0.2,
        "cv_threshold": 0.1,
        "max_remeasures": 2,
        "energy_seconds": 0.5,
        "metrics": ["latency", "memory", "energy"],
        "build": {},
    }
    assert MeasurementProtocol().to_dict() == spelled_out
    # hashes printed by the code before ``rounds`` existed (commit 7b56fe1)
    assert MeasurementProtocol().hash == "57f7ffb8b8634ee1daeae48ab1b131ac2bb6aa88a666cf0677b32db4a3e13088"
    published_size = MeasurementProtocol(
        batch_sizes=(1, 64), build={"C": 16, "N": 5}, metrics=("latency",), resolution=32
    )
    assert published_size.hash == "7e1132b523ab8bc955b0b12dc4a1a5ff7809e3ac82d28f7c40ac8f16d0fda8bc"
    assert MeasurementProtocol(rounds=1).hash == sha256_of(spelled_out)
    four = MeasurementProtocol(rounds=4)
    assert four.to_dict() == {**spelled_out, "rounds": 4} and four.hash != MeasurementProtocol().hash
    assert MeasurementProtocol.from_dict(four.to_dict()) == four
    assert four.with_batch(64).rounds == 4


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("rounds", 0, "rounds must be an integer >= 1"),
        ("batch_sizes", (0,), "batch size"),
        ("batch_sizes", (), "at least one batch size"),
        ("batch_sizes", (4, 4), "repeat"),
        ("dtype", "int4", "dtype"),
        ("repeats", 2, "repeats"),
        ("cv_threshold", 0.0, "cv_threshold"),
        ("metrics", ("latency", "flops"), "metrics"),
        ("threads", True, "threads"),
    ],
)
def test_protocol_rejects_impossible_settings(field: str, value: object, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        MeasurementProtocol(**{field: value})


def test_protocol_from_dict_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError, match="unknown measurement protocol fields"):
        MeasurementProtocol.from_dict({"batch": 3})


# ---- latency statistics --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 10.0, allow_nan=False), min_size=1, max_size=50))
def test_summary_matches_numpy(samples: list[float]) -> None:
    s = summarize(samples)
    q25, q50, q75, q90 = np.percentile(samples, [25, 50, 75, 90])
    assert s.n == len(samples)
    assert s.median == pytest.approx(q50, abs=1e-12)
    assert s.iqr == pytest.approx(q75 - q25, abs=1e-9)
    assert s.p90 == pytest.approx(q90, abs=1e-12)
    mean = np.mean(samples)
    assert s.cv == pytest.approx(np.std(samples) / mean if mean > 0 else 0.0, rel=1e-9, abs=1e-12)


def test_summary_hand_values() -> None:
    s = summarize([1.0, 2.0, 3.0, 4.0])
    assert (s.median, s.iqr, s.p90) == (2.5, 1.5, pytest.approx(3.7))
    assert s.cv == pytest.approx(np.sqrt(1.25) / 2.5)
    with pytest.raises(ValueError, match="finite"):
        summarize([1.0, float("nan")])


def test_timer_samples_of_slow_calls_spend_one_call_on_the_block_size() -> None:
    """Calls longer than min_run_time: a block-size estimate per autorange, not per sample."""
    calls: list[float] = []

    def run() -> None:
        calls.append(time.perf_counter())
        time.sleep(0.02)

    samples = timer_samples(run, threads=1, min_run_time=0.01, repeats=5)
    assert len(samples) >= 5
    assert len(calls) < 2 * len(samples)  # before: exactly two calls per sample
    assert all(0.02 <= s < 1.0 for s in samples)


def test_timer_samples_of_fast_calls_fill_min_run_time() -> None:
    samples = timer_samples(lambda: sum(range(100)), threads=1, min_run_time=0.05, repeats=3)
    assert len(samples) >= 3
    assert all(0 < s < 1e-3 for s in samples)  # per-call seconds: blocks are divided by their size


def test_unstable_measurements_are_remeasured_then_flagged() -> None:
    batches = iter([[1.0, 3.0, 1.0, 3.0], [1.0, 1.2, 1.0, 1.2], [1.0, 5.0, 1.0, 5.0]])
    stats = measure_stable(lambda: next(batches), cv_threshold=0.01, max_remeasures=2)
    assert not stats.stable and stats.attempts == 3
    assert stats.median == pytest.approx(1.1)  # the most stable attempt is kept
    assert "unstable" in stats.message and "3 attempts" in stats.message


def test_stable_measurement_stops_early() -> None:
    calls = []

    def sample() -> list[float]:
        calls.append(1)
        return [1.0, 3.0] if len(calls) == 1 else [2.0, 2.0]

    stats = measure_stable(sample, cv_threshold=0.05, max_remeasures=5)
    assert stats.stable and stats.attempts == 2 and len(calls) == 2 and stats.message == ""


# ---- energy: RAPL against a fake powercap tree, NVML against a fake binding -------------------------------


def _zone(root, name: str, energy: int, max_range: int):
    zone = root / name
    zone.mkdir(parents=True)
    (zone / "energy_uj").write_text(f"{energy}\n")
    (zone / "max_energy_range_uj").write_text(f"{max_range}\n")
    (zone / "name").write_text("package-0\n")
    return zone


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10**12), st.data())
def test_counter_delta_handles_one_wrap(max_range: int, data: st.DataObject) -> None:
    before = data.draw(st.integers(0, max_range))
    true_delta = data.draw(st.integers(0, max_range))
    after = (before + true_delta) % max_range
    expected = true_delta % max_range
    assert counter_delta(before, after, max_range) == expected


def test_counter_delta_rejects_impossible_readings() -> None:
    with pytest.raises(ValueError, match="bad energy counter"):
        counter_delta(5, 3, 4)


def test_rapl_sums_packages_with_wraparound_and_ignores_subzones(tmp_path) -> None:
    p0 = _zone(tmp_path, "intel-rapl:0", 999_000_000, 1_000_000_000)
    p1 = _zone(tmp_path, "intel-rapl:1", 10, 1_000_000_000)
    sub = _zone(tmp_path, "intel-rapl:0:0", 0, 1_000_000_000)
    calls = []

    def run() -> None:  # each call spends 1.5 J on package 0 (wrapping) and 0.5 J on package 1
        calls.append(1)
        for zone, step in ((p0, 1_500_000), (p1, 500_000), (sub, 7_000_000)):
            value = int((zone / "energy_uj").read_text()) + step
            (zone / "energy_uj").write_text(str(value % 1_000_000_000))

    ticks = iter(range(100))
    reading = measure_energy(RaplMeter(tmp_path), run, seconds=3, clock=lambda: float(next(ticks)))
    assert reading.status == "ok" and reading.calls == len(calls) == 3
    assert reading.joules_per_call == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda root: None, "does not exist"),
        (lambda root: root.mkdir(), "no intel-rapl package zone"),
        (lambda root: _zone(root, "intel-rapl:0", 5, 10), "did not advance"),
    ],
)
def test_rapl_unavailable_states_the_reason(tmp_path, setup, reason: str) -> None:
    root = tmp_path / "powercap"
    setup(root)
    reading = measure_energy(RaplMeter(root), lambda: None, seconds=0.001)
    assert reading.status == "unavailable" and reading.joules_per_call is None
    assert reason in reading.message


def test_rapl_unreadable_counter_is_unavailable(tmp_path) -> None:
    zone = _zone(tmp_path, "intel-rapl:0", 5, 10)
    (zone / "energy_uj").write_text("not a number")
    with pytest.raises(EnergyUnavailable, match="unreadable RAPL counter"):
        RaplMeter(tmp_path).open()


def test_nvml_meter_reads_total_energy(monkeypatch) -> None:
    import sys
    import types

    counter = {"mj": 1000}
    fake = types.SimpleNamespace(
        nvmlInit=lambda: None,
        nvmlShutdown=lambda: None,
        nvmlDeviceGetHandleByIndex=lambda i: f"gpu{i}",
        nvmlDeviceGetTotalEnergyConsumption=lambda h: counter["mj"],
    )
    monkeypatch.setitem(sys.modules, "pynvml", fake)

    def run() -> None:
        counter["mj"] += 250

    ticks = iter(range(100))
    reading = measure_energy(NvmlMeter(0), run, seconds=4, clock=lambda: float(next(ticks)))
    assert reading.status == "ok" and reading.calls == 4
    assert reading.joules_per_call == pytest.approx(0.25)


def test_nvml_missing_or_failing_is_unavailable(monkeypatch) -> None:
    import sys
    import types

    def fail() -> None:
        raise RuntimeError("NVML Shared Library Not Found")

    monkeypatch.setitem(sys.modules, "pynvml", types.SimpleNamespace(nvmlInit=fail))
    reading = measure_energy(NvmlMeter(), lambda: None, seconds=0.001)
    assert reading.status == "unavailable" and "NVML Shared Library Not Found" in reading.message


@pytest.mark.gpu
def test_nvml_on_a_real_gpu() -> None:
    pytest.importorskip("pynvml", reason="nvidia-ml-py not installed (pip install 'archbench[gpu]')")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU on this machine: NVML energy needs one")
    x = torch.randn(2048, 2048, device="cuda")
    reading = measure_energy(NvmlMeter(0), lambda: x @ x, seconds=0.5, synchronize=torch.cuda.synchronize)
    assert reading.status in ("ok", "unavailable")
    if reading.status == "ok":
        assert reading.joules_per_call > 0


def test_energy_meter_interface_is_abstract() -> None:
    with pytest.raises(TypeError):
        EnergyMeter()  # type: ignore[abstract]


# ---- CPU peak memory against closed forms ------------------------------------------------------------------


def test_peak_memory_mlp_closed_form() -> None:
    torch.manual_seed(0)
    batch = 5
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)).eval()
    x = torch.randn(batch, 8)
    params = (8 * 16 + 16 + 16 * 4 + 4) * 4
    # peak while ReLU runs: input, the first Linear's output and the ReLU output are all alive
    assert cpu_peak_bytes(model, (x,)) == params + batch * (8 + 16 + 16) * 4


@pytest.mark.parametrize(("batch", "side"), [(1, 8), (3, 12)])
def test_peak_memory_conv_chain_closed_form(batch: int, side: int) -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.ReLU(), nn.Conv2d(4, 2, 1, bias=False)
    )
    x = torch.randn(batch, 3, side, side)
    params = (4 * 3 * 9 + 2 * 4) * 4
    pixels = batch * side * side
    assert cpu_peak_bytes(model.eval(), (x,)) == params + pixels * (3 + 4 + 4) * 4


def test_peak_memory_counts_views_once_and_includes_buffers() -> None:
    x = torch.randn(4, 6)
    assert tensor_bytes([x, x.t(), x.view(-1)]) == 4 * 6 * 4
    model = nn.Sequential(nn.Flatten(), nn.BatchNorm1d(6)).eval()
    static = (6 + 6 + 6 + 6 + 1 * 2) * 4  # weight, bias, running mean/var (fp32), num_batches_tracked (int64)
    assert cpu_peak_bytes(model, (x,)) == static + x.numel() * 4 + x.numel() * 4
