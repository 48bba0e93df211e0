"""The Ray executor on a real local cluster: same records as a local build, crashes retried, failures stored."""

from __future__ import annotations

import functools
import os
import shutil
import sqlite3
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from _bench_helpers import ALL_CONV, ALL_NONE, MIXED, REP, run_build, small_spec

from benchmarks.build import build, plan
from benchmarks.journal import Journal

ray = pytest.importorskip("ray")
from benchmarks.ray_executor import RayExecutor  # noqa: E402

pytestmark = pytest.mark.ray

ARCHS = (ALL_CONV, MIXED, REP, ALL_NONE)
# Proxies (cost and functional) plus one epoch of training: every kind of unit crosses the cluster.
SPEC = small_spec(archs=ARCHS, train_seeds=(0,))
# Every column but the ones that legitimately differ between two runs (timings, timestamps).
COMPARED = "unit_key, row, arch, arch_id, metric, value, unit, fidelity, epoch, seed, protocol_hash, status"


@pytest.fixture(scope="session")
def cluster():
    """One real local Ray cluster (2 CPUs, no dashboard, a short temp dir) for the whole session."""
    os.environ["RAY_AUTH_MODE"] = "disabled"
    tests = str(Path(__file__).parent)  # workers import this module's helpers by name
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")]))
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay short
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def local_journal(tmp_path_factory) -> Path:
    journal = tmp_path_factory.mktemp("local") / "journal.sqlite"
    run_build(SPEC, journal, workers=1, threads=1)
    return journal


def rows(journal: Path) -> list[tuple]:
    with sqlite3.connect(journal) as db:
        return db.execute(f"SELECT {COMPARED} FROM records ORDER BY unit_key, row").fetchall()


# ---- functions the workers run (imported by name through PYTHONPATH) --------------------------------
def crash_once(fn, unit, marker_dir: str, victim: str):
    """Kill the worker process the first time it runs ``victim``; behave like ``fn`` otherwise."""
    if unit.key == victim:
        marker = Path(marker_dir) / "crashed"
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)
    return fn(unit)


def always_raise(fn, unit, marker_dir: str, victim: str):
    """Raise every time ``victim`` runs (counting attempts in files); behave like ``fn`` otherwise."""
    if unit.key == victim:
        attempts = len(list(Path(marker_dir).glob("attempt-*")))
        (Path(marker_dir) / f"attempt-{attempts}-{os.getpid()}").touch()
        raise RuntimeError(f"injected failure in {unit.kind} unit")
    return fn(unit)


class WrappedRayExecutor(RayExecutor):
    """A Ray executor that runs every unit through ``wrapper(fn, unit)`` (to inject failures)."""

    def __init__(self, wrapper, **options) -> None:
        super().__init__(**options)
        self.wrapper = wrapper

    def map_unordered(self, fn, items, on_error=None):
        return super().map_unordered(functools.partial(self.wrapper, fn), items, on_error)


# ---- tests ---------------------------------------------------------------------------------------------
def test_ray_build_matches_a_local_build_bit_for_bit(cluster, local_journal, tmp_path):
    executor = RayExecutor(threads=1)
    assert not executor._started and executor.cpus == 2 and executor.workers == 2
    result = build(SPEC, tmp_path / "ray.sqlite", executor, progress=False)
    assert (result.total, result.ran, result.skipped) == (len(plan(SPEC)[0]),) * 2 + (0,)
    local, remote = rows(local_journal), rows(tmp_path / "ray.sqlite")
    assert len(local) > 0 and all(r[-1] in ("ok", "nan") for r in local)
    assert remote == local
    with Journal(tmp_path / "ray.sqlite") as j:
        assert j.meta()["threads:1"] == 1
    executor.close()  # joined an existing cluster: closing must leave it running
    assert ray.is_initialized()


def test_a_worker_killed_mid_unit_is_retried_and_the_table_is_complete(cluster, local_journal, tmp_path):
    units = plan(SPEC)[0]
    victim = next(u.key for u in units if u.kind == "train")
    wrapper = functools.partial(crash_once, marker_dir=str(tmp_path), victim=victim)
    executor = WrappedRayExecutor(wrapper, threads=1)
    result = build(SPEC, tmp_path / "ray.sqlite", executor, progress=False)
    assert (tmp_path / "crashed").exists(), "the injected crash never happened"
    assert result.ran == len(units)
    with Journal(tmp_path / "ray.sqlite") as j:
        assert j.done() == {u.key for u in units}
    remote = rows(tmp_path / "ray.sqlite")
    assert max(Counter(r[:2] for r in remote).values()) == 1  # no duplicated rows
    assert remote == rows(local_journal)  # the retried unit's numbers are the clean ones


def test_a_unit_failing_every_attempt_becomes_error_records(cluster, tmp_path):
    spec = small_spec(archs=(ALL_CONV, MIXED), proxies=("params", "synflow", "snip"), train_seeds=())
    units = plan(spec)[0]
    victim = next(u for u in units if u.key.startswith("proxies|"))
    executor = WrappedRayExecutor(
        functools.partial(always_raise, marker_dir=str(tmp_path), victim=victim.key), threads=1, max_retries=1
    )
    result = build(spec, tmp_path / "ray.sqlite", executor, progress=False)
    assert result.ran == len(units)
    assert len(list(tmp_path.glob("attempt-*"))) == 2  # the first attempt and one retry
    with Journal(tmp_path / "ray.sqlite") as j:
        records = j.rows("records")
        assert j.done() == {u.key for u in units}
    failed = [r for r in records if r["status"] != "ok"]
    assert sorted(r["metric"] for r in failed) == sorted(victim.proxies)
    for r in failed:
        assert r["status"] == "error" and r["value"] is None and r["arch"] == victim.arch
        assert "injected failure in proxies unit" in r["message"] and "2 attempts" in r["message"]
        assert "\n" not in r["message"]
    assert len(records) == len(failed) + sum(len(u.proxies) for u in units if u is not victim)


def test_cuda_units_on_a_cluster_without_gpus_are_refused_before_any_work(cluster, tmp_path):
    spec = small_spec(archs=(ALL_CONV,), proxies=("params",), train_seeds=(), device="cuda")
    with pytest.raises(ValueError, match="GPU each but the Ray cluster has 0"):
        build(spec, tmp_path / "gpu.sqlite", RayExecutor(threads=1), progress=False)
    with Journal(tmp_path / "gpu.sqlite") as j:
        assert j.count("units") == 0 and j.count("records") == 0


def test_gpu_units_request_num_gpus_and_cpu_units_do_not(cluster):
    executor = RayExecutor(threads=2, num_gpus_per_unit=0.5)
    cpu, gpu = (plan(small_spec(archs=(ALL_CONV,), train_seeds=(), device=d))[0][0] for d in ("cpu", "cuda"))
    assert executor._options(cpu) == {"num_cpus": 2, "max_retries": 3, "retry_exceptions": True}
    assert executor._options(gpu)["num_gpus"] == 0.5
    with pytest.raises(ValueError, match="asks for 3 CPUs but the Ray cluster has 2"):
        list(RayExecutor(threads=3).map_unordered(len, ["ab"]))


# ---- archbench profile on Ray: the profiling evaluator runs on every executor ---------------------------
PROFILE_FLAGS = [
    "--batch",
    "1,2",
    "--resolution",
    "8",
    "--build-options",
    "C=4,N=1",
    "--metrics",
    "latency,memory",
]
PROFILE_FLAGS += ["--repeats", "3", "--min-run-time", "0.01", "--warmup", "1", "--quiet"]
MEASURED = "unit_key, row, arch, arch_id, metric, unit, fidelity, epoch, seed, device, protocol_hash"


def test_archbench_profile_runs_on_ray_like_on_the_local_pool(cluster, tmp_path, capsys):
    from benchmarks.cli import main

    archs = tmp_path / "archs.txt"
    archs.write_text(f"{ALL_CONV}\n{MIXED}\n")
    outs = {}
    for executor in ("local", "ray"):
        outs[executor] = tmp_path / executor
        argv = [
            "profile",
            "--archs",
            str(archs),
            *PROFILE_FLAGS,
            "--executor",
            executor,
            "--out",
            str(outs[executor]),
        ]
        assert main(argv) == 0
        assert "4 units run, 0 already done" in capsys.readouterr().out
    assert main(argv) == 0  # a Ray profile run resumes like any other
    assert "0 units run, 4 already done" in capsys.readouterr().out
    ray_rows, local_rows = (rows_of(outs[e] / "journal.sqlite", MEASURED) for e in ("ray", "local"))
    assert ray_rows == local_rows and len(ray_rows) == 4 * 6
    with Journal(outs["ray"] / "journal.sqlite") as j:
        statuses = {r["status"] for r in j.rows("records")}
        assert statuses == {"ok"} and "RayExecutor" in j.sessions()[0]["runner"]


def test_a_profile_unit_failing_every_attempt_on_ray_becomes_error_records(cluster, tmp_path):
    from benchmarks.profile_table import plan as profile_plan
    from benchmarks.profile_table import profile_table
    from hw_profiles.protocol import MeasurementProtocol

    protocol = MeasurementProtocol(
        task="cifar10", resolution=8, build={"C": 4, "N": 1}, metrics=("latency",), warmup=1, repeats=3
    )
    units = profile_plan("nb201", (ALL_CONV, MIXED), protocol, "label")[0]
    victim = units[0]
    wrapper = functools.partial(always_raise, marker_dir=str(tmp_path), victim=victim.key)
    executor = WrappedRayExecutor(wrapper, threads=1, max_retries=0)
    result = profile_table("nb201", (ALL_CONV, MIXED), protocol, tmp_path / "run", executor, progress=False)
    assert (result.total, result.ran) == (2, 2)
    with Journal(tmp_path / "run" / "journal.sqlite") as j:
        failed = [r for r in j.rows("records") if r["status"] != "ok"]
    assert sorted(r["metric"] for r in failed) == sorted(
        ["latency_b1", "latency_iqr_b1", "latency_p90_b1", "latency_cv_b1", "latency_runs_b1"]
    )
    assert all(
        r["arch"] == victim.arch and "injected failure in profile unit" in r["message"] for r in failed
    )


def rows_of(journal: Path, columns: str) -> list[tuple]:
    with sqlite3.connect(journal) as db:
        return db.execute(f"SELECT {columns} FROM records ORDER BY unit_key, row").fetchall()
