"""FBNet's lookup-table latency model (FBNet's own method: Wu et al., CVPR 2019, Sec. 3.2): the blocks
compose the network, every LUT entry is measured, and a prediction is the sum of its blocks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import spaces
from hw_profiles.lut import profile_lut
from hw_profiles.protocol import MeasurementProtocol
from spaces.fbnet import BLOCKS

FBNET = spaces.get("fbnet")
PROTOCOL = MeasurementProtocol(
    task="cifar10",
    batch_sizes=(1,),
    resolution=16,
    build={"width": 0.25},
    warmup=1,
    repeats=3,
    min_run_time=0.002,
    metrics=("latency",),
)


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("width", [0.25, 1.0])
def test_blocks_compose_the_network(seed: int, width: float) -> None:
    """Independent route: the blocks' parameters add up to the built network's, and a block's module
    maps its input shape to the next block's."""
    arch = FBNET.sample(np.random.default_rng(seed))
    (group,) = FBNET.blocks(arch, "cifar10", 32, width=width)
    assert group.repeat == 1 and len(group.uses) == 22 + 3
    assert [u.position for u in group.uses] == [None, *range(22), None, None]
    total = sum(_params(FBNET.block_module(u.block)) for u in group.uses)
    assert total == _params(FBNET.build(arch, "cifar10", width=width))
    x = torch.zeros(1, 3, 32, 32)
    for use in group.uses[:-1]:
        b = use.block
        assert x.shape[1:] == (b.c_in, b.resolution, b.resolution), b.key
        x = FBNET.block_module(b).eval()(x)


def test_block_set_holds_every_candidate_at_every_layer_shape() -> None:
    blocks = FBNET.block_set("cifar10", 32, width=0.25)
    keys = {b.key for b in blocks}
    assert len(keys) == len(blocks)
    for arch in (FBNET.sample(np.random.default_rng(s)) for s in range(5)):
        (group,) = FBNET.blocks(arch, "cifar10", 32, width=0.25)
        assert {u.block.key for u in group.uses} <= keys
    layer_shapes = {(b.c_in, b.c_out, b.resolution, b.stride) for b in blocks if b.kind == "layer"}
    assert len([b for b in blocks if b.kind == "layer"]) == len(BLOCKS) * len(layer_shapes)


def test_profile_lut_measures_fbnet_and_predicts_the_sum_of_an_architectures_blocks() -> None:
    lut = profile_lut(PROTOCOL, space="fbnet")
    assert len(lut.rows) == len(FBNET.block_set("cifar10", 16, width=0.25))
    assert all(r["latency_ms"] > 0 for r in lut.rows)
    arch = FBNET.sample(np.random.default_rng(4))
    (group,) = lut.blocks(arch)
    assert lut.raw(arch, 1) == pytest.approx(sum(lut.latency(u.block.key, 1) for u in group.uses))
    heavy = FBNET.parse(",".join(["k5_e6"] * 22))
    light = FBNET.parse(",".join(["skip"] * 22))
    assert lut.raw(heavy, 1) > 2 * lut.raw(light, 1)
