"""Task input specs (images, token sequences) and the protocol hashes they must not move."""

from __future__ import annotations

import pytest
import torch

import spaces
from hw_profiles.profile import example_input
from hw_profiles.protocol import MeasurementProtocol
from proxies import datasets
from proxies.base import ProxyContext
from proxies.protocol import Protocol
from proxies.training import Recipe
from spaces import ImageInput, Task, TokenInput, get_task

NB201 = spaces.get("nb201")
TEXT = Task("toy-text", num_classes=4, input=TokenInput(vocab_size=50, seq_len=12))

# Hashes computed on the code before the input spec existed (b71f3d7): tables built then must still
# open and resume, so these may never change.
PINNED = [
    (Protocol(), "00f3c3fe84d7456f7481e040c8d95d356ebe0a156296e1faf66aee6d2cc7b424"),
    (
        Protocol(task="cifar10", batch_size=8, resolution=8, build={"C": 4, "N": 1}),
        "ecb9623e3f61f8a8e271a60c378e05f22c4b5095a6de1b4c4d1e0dc6dc93d636",
    ),
    (
        Protocol(
            task="mnist5k",
            batch_size=16,
            resolution=12,
            input="gaussian",
            bn_mode="eval",
            build={"C": 8, "N": 1},
            params={"ntk": {"samples": 4}},
        ),
        "ce5942e3d3b2c75f2f9d5cb5a78dd680201b76ac3ab361aa8f37624a84987a41",
    ),
    (Recipe(), "26e3a18ce8e3291505067e3a238e77e1f4d1249be23b10b2894e13e4d7db6acb"),
    (
        Recipe(task="mnist5k", epochs=2, resolution=12, build={"C": 8, "N": 1}),
        "c42609497961330a7b845b1085818dfe85492c9b299d57204ae63f92e79840cd",
    ),
    (
        MeasurementProtocol(
            task="cifar10",
            batch_sizes=(2,),
            resolution=8,
            build={"C": 4, "N": 1},
            warmup=1,
            repeats=3,
            min_run_time=0.005,
            metrics=("latency",),
        ),
        "f0afc0cf8dbcbbda784f7656c940a20800649f955b67997547762d2f48362aeb",
    ),
    (MeasurementProtocol(), "57f7ffb8b8634ee1daeae48ab1b131ac2bb6aa88a666cf0677b32db4a3e13088"),
]


@pytest.mark.parametrize(("spec", "expected"), PINNED, ids=lambda v: getattr(v, "_spec_name", "hash"))
def test_existing_protocol_hashes_are_unchanged(spec, expected: str) -> None:
    assert spec.hash == expected


def test_image_tasks_keep_resolution_and_channels() -> None:
    task = get_task("mnist5k")
    assert task.input == ImageInput(channels=1, resolution=28)
    assert (task.resolution, task.in_channels) == (28, 1)
    short = Task("custom", num_classes=7, resolution=8, in_channels=2)
    assert short.input == ImageInput(2, 8) and Task("rgb", 10, 16).in_channels == 3
    assert Task("x", 10, input=ImageInput(3, 32)) == Task("x", 10, 32, 3)


def test_task_input_errors_are_one_line() -> None:
    with pytest.raises(ValueError, match="needs an input spec or an image resolution"):
        Task("nothing", 10)
    with pytest.raises(ValueError, match="resolution=16 contradicts its input"):
        Task("x", 10, resolution=16, input=ImageInput(3, 32))
    with pytest.raises(ValueError, match="has tokens inputs: no resolution or in_channels"):
        Task("x", 10, resolution=16, input=TokenInput(100, 8))
    with pytest.raises(TypeError, match="input must be an InputSpec"):
        Task("x", 10, input=(3, 32, 32))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="token input seq_len must be a positive integer"):
        TokenInput(100, 0)
    with pytest.raises(ValueError, match="image input channels must be a positive integer"):
        ImageInput(0, 8)


def test_input_shapes_and_noise() -> None:
    gen = torch.Generator().manual_seed(0)
    assert ImageInput(3, 8).shape(4) == (4, 3, 8, 8)
    assert ImageInput(3, 8).at_resolution(16) == ImageInput(3, 16)
    assert ImageInput(3, 8).at_resolution(None) == ImageInput(3, 8)
    tokens = TEXT.input.noise(5, gen, torch.float32)
    assert tokens.shape == (5, 12) and tokens.dtype == torch.int64
    assert int(tokens.min()) >= 0 and int(tokens.max()) < 50
    with pytest.raises(ValueError, match="token-sequence input has no resolution"):
        TEXT.input.at_resolution(8)
    # the image noise is the same draw the proxies used before (float32, then cast)
    x = ImageInput(1, 8).noise(2, torch.Generator().manual_seed(3), torch.float64)
    ref = torch.randn((2, 1, 8, 8), generator=torch.Generator().manual_seed(3), dtype=torch.float32)
    assert torch.equal(x, ref.to(torch.float64))


def test_spaces_check_the_input_kind() -> None:
    with pytest.raises(ValueError, match="space 'nb201' takes image inputs, not tokens"):
        NB201.task_input(TEXT)
    with pytest.raises(ValueError, match="space 'nb201' takes image inputs, not tokens"):
        NB201.build(NB201.from_index(0), TEXT, C=4, N=1)
    with pytest.raises(ValueError, match="divisible by 4, got 10"):
        NB201.task_input("cifar10", 10)
    assert NB201.task_input("cifar10", 8) == ImageInput(3, 8)


def test_proxy_context_asks_the_input_spec() -> None:
    ctx = ProxyContext(NB201, NB201.from_index(5), Protocol(task="cifar10", batch_size=4, resolution=8), 0)
    assert ctx.input == ImageInput(3, 8) and ctx.resolution == 8
    assert ctx.input_shape() == (4, 3, 8, 8) and ctx.input_shape(1) == (1, 3, 8, 8)


def test_data_preparation_refuses_token_inputs() -> None:
    data = datasets.load("mnist5k", "train")
    with pytest.raises(ValueError, match="image data sets cannot give tokens inputs"):
        datasets.prepare(data, torch.arange(2), TEXT.input, torch.float32)
    by_spec = datasets.prepare(data, torch.arange(2), ImageInput(1, 8), torch.float32)
    assert torch.equal(by_spec, datasets.prepare(data, torch.arange(2), 8, torch.float32))


def test_example_input_follows_the_task_input() -> None:
    assert example_input(get_task("cifar10"), 2, 8).shape == (2, 3, 8, 8)
    tokens = example_input(TEXT, 3, None)
    assert tokens.shape == (3, 12) and tokens.dtype == torch.int64
