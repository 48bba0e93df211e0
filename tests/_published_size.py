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
