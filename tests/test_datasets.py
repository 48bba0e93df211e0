"""Data sets: the embedded mnist5k split, seeded batches, and HF `datasets` loading from local files.

DESIGN.md ("Data sets"): every data set has a fixed, recorded train/val/test split; proxy batches
come from train only; real sets load through HF ``datasets`` from a local path, tested here on tiny
files with the hub's CIFAR-10 schema (``img`` image column, ``label`` ClassLabel column).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from proxies import datasets as D

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
N_TRAIN, N_TEST = 40, 20


def row_hashes(images: torch.Tensor) -> list[str]:
    return [hashlib.sha256(im.contiguous().numpy().tobytes()).hexdigest() for im in images]


# ---- mnist5k --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("split", "n"), [("train", 3000), ("val", 1000), ("test", 1000)])
def test_mnist5k_split_sizes_shapes_and_labels(split, n):
    data = D.load("mnist5k", split)
    assert len(data) == n
    assert data.images.shape == (n, 1, 28, 28)
    assert data.images.dtype == torch.uint8
    assert data.labels.shape == (n,)
    assert data.labels.dtype == torch.int64
    assert sorted(data.labels.unique().tolist()) == list(range(10))
    # a stratified split: every digit is a tenth of every split
    assert torch.bincount(data.labels, minlength=10).tolist() == [n // 10] * 10
    # real digits, not noise: dark background with bright strokes
    assert data.images.max() == 255
    assert (data.images == 0).float().mean() > 0.5


def test_mnist5k_splits_are_disjoint():
    hashes = {split: set(row_hashes(D.load("mnist5k", split).images)) for split in D.SPLITS}
    assert not hashes["train"] & hashes["val"]
    assert not hashes["train"] & hashes["test"]
    assert not hashes["val"] & hashes["test"]


def test_mnist5k_normalisation_stats_come_from_train():
    train = D.load("mnist5k", "train")
    for split in ("val", "test"):
        data = D.load("mnist5k", split)
        assert data.mean == train.mean
        assert data.std == train.std
    x = train.images.double() / 255
    assert train.mean[0] == pytest.approx(float(x.mean()), rel=1e-9)
    assert train.std[0] == pytest.approx(float(x.std()), rel=1e-9)
    normalised = D.prepare(train, torch.arange(len(train)), 28, torch.float32)
    assert float(normalised.mean()) == pytest.approx(0.0, abs=1e-4)
    assert float(normalised.std()) == pytest.approx(1.0, abs=1e-4)


def test_mnist5k_is_loaded_from_package_data_without_network(monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("mnist5k must load offline")

    monkeypatch.setattr(socket, "socket", no_network)
    D._embedded_arrays.cache_clear()
    assert len(D.load_mnist5k("val")) == 1000


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="validation"):
        D.load_mnist5k("validation")
    with pytest.raises(ValueError, match="bogus"):
        D.batch("mnist5k", 4, 0, 8, split="bogus")


def test_unknown_dataset_is_a_clear_error():
    with pytest.raises(KeyError, match="mnist5k"):
        D.load("mnist5kk", "train")


# ---- batches ------------------------------------------------------------------------------------------


def test_batch_shape_and_dtype_at_a_requested_resolution():
    x, y = D.batch("mnist5k", 16, seed=0, resolution=12)
    assert x.shape == (16, 1, 12, 12)
    assert x.dtype == torch.float32
    assert y.shape == (16,) and y.dtype == torch.int64
    assert torch.isfinite(x).all()
    x64, _ = D.batch("mnist5k", 16, seed=0, resolution=12, dtype=torch.float64)
    assert x64.dtype == torch.float64


def test_batch_is_deterministic_by_seed_and_differs_across_seeds():
    x1, y1 = D.batch("mnist5k", 16, seed=3, resolution=8)
    x2, y2 = D.batch("mnist5k", 16, seed=3, resolution=8)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    x3, _ = D.batch("mnist5k", 16, seed=4, resolution=8)
    assert not torch.equal(x1, x3)


def test_batch_draws_distinct_train_images():
    """Proxy batches come from the train split only, without replacement."""
    train = D.load("mnist5k", "train")
    train_rows = set(row_hashes(train.images))
    x, y = D.batch("mnist5k", 64, seed=11, resolution=28)
    raw = torch.round((x * train.std[0] + train.mean[0]) * 255).clamp(0, 255).to(torch.uint8)
    hashes = row_hashes(raw)
    assert len(set(hashes)) == 64
    assert set(hashes) <= train_rows
    index = {h: i for i, h in enumerate(row_hashes(train.images))}
    assert [int(train.labels[index[h]]) for h in hashes] == y.tolist()


def test_batch_larger_than_the_split_is_refused():
    with pytest.raises(ValueError, match="1001"):
        D.batch("mnist5k", 1001, 0, 8, split="val")
    x, _ = D.batch("mnist5k", 1000, 0, 8, split="val")
    assert len(x) == 1000


# ---- HF datasets from local files ---------------------------------------------------------------------


def _images(rng: np.random.Generator, n: int, mode: str = "RGB"):
    from PIL import Image

    shape = (32, 32, 3) if mode == "RGB" else (32, 32)
    return [Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode=mode) for _ in range(n)]


@pytest.fixture(scope="module")
def hf(tmp_path_factory):
    """A tiny CIFAR-10-schema set as a DatasetDict folder, a single Dataset folder and Parquet files."""
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    root = tmp_path_factory.mktemp("hf")
    features = datasets.Features({"img": datasets.Image(), "label": datasets.ClassLabel(names=CIFAR10_NAMES)})
    rng = np.random.default_rng(0)
    train = datasets.Dataset.from_dict(
        {"img": _images(rng, N_TRAIN), "label": [i % 10 for i in range(N_TRAIN)]}, features=features
    )
    test = datasets.Dataset.from_dict(
        {"img": _images(rng, N_TEST), "label": [(3 * i) % 10 for i in range(N_TEST)]}, features=features
    )
    datasets.DatasetDict({"train": train, "test": test}).save_to_disk(str(root / "dict"))
    train.save_to_disk(str(root / "single"))
    (root / "parquet").mkdir()
    train.to_parquet(str(root / "parquet" / "train-00000.parquet"))
    test.to_parquet(str(root / "parquet" / "test-00000.parquet"))
    (root / "hub" / "plain_text").mkdir(parents=True)
    train.to_parquet(str(root / "hub" / "plain_text" / "train-00000-of-00001.parquet"))
    test.to_parquet(str(root / "hub" / "plain_text" / "test-00000-of-00001.parquet"))
    renamed = train.rename_column("img", "image")
    renamed.save_to_disk(str(root / "renamed"))
    gray_features = datasets.Features(
        {"img": datasets.Image(), "label": datasets.ClassLabel(names=CIFAR10_NAMES)}
    )
    datasets.Dataset.from_dict(
        {"img": _images(rng, 10, mode="L"), "label": list(range(10))}, features=gray_features
    ).save_to_disk(str(root / "gray"))
    source = {
        "train": np.stack([np.asarray(im) for im in train["img"]]).transpose(0, 3, 1, 2),
        "train_labels": list(train["label"]),
        "test": np.stack([np.asarray(im) for im in test["img"]]).transpose(0, 3, 1, 2),
        "test_labels": list(test["label"]),
    }
    return root, source


CIFAR10 = D.HF_SOURCES["cifar10"]


@pytest.mark.parametrize("layout", ["dict", "parquet", "hub"])
def test_hf_splits_shapes_and_partition(hf, layout):
    root, source = hf
    parts = {split: D.load_hf_images(root / layout, split, CIFAR10) for split in D.SPLITS}
    n_val = round(0.1 * N_TRAIN)
    assert len(parts["val"]) == n_val
    assert len(parts["train"]) == N_TRAIN - n_val
    assert len(parts["test"]) == N_TEST
    for data in parts.values():
        assert data.images.dtype == torch.uint8
        assert data.images.shape[1:] == (3, 32, 32)
        assert data.labels.dtype == torch.int64
        assert len(data.mean) == len(data.std) == 3
    # train + val partition the source's train split, images travelling with their labels
    src = {h: lab for h, lab in zip(row_hashes(torch.from_numpy(source["train"])), source["train_labels"])}
    seen = []
    for split in ("train", "val"):
        for h, lab in zip(row_hashes(parts[split].images), parts[split].labels.tolist()):
            assert src[h] == lab
            seen.append(h)
    assert sorted(seen) == sorted(src)
    # test is the source's test split, in order
    assert torch.equal(parts["test"].images, torch.from_numpy(source["test"]))
    assert parts["test"].labels.tolist() == source["test_labels"]


def test_hf_layouts_agree_and_the_val_split_is_fixed(hf):
    root, _ = hf
    for split in D.SPLITS:
        a = D.load_hf_images(root / "dict", split, CIFAR10)
        b = D.load_hf_images(root / "parquet", split, CIFAR10)
        c = D.load_hf_images(str(root / "dict"), split, CIFAR10)
        assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
        assert torch.equal(a.images, c.images)


def test_hf_single_dataset_folder_gives_train_and_val(hf):
    root, _ = hf
    train = D.load_hf_images(root / "single", "train", CIFAR10)
    val = D.load_hf_images(root / "single", "val", CIFAR10)
    assert len(train) + len(val) == N_TRAIN
    assert not set(row_hashes(train.images)) & set(row_hashes(val.images))


def test_hf_single_dataset_folder_has_no_test_split(hf):
    root, _ = hf
    with pytest.raises(ValueError, match="test"):
        D.load_hf_images(root / "single", "test", CIFAR10)


def test_hf_normalisation_stats_come_from_train(hf):
    root, _ = hf
    train = D.load_hf_images(root / "dict", "train", CIFAR10)
    for split in ("val", "test"):
        data = D.load_hf_images(root / "dict", split, CIFAR10)
        assert data.mean == train.mean and data.std == train.std


def test_hf_grayscale_images_become_rgb(hf):
    root, _ = hf
    data = D.load_hf_images(root / "gray", "train", CIFAR10)
    assert data.images.shape == (9, 3, 32, 32)
    assert torch.equal(data.images[:, 0], data.images[:, 1])
    assert torch.equal(data.images[:, 0], data.images[:, 2])


def test_hf_missing_column_is_named(hf):
    root, _ = hf
    with pytest.raises(ValueError, match="'img'"):
        D.load_hf_images(root / "renamed", "train", CIFAR10)
    with pytest.raises(ValueError, match="fine_label"):
        D.load_hf_images(root / "dict", "train", D.HF_SOURCES["cifar100"])


def test_hf_missing_path_or_files(hf, tmp_path):
    root, _ = hf
    with pytest.raises(FileNotFoundError, match="does-not-exist"):
        D.load_hf_images(root / "does-not-exist", "train", CIFAR10)
    with pytest.raises(FileNotFoundError, match="parquet"):
        D.load_hf_images(tmp_path, "train", CIFAR10)
    with pytest.raises(ValueError, match="bogus"):
        D.load_hf_images(root / "dict", "bogus", CIFAR10)


def test_registered_cifar10_loader_reads_the_env_var(hf, monkeypatch):
    root, source = hf
    load = D.DATASETS.get("cifar10")
    monkeypatch.setenv("ARCHBENCH_CIFAR10", str(root / "dict"))
    test = load("test")
    assert torch.equal(test.images, torch.from_numpy(source["test"]))
    assert len(load("val")) == round(0.1 * N_TRAIN)


def test_registered_loader_without_env_var_names_it(monkeypatch):
    for name, source in D.HF_SOURCES.items():
        monkeypatch.delenv(source.env_var, raising=False)
        with pytest.raises(FileNotFoundError, match=source.env_var):
            D.DATASETS.get(name)("train")


def test_hf_batch_and_prepare(hf):
    """Batches of an HF set come out normalised at the requested resolution and dtype."""
    root, _ = hf
    data = D.load_hf_images(root / "dict", "train", CIFAR10)
    x = D.prepare(data, torch.arange(8), 16, torch.float32)
    assert x.shape == (8, 3, 16, 16)
    full = D.prepare(data, torch.arange(len(data)), 32, torch.float64)
    np.testing.assert_allclose(full.mean(dim=(0, 2, 3)).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(full.std(dim=(0, 2, 3)).numpy(), 1.0, atol=1e-3)
