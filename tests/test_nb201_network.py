"""Tests of the NAS-Bench-201 network (spaces/nb201_net.py, built through ``NB201Space.build``).

Published facts (Dong & Yang, ICLR 2020) at the default C=16, N=5: parameter counts and
multiply-accumulates (``proxies.cost.count_params`` / ``count_macs``) of the all-conv3x3 and all-none
cells on CIFAR-10, CIFAR-100 and ImageNet16-120; an independent MAC route through
``torch.utils.flop_counter``; closed-form params / MACs derived layer by layer; output shapes; the
constant output of degenerate cells; and ``build``'s option checking. Everything except the
published-fact tests runs at small C / N to stay fast.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

import spaces
from proxies.cost import count_macs, count_params
from spaces import UnknownNameError
from spaces.base import Task
from spaces.nb201 import OPS
from spaces.nb201_closed_form import nb201_macs, nb201_params
from spaces.tasks import get_task

ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
DEAD_OUTPUT = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|"

TASK_NAMES = ["cifar10", "cifar100", "imagenet16-120", "mnist5k"]
OPS6 = st.lists(st.sampled_from(OPS), min_size=6, max_size=6).map(tuple)


@pytest.fixture(scope="module")
def space():
    return spaces.get("nb201")


def input_shape(task_name: str, batch: int = 1) -> tuple[int, int, int, int]:
    task = get_task(task_name)
    return (batch, task.in_channels, task.resolution, task.resolution)


# ---- closed forms (spaces.nb201_closed_form) against published numbers ------------------------------

# At C=16, N=5 on CIFAR-10 (32x32) every stage has H*W*C*C equal to 262,144 (32*32*16*16 =
# 16*16*32*32 = 8*8*64*64), so one 3x3 conv edge costs 9 * 262,144 = 2,359,296 MACs per cell in
# every stage, and 3 stages x 5 cells make 15 * 2,359,296 = 35,389,440; a 1x1 edge costs
# 15 * 262,144 = 3,932,160. The all-none baseline 7,783,050 is stem 442,368 + two reductions
# 3,670,016 each + classifier 650.
#
# Parameters per conv edge per cell: 3x3: (9*16^2 + 2*16) + (9*32^2 + 2*32) + (9*64^2 + 2*64)
# = 2,336 + 9,280 + 36,992 = 48,608, x5 cells = 243,040; 1x1: (16^2 + 32) + (32^2 + 64) + (64^2 + 128)
# = 288 + 1,088 + 4,224 = 5,600, x5 cells = 28,000. The all-none baseline 73,306 is stem 464 +
# reductions 14,464 + 57,600 + last BN 128 + classifier 650.
BASE_MACS, MACS_3X3, MACS_1X1 = 7_783_050, 35_389_440, 3_932_160
BASE_PARAMS, PARAMS_3X3, PARAMS_1X1 = 73_306, 243_040, 28_000


def test_closed_forms_reproduce_published_numbers():
    conv, none = ("nor_conv_3x3",) * 6, ("none",) * 6
    assert nb201_params(conv, 16, 5, 10) == 1_531_546
    assert nb201_params(conv, 16, 5, 100) == 1_537_396
    assert nb201_params(none, 16, 5, 10) == BASE_PARAMS
    assert nb201_params(none, 16, 5, 100) == 79_156
    assert nb201_macs(conv, 16, 5, 32, 10) == 220_119_690
    assert nb201_macs(conv, 16, 5, 32, 100) == 220_125_540
    assert nb201_macs(conv, 16, 5, 16, 120) == 55_037_560
    assert nb201_macs(none, 16, 5, 32, 10) == BASE_MACS
    assert nb201_macs(none, 16, 5, 32, 100) == 7_788_900
    assert nb201_macs(none, 16, 5, 16, 120) == 1_953_400
    assert nb201_macs(("nor_conv_3x3",) + ("none",) * 5, 16, 5, 32, 10) - BASE_MACS == MACS_3X3
    assert nb201_macs(("nor_conv_1x1",) + ("none",) * 5, 16, 5, 32, 10) - BASE_MACS == MACS_1X1
    assert nb201_params(("nor_conv_1x1",) + ("none",) * 5, 16, 5, 10) - BASE_PARAMS == PARAMS_1X1


# ---- published facts at the default C=16, N=5 ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "task", "params", "macs"),
    [
        (ALL_CONV, "cifar10", 1_531_546, 220_119_690),
        (ALL_CONV, "cifar100", 1_537_396, 220_125_540),
        (ALL_CONV, "imagenet16-120", 1_531_546 - 650 + 7_800, 55_037_560),  # head 64*120+120
        (ALL_NONE, "cifar10", 73_306, 7_783_050),
        (ALL_NONE, "cifar100", 79_156, 7_788_900),
        (ALL_NONE, "imagenet16-120", 73_306 - 650 + 7_800, 1_953_400),
    ],
    ids=[
        "conv-cifar10",
        "conv-cifar100",
        "conv-imagenet16",
        "none-cifar10",
        "none-cifar100",
        "none-imagenet16",
    ],
)
def test_published_params_and_macs_at_default_size(space, text, task, params, macs):
    model = space.build(space.parse(text), task)  # defaults must be the published C=16, N=5
    assert count_params(model) == params
    assert count_macs(model, input_shape(task)) == macs


@settings(max_examples=10, deadline=None)
@given(ops=OPS6)
def test_cifar10_cost_is_linear_in_conv_edge_counts(space, ops):
    model = space.build(space.from_ops(ops), "cifar10")
    n3, n1 = ops.count("nor_conv_3x3"), ops.count("nor_conv_1x1")
    assert count_params(model) == BASE_PARAMS + n3 * PARAMS_3X3 + n1 * PARAMS_1X1
    assert count_macs(model, (1, 3, 32, 32)) == BASE_MACS + n3 * MACS_3X3 + n1 * MACS_1X1


@settings(max_examples=40, deadline=None)
@given(
    ops=OPS6,
    C=st.integers(1, 6),
    N=st.integers(0, 2),
    task=st.sampled_from(TASK_NAMES),
)
def test_small_networks_match_closed_forms(space, ops, C, N, task):
    t = get_task(task)
    model = space.build(space.from_ops(ops), task, C=C, N=N)
    assert count_params(model) == nb201_params(ops, C, N, t.num_classes, t.in_channels)
    assert count_macs(model, input_shape(task)) == nb201_macs(
        ops, C, N, t.resolution, t.num_classes, t.in_channels
    )


@pytest.mark.parametrize("task", TASK_NAMES)
@pytest.mark.parametrize("seed", [0, 1])
def test_count_macs_agrees_with_torch_flop_counter(space, task, seed):
    """Independent route: torch counts 2 FLOPs per MAC and no biases; NB201 convs have no bias,
    so the only bias elements are the classifier's ``num_classes``."""
    arch = space.sample(np.random.default_rng(seed))
    model = space.build(arch, task, C=4, N=1).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(input_shape(task)))
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    assert all(m.bias is None for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert count_macs(model, input_shape(task)) == flops // 2 + get_task(task).num_classes


def test_isomorphic_cells_still_differ_in_cost(space):
    """Cost metrics are per concrete architecture: a dead 3x3 conv still has parameters."""
    a = space.parse("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    b = space.parse("|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    assert a.arch_id == b.arch_id
    C, N = 4, 1
    delta = N * sum(9 * c * c + 2 * c for c in (C, 2 * C, 4 * C))
    assert (
        count_params(space.build(a, "cifar10", C=C, N=N)) - count_params(space.build(b, "cifar10", C=C, N=N))
        == delta
    )


# ---- forward behaviour ---------------------------------------------------------------------------


@pytest.mark.parametrize("task", TASK_NAMES)
def test_output_shape_is_batch_by_num_classes(space, task):
    model = space.build(space.parse(ALL_CONV), task, C=4, N=1)
    x = torch.randn(input_shape(task, batch=3), generator=torch.Generator().manual_seed(0))
    out = model(x)
    assert out.shape == (3, get_task(task).num_classes)
    assert torch.isfinite(out).all()


def test_build_accepts_a_task_object(space):
    task = Task("custom", num_classes=7, resolution=8, in_channels=2)
    model = space.build(space.parse(ALL_CONV), task, C=2, N=1)
    assert model(torch.zeros(2, 2, 8, 8)).shape == (2, 7)


def test_build_returns_fresh_modules(space):
    arch = space.parse(ALL_CONV)
    m1, m2 = space.build(arch, "cifar10", C=4, N=1), space.build(arch, "cifar10", C=4, N=1)
    assert m1 is not m2
    ids1 = {id(p) for p in m1.parameters()}
    assert all(id(p) not in ids1 for p in m2.parameters())


@pytest.mark.parametrize("text", [ALL_NONE, DEAD_OUTPUT])
def test_degenerate_network_output_ignores_input(space, text):
    arch = space.parse(text)
    assert space.is_degenerate(arch)
    model = space.build(arch, "cifar10", C=4, N=1).eval()
    gen = torch.Generator().manual_seed(0)
    x1, x2 = torch.randn(2, 3, 32, 32, generator=gen), torch.randn(2, 3, 32, 32, generator=gen)
    with torch.no_grad():
        y1, y2 = model(x1), model(x2)
    assert not torch.equal(x1, x2)
    assert torch.equal(y1, y2)


def test_live_network_output_depends_on_input(space):
    arch = space.parse(ALL_CONV)
    assert not space.is_degenerate(arch)
    model = space.build(arch, "cifar10", C=4, N=1).eval()
    gen = torch.Generator().manual_seed(0)
    x1, x2 = torch.randn(2, 3, 32, 32, generator=gen), torch.randn(2, 3, 32, 32, generator=gen)
    with torch.no_grad():
        assert not torch.allclose(model(x1), model(x2))


# ---- build options -----------------------------------------------------------------------------------


def test_build_rejects_unknown_options_naming_them(space):
    arch = space.parse(ALL_CONV)
    with pytest.raises(TypeError, match=r"unknown build options for nb201: \['depth', 'width'\]"):
        space.build(arch, "cifar10", width=2, depth=3)


@pytest.mark.parametrize(("C", "N"), [(0, 1), (-1, 1), (4, -1)])
def test_build_rejects_invalid_sizes(space, C, N):
    with pytest.raises(ValueError, match="nb201 needs C >= 1 and N >= 0"):
        space.build(space.parse(ALL_CONV), "cifar10", C=C, N=N)


def test_build_rejects_unknown_task(space):
    with pytest.raises(UnknownNameError, match="did you mean cifar10"):
        space.build(space.parse(ALL_CONV), "cifar-10", C=4, N=1)
