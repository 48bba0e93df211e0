"""A LLaMA decoder space with per-layer heads and MLP widths over ``transformers``' LLaMA.

In the spirit of LLaMA-NAS (Sarah et al., "LLaMA-NAS: Efficient Neural Architecture Search for Large
Language Models", arXiv:2405.18377, 2024), which searches per-layer attention heads and MLP widths of
LLaMA-2-7B (Touvron et al., arXiv:2307.09288): hidden size {2048, 3072, 4096}, layers {24, 28, 32},
and per layer heads {16, 24, 32} of size 128 and MLP intermediate size {5504, 8256, 11008} (1/2, 3/4
and all of LLaMA-2-7B's). Layers are ``LlamaDecoderLayer`` built from a per-layer copy of the config
(multi-head attention: as many key/value heads as heads); a language-modelling task gets
``LlamaForCausalLM``, a classification task ``LlamaForSequenceClassification`` (last non-padding
token). ``LLAMA2_7B`` built with LLaMA-2's 32,000 tokens has its 6,738,415,616 parameters; count it
with ``device="meta"`` (~27 GB in fp32 otherwise).

Strings: ``d<hidden>/<layer>-<layer>-...``, a layer ``h<heads>f<intermediate>`` (see
:mod:`spaces.config`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spaces.base import ParamFact, SpaceCard, SpaceFixtures, Task, TokenInput
from spaces.config import ConfigSpace, ConfigSpec, Dim, Group
from spaces.tasks import get_task
from spaces.text_models import PAD_ID, hf_wrapper, text_build, with_per_layer_configs

if TYPE_CHECKING:
    import torch.nn as nn

HEAD_DIM = 128
"""LLaMA-2's attention head size."""
SPEC = ConfigSpec(
    dims=(Dim("d", "hidden", (2048, 3072, 4096)),),
    groups=(
        Group(
            "layers",
            (24, 28, 32),
            (Dim("h", "heads", (16, 24, 32)), Dim("f", "intermediate", (5504, 8256, 11008))),
        ),
    ),
)
LLAMA2_7B = "d4096/" + "-".join(["h32f11008"] * 32)
"""LLaMA-2-7B as a point of the space."""

FIXTURES = SpaceFixtures(
    archs=(
        LLAMA2_7B,
        "d2048/" + "-".join(["h16f5504", "h24f8256", "h32f11008"] * 8),
        "d3072/" + "-".join(["h24f5504"] * 14 + ["h16f11008"] * 14),
    ),
    build=(("scale", 64),),
    task="shakespeare-lm",
)
FACTS = (
    ParamFact(
        LLAMA2_7B,
        "shakespeare-lm",
        (("vocab_size", 32000), ("max_positions", 4096), ("device", "meta")),
        6738415616,
        "LLaMA-2-7B as transformers' LlamaForCausalLM: 6,738,415,616 parameters",
    ),
)


class LlamaSpace(ConfigSpace):
    """LLaMA decoders: hidden size, depth, per-layer heads and MLP intermediate size."""

    name = "llama"
    version = "1.0"
    spec = SPEC
    inputs = (TokenInput,)
    card = SpaceCard(
        num_archs=SPEC.size,
        num_unique=SPEC.size,
        ops=("causal_attention", "rope", "swiglu_mlp", "rmsnorm"),
        encoding="hidden; depth, then per layer slot heads and MLP intermediate size",
        paper="Sarah et al., LLaMA-NAS, arXiv:2405.18377 (2024); Touvron et al., Llama 2, arXiv:2307.09288",
        fixtures=FIXTURES,
        facts=FACTS,
        source="transformers LlamaForCausalLM / LlamaDecoderLayer",
    )

    def build(self, arch: Any, task: Task | str, **options: Any) -> nn.Module:
        """The causal LM or sequence classifier (options in :mod:`spaces.text_models`)."""
        from transformers import LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification, LlamaModel
        from transformers.models.llama.modeling_llama import LlamaDecoderLayer

        task = get_task(task)
        self.task_input(task)
        opts = text_build(self.name, task, options)
        config = self.config(arch)
        layers = config.layers()
        head_dim = opts.width(HEAD_DIM, "head size")

        base = LlamaConfig(
            vocab_size=opts.vocab_size,
            hidden_size=opts.width(int(config.values["hidden"]), "hidden size"),
            num_hidden_layers=len(layers),
            num_attention_heads=1,  # set below: the constructor's check that heads divide hidden
            num_key_value_heads=1,  # does not apply with an explicit head_dim (LLaMA-NAS's 24 x 128)
            head_dim=head_dim,
            intermediate_size=opts.width(int(layers[0]["intermediate"]), "intermediate size"),
            max_position_embeddings=opts.max_positions,
            pad_token_id=PAD_ID,
            num_labels=task.num_classes,
            attn_implementation="eager",  # twice differentiable (GraSP), unlike fused SDPA
        )
        base.num_attention_heads = base.num_key_value_heads = int(layers[0]["heads"])
        cls = (
            LlamaModel
            if not opts.head
            else LlamaForCausalLM
            if opts.language_model
            else LlamaForSequenceClassification
        )
        model = with_per_layer_configs(
            lambda: cls(base),
            lambda m: (m if not opts.head else m.model).layers,
            LlamaDecoderLayer,
            base,
            [
                {
                    "num_attention_heads": int(layer["heads"]),
                    "num_key_value_heads": int(layer["heads"]),
                    "intermediate_size": opts.width(int(layer["intermediate"]), "intermediate size"),
                }
                for layer in layers
            ],
            opts.device,
        )
        return hf_wrapper(model, mask=True) if opts.head else model
