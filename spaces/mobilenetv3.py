"""An OFA-like MobileNetV3 space over timm's ``MobileNetV3`` (Cai et al., "Once-for-All", ICLR 2020).

The skeleton is MobileNetV3-Large's (Howard et al., "Searching for MobileNetV3", ICCV 2019, Table 1,
as timm's ``_gen_mobilenet_v3`` writes it): a 16-channel stem, a depthwise-separable block, five
searchable inverted-residual stages (24, 40, 80, 112, 160 channels; first-block strides 2, 2, 2, 1, 2;
squeeze-excite in stages 2, 4, 5; ReLU in stages 1-2 and hard-swish after), a 960-channel 1x1 conv and
a 1280-feature head. As in OFA, each stage has 2, 3 or 4 blocks, each block a kernel size of 3, 5 or
7, and the input a resolution of 128, 160, 192 or 224. Expansion ratios are OFA's {3, 4, 6} plus
MobileNetV3-Large's own 2.3 and 2.5, so the hand-designed network is a point of the space:
``MOBILENETV3_LARGE`` has exactly the parameters of timm's ``mobilenetv3_large_100`` (5,483,032).

Strings: ``r<resolution>/<stage 1>/.../<stage 5>``, a stage's blocks ``k<kernel>e<expansion>`` joined
by ``-`` (see :mod:`spaces.config`). The network resizes its input to the architecture's resolution
(bilinear) unless built with ``resize=False`` (tiny test builds); ``width`` is timm's channel multiplier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spaces.base import ParamFact, SpaceCard, SpaceFixtures, Task
from spaces.config import Config, ConfigSpace, ConfigSpec, Dim, Group, check_options
from spaces.tasks import get_task

if TYPE_CHECKING:
    import torch.nn as nn

STAGES = (
    # (channels, first stride, squeeze-excite, ReLU instead of hard-swish): MobileNetV3-Large stages 1-5
    (24, 2, False, True),
    (40, 2, True, True),
    (80, 2, False, False),
    (112, 1, True, False),
    (160, 2, True, False),
)
KERNELS = (3, 5, 7)
EXPANSIONS = (2.3, 2.5, 3, 4, 6)
RESOLUTIONS = (128, 160, 192, 224)
DEPTHS = (2, 3, 4)

SPEC = ConfigSpec(
    dims=(Dim("r", "resolution", RESOLUTIONS),),
    groups=tuple(
        Group(f"stage{i + 1}", DEPTHS, (Dim("k", "kernel", KERNELS), Dim("e", "expansion", EXPANSIONS)))
        for i in range(len(STAGES))
    ),
)
MOBILENETV3_LARGE = "r224/k3e4-k3e3/k5e3-k5e3-k5e3/k3e6-k3e2.5-k3e2.3-k3e2.3/k3e6-k3e6/k5e6-k5e6-k5e6"
"""MobileNetV3-Large as a point of the space (timm ``mobilenetv3_large_100``)."""

FIXTURES = SpaceFixtures(
    archs=(
        MOBILENETV3_LARGE,
        "r128/k7e6-k7e6/k3e3-k5e4/k7e3-k3e2.3/k5e4-k5e6-k3e3-k7e2.5/k3e3-k3e3",
        "r160/k5e2.5-k3e4-k7e6-k5e3/k3e3-k3e3-k3e3-k3e3/k5e6-k5e6-k5e6/k3e4-k3e4/k7e2.3-k7e6-k5e6-k3e4",
    ),
    build=(("width", 0.25), ("resize", False)),
    task="mnist5k",
    resolution=8,
)
FACTS = (
    ParamFact(
        MOBILENETV3_LARGE,
        "imagenet",
        (),
        5483032,
        "timm mobilenetv3_large_100 (random init); Howard et al. ICCV 2019 report 5.4 M",
    ),
)


class MobileNetV3Space(ConfigSpace):
    """OFA-like MobileNetV3: per-stage depth, per-block kernel and expansion, input resolution."""

    name = "mobilenetv3"
    version = "1.0"
    spec = SPEC
    card = SpaceCard(
        num_archs=SPEC.size,
        num_unique=SPEC.size,
        ops=tuple(f"k{k}e{e}" for k in KERNELS for e in EXPANSIONS),
        encoding="resolution; per stage: depth, then per block slot kernel and expansion",
        paper="Cai et al., Once-for-All, ICLR 2020 (arXiv:1908.09791); Howard et al., MobileNetV3, ICCV 2019",
        fixtures=FIXTURES,
        facts=FACTS,
        source="timm MobileNetV3 (mobilenetv3_large_100 skeleton)",
    )

    def build(self, arch: Any, task: Task | str, **options: Any) -> nn.Module:
        """timm's ``MobileNetV3`` for the configuration (options: ``width`` = 1.0, ``resize`` = True)."""
        check_options(self.name, options, ("width", "resize"))
        task = get_task(task)
        self.task_input(task)
        width, resize = float(options.get("width", 1.0)), bool(options.get("resize", True))
        return build_mobilenetv3(self.config(arch), task, width, resize)


def arch_def(config: Config) -> list[list[str]]:
    """timm's ``arch_def`` block strings of a configuration (decoded by ``decode_arch_def``)."""
    stages = [["ds_r1_k3_s1_e1_c16_nre"]]
    for (channels, stride, se, relu), blocks in zip(STAGES, config.groups):
        stage = []
        for i, block in enumerate(blocks):
            text = f"ir_r1_k{block['kernel']}_s{stride if i == 0 else 1}_e{block['expansion']}_c{channels}"
            stage.append(text + ("_se0.25" if se else "") + ("_nre" if relu else ""))
        stages.append(stage)
    stages.append(["cn_r1_k1_s1_c960"])
    return stages


def build_mobilenetv3(config: Config, task: Task, width: float = 1.0, resize: bool = True) -> nn.Module:
    """The network, with the keyword arguments timm's ``_gen_mobilenet_v3`` gives ``mobilenetv3_large_*``."""
    from functools import partial

    import torch.nn as nn
    from timm.layers import get_act_layer
    from timm.models._efficientnet_blocks import SqueezeExcite
    from timm.models._efficientnet_builder import decode_arch_def, round_channels
    from timm.models.mobilenetv3 import MobileNetV3

    if not 0 < width <= 4:
        raise ValueError(f"mobilenetv3 width must be in (0, 4], got {width}")
    model = MobileNetV3(
        block_args=decode_arch_def(arch_def(config)),
        num_classes=task.num_classes,
        in_chans=task.in_channels,
        num_features=1280,
        stem_size=16,
        fix_stem=width < 0.75,
        round_chs_fn=partial(round_channels, multiplier=width),
        norm_layer=nn.BatchNorm2d,
        act_layer=get_act_layer("hard_swish"),
        se_layer=partial(
            SqueezeExcite, gate_layer="hard_sigmoid", force_act_layer=nn.ReLU, rd_round_fn=round_channels
        ),
    )
    if not resize:
        return model
    from spaces.nets import Resized

    return Resized(model, int(config.values["resolution"]))
