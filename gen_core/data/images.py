"""A dataset held once as uint8 tensors (`ImageData`), its pixel scales, and the shuffled-index
`Batcher` (no per-sample transforms).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F


log = logging.getLogger("gen_core")



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
