"""``archbench build`` executor options: bad combinations get one clear line, exit 2, nothing written."""

from __future__ import annotations

import pytest

from benchmarks.cli import main
from benchmarks.executors import LocalExecutor, available_cores, make_executor

BASE = ["build", "--sample", "1", "--proxies", "params"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--executor", "nope"], "unknown executor 'nope' (valid: local, ray)"),
        (["--address", "auto"], "--address applies to --executor ray only"),
        (["--num-gpus-per-unit", "0.5"], "--num-gpus-per-unit applies to --executor ray only"),
        (["--executor", "ray", "--workers", "2"], "--workers applies to --executor local"),
        (["--device", "tpu"], "unknown device kind 'tpu' (valid: cpu, cuda)"),
        (["--threads", "0"], "threads must be in [1, "),
    ],
)
def test_bad_executor_options(tmp_path, capsys, extra, message):
    assert main([*BASE, *extra, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_default_local_executor_fills_the_cores_with_single_threaded_workers():
    default = make_executor("local")
    assert (default.workers, default.threads) == (min(available_cores(), 8), 1)
    assert LocalExecutor(workers=1).threads == available_cores()  # one worker gets every core
    assert make_executor("local", workers=2, threads=None).workers == 2  # None keeps defaults
