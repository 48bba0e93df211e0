"""A Vision Transformer space over timm's ``VisionTransformer`` with per-layer heterogeneity.

The choices follow AutoFormer's Tiny supernet (Chen et al., "AutoFormer: Searching Transformers for
Visual Recognition", ICCV 2021, Table 1): embedding dimension {192, 216, 240}, depth {12, 13, 14},
and per layer heads {3, 4} and MLP ratio {3.5, 4}; patch size {8, 16, 32} is added (timm's ViT
family). Blocks are timm's own (``timm.models.vision_transformer.Block``: pre-norm LayerNorm with
eps 1e-6, qkv bias, GELU), so a head's width is the embedding dimension over the layer's heads, and
``VIT_TINY`` (patch 16, dim 192, 12 layers of 3 heads and ratio 4) has exactly the parameters of
timm's ``vit_tiny_patch16_224`` (5,717,416; Touvron et al., DeiT-Ti, ICML 2021).

Strings: ``p<patch>d<dim>/<layer>-<layer>-...``, a layer ``h<heads>m<mlp ratio>`` (see
:mod:`spaces.config`). Build options: ``img_size`` (224; the position-embedding grid). Networks take
any input side (timm's ``dynamic_img_size`` interpolates the position embeddings and
``dynamic_img_pad`` pads to a whole number of patches), so tiny 8-px test builds run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spaces.base import ParamFact, SpaceCard, SpaceFixtures, Task
from spaces.config import Config, ConfigSpace, ConfigSpec, Dim, Group, check_options
from spaces.tasks import get_task

if TYPE_CHECKING:
    import torch.nn as nn

SPEC = ConfigSpec(
    dims=(Dim("p", "patch", (8, 16, 32)), Dim("d", "dim", (192, 216, 240))),
    groups=(Group("layers", (12, 13, 14), (Dim("h", "heads", (3, 4)), Dim("m", "mlp_ratio", (3.5, 4)))),),
)
VIT_TINY = "p16d192/" + "-".join(["h3m4"] * 12)
"""ViT-Ti/16 (timm ``vit_tiny_patch16_224``) as a point of the space."""

FIXTURES = SpaceFixtures(
    archs=(
        VIT_TINY,
        "p8d216/" + "-".join(["h4m3.5", "h3m4"] * 6 + ["h4m4"]),
        "p32d240/" + "-".join(["h3m3.5"] * 7 + ["h4m4"] * 7),
    ),
    build=(("img_size", 32),),
    task="mnist5k",
    resolution=8,
)
FACTS = (
    ParamFact(VIT_TINY, "imagenet", (), 5717416, "timm vit_tiny_patch16_224 (random init); DeiT-Ti: 5.7 M"),
)


class ViTSpace(ConfigSpace):
    """ViT configurations: patch size, embedding dimension, depth, per-layer heads and MLP ratio."""

    name = "vit"
    version = "1.0"
    spec = SPEC
    card = SpaceCard(
        num_archs=SPEC.size,
        num_unique=SPEC.size,
        ops=("attention", "mlp", "layernorm", "gelu"),
        encoding="patch, dim; depth, then per layer slot heads and MLP ratio",
        paper="Chen et al., AutoFormer, ICCV 2021 (arXiv:2107.00651); Dosovitskiy et al., ViT, ICLR 2021",
        fixtures=FIXTURES,
        facts=FACTS,
        source="timm VisionTransformer + Block",
    )

    def build(self, arch: Any, task: Task | str, **options: Any) -> nn.Module:
        """timm's ``VisionTransformer`` with one ``Block`` per layer (option ``img_size`` = 224)."""
        check_options(self.name, options, ("img_size",))
        task = get_task(task)
        self.task_input(task)
        return build_vit(self.config(arch), task, int(options.get("img_size", 224)))


def build_vit(config: Config, task: Task, img_size: int = 224) -> nn.Module:
    """A class-token ViT whose layer ``i`` has the configuration's heads and MLP ratio."""
    from functools import partial

    import torch
    from timm.models.vision_transformer import Block, VisionTransformer

    patch = int(config.values["patch"])
    if img_size < patch:
        raise ValueError(f"vit img_size must be at least the patch size {patch}, got {img_size}")
    layers = config.layers()
    dim = int(config.values["dim"])
    model = VisionTransformer(
        img_size=img_size,
        patch_size=patch,
        in_chans=task.in_channels,
        num_classes=task.num_classes,
        embed_dim=dim,
        depth=len(layers),
        num_heads=int(layers[0]["heads"]),
        mlp_ratio=float(layers[0]["mlp_ratio"]),
        qkv_bias=True,
        dynamic_img_size=True,
        dynamic_img_pad=True,
    )
    norm = type(model.norm)
    eps = model.norm.eps
    model.blocks = torch.nn.Sequential(
        *(
            Block(
                dim,
                num_heads=int(layer["heads"]),
                mlp_ratio=float(layer["mlp_ratio"]),
                qkv_bias=True,
                norm_layer=partial(norm, eps=eps),
            )
            for layer in layers
        )
    )
    model.init_weights()  # timm's initialisation over the replaced blocks too
    return model
