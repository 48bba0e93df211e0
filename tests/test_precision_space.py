"""The mixed-precision wrapper (FLIQS, Dotzel et al., AutoML 2024): format letters by layer group,
fake-quantised layers with straight-through gradients, model_bytes, and an all-fp32 string that is
bit-identical to the base space."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import spaces
from proxies.cost import count_model_bytes, count_params
from proxies.protocol import Protocol
from proxies.runner import score_architecture
from spaces.precision import FORMATS, group_of, layer_format, quantisable_layers
from spaces.precision_ops import INT8_LEVEL, int8_input, int8_weight, set_format, to_bf16

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CELL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
TINY = Protocol(task="mnist5k", batch_size=8, resolution=8, build={"C": 4, "N": 1})
PROXIES = [
    "params",
    "flops",
    "synflow",
    "snip",
    "grad_norm",
    "grasp",
    "fisher",
    "jacob_cov",
    "nwot",
    "grad_sign",
]


@pytest.fixture(scope="module")
def mp():
    return spaces.get("mp-nb201")


@given(layers=st.integers(1, 300), groups=st.integers(1, 16))
def test_groups_are_consecutive_and_near_equal(layers, groups):
    assigned = [group_of(j, layers, groups) for j in range(layers)]
    assert assigned == sorted(assigned) and assigned[0] == 0 and assigned[-1] < groups
    sizes = np.bincount(assigned, minlength=groups)
    assert sizes.max() - sizes.min() <= 1 if layers >= groups else sizes.max() == 1


def test_letters_govern_their_layer_groups(mp):
    letters = "fbifbifb"
    model = mp.build(mp.parse(f"{CELL}@{letters}"), "mnist5k", C=4, N=1)
    layers = quantisable_layers(model)
    assert len(layers) > mp.groups
    for j, layer in enumerate(layers):
        assert layer_format(layer) == FORMATS[letters[group_of(j, len(layers), mp.groups)]]
        assert isinstance(layer, nn.Conv2d | nn.Linear)  # proxies still see Conv2d/Linear layers


def test_all_fp32_is_bit_identical_to_the_base_space(mp):
    nb201 = spaces.get("nb201")
    base = {s.proxy: s.value for s in score_architecture(nb201, nb201.parse(CELL), PROXIES, TINY, 0)}
    wrapped = score_architecture(mp, mp.parse(f"{CELL}@{'f' * mp.groups}"), PROXIES, TINY, 0)
    assert {s.proxy: s.value for s in wrapped} == base


def test_int8_changes_the_gradient_proxies_and_they_stay_finite(mp):
    fp32 = {
        s.proxy: s for s in score_architecture(mp, mp.parse(f"{CELL}@{'f' * mp.groups}"), PROXIES, TINY, 0)
    }
    int8 = {
        s.proxy: s for s in score_architecture(mp, mp.parse(f"{CELL}@{'i' * mp.groups}"), PROXIES, TINY, 0)
    }
    assert all(s.status == "ok" and math.isfinite(s.value) for s in int8.values()), int8
    assert int8["params"].value == fp32["params"].value and int8["flops"].value == fp32["flops"].value
    assert int8["snip"].value != fp32["snip"].value and int8["synflow"].value != fp32["synflow"].value


def test_bf16_layer_computes_on_bfloat16_rounded_weight_and_input():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 5, 3, padding=1)
    reference = nn.Conv2d(3, 5, 3, padding=1)
    reference.load_state_dict(conv.state_dict())
    set_format(conv, "bf16")
    x = torch.randn(2, 3, 6, 6)
    rounded_w = reference.weight.detach().to(torch.bfloat16).float()
    expected = F.conv2d(x.to(torch.bfloat16).float(), rounded_w, reference.bias, padding=1)
    assert torch.equal(conv(x), expected)


def test_int8_weight_uses_at_most_255_levels_per_channel_and_keeps_the_extremes():
    w = torch.randn(6, 4, 3, 3, dtype=torch.float64)
    q = int8_weight(w)
    for c in range(6):
        scale = w[c].abs().max() / INT8_LEVEL
        levels = torch.unique(torch.round(q[c] / scale))
        assert len(levels) <= 2 * INT8_LEVEL + 1 and levels.abs().max() <= INT8_LEVEL
        assert torch.allclose(q[c].abs().max(), w[c].abs().max())
        assert (q[c] - w[c]).abs().max() <= scale / 2 + 1e-12  # round to nearest
    assert torch.equal(int8_input(torch.zeros(3, 4)), torch.zeros(3, 4))  # no scale from an all-zero input


def test_straight_through_gradient_is_the_plain_layers_at_the_rounded_input():
    torch.manual_seed(1)
    layer = nn.Linear(7, 3)
    set_format(layer, "int8")
    x = torch.randn(5, 7)
    layer(x).pow(2).sum().backward()
    w = int8_weight(layer.weight.detach()).requires_grad_(True)
    F.linear(int8_input(x), w, layer.bias.detach()).pow(2).sum().backward()
    torch.testing.assert_close(layer.weight.grad, w.grad)
    x2 = torch.randn(4, 3, requires_grad=True)
    to_bf16(x2).sum().backward()
    assert torch.equal(x2.grad, torch.ones_like(x2))


def test_model_bytes_by_format_against_a_walk_over_named_parameters(mp):
    nb201 = spaces.get("nb201")
    plain = nb201.build(nb201.parse(CELL), "mnist5k", C=4, N=1)
    assert count_model_bytes(plain) == 4 * count_params(plain)
    for letter, width in (("b", 2), ("i", 1)):
        model = mp.build(mp.parse(f"{CELL}@{letter * mp.groups}"), "mnist5k", C=4, N=1)
        modules = dict(model.named_modules())
        expected = 0
        for name, p in model.named_parameters():
            owner = modules[name.rpartition(".")[0]]
            if name.endswith("weight") and isinstance(owner, nn.Conv2d | nn.Linear):
                expected += width * p.numel() + (4 * p.shape[0] if letter == "i" else 0)
            else:
                expected += 4 * p.numel()
        assert count_model_bytes(model) == expected < 4 * count_params(model)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (CELL, "no '@' before the 8 format letters"),
        (f"{CELL}@fff", r"need 8 letters of f \(fp32\), b \(bf16\), i \(int8\)"),
        (f"{CELL}@ffffffxf", "need 8 letters"),
        ("|bogus~0|@ffffffff", "malformed NB201 string"),
    ],
)
def test_bad_strings_are_one_line_errors(mp, text, message):
    with pytest.raises(ValueError, match=message) as info:
        mp.parse(text)
    assert "\n" not in str(info.value)


def test_set_format_refuses_unknown_formats_and_layer_types():
    with pytest.raises(ValueError, match="unknown numeric format 'fp8'"):
        set_format(nn.Linear(2, 2), "fp8")
    with pytest.raises(TypeError, match="cannot quantise a Conv1d"):
        set_format(nn.Conv1d(2, 2, 1), "int8")


def test_the_quantised_build_runs_int8_and_bf16_kernels_close_to_the_float_network(mp):
    """quantised=True: int8 layers are torch.ao int8 modules, bf16 layers compute in bfloat16, fp32 ones stay;
    the logits follow the float network's (static calibration on noise, so not bit-equal)."""
    from torch.ao.nn import quantized as nnq

    from spaces.precision_deploy import Bfloat16Layer

    arch = mp.parse(f"{CELL}@iiiibbff")
    torch.manual_seed(0)
    q = mp.build(arch, "mnist5k", quantised=True, C=4, N=1)
    torch.manual_seed(0)  # the same weights
    fake = mp.build(arch, "mnist5k", C=4, N=1).eval()
    kinds = [type(m) for m in q.modules()]
    assert any(issubclass(k, nnq.Conv2d) for k in kinds) and Bfloat16Layer in kinds
    assert any(k is nn.Conv2d for k in kinds) or any(k is nn.Linear for k in kinds)  # the fp32 group
    x = torch.randn(16, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        a, b = q(x).flatten(), fake(x).flatten()
    assert torch.corrcoef(torch.stack([a, b]))[0, 1] > 0.99 and not torch.equal(a, b)


def test_quantised_int8_weights_take_about_a_quarter_of_the_storage(mp):
    import io

    def saved(model):
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        return len(buffer.getvalue())

    nb201 = spaces.get("nb201")
    float_net = nb201.build(nb201.parse(CELL), "mnist5k", C=16, N=5)
    int8_net = mp.build(mp.parse(f"{CELL}@{'i' * mp.groups}"), "mnist5k", quantised=True, C=16, N=5)
    fake = mp.build(mp.parse(f"{CELL}@{'i' * mp.groups}"), "mnist5k", C=16, N=5)
    assert saved(int8_net) < 0.4 * saved(float_net)
    assert count_model_bytes(fake) == pytest.approx(
        saved(int8_net), rel=0.35
    )  # the estimate, within overheads
    with pytest.raises(ValueError, match="quantised must be true or false"):
        mp.build(mp.parse(f"{CELL}@{'i' * mp.groups}"), "mnist5k", quantised="yes", C=4, N=1)


def test_the_profiler_times_the_really_quantised_network(tmp_path, capsys):
    """``archbench profile --build-options ...,quantised=1`` measures the torch.ao network (CPU latency)."""
    from benchmarks.cli import main
    from benchmarks.storage.table import open_table

    archs = tmp_path / "archs.txt"
    archs.write_text(f"{CELL}@iiiibbff\n")
    args = ["profile", "--space", "mp-nb201", "--archs", str(archs), "--task", "mnist5k"]
    assert main([*args, "--build-options", "C=4,N=1,quantised=1", "--out", str(tmp_path / "p")]) == 0
    records = open_table(tmp_path / "p" / "table").records
    latency = records[records["metric"] == "latency_b1"]
    assert len(latency) == 1 and latency["status"].iloc[0] == "ok" and latency["value"].iloc[0] > 0
    capsys.readouterr()
