"""Model-config spaces (MobileNetV3, ViT): published points checked against timm's own models, and the
generic configuration machinery (strings, sizes, sampling, neighbours, encodings) on a tiny spec."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import spaces
from spaces.config import Config, ConfigSpace, ConfigSpec, Dim, Group

timm = pytest.importorskip("timm", reason="the model spaces need the 'spaces' extra (timm)")


def _params(model) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("space", "arch", "timm_name", "published"),
    [
        ("mobilenetv3", "MOBILENETV3_LARGE", "mobilenetv3_large_100", 5_483_032),
        ("vit", "VIT_TINY", "vit_tiny_patch16_224", 5_717_416),
    ],
)
def test_a_point_is_timms_model(space: str, arch: str, timm_name: str, published: int) -> None:
    import importlib

    import torch

    s = spaces.get(space)
    text = getattr(importlib.import_module(f"spaces.{space}"), arch)
    with torch.random.fork_rng(devices=[]):
        ours = s.build(s.parse(text), "imagenet")
        theirs = timm.create_model(timm_name, pretrained=False)
    assert _params(ours) == _params(theirs) == published
    # same layers in the same order, not only the same total
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]


def test_mobilenetv3_resolution_is_part_of_the_architecture() -> None:
    import torch

    s = spaces.get("mobilenetv3")
    seen: list[tuple[int, ...]] = []
    arch = s.parse("r128/k3e3-k3e3/k3e3-k3e3/k3e3-k3e3/k3e3-k3e3/k3e3-k3e3")
    model = s.build(arch, "mnist5k", width=0.25).eval()
    model.net.conv_stem.register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape)))
    with torch.no_grad():
        assert model(torch.zeros(1, 1, 28, 28)).shape == (1, 10)
    assert seen == [(1, 1, 128, 128)]
    with pytest.raises(TypeError, match=r"unknown build options for mobilenetv3: \['C'\]"):
        s.build(arch, "mnist5k", C=4)


def test_vit_layers_are_heterogeneous() -> None:
    s = spaces.get("vit")
    arch = s.parse("p32d240/" + "-".join(["h3m3.5", "h4m4"] * 6 + ["h4m3.5"]))
    model = s.build(arch, "cifar10", img_size=32)
    assert [b.attn.num_heads for b in model.blocks] == [3, 4] * 6 + [4]
    assert [b.mlp.fc1.out_features for b in model.blocks] == [840, 960] * 6 + [840]
    with pytest.raises(ValueError, match="img_size must be at least the patch size 32, got 16"):
        s.build(arch, "cifar10", img_size=16)


# ---- the generic configuration machinery, on a space small enough to enumerate ------------------------
class Tiny(ConfigSpace):
    name, version = "zz_tiny_config", "1"
    spec = ConfigSpec(
        dims=(Dim("w", "width", (8, 16)),),
        groups=(
            Group("a", (1, 2), (Dim("k", "kernel", (3, 5)), Dim("e", "ratio", (2.5, 4)))),
            Group("b", (2,), (Dim("h", "heads", (1, 2, 3)),)),
        ),
    )
    card = spaces.SpaceCard(None, None, (), "test", "test")

    def build(self, arch, task, **options):
        raise NotImplementedError


def _all(space: Tiny) -> list[str]:
    out = []
    for w in (8, 16):
        for depth in (1, 2):
            for a in itertools.product(["k3e2.5", "k3e4", "k5e2.5", "k5e4"], repeat=depth):
                for b in itertools.product(["h1", "h2", "h3"], repeat=2):
                    out.append(f"w{w}/{'-'.join(a)}/{'-'.join(b)}")
    return out


def test_size_is_the_number_of_distinct_strings() -> None:
    tiny = Tiny()
    every = _all(tiny)
    assert tiny.spec.size == len(every) == 2 * (4 + 16) * 9 == 360
    assert {tiny.parse(s).string for s in every} == set(every)


def test_sampling_is_uniform_over_configurations() -> None:
    tiny = Tiny()
    rng = np.random.default_rng(0)
    draws = [tiny.sample(rng).string for _ in range(7200)]
    counts = np.array([draws.count(s) for s in _all(tiny)])
    assert counts.min() > 0  # every one of the 360 configurations is reached
    depth_two = sum(1 for s in draws if s.split("/")[1].count("-") == 1) / len(draws)
    assert abs(depth_two - 16 / 20) < 0.02  # depth drawn in proportion to its configurations


def test_neighbours_are_one_change_away() -> None:
    tiny = Tiny()
    arch = tiny.parse("w8/k3e4/h1-h2")
    found = {n.string for n in tiny.neighbors(arch)}
    expected = {"w16/k3e4/h1-h2", "w8/k5e4/h1-h2", "w8/k3e2.5/h1-h2"}
    expected |= {"w8/k3e4/h2-h2", "w8/k3e4/h3-h2", "w8/k3e4/h1-h1", "w8/k3e4/h1-h3"}
    expected |= {f"w8/k3e4-{t}/h1-h2" for t in ("k3e2.5", "k3e4", "k5e2.5", "k5e4")}
    assert found == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("w8/k3e4", "expected a global token and 2 '/'-separated group(s)"),
        ("w8/k3e4/h1", "group 'b' has 1 layers in 'w8/k3e4/h1' (valid: 2)"),
        ("w9/k3e4/h1-h1", "width '9' is not allowed (valid: 8, 16)"),
        (
            "w8/k3x4/h1-h1",
            "malformed zz_tiny_config token 'k3x4' in 'w8/k3x4/h1-h1' (expected k<kernel>e<ratio>)",
        ),
    ],
)
def test_bad_strings_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Tiny().parse(text)


def test_encodings_mark_unused_slots_as_zero() -> None:
    tiny = Tiny()
    short, full = tiny.parse("w8/k5e4/h3-h1"), tiny.parse("w8/k5e4-k3e2.5/h3-h1")
    # width(2) + depth a(2) + 2 slots x (kernel 2 + ratio 2) + depth b(1) + 2 slots x heads(3)
    assert tiny.encode(short, "onehot").tolist() == [1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0]
    assert tiny.encode(full, "values").tolist() == [8, 2, 5, 4, 3, 2.5, 2, 3, 1]
    assert tiny.graph(full).ops == ("input", "k5e4", "k3e2.5", "h3", "h1", "output")
    assert Config({"width": 8}, ((), ())).values == {"width": 8}
