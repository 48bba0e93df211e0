"""The HW-GPT-Bench "S" GPT space (Sukthanker et al., "HW-GPT-Bench", NeurIPS 2024 Datasets & Benchmarks).

Choices (the paper's GPT-2-small-sized supernet): embedding {192, 384, 768}, layers {10, 11, 12},
per layer heads {4, 8, 12} of size 64 and MLP ratio {2, 3, 4}, and bias on or off. Networks are
:class:`spaces.gpt_net.GPT` (GPT-2 layout, tied LM head; on a classification task the last
non-padding token's state feeds a linear head, as ``GPT2ForSequenceClassification``).

Strings: ``e<embed>b<bias 0|1>/<layer>-<layer>-...``, a layer ``h<heads>m<mlp ratio>`` (see
:mod:`spaces.config`). ``GPT2_SMALL`` (768 wide, 12 layers of 12 heads and ratio 4, bias on) built
with GPT-2's 50,257 tokens and 1,024 positions has GPT-2 small's 124,439,808 parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spaces.base import ParamFact, SpaceCard, SpaceFixtures, Task, TokenInput
from spaces.config import ConfigSpace, ConfigSpec, Dim, Group
from spaces.tasks import get_task
from spaces.text_models import text_build

if TYPE_CHECKING:
    import torch.nn as nn

HEAD_SIZE = 64
"""HW-GPT-Bench's fixed attention head size."""
SPEC = ConfigSpec(
    dims=(Dim("e", "embed", (192, 384, 768)), Dim("b", "bias", (0, 1))),
    groups=(
        Group("layers", (10, 11, 12), (Dim("h", "heads", (4, 8, 12)), Dim("m", "mlp_ratio", (2, 3, 4)))),
    ),
)
GPT2_SMALL = "e768b1/" + "-".join(["h12m4"] * 12)
"""GPT-2 small as a point of the space."""

FIXTURES = SpaceFixtures(
    archs=(
        GPT2_SMALL,
        "e192b0/" + "-".join(["h4m2", "h8m3", "h12m4", "h4m4", "h8m2"] * 2),
        "e384b1/" + "-".join(["h12m2"] * 5 + ["h4m3"] * 6),
    ),
    build=(("scale", 32),),
    task="shakespeare-lm",
)
FACTS = (
    ParamFact(
        GPT2_SMALL,
        "shakespeare-lm",
        (("vocab_size", 50257), ("max_positions", 1024), ("device", "meta")),
        124439808,
        "GPT-2 small (Radford et al. 2019) as transformers' GPT2LMHeadModel: 124,439,808 parameters",
    ),
)


class GPTSpace(ConfigSpace):
    """HW-GPT-Bench's GPT-S space: embedding, depth, per-layer heads and MLP ratio, bias."""

    name = "gpt"
    version = "1.0"
    spec = SPEC
    inputs = (TokenInput,)
    card = SpaceCard(
        num_archs=SPEC.size,
        num_unique=SPEC.size,
        ops=("causal_attention", "mlp", "layernorm", "gelu"),
        encoding="embed, bias; depth, then per layer slot heads and MLP ratio",
        paper="Sukthanker et al., HW-GPT-Bench, NeurIPS 2024 D&B (arXiv:2405.10299)",
        fixtures=FIXTURES,
        facts=FACTS,
        source="archbench GPT-2-style decoder (spaces.gpt_net)",
    )

    def build(self, arch: Any, task: Task | str, **options: Any) -> nn.Module:
        """The decoder (options in :mod:`spaces.text_models`; ``head`` is always on)."""
        import torch

        from spaces.gpt_net import GPT

        task = get_task(task)
        self.task_input(task)
        opts = text_build(self.name, task, options)
        if not opts.head:
            raise ValueError("gpt networks always have their head (the LM head is tied to the embedding)")
        config = self.config(arch)
        embed = opts.width(int(config.values["embed"]), "embedding")
        head_size = opts.width(HEAD_SIZE, "head size")
        layers = [(int(layer["heads"]), int(layer["mlp_ratio"])) for layer in config.layers()]
        with torch.device(opts.device):
            return GPT(
                opts.vocab_size,
                opts.max_positions,
                embed,
                layers,
                head_size,
                bool(config.values["bias"]),
                None if opts.language_model else opts.num_classes,
            )
