"""Tests for gen_core.data: loading, offline fallback and the Batcher. Fast, CPU, no network."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from gen_core import data as D
from gen_core.data import datasets


SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    """No downloads, no env overrides leaking in, and a fresh cache around every test."""
    monkeypatch.setenv("GEN_CORE_OFFLINE", "1")
    monkeypatch.delenv("GEN_CORE_DATA_ROOT", raising=False)
    D.clear_cache()
    yield
    D.clear_cache()


def _fake(n=100, side=28, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, side, side), generator=g, dtype=torch.uint8)
    images[0].fill_(0)
    images[1].fill_(255)  # make sure both ends of the range occur
    return images, torch.arange(n) % 10


# -----------------------------------------------------------------------------
# Registry and loading

def test_registry():
    assert set(D.DATASETS) == {"mnist", "fashion-mnist", "kmnist", "mnist-mini"}
    for key, info in D.DATASETS.items():
        assert info.name == key and len(info.classes) == 10
    assert D.DATASETS["fashion-mnist"].title == "Fashion-MNIST"
    assert D.DATASETS["fashion-mnist"].classes[0] == "T-shirt/top"
    assert D.DATASETS["mnist-mini"].torchvision_cls_name is None


def test_unknown_dataset():
    with pytest.raises(ValueError, match="mnist-mini"):
        D.load_dataset("cifar10")
    with pytest.raises(ValueError):
        D.dataset_status("cifar10")


def test_mnist_mini():
    assert D.MNIST_MINI_PATH.stat().st_size <= 3 * 1024 * 1024
    d = D.load_dataset("mnist-mini")
    assert (d.name, d.requested, d.source, d.root) == ("mnist-mini", "mnist-mini", "embedded", None)
    assert d.train_images.shape == (10_000, 28, 28) and d.test_images.shape == (2_000, 28, 28)
    assert d.train_images.dtype == d.test_images.dtype == torch.uint8
    assert d.train_labels.dtype == d.test_labels.dtype == torch.int64
    assert torch.bincount(d.train_labels).tolist() == [1000] * 10
    assert torch.bincount(d.test_labels).tolist() == [200] * 10
    assert d.image_size == 28 and d.classes == D.DIGITS
    assert int(d.train_images.max()) == 255  # real images, not blank
    assert D.dataset_status("mnist-mini") == "embedded"
    assert D.load_dataset("mnist-mini") is d  # cached


def test_offline_fallback(tmp_path, caplog):
    assert D.dataset_status("mnist", root=tmp_path) == "missing"
    assert D.resolve_data_root("mnist", root=tmp_path) is None
    with caplog.at_level(logging.WARNING, logger="gen_core"):
        d = D.load_dataset("mnist", root=tmp_path, download=False)
    assert (d.name, d.requested, d.source) == ("mnist-mini", "mnist", "embedded")
    assert d.fell_back and "mnist-mini" in d.message and "not found" in d.message
    assert len(d.train_images) == 10_000
    assert len([r for r in caplog.records if r.name == "gen_core"]) == 1


def test_offline_env_blocks_download(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("must not try to download when GEN_CORE_OFFLINE=1")
    monkeypatch.setattr(datasets, "_download", boom)
    d = D.load_dataset("fashion-mnist", root=tmp_path)  # download=None + offline env
    assert d.name == "mnist-mini" and "GEN_CORE_OFFLINE" in d.message


def test_download_failure_falls_back(tmp_path, monkeypatch):
    import socket

    import torchvision.datasets.mnist as tv_mnist

    def no_network(*args, **kwargs):
        raise OSError("simulated: network unreachable")
    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", no_network)
    monkeypatch.delenv("GEN_CORE_OFFLINE")
    before = socket.getdefaulttimeout()

    d = D.load_dataset("kmnist", root=tmp_path)  # download allowed (None, env unset)
    assert (d.name, d.requested, d.source) == ("mnist-mini", "kmnist", "embedded")
    assert "download failed" in d.message and "mnist-mini" in d.message
    assert socket.getdefaulttimeout() == before  # timeout restored

    # any exception type at all is caught (not only the ones torchvision expects)
    D.clear_cache()
    monkeypatch.setattr(datasets, "_download", lambda info, root: 1 / 0)
    d = D.load_dataset("mnist", root=tmp_path, download=True)
    assert d.name == "mnist-mini" and "download failed" in d.message


def test_env_data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("GEN_CORE_DATA_ROOT", str(tmp_path))
    assert D.default_data_roots() == [tmp_path]
    monkeypatch.delenv("GEN_CORE_DATA_ROOT")
    assert D.default_data_roots() == [Path("data"), Path("../shared/data")]


def test_corrupt_files_fall_back(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in D.RAW_FILES:
        (raw / f).write_bytes(b"not an idx file")
    assert D.dataset_status("mnist", root=tmp_path) == "full"  # cheap check: files exist
    d = D.load_dataset("mnist", root=tmp_path)
    assert d.name == "mnist-mini" and "could not be read" in d.message


@pytest.mark.skipif(not (SHARED_DATA / "MNIST" / "raw").is_dir(), reason="no shared MNIST copy")
def test_full_mnist():
    assert D.dataset_status("mnist", root=SHARED_DATA) == "full"
    d = D.load_dataset("mnist", root=SHARED_DATA)
    assert (d.name, d.source, d.root) == ("mnist", "full", str(SHARED_DATA))
    assert d.train_images.shape == (60_000, 28, 28) and d.train_images.dtype == torch.uint8
    assert d.test_images.shape == (10_000, 28, 28) and d.train_labels.dtype == torch.int64
    assert "60,000 train / 10,000 test" in d.message
    assert D.load_dataset("mnist", root=SHARED_DATA) is d  # cached
    assert D.dataset_status("kmnist", root=SHARED_DATA) == "missing"


# -----------------------------------------------------------------------------
# Batcher

@pytest.mark.parametrize("scale, lo, hi", [("tanh", -1.0, 1.0), ("unit", 0.0, 1.0)])
def test_batcher_shapes_and_range(scale, lo, hi):
    images, labels = _fake(100)
    b = D.Batcher(images, labels, 32, scale=scale)
    assert len(b) == 3 and b.num_images == 100
    batches = list(b)
    assert len(batches) == 3
    for x, y in batches:
        assert x.shape == (32, 1, 28, 28) and x.dtype == torch.float32
        assert y.shape == (32,) and y.dtype == torch.int64
    x_all = b.take(100)
    assert float(x_all.min()) == lo and float(x_all.max()) == hi
    # labels still match their images after shuffling
    x, y = batches[0]
    first = b.take(100, labels=True)
    for xi, yi in zip(x[:5], y[:5]):
        j = int(((first[0] - xi).abs().flatten(1).sum(1)).argmin())
        assert int(first[1][j]) == int(yi)


def test_batcher_drop_last_false():
    images, labels = _fake(100)
    b = D.Batcher(images, labels, 32, drop_last=False)
    sizes = [len(x) for x, _ in b]
    assert len(b) == 4 and sizes == [32, 32, 32, 4]


def test_batcher_reproducible_and_epochs_differ():
    images, labels = _fake(100)

    def epoch(batcher):
        xs, ys = zip(*batcher)
        return torch.cat(xs), torch.cat(ys)

    a, b = D.Batcher(images, labels, 10, seed=3), D.Batcher(images, labels, 10, seed=3)
    xa1, ya1 = epoch(a)
    xb1, yb1 = epoch(b)
    assert torch.equal(xa1, xb1) and torch.equal(ya1, yb1)  # same seed → same batches
    xa2, _ = epoch(a)
    assert a.epoch == 2 and not torch.equal(xa1, xa2)      # next epoch → new order
    assert torch.equal(xa2.sort(0).values, xa1.sort(0).values)  # ...of the same images
    xc1, _ = epoch(D.Batcher(images, labels, 10, seed=4))
    assert not torch.equal(xa1, xc1)                        # other seed → other order


def test_batcher_state_dict_round_trip():
    images, labels = _fake(100)
    a = D.Batcher(images, labels, 10, seed=7)
    for _ in range(3):
        list(a)
    state = a.state_dict()
    expected = torch.cat([x for x, _ in a])  # epoch 3 of the uninterrupted run

    resumed = D.Batcher(images, labels, 10, seed=7)
    resumed.load_state_dict(state)
    assert resumed.epoch == 3
    assert torch.equal(torch.cat([x for x, _ in resumed]), expected)


def test_batcher_subset():
    images, labels = _fake(100)
    b = D.Batcher(images, labels, 8, subset=40, seed=1)
    assert b.num_images == 40 and len(b) == 5
    assert sum(len(x) for x, _ in b) == 40
    same = D.Batcher(images, labels, 8, subset=40, seed=1)
    assert torch.equal(b.take(40), same.take(40))  # the subset is fixed by the seed
    assert D.Batcher(images, labels, 8, subset=1000).num_images == 100  # capped at N
    with pytest.raises(ValueError):
        D.Batcher(images, labels, 8, subset=0)


def test_batcher_resize_64():
    images, labels = _fake(20)
    b = D.Batcher(images, labels, 4, image_size=64)
    x, y = next(iter(b))
    assert x.shape == (4, 1, 64, 64)
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    assert b.take(3).shape == (3, 1, 64, 64)


def test_batcher_batch_larger_than_n():
    images, labels = _fake(7)
    b = D.Batcher(images, labels, 64)
    assert len(b) == 1
    batches = list(b)
    assert len(batches) == 1 and batches[0][0].shape == (7, 1, 28, 28)
    assert D.Batcher(images, labels, 64, drop_last=False).__len__() == 1


def test_batcher_take_is_deterministic():
    images, labels = _fake(50)
    b = D.Batcher(images, labels, 10, scale="unit")
    list(b)  # iterating does not change take()
    assert torch.equal(b.take(5), images[:5].unsqueeze(1).float() / 255)
    assert b.take(500).shape[0] == 50


def test_batcher_rejects_bad_input():
    images, labels = _fake(10)
    with pytest.raises(ValueError):
        D.Batcher(images.float(), labels, 4)
    with pytest.raises(ValueError):
        D.Batcher(images, labels[:5], 4)
    with pytest.raises(ValueError):
        D.Batcher(images, labels, 4, scale="zero-one")


def test_helpers():
    x = torch.tensor([-1.0, 0.0, 1.0, 2.0])
    assert D.to_unit(x).tolist() == [0.0, 0.5, 1.0, 1.0]
    assert D.to_tanh(torch.tensor([0.0, 0.5, 1.0])).tolist() == [-1.0, 0.0, 1.0]


def test_data_module_does_not_import_streamlit():
    import re
    src = Path(datasets.__file__).read_text()
    assert not re.search(r"^\s*(import|from)\s+streamlit", src, re.MULTILINE)
