"""The embedded text tasks (rt-sentiment, shakespeare-lm): data, reduced training with perplexity, and
proxies on token networks (applicable ones computed, the others nan with the card's reason)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import spaces
from proxies import datasets
from proxies.base import get_proxy
from proxies.cost import count_decoder_params
from proxies.protocol import Protocol
from proxies.runner import score_architecture
from proxies.training import Recipe, train

pytest.importorskip("transformers", reason="the text spaces need the 'spaces' extra")

GPT = spaces.get("gpt")
TINY = "e192b1/" + "-".join(["h4m2"] * 10)


def test_text_data_have_fixed_splits_and_real_text() -> None:
    sizes = {s: len(datasets.load("rt-sentiment", s)) for s in datasets.SPLITS}
    assert sizes == {"train": 3866, "val": 500, "test": 500}
    train = datasets.load("rt-sentiment", "train")
    assert train.tokens.shape == (3866, 32) and train.tokens.dtype == torch.int64
    assert set(train.labels.unique().tolist()) == {0, 1} and 0.4 < train.labels.float().mean() < 0.6
    assert int(train.tokens.max()) < 2048 and (train.tokens[:, 0] != 0).all()  # no empty snippet
    lm = {s: datasets.load("shakespeare", s) for s in datasets.SPLITS}
    assert [len(lm[s]) for s in datasets.SPLITS] == [3697, 462, 464]
    # labels are the inputs shifted by one token
    assert torch.equal(lm["val"].labels[:, :-1], lm["val"].tokens[:, 1:])


def test_tokenizer_decodes_the_shipped_ids() -> None:
    tokenizers = pytest.importorskip("tokenizers")
    from importlib import resources

    path = resources.files("proxies") / "_data" / "text_tokenizer.json"
    tok = tokenizers.Tokenizer.from_str(path.read_text())
    text = tok.decode(datasets.load("shakespeare", "train").tokens[0].tolist())
    assert "TEMPEST" in text and tok.get_vocab_size() == 2048


def test_token_batches_check_the_spec() -> None:
    task = spaces.get_task("rt-sentiment")
    x, y = datasets.batch(task.dataset, 8, 0, task.input)
    assert x.shape == (8, 32) and x.dtype == torch.int64 and y.shape == (8,)
    with pytest.raises(ValueError, match="this text data set gives TokenInput"):
        datasets.prepare(
            datasets.load("rt-sentiment", "train"),
            torch.arange(2),
            spaces.TokenInput(2048, 16),
            torch.float32,
        )


@pytest.fixture
def first_rows(monkeypatch):
    """The real text sets cut to their first 48 rows per split, so a training test takes seconds."""
    load = datasets.load

    def head(dataset: str, split: str):
        data = load(dataset, split)
        return datasets.TokenData(data.tokens[:48], data.labels[:48], data.vocab_size)

    monkeypatch.setattr(datasets, "load", head)


@pytest.mark.parametrize("task", ["rt-sentiment", "shakespeare-lm"])
def test_reduced_training_on_text(task: str, first_rows) -> None:
    recipe = Recipe(task=task, epochs=3, batch_size=16, optimizer="adamw", lr=1e-2, build={"scale": 32})
    curve = train(GPT, GPT.parse(TINY), recipe, seed=0)
    assert len(curve) == 3 and all(math.isfinite(p.train_loss) and math.isfinite(p.eval_loss) for p in curve)
    assert all(0 <= p.eval_acc <= 100 for p in curve)
    if task == "shakespeare-lm":  # it learns: held-out next-token loss falls below a uniform guess's
        assert curve[-1].eval_loss < curve[0].eval_loss and curve[-1].eval_loss < math.log(2048)
    again = train(GPT, GPT.parse(TINY), recipe, seed=0)
    assert [p.eval_loss for p in again] == [p.eval_loss for p in curve]  # bit-identical on CPU
    with pytest.raises(ValueError, match="augmentation 'crop' is for images"):
        train(GPT, GPT.parse(TINY), Recipe(task=task, epochs=1, augment="crop", build={"scale": 32}), 0)


def test_decoder_params_exclude_embeddings_and_the_lm_head() -> None:
    model = GPT.build(GPT.parse(TINY), "shakespeare-lm", scale=32)
    total = sum(p.numel() for p in model.parameters())
    embed = 6 * 2048 + 6 * 32  # token and position tables (the LM head is tied to the token table)
    assert count_decoder_params(model) == total - embed
    llama = spaces.get("llama")
    model = llama.build(llama.parse(llama.card.fixtures.archs[1]), "shakespeare-lm", scale=64)
    untied = model.get_output_embeddings().weight.numel() + model.model.model.embed_tokens.weight.numel()
    assert count_decoder_params(model) == sum(p.numel() for p in model.parameters()) - untied


def test_proxies_on_token_networks_are_computed_or_nan_with_the_reason() -> None:
    protocol = Protocol(task="rt-sentiment", batch_size=8, build={"scale": 32})
    names = ["params", "decoder_params", "flops", "snip", "grasp", "jacob_cov", "synflow", "nwot"]
    scores = {s.proxy: s for s in score_architecture(GPT, GPT.parse(TINY), names, protocol, 0)}
    for name in ("params", "decoder_params", "flops", "snip", "grasp"):
        assert scores[name].status == "ok" and np.isfinite(scores[name].value), scores[name]
    for name in ("jacob_cov", "synflow"):
        assert get_proxy(name).card.inputs == ("image",)
        assert scores[name].status == "nan" and "not tokens" in scores[name].message
    assert (
        scores["nwot"].status == "nan"
        and scores["nwot"].message == "nwot reads ReLU units; this network has none"
    )
    nb201 = spaces.get("nb201")
    image = score_architecture(
        nb201,
        nb201.from_index(0),
        ["decoder_params"],
        Protocol(task="mnist5k", batch_size=4, resolution=8, build={"C": 4, "N": 1}),
        0,
    )
    assert image[0].status == "nan" and "defined on tokens inputs, not image" in image[0].message
