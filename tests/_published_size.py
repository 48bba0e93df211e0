"""The published-size NB201 setting the proxy benchmarks share (imported explicitly, not a conftest)."""

from __future__ import annotations

import pytest

import proxies

PROTOCOL = proxies.Protocol(task="mnist5k", batch_size=64, resolution=32, build={"C": 16, "N": 5})
"""The published network (C=16, N=5) on 32x32 inputs at batch 64, as NASLib's zero-cost runs use."""

NASLIB_13 = (
    "synflow", "jacob_cov", "snip", "grad_norm", "grasp", "fisher", "nwot",
    "plain", "l2_norm", "params", "flops", "epe_nas", "zen",
)  # fmt: skip
"""The zero-cost proxies NASLib implements, in the comparison with NASLib's own code."""


@pytest.fixture(scope="module", autouse=True)
def two_threads():
    """Two torch threads for the module (the machine's cores; NASLib's code was timed the same way)."""
    from conftest import torch_threads

    with torch_threads(2):
        yield


_PEAK_SCRIPT = """
import sys, torch


def peak_mb():  # VmHWM: this process's own high-water mark; ru_maxrss would start at the parent's at fork
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


torch.set_num_threads(2)
after_import = peak_mb()
import proxies, spaces
from proxies.base import list_proxies
from proxies.runner import score_architecture
nb201 = spaces.get("nb201")
names = list_proxies() if sys.argv[2] == "all" else sys.argv[2].split(",")
protocol = proxies.Protocol(task="mnist5k", batch_size=64, resolution=32, build={"C": 16, "N": 5})
score_architecture(nb201, nb201.parse(sys.argv[1]), names, protocol, 0)
print(after_import, peak_mb())
"""


def peak_rss_mb(arch: str, names: str) -> tuple[float, float]:
    """``(after import torch, peak)`` RSS in MB of a fresh interpreter scoring ``arch`` with ``names``
    (comma-separated, or ``all``) under :data:`PROTOCOL`."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, arch, names], capture_output=True, text=True, check=True
    )
    after_import, peak = map(float, out.stdout.split()[-2:])
    return after_import, peak
