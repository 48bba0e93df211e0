"""Transformer config spaces (gpt, bert, llama): published points counted by an independent route
(``transformers``' own model classes from their published configs, on the meta device), per-layer
heterogeneity, and the build options' errors."""

from __future__ import annotations

import pytest
import torch

import spaces

transformers = pytest.importorskip("transformers", reason="the text spaces need the 'spaces' extra")


def _params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_gpt2_small_is_transformers_gpt2() -> None:
    from spaces.gpt import GPT2_SMALL

    gpt = spaces.get("gpt")
    with torch.device("meta"):
        theirs = transformers.GPT2LMHeadModel(
            transformers.GPT2Config()
        )  # gpt2: 50,257 tokens, 1,024 positions
    ours = gpt.build(
        gpt.parse(GPT2_SMALL), "shakespeare-lm", vocab_size=50257, max_positions=1024, device="meta"
    )
    assert _params(ours) == _params(theirs) == 124_439_808
    # bias off removes every Linear and LayerNorm bias: 12 x (3*768 + 768 + 3072 + 768 + 2*768) + 768
    no_bias = gpt.parse(GPT2_SMALL.replace("b1", "b0"))
    built = gpt.build(no_bias, "shakespeare-lm", vocab_size=50257, max_positions=1024, device="meta")
    assert _params(built) == 124_439_808 - 12 * (3 * 768 + 768 + 3072 + 768 + 2 * 768) - 768


def test_bert_base_is_transformers_bert_model() -> None:
    from spaces.bert import BERT_BASE

    bert = spaces.get("bert")
    with torch.device("meta"):
        theirs = transformers.BertModel(transformers.BertConfig())  # bert-base-uncased's config
    ours = bert.build(bert.parse(BERT_BASE), "rt-sentiment", vocab_size=30522, max_positions=512, head=False)
    assert _params(ours) == _params(theirs) == 109_482_240
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]


def test_llama2_7b_is_transformers_llama_on_meta() -> None:
    from spaces.llama import LLAMA2_7B

    llama = spaces.get("llama")
    config = transformers.LlamaConfig(  # Llama-2-7b-hf's config.json
        vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096,
    )  # fmt: skip
    with torch.device("meta"):
        theirs = transformers.LlamaForCausalLM(config)
    ours = llama.build(llama.parse(LLAMA2_7B), "shakespeare-lm", vocab_size=32000, device="meta")
    assert _params(ours) == _params(theirs) == 6_738_415_616
    assert all(p.is_meta for p in ours.parameters())


def test_layers_are_heterogeneous() -> None:
    bert, llama = spaces.get("bert"), spaces.get("llama")
    model = bert.build(bert.parse("d384/h4f2-h8f3-h12f4-h4f4"), "rt-sentiment", scale=8).model
    assert [layer.attention.self.num_attention_heads for layer in model.bert.encoder.layer] == [4, 8, 12, 4]
    assert [layer.intermediate.dense.out_features for layer in model.bert.encoder.layer] == [
        96,
        144,
        192,
        192,
    ]
    arch = llama.parse("d2048/" + "-".join(["h16f5504", "h32f11008"] * 12))
    decoder = llama.build(arch, "shakespeare-lm", scale=64).model.model
    assert [layer.self_attn.q_proj.out_features for layer in decoder.layers[:2]] == [32, 64]  # heads x 2
    assert [layer.mlp.gate_proj.out_features for layer in decoder.layers[:2]] == [86, 172]


def test_outputs_follow_the_task_objective() -> None:
    gpt = spaces.get("gpt")
    arch = gpt.parse("e192b0/" + "-".join(["h4m2"] * 10))
    ids = torch.randint(1, 2048, (3, 32), generator=torch.Generator().manual_seed(0))
    assert gpt.build(arch, "shakespeare-lm", scale=32)(ids).shape == (3, 32, 2048)
    classifier = gpt.build(arch, "rt-sentiment", scale=32).eval()
    assert classifier(ids).shape == (3, 2)
    # the classifier reads the last non-padding token: padding after it changes nothing
    padded = torch.cat([ids[:, :20], torch.zeros(3, 12, dtype=torch.long)], dim=1)
    with torch.no_grad():
        short = classifier.score(classifier.ln_f(_hidden(classifier, ids[:, :20]))[:, -1])
        assert torch.allclose(classifier(padded), short, atol=1e-6)


def _hidden(model, ids: torch.Tensor) -> torch.Tensor:
    x = model.wte(ids) + model.wpe(torch.arange(ids.shape[1]))
    for layer in model.layers:
        x = layer(x)
    return x


@pytest.mark.parametrize(
    ("space", "task", "options", "error", "message"),
    [
        (
            "gpt",
            "shakespeare-lm",
            {"scale": 5},
            ValueError,
            "embedding 768 is not divisible by build option scale=5",
        ),
        ("gpt", "shakespeare-lm", {"vocab_size": 100}, ValueError, "smaller than task 'shakespeare-lm'"),
        ("gpt", "shakespeare-lm", {"device": "cuda:7"}, ValueError, "device must be 'cpu' or 'meta'"),
        ("gpt", "shakespeare-lm", {"head": False}, ValueError, "always have their head"),
        ("bert", "shakespeare-lm", {}, ValueError, "takes classification tasks, not language_modeling"),
        ("llama", "rt-sentiment", {"C": 4}, TypeError, r"unknown build options for llama: \['C'\]"),
        ("llama", "mnist5k", {}, ValueError, "space 'llama' takes tokens inputs, not image"),
    ],
)
def test_bad_builds_are_one_line_errors(space, task, options, error, message) -> None:
    s = spaces.get(space)
    with pytest.raises(error, match=message):
        s.build(s.parse(s.card.fixtures.archs[0]), task, **options)


def test_sampled_llama_configs_build_whatever_heads_divide() -> None:
    """LLaMA-NAS layers keep head size 128 while heads vary per layer (16/24/32), so heads x head size
    need not equal the hidden size (24 x 128 = 3072 beside a 4096 hidden): transformers' constructor
    check that heads divide the hidden size must not refuse such points (it did for sampled ones)."""
    import numpy as np

    space = spaces.get("llama")
    for arch in space.sample_unique(12, np.random.default_rng(0)):
        model = space.build(arch, "shakespeare-lm", scale=64)
        assert sum(p.numel() for p in model.parameters()) > 0
