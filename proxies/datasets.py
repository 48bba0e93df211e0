"""Image and text data sets with fixed, recorded train/val/test splits.

* ``mnist5k`` (embedded default): 5,000 real MNIST digits shipped in the package
  (``proxies/_data/mnist5k.npz``, provenance in ``LICENSE-mnist5k.md``), split 3,000/1,000/1,000.
* ``fmnist14k`` (embedded): 14,000 real Fashion-MNIST images (MIT, Zalando), a stratified
  10,000/2,000/2,000 subset (``proxies/_data/fmnist14k.npz``, provenance in ``LICENSE-fmnist14k.md``).
* ``cifar10``, ``cifar100``, ``imagenet16-120``: loaded through Hugging Face ``datasets`` from a local
  path (``save_to_disk`` folders or Parquet files with the hub's schema: an image column and a label
  column). The val split is a fixed seed-0 10% of the train split; test is the set's test split.

* ``rt-sentiment`` and ``shakespeare`` (embedded text, 32-token sequences of one 2,048-token BPE
  vocabulary; ``scripts/derive_text_data.py`` re-derives them, provenance in ``LICENSE-*.md``): 4,866
  Rotten Tomatoes snippets labelled rotten / fresh (3,866 / 500 / 500), and 4,623 windows of four
  Shakespeare plays with next-token labels (3,697 / 462 / 464, contiguous per play).

Images are kept as uint8 NCHW tensors; :func:`batch` normalises, resizes and casts on the way out.
Token ids are kept as int64 ``(N, seq_len)`` tensors and come out unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from spaces.base import ImageInput, InputSpec, TokenInput
from spaces.registry import Registry
from spaces.tasks import TEXT_VOCAB

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class ImageData:
    """One split of a data set: uint8 images (N, C, H, W), int64 labels and normalisation stats."""

    images: torch.Tensor
    labels: torch.Tensor
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class TokenData:
    """One split of a text data set: int64 token ids ``(N, seq_len)`` and int64 labels.

    Labels are one class per sequence ``(N,)``, or one next token per position ``(N, seq_len)``
    (language modelling).
    """

    tokens: torch.Tensor
    labels: torch.Tensor
    vocab_size: int

    def __len__(self) -> int:
        return len(self.tokens)


@dataclass(frozen=True)
class HFSource:
    """Where and how to read a data set with HF ``datasets``."""

    env_var: str
    image_column: str
    label_column: str
    val_fraction: float = 0.1


DATASETS: Registry[Callable[[str], ImageData | TokenData]] = Registry(
    "dataset", entry_point_group="archbench.datasets"
)
HF_SOURCES = {
    "cifar10": HFSource("ARCHBENCH_CIFAR10", "img", "label"),
    "cifar100": HFSource("ARCHBENCH_CIFAR100", "img", "fine_label"),
    "imagenet16-120": HFSource("ARCHBENCH_IMAGENET16_120", "image", "label"),
}


def _stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    # numpy reductions do not depend on the torch thread count (torch's float64 std does, ~1e-11).
    x = images.numpy().astype(np.float64) / 255.0
    return tuple(x.mean(axis=(0, 2, 3)).tolist()), tuple(x.std(axis=(0, 2, 3), ddof=1).tolist())


EMBEDDED = ("mnist5k", "fmnist14k")
"""Data sets shipped in the package as ``proxies/_data/NAME.npz`` (uint8 images, labels, split codes)."""


@lru_cache(maxsize=4)
def _embedded_arrays(name: str) -> dict[str, np.ndarray]:
    ref = resources.files("proxies") / "_data" / f"{name}.npz"
    with ref.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        return {k: npz[k] for k in ("images", "labels", "split")}


def load_embedded(name: str, split: str) -> ImageData:
    """One split of an embedded data set; normalisation stats come from its train split."""
    _check_split(split)
    arrays = _embedded_arrays(name)
    images = torch.from_numpy(arrays["images"]).unsqueeze(1)
    labels = torch.from_numpy(arrays["labels"].astype(np.int64))
    which = torch.from_numpy(arrays["split"] == SPLITS.index(split))
    mean, std = _stats(images[torch.from_numpy(arrays["split"] == 0)])
    return ImageData(images[which].contiguous(), labels[which].contiguous(), mean, std)


def load_mnist5k(split: str) -> ImageData:
    """The embedded 5,000-digit MNIST sample (3,000 / 1,000 / 1,000)."""
    return load_embedded("mnist5k", split)


def load_fmnist14k(split: str) -> ImageData:
    """The embedded 14,000-image Fashion-MNIST subset (10,000 / 2,000 / 2,000, stratified)."""
    return load_embedded("fmnist14k", split)


def _text_arrays(name: str, split: str) -> dict[str, np.ndarray]:
    _check_split(split)
    ref = resources.files("proxies") / "_data" / f"{name}.npz"
    with ref.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    which = arrays.pop("split") == SPLITS.index(split)
    return {k: v[which] for k, v in arrays.items()}


def load_rt_sentiment(split: str) -> TokenData:
    """The embedded Rotten Tomatoes snippets (3,866 / 500 / 500), labels 0 rotten and 1 fresh."""
    arrays = _text_arrays("rt_sentiment", split)
    tokens = torch.from_numpy(arrays["tokens"].astype(np.int64))
    return TokenData(tokens, torch.from_numpy(arrays["labels"].astype(np.int64)), TEXT_VOCAB)


def load_shakespeare(split: str) -> TokenData:
    """The embedded Shakespeare windows (3,697 / 462 / 464): 32 tokens in, the next 32 as labels."""
    windows = torch.from_numpy(_text_arrays("shakespeare", split)["windows"].astype(np.int64))
    return TokenData(windows[:, :-1].contiguous(), windows[:, 1:].contiguous(), TEXT_VOCAB)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (valid: {', '.join(SPLITS)})")


def _read_hf(path: Path, hf_split: str):  # -> datasets.Dataset
    import datasets

    if (path / "dataset_dict.json").exists():
        splits = datasets.load_from_disk(str(path))
        if hf_split not in splits:
            raise ValueError(f"{path}: no {hf_split!r} split (splits: {', '.join(splits)})")
        return splits[hf_split]
    if (path / "dataset_info.json").exists() or (path / "state.json").exists():
        if hf_split != "train":
            raise ValueError(
                f"{path} holds one split; {hf_split!r} needs a DatasetDict folder or {hf_split}*.parquet"
            )
        return datasets.load_from_disk(str(path))
    files = sorted(path.glob(f"{hf_split}*.parquet")) + sorted(path.glob(f"*/{hf_split}*.parquet"))
    if not files:
        raise FileNotFoundError(f"no HF dataset folder or {hf_split}*.parquet files under {path}")
    return datasets.load_dataset("parquet", data_files=[str(f) for f in files], split="train")


def _decode(ds, path: Path, source: HFSource) -> tuple[torch.Tensor, torch.Tensor]:
    for column in (source.image_column, source.label_column):
        if column not in ds.column_names:
            raise ValueError(f"{path}: column {column!r} missing (columns: {', '.join(ds.column_names)})")
    images = torch.from_numpy(
        np.stack([np.asarray(im.convert("RGB"), dtype=np.uint8) for im in ds[source.image_column]])
    ).permute(0, 3, 1, 2)
    return images, torch.tensor(ds[source.label_column], dtype=torch.int64)


def load_hf_images(path: str | os.PathLike, split: str, source: HFSource) -> ImageData:
    """Read one split of an image-classification set from a local HF ``datasets`` folder or Parquet files.

    Val is a fixed seed-0 ``val_fraction`` of the source's train split and train the rest; test is
    the source's test split. Every split is normalised with the statistics of the train part.
    """
    _check_split(split)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data set path {path} does not exist")
    images, labels = _decode(_read_hf(path, "train"), path, source)
    order = torch.from_numpy(np.random.default_rng(0).permutation(len(labels)))
    n_val = round(source.val_fraction * len(labels))
    train_part = order[n_val:]
    mean, std = _stats(images[train_part])
    if split == "test":
        images, labels = _decode(_read_hf(path, "test"), path, source)
    else:
        keep = order[:n_val] if split == "val" else train_part
        images, labels = images[keep], labels[keep]
    return ImageData(images.contiguous(), labels, mean, std)


def _hf_loader(name: str) -> Callable[[str], ImageData]:
    source = HF_SOURCES[name]

    def load(split: str) -> ImageData:
        path = os.environ.get(source.env_var)
        if not path:
            raise FileNotFoundError(
                f"data set {name!r} is not embedded: set {source.env_var} to a local HF datasets folder"
            )
        return load_hf_images(path, split, source)

    load.__doc__ = f"Load {name} from the local path in ${source.env_var}."
    return load


DATASETS.register("mnist5k", load_mnist5k)
DATASETS.register("fmnist14k", load_fmnist14k)
DATASETS.register("rt-sentiment", load_rt_sentiment)
DATASETS.register("shakespeare", load_shakespeare)
for _name in HF_SOURCES:
    DATASETS.register(_name, _hf_loader(_name))


def load(dataset: str, split: str) -> ImageData | TokenData:
    """One split of a registered data set (cached per process and data location)."""
    source = HF_SOURCES.get(dataset)
    return _load_cached(dataset, split, os.environ.get(source.env_var, "") if source else "")


@lru_cache(maxsize=8)
def _load_cached(dataset: str, split: str, location: str) -> ImageData | TokenData:
    return DATASETS.get(dataset)(split)


def prepare(
    data: ImageData | TokenData, index: torch.Tensor, resolution: int | InputSpec, dtype: torch.dtype
) -> torch.Tensor:
    """Images ``index`` of ``data`` as normalised float tensors at ``resolution`` pixels.

    ``resolution`` may be the task's :class:`~spaces.base.ImageInput` (its resolution is used); an
    input spec of another kind is a ValueError for image data. Text data gives its int64 token ids
    (``dtype`` is the network's, not the ids'), for a :class:`~spaces.base.TokenInput` of its shape.
    """
    if isinstance(data, TokenData):
        return _tokens(data, index, resolution)
    resolution = _side(resolution)
    x = data.images[index].to(torch.float32) / 255.0
    mean = torch.tensor(data.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(data.std, dtype=torch.float32).view(1, -1, 1, 1)
    x = (x - mean) / std
    if x.shape[-1] != resolution or x.shape[-2] != resolution:
        x = F.interpolate(
            x, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False
        )
    return x.to(dtype)


def _tokens(data: TokenData, index: torch.Tensor, spec: int | InputSpec) -> torch.Tensor:
    want = TokenInput(data.vocab_size, data.tokens.shape[1])
    if spec != want:
        raise ValueError(f"this text data set gives {want}, not {spec}")
    return data.tokens[index]


def _side(resolution: int | InputSpec) -> int:
    if isinstance(resolution, InputSpec):
        if not isinstance(resolution, ImageInput):
            raise ValueError(f"image data sets cannot give {resolution.kind} inputs ({resolution})")
        return resolution.resolution
    return resolution


def batch(
    dataset: str,
    batch_size: int,
    seed: int,
    resolution: int | InputSpec,
    dtype: torch.dtype = torch.float32,
    split: str = "train",
) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random batch ``(inputs, labels)`` drawn without replacement from ``split``."""
    data = load(dataset, split)
    if batch_size > len(data):
        raise ValueError(f"batch size {batch_size} exceeds the {len(data)} images of {dataset}/{split}")
    index = torch.from_numpy(np.random.default_rng(seed).choice(len(data), size=batch_size, replace=False))
    return prepare(data, index, resolution, dtype), data.labels[index]
