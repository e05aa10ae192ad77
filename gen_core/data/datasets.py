"""Image data: find, load (or fall back), and batch the 28×28 grey-scale datasets.

Two halves:

1. Loading. `load_dataset(name)` returns an `ImageData`: the whole dataset as
   uint8 tensors, plus where it came from and a one-line message for users.
   The search order is

       GEN_CORE_DATA_ROOT (if set, only that)  or  data/ then ../shared/data
         → found:         read the raw files with torchvision        (source "full")
         → not found:     try torchvision's download (10 s timeout)  (source "downloaded")
         → that failed:   use the embedded mnist-mini subset         (source "embedded")

   Loading never raises for a missing or unreadable dataset: it logs one
   warning line and falls back to mnist-mini, which ships with the package
   (gen_core/assets/mnist_mini.npz, built by scripts/build_mnist_mini.py).
   Set GEN_CORE_OFFLINE=1 to skip download attempts.

2. Batching. `Batcher` keeps the uint8 images on the training device once and
   cuts shuffled mini-batches from them with plain tensor indexing: no
   DataLoader, no PIL, no per-sample transforms. The whole of MNIST is 47 MB as
   uint8, so this is both the simplest and the fastest way to feed small models.

This module must not import streamlit; the dashboard calls into it.
"""
from __future__ import annotations

import functools
import logging
import os
import socket
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from gen_core.data.images import ImageData


log = logging.getLogger("gen_core")



ASSETS = Path(__file__).resolve().parents[1] / "assets"   # gen_core/assets


MNIST_MINI_PATH = ASSETS / "mnist_mini.npz"


DOWNLOAD_TIMEOUT_S = 10  # per socket operation; a dead network must never hang the UI


# torchvision's raw file names; the same four for MNIST, Fashion-MNIST and KMNIST.
RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


LEGACY_FILES = ("training.pt", "test.pt")  # very old torchvision "processed" layout


@dataclass(frozen=True)
class DatasetInfo:
    name: str                           # registry key, e.g. "fashion-mnist"
    title: str                          # display name, e.g. "Fashion-MNIST"
    torchvision_cls_name: str | None    # class in torchvision.datasets; None = embedded
    classes: tuple[str, ...]            # class names, indexed by label


DIGITS = tuple(str(d) for d in range(10))


DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo("mnist", "MNIST", "MNIST", DIGITS),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist", "Fashion-MNIST", "FashionMNIST",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")),
    "kmnist": DatasetInfo(  # Kuzushiji-MNIST: one cursive hiragana per class (romaji)
        "kmnist", "KMNIST", "KMNIST",
        ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")),
    "mnist-mini": DatasetInfo("mnist-mini", "MNIST-mini", None, DIGITS),
}


FALLBACK = "mnist-mini"


def default_data_roots() -> list[Path]:
    """GEN_CORE_DATA_ROOT if set (only that), else data/ and ../shared/data (relative to cwd)."""
    env = os.environ.get("GEN_CORE_DATA_ROOT", "").strip()
    if env:
        return [Path(env)]
    return [Path("data"), Path("../shared/data")]


def _info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    return DATASETS[name]


def _candidate_roots(root: str | Path | None) -> list[Path]:
    return [Path(root)] if root is not None else default_data_roots()


def _files_present(info: DatasetInfo, root: Path) -> bool:
    folder = root / info.torchvision_cls_name
    return (all((folder / "raw" / f).is_file() for f in RAW_FILES)
            or all((folder / "processed" / f).is_file() for f in LEGACY_FILES))


def resolve_data_root(name: str, root: str | Path | None = None) -> Path | None:
    """The first candidate root (`root`, or the default roots) holding `name`'s files; None if none."""
    info = _info(name)
    if info.torchvision_cls_name is None:
        return None  # embedded: lives in the package, not in a data root
    for candidate in _candidate_roots(root):
        if _files_present(info, candidate):
            return candidate
    return None


def dataset_status(name: str, root: str | Path | None = None) -> str:
    """"full" if the files are on disk, "embedded" for mnist-mini, "missing" otherwise. Loads nothing."""
    info = _info(name)
    if info.torchvision_cls_name is None:
        return "embedded"
    return "full" if resolve_data_root(name, root) is not None else "missing"


def _offline() -> bool:
    return os.environ.get("GEN_CORE_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _show(path: Path | str) -> str:
    """A folder as users should read it: 'data/'."""
    return str(path).rstrip("/\\") + "/"


def load_dataset(name: str, root: str | Path | None = None, download: bool | None = None, *,
                 image_size: int = 32, channels: int = 3) -> ImageData:
    """Load `name` whole, as uint8 tensors. Never raises for missing data: falls back to mnist-mini.

    Colour data: "shapes" is generated in code (gen_core.data.shapes); "folder:<path>" reads a folder or
    .zip of your own images at `image_size` / `channels` (gen_core.data.image_folders; raises
    ImageFolderError, with a message for users, when it cannot).

    root:     folder in torchvision's layout (root/MNIST/raw/...); default: `default_data_roots()`.
    download: try torchvision's download when the files are missing. None means yes,
              unless the environment sets GEN_CORE_OFFLINE=1. Downloads go to `root`,
              or to the first default root ("data/").
    Results are cached in-process, keyed on the dataset and the folders involved.
    """
    if name == "shapes":
        from gen_core.data.shapes import load_shapes
        return load_shapes()
    if isinstance(name, str) and name.startswith("folder:"):
        from gen_core.data.image_folders import load_folder_dataset
        return load_folder_dataset(name[len("folder:"):], image_size, channels)
    info = _info(name)
    if info.torchvision_cls_name is None:
        return _load_cached(name, None, None, False)
    if download is None:
        download = not _offline()
    found = resolve_data_root(name, root)
    if found is not None:
        return _load_cached(name, str(found), None, False)
    # Missing: the cache key carries where we searched and whether we may download,
    # so a failed attempt is not retried (and not waited for) on every call.
    searched = tuple(str(p) for p in _candidate_roots(root))
    return _load_cached(name, None, searched, bool(download))


def clear_cache() -> None:
    """Forget loaded datasets (e.g. after files were added to a data folder)."""
    _load_cached.cache_clear()


@functools.lru_cache(maxsize=8)
def _load_cached(name: str, found: str | None, searched: tuple[str, ...] | None,
                 download: bool) -> ImageData:
    info = DATASETS[name]
    if info.torchvision_cls_name is None:
        return _load_embedded(requested=name)

    if found is not None:  # files are on disk: read them
        try:
            return _load_torchvision(info, Path(found), source="full")
        except Exception as e:  # corrupt or truncated files
            return _fall_back(info, f"{info.title} files in {_show(found)} could not be read", e)

    where = ", ".join(_show(p) for p in searched)
    if not download:
        why = " (GEN_CORE_OFFLINE=1)" if _offline() else ""
        return _fall_back(info, f"{info.title} not found in {where} and downloading is off{why}")

    target = Path(searched[0])
    try:
        _download(info, target)
        return _load_torchvision(info, target, source="downloaded")
    except Exception as e:  # no network, DNS failure, timeout, bad checksum, disk full, ...
        return _fall_back(info, f"{info.title} not found in {where} and download failed (no network?)", e)


def _torchvision_cls(info: DatasetInfo):
    import torchvision.datasets  # imported lazily: it is slow to import and only needed here
    return getattr(torchvision.datasets, info.torchvision_cls_name)


def _download(info: DatasetInfo, root: Path) -> None:
    """torchvision's download into root/<Class>/raw, with a socket timeout so it cannot hang."""
    cls = _torchvision_cls(info)
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        root.mkdir(parents=True, exist_ok=True)
        cls(root=str(root), train=True, download=True)  # fetches all four files
    finally:
        socket.setdefaulttimeout(old)


def _load_torchvision(info: DatasetInfo, root: Path, source: str) -> ImageData:
    cls = _torchvision_cls(info)
    # `.data` / `.targets` are the whole split as tensors already; no transforms, no PIL.
    train = cls(root=str(root), train=True, download=False)
    test = cls(root=str(root), train=False, download=False)
    data = ImageData(
        name=info.name, requested=info.name,
        train_images=train.data.to(torch.uint8), train_labels=train.targets.to(torch.int64),
        test_images=test.data.to(torch.uint8), test_labels=test.targets.to(torch.int64),
        source=source, root=str(root), message="", classes=info.classes)
    where = f"from {root}" if source == "full" else f"downloaded to {root}"
    message = (f"{info.title}: full dataset, {len(data.train_images):,} train / "
               f"{len(data.test_images):,} test images {where}")
    return replace(data, message=message)


def _load_embedded(requested: str, message: str | None = None) -> ImageData:
    info = DATASETS[FALLBACK]
    if not MNIST_MINI_PATH.is_file():  # a packaging error, not a user error
        raise FileNotFoundError(f"embedded dataset missing: {MNIST_MINI_PATH} "
                                "(rebuild it with scripts/build_mnist_mini.py)")
    with np.load(MNIST_MINI_PATH) as z:
        arrays = {k: torch.from_numpy(z[k]) for k in
                  ("train_images", "train_labels", "test_images", "test_labels")}
    n_train, n_test = len(arrays["train_images"]), len(arrays["test_images"])
    if message is None:
        message = (f"{info.title}: embedded subset of MNIST, {n_train:,} train / "
                   f"{n_test:,} test images (balanced across digits)")
    return ImageData(
        name=info.name, requested=requested,
        train_images=arrays["train_images"].to(torch.uint8),
        train_labels=arrays["train_labels"].to(torch.int64),
        test_images=arrays["test_images"].to(torch.uint8),
        test_labels=arrays["test_labels"].to(torch.int64),
        source="embedded", root=None, message=message, classes=info.classes)


def _fall_back(info: DatasetInfo, what: str, error: Exception | None = None) -> ImageData:
    """Load mnist-mini instead of `info`, with a message saying why; log one warning line."""
    mini = _load_embedded(requested=info.name)
    message = (f"{what}: using the embedded {FALLBACK} subset "
               f"({len(mini.train_images):,} digits).")
    detail = ""
    if error is not None:
        text = " ".join(str(error).split())  # multi-line torchvision errors → one line
        detail = f" [{type(error).__name__}: {text[:300]}]"
    log.warning(message + detail)
    return replace(mini, message=message)
