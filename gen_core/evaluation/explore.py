"""Latent-space helpers for the dashboard's explorer and comparison pages.

Each function takes a model (a `ModelView.model`, in eval mode) and plain Python numbers
and returns uint8 numpy images ready for `st.image` / `imaging.png_bytes`, so pages do
no tensor work themselves.
"""
from __future__ import annotations

import numpy as np
import torch

from gen_core.data.images import ImageData, scale_images
from gen_core.data.imaging import make_grid, to_uint8
from gen_core.models.sampling import decode, encode_means, interpolate, latent_map, sample


def _image(batch_u8: np.ndarray) -> np.ndarray:
    """(N, C, H, W) uint8 → (H, W) or (H, W, C) for one image."""
    img = batch_u8[0]
    return img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)


def latent_point(latent_dim: int, dims: tuple[int, int], values: tuple[float, float],
                 base: torch.Tensor | None = None) -> torch.Tensor:
    """(1, latent_dim): `values` at `dims`, the other coordinates 0 (or `base`)."""
    z = torch.zeros(1, latent_dim) if base is None else base.detach().float().reshape(1, -1).clone()
    for d, v in zip(dims, values):
        if not 0 <= d < latent_dim:
            raise ValueError(f"latent dimension {d + 1} does not exist (the model has {latent_dim}).")
        z[0, d] = float(v)
    return z


def decode_point(model, dims: tuple[int, int], values: tuple[float, float]) -> np.ndarray:
    """The one image the decoder / generator makes at that latent point (uint8 (H, W))."""
    return _image(to_uint8(decode(model, latent_point(model.latent_dim, dims, values))))


def latent_map_grid(model, n: int = 20, dims: tuple[int, int] = (0, 1), padding: int = 2) -> np.ndarray:
    """The n×n latent map as one uint8 grid image (gen_core.models.sampling.latent_map + make_grid)."""
    return make_grid(to_uint8(latent_map(model, n, dims)), nrow=n, padding=padding)


def sample_grid(model, n: int = 64, seed: int = 0, nrow: int | None = None) -> np.ndarray:
    """n samples from z ~ N(0, I) drawn with `seed` (the same noise for any model of that latent size)."""
    return make_grid(to_uint8(sample(model, n, seed)), nrow=nrow)


def interpolation_frames(model, z_start: torch.Tensor, z_end: torch.Tensor, steps: int) -> list[np.ndarray]:
    """Decoded images along the straight line z_start → z_end, `steps` points inclusive."""
    if not 2 <= steps <= 64:
        raise ValueError(f"steps must be between 2 and 64, got {steps}")
    images = to_uint8(decode(model, interpolate(z_start, z_end, steps)))
    return [_image(images[i:i + 1]) for i in range(len(images))]


def strip(frames: list[np.ndarray], padding: int = 2) -> np.ndarray:
    """Frames side by side in one row."""
    arr = np.stack([f[None] if f.ndim == 2 else f.transpose(2, 0, 1) for f in frames])
    return make_grid(arr, nrow=len(frames), padding=padding)


def test_images(data: ImageData, indices: list[int]) -> np.ndarray:
    """Held-out images by index, uint8 (N, H, W) at the data's own size."""
    n = len(data.test_images)
    idx = [int(i) % n for i in indices]
    return data.test_images[idx].numpy()


def encode_test_images(model, data: ImageData, indices: list[int]) -> torch.Tensor:
    """VAE posterior means of held-out images: (len(indices), latent)."""
    side = model.image_shape[-1]
    x = scale_images(torch.from_numpy(test_images(data, indices)), "unit", side)
    return encode_means(model, x)


__all__ = ["latent_point", "decode_point", "latent_map_grid", "sample_grid", "interpolation_frames",
           "strip", "test_images", "encode_test_images"]
