"""FBNet facts (spaces/fbnet*.py), checked against the paper by an independent route.

* FBNet-A, as Facebook's mobile-vision model zoo defines its 22 blocks (head 1504), built for 1000
  ImageNet classes at 224 px has 4.3M parameters and 249M multiply-accumulates, the paper's figures
  (Wu et al., CVPR 2019, Table 3), counted by forward hooks (``proxies.cost.count_macs``);
* the space is 22 layers x 9 blocks (Tables 1 and 2), and the macro-architecture's channels and strides
  are Table 1's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import spaces
from proxies.cost import count_macs
from spaces.base import Task
from spaces.fbnet import BLOCKS, FBNET_A, FBNetSpace
from spaces.fbnet_net import LAYERS

pytestmark = pytest.mark.usefixtures("one_torch_thread")
IMAGENET = Task("imagenet", num_classes=1000, resolution=224, in_channels=3)


@pytest.fixture(scope="module")
def space() -> FBNetSpace:
    return spaces.get("fbnet")


def test_fbnet_a_matches_the_papers_params_and_flops(space) -> None:
    model = space.build(space.parse(FBNET_A), IMAGENET, head=1504).eval()
    params = sum(p.numel() for p in model.parameters())
    assert round(params / 1e6, 1) == 4.3  # paper: 4.3M
    assert int(count_macs(model, (1, 3, 224, 224)) / 1e6) == 249  # paper: 249M FLOPs (multiply-accumulates)


def test_space_shape_is_the_papers(space) -> None:
    assert len(LAYERS) == 22 and len(BLOCKS) == 9 and "skip" in BLOCKS
    assert space.size == 9**22
    assert [c for c, s in LAYERS if s == 2] == [24, 32, 64, 184]  # Table 1: stride-2 stage starts
    assert sorted({c for c, _ in LAYERS}) == [16, 24, 32, 64, 112, 184, 352]


def test_blocks_and_skips_shape_the_network(space) -> None:
    arch = space.parse(",".join(["skip"] * 22))
    model = space.build(arch, "mnist5k", width=0.25)
    # skip is the identity unless the layer changes shape: then a 1x1 conv (6 of 22 layers: the 4 stride-2 ones, 64>112, 184>352)
    convs = [b for b in model.blocks if not isinstance(b, torch.nn.Identity)]
    assert len(convs) == 6
    out = model(torch.zeros(2, 1, 28, 28))
    assert out.shape == (2, 10)


def test_neighbours_encodings_and_errors(space) -> None:
    arch = space.parse(FBNET_A)
    assert len(space.neighbors(arch)) == 22 * 8
    assert all(
        np.abs(space.encode(n, "onehot") - space.encode(arch, "onehot")).sum() == 2
        for n in space.neighbors(arch)
    )
    assert space.graph(arch).num_nodes == 24
    with pytest.raises(ValueError, match="FBNet layer 3: unknown block 'k7_e6'"):
        space.parse(FBNET_A.replace("skip,skip", "k7_e6,skip", 1))
    with pytest.raises(ValueError, match="21 blocks, need 22"):
        space.parse(FBNET_A.rsplit(",", 1)[0])
    with pytest.raises(ValueError, match="width must be in"):
        space.build(arch, "mnist5k", width=0)
