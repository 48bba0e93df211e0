"""A BERT encoder space with per-layer heterogeneity over ``transformers``' ``BertModel``.

In the spirit of FlexiBERT (Tuli et al., "FlexiBERT: Are Current Transformer Architectures too
Homogeneous and Rigid?", JAIR 2023), layers differ from each other: each has its own number of
attention heads {4, 8, 12} and feed-forward ratio {2, 3, 4} (intermediate size = ratio x hidden), over
a shared hidden size {384, 576, 768} and 4-12 layers (even counts). Layers are ``transformers``'
``BertLayer`` built from a per-layer copy of the config; a classification task adds BERT's pooler,
dropout and a linear classifier (``BertForSequenceClassification``).

Strings: ``d<hidden>/<layer>-<layer>-...``, a layer ``h<heads>f<ff ratio>`` (see
:mod:`spaces.config`). ``BERT_BASE`` built bare (``head=False``: ``BertModel`` with its pooler) with
bert-base-uncased's 30,522 tokens and 512 positions has its 109,482,240 parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spaces.base import ParamFact, SpaceCard, SpaceFixtures, Task, TokenInput
from spaces.config import ConfigSpace, ConfigSpec, Dim, Group
from spaces.tasks import get_task
from spaces.text_models import PAD_ID, hf_wrapper, text_build, with_per_layer_configs

if TYPE_CHECKING:
    import torch.nn as nn

SPEC = ConfigSpec(
    dims=(Dim("d", "hidden", (384, 576, 768)),),
    groups=(
        Group("layers", (4, 6, 8, 10, 12), (Dim("h", "heads", (4, 8, 12)), Dim("f", "ff_ratio", (2, 3, 4)))),
    ),
)
BERT_BASE = "d768/" + "-".join(["h12f4"] * 12)
"""BERT-base (Devlin et al., NAACL 2019) as a point of the space."""

FIXTURES = SpaceFixtures(
    archs=(
        BERT_BASE,
        "d384/h4f2-h8f3-h12f4-h4f4",
        "d576/" + "-".join(["h8f2", "h12f3", "h4f4"] * 2),
    ),
    build=(("scale", 8),),
    task="rt-sentiment",
)
FACTS = (
    ParamFact(
        BERT_BASE,
        "rt-sentiment",
        (("vocab_size", 30522), ("max_positions", 512), ("head", False), ("device", "meta")),
        109482240,
        "bert-base-uncased as transformers' BertModel with its pooler: 109,482,240 parameters",
    ),
)


class BertSpace(ConfigSpace):
    """BERT encoders: hidden size, depth, per-layer heads and feed-forward ratio."""

    name = "bert"
    version = "1.0"
    spec = SPEC
    inputs = (TokenInput,)
    card = SpaceCard(
        num_archs=SPEC.size,
        num_unique=SPEC.size,
        ops=("attention", "feed_forward", "layernorm", "gelu"),
        encoding="hidden; depth, then per layer slot heads and feed-forward ratio",
        paper="Tuli et al., FlexiBERT, JAIR 2023 (arXiv:2205.11656); Devlin et al., BERT, NAACL 2019",
        fixtures=FIXTURES,
        facts=FACTS,
        source="transformers BertModel / BertLayer",
    )

    def build(self, arch: Any, task: Task | str, **options: Any) -> nn.Module:
        """``BertForSequenceClassification`` (or a bare ``BertModel`` with ``head=False``)."""
        from transformers import BertConfig, BertForSequenceClassification, BertModel
        from transformers.models.bert.modeling_bert import BertLayer

        task = get_task(task)
        self.task_input(task)
        if task.objective != "classification":
            raise ValueError(
                f"bert is an encoder: it takes classification tasks, not {task.objective} ({task.name})"
            )
        opts = text_build(self.name, task, options)
        config = self.config(arch)
        layers = config.layers()
        hidden = opts.width(int(config.values["hidden"]), "hidden size")
        base = BertConfig(
            vocab_size=opts.vocab_size,
            hidden_size=hidden,
            num_hidden_layers=len(layers),
            num_attention_heads=int(layers[0]["heads"]),
            intermediate_size=int(layers[0]["ff_ratio"]) * hidden,
            max_position_embeddings=opts.max_positions,
            pad_token_id=PAD_ID,
            num_labels=task.num_classes,
            attn_implementation="eager",  # twice differentiable (GraSP), unlike fused SDPA
        )
        model = with_per_layer_configs(
            lambda: BertForSequenceClassification(base) if opts.head else BertModel(base),
            lambda m: (m.bert if opts.head else m).encoder.layer,
            BertLayer,
            base,
            [
                {
                    "num_attention_heads": int(layer["heads"]),
                    "intermediate_size": int(layer["ff_ratio"]) * hidden,
                }
                for layer in layers
            ],
            opts.device,
        )
        return hf_wrapper(model, mask=True) if opts.head else model
