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
import math
import os
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

log = logging.getLogger("gen_core")

ASSETS = Path(__file__).resolve().parent / "assets"
MNIST_MINI_PATH = ASSETS / "mnist_mini.npz"

DOWNLOAD_TIMEOUT_S = 10  # per socket operation; a dead network must never hang the UI

# torchvision's raw file names; the same four for MNIST, Fashion-MNIST and KMNIST.
RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
LEGACY_FILES = ("training.pt", "test.pt")  # very old torchvision "processed" layout


# -----------------------------------------------------------------------------
# Registry

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


@dataclass(frozen=True, eq=False)
class ImageData:
    """A whole dataset in memory. Tensors are shared (cached): treat them as read-only."""
    name: str                    # the dataset actually loaded ("mnist-mini" after a fallback)
    requested: str               # the dataset asked for
    train_images: torch.Tensor = field(repr=False)   # (N, H, W) uint8, CPU
    train_labels: torch.Tensor = field(repr=False)   # (N,) int64
    test_images: torch.Tensor = field(repr=False)    # (M, H, W) uint8
    test_labels: torch.Tensor = field(repr=False)    # (M,) int64
    source: str                  # "full" | "downloaded" | "embedded"
    root: str | None             # folder it was read from (None for embedded)
    message: str                 # one line for users
    classes: tuple[str, ...]

    @property
    def image_size(self) -> int:
        return int(self.train_images.shape[-1])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def fell_back(self) -> bool:
        """True when the requested dataset was replaced by mnist-mini."""
        return self.name != self.requested


# -----------------------------------------------------------------------------
# Finding data on disk (cheap: only checks that files exist)

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


# -----------------------------------------------------------------------------
# Loading

def load_dataset(name: str, root: str | Path | None = None, download: bool | None = None, *,
                 image_size: int = 32, channels: int = 3) -> ImageData:
    """Load `name` whole, as uint8 tensors. Never raises for missing data: falls back to mnist-mini.

    Colour data: "shapes" is generated in code (gen_core.shapes); "folder:<path>" reads a folder or
    .zip of your own images at `image_size` / `channels` (gen_core.image_folders; raises
    ImageFolderError, with a message for users, when it cannot).

    root:     folder in torchvision's layout (root/MNIST/raw/...); default: `default_data_roots()`.
    download: try torchvision's download when the files are missing. None means yes,
              unless the environment sets GEN_CORE_OFFLINE=1. Downloads go to `root`,
              or to the first default root ("data/").
    Results are cached in-process, keyed on the dataset and the folders involved.
    """
    if name == "shapes":
        from .shapes import load_shapes
        return load_shapes()
    if isinstance(name, str) and name.startswith("folder:"):
        from .image_folders import load_folder_dataset
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


# -----------------------------------------------------------------------------
# Scaling helpers

SCALES = ("tanh", "unit")


def scale_images(images_u8: torch.Tensor, scale: str = "tanh", image_size: int | None = None) -> torch.Tensor:
    """uint8 (B, H, W) or (B, C, H, W) → float32 (B, C, S, S) in [-1, 1] ("tanh") or [0, 1] ("unit")."""
    if images_u8.dim() == 3:
        images_u8 = images_u8.unsqueeze(1)
    x = images_u8.float()                          # a fresh tensor, safe to modify in place
    if scale == "tanh":
        x.div_(127.5).sub_(1.0)                    # 0 → -1, 255 → 1 exactly
    elif scale == "unit":
        x.div_(255.0)
    else:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")
    if image_size is not None and tuple(x.shape[-2:]) != (image_size, image_size):
        # bilinear weights are a convex combination, so the value range is preserved
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear",
                          align_corners=False, antialias=False)
    return x


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] ("tanh" scale, e.g. generator output) → [0, 1], clamped; for display."""
    return ((x + 1.0) * 0.5).clamp(0.0, 1.0)


def to_tanh(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] → [-1, 1]."""
    return x * 2.0 - 1.0


# -----------------------------------------------------------------------------
# Batching

def _seed_for(*parts: int) -> int:
    """A well-mixed 64-bit seed from several integers (e.g. (seed, epoch))."""
    entropy = [p % (1 << 64) for p in parts]  # SeedSequence wants non-negative ints
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0])


class Batcher:
    """Iterates shuffled mini-batches from a uint8 tensor held once on the training device.

        batcher = Batcher(data.train_images, data.train_labels, 128, device="cuda")
        for epoch in range(epochs):
            for x, y in batcher:        # x: (B, 1, S, S) float32, y: (B,) int64, on device
                ...

    Each pass (`iter(batcher)`) is one epoch. Its order comes from torch.randperm
    on a CPU generator seeded with (seed, epoch), so it is the same on any device
    and across runs; every pass advances the epoch counter. Save `state_dict()`
    in a checkpoint and `load_state_dict()` it on resume to continue with the
    same order the uninterrupted run would have used.

    Batches per epoch (`len`): N // batch_size with drop_last, else ceil(N / batch_size).
    If batch_size > N, the batch size is cut to N: one batch of all N images per epoch.
    """

    def __init__(self, images_u8: torch.Tensor, labels: torch.Tensor, batch_size: int, *,
                 device: str | torch.device = "cpu", scale: str = "tanh",
                 image_size: int | None = None, subset: int | None = None,
                 seed: int = 0, drop_last: bool = True):
        if images_u8.dtype != torch.uint8 or images_u8.dim() not in (3, 4):
            raise ValueError(f"images must be a uint8 (N, H, W) tensor, got {images_u8.dtype} "
                             f"{tuple(images_u8.shape)}")
        if len(labels) != len(images_u8):
            raise ValueError(f"{len(images_u8)} images but {len(labels)} labels")
        if not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}")
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")
        if subset is not None and subset < 1:
            raise ValueError(f"subset must be at least 1 image, got {subset}")

        if subset is not None and subset < len(images_u8):
            # a fixed random subset, chosen on the CPU before anything is copied
            g = torch.Generator().manual_seed(_seed_for(seed, 1))
            keep = torch.randperm(len(images_u8), generator=g)[:subset].sort().values
            images_u8, labels = images_u8[keep], labels[keep]

        if images_u8.dim() == 3:
            images_u8 = images_u8.unsqueeze(1)      # (N, 1, H, W): batches come out NCHW
        self.device = torch.device(device)
        self.images = images_u8.to(self.device)     # the one copy to the device (a no-op on CPU)
        self.labels = labels.to(self.device, torch.int64)
        self.batch_size = batch_size
        self.scale = scale
        self.image_size = int(image_size) if image_size is not None else int(images_u8.shape[-1])
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0                              # epochs started so far

    @property
    def num_images(self) -> int:
        return int(self.images.shape[0])

    @property
    def _batch(self) -> int:
        return min(self.batch_size, self.num_images)  # batch_size > N: one batch of all N

    def __len__(self) -> int:
        n, b = self.num_images, self._batch
        if n == 0:
            return 0
        return n // b if self.drop_last else math.ceil(n / b)

    def _scale(self, images_u8: torch.Tensor) -> torch.Tensor:
        return scale_images(images_u8, self.scale, self.image_size)

    def permutation(self, epoch: int) -> torch.Tensor:
        """The (CPU) image order of a given epoch."""
        g = torch.Generator().manual_seed(_seed_for(self.seed, 0, epoch))
        return torch.randperm(self.num_images, generator=g)

    def __iter__(self):
        # Draw the order and advance the counter now, not lazily inside the generator,
        # so state_dict() is correct as soon as an epoch has begun.
        perm = self.permutation(self.epoch).to(self.device)
        self.epoch += 1
        return self._batches(perm)

    def _batches(self, perm: torch.Tensor):
        b = self._batch
        for i in range(len(self)):
            idx = perm[i * b:(i + 1) * b]
            yield self._scale(self.images[idx]), self.labels[idx]

    def take(self, n: int, *, labels: bool = False):
        """The first n images (fewer if there are fewer), scaled: a fixed set for evaluation/plots."""
        n = min(int(n), self.num_images)
        x = self._scale(self.images[:n])
        return (x, self.labels[:n]) if labels else x

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        if state.get("seed", self.seed) != self.seed:
            log.warning(f"Batcher state was saved with seed {state['seed']}, "
                        f"this batcher uses {self.seed}: batch order will differ")
        self.epoch = int(state["epoch"])
