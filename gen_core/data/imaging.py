"""Images as uint8 numpy arrays: tensors → grids → PNG / GIF bytes. No UI code here."""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) float in [0, 1] → uint8 numpy (N, C, H, W)."""
    return (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def make_grid(images: np.ndarray, nrow: int | None = None, padding: int = 2, pad_value: int = 0) -> np.ndarray:
    """uint8 (N, C, H, W) → one uint8 image (rows·(H+p)+p, cols·(W+p)+p), or (…, 3) for RGB.

    `nrow` is the number of images per row (default: as square as possible).
    """
    images = np.asarray(images)
    if images.ndim == 3:  # (N, H, W)
        images = images[:, None]
    n, c, h, w = images.shape
    ncol = nrow or max(1, math.ceil(math.sqrt(n)))
    nrows = max(1, math.ceil(n / ncol))
    grid = np.full((c, nrows * (h + padding) + padding, ncol * (w + padding) + padding), pad_value, np.uint8)
    for i in range(n):
        r, col = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top:top + h, left:left + w] = images[i]
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement, so 28-px digits stay crisp on screens and in reports."""
    return image.repeat(factor, axis=0).repeat(factor, axis=1) if factor > 1 else image


def png_bytes(image: np.ndarray, scale: int = 1) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(upscale(image, scale)).save(buf, format="PNG")
    return buf.getvalue()


def with_caption(image: np.ndarray, text: str, *, height: int = 16) -> np.ndarray:
    """`image` (uint8 (H, W) or (H, W, 3)) with a black strip above it saying `text` in white, so a
    frame of an animation says which epoch it shows."""
    from PIL import ImageDraw, ImageFont
    img = Image.fromarray(image)
    out = Image.new(img.mode, (img.width, img.height + height), 0)
    out.paste(img, (0, height))
    draw = ImageDraw.Draw(out)
    white = 255 if img.mode == "L" else (255, 255, 255)
    draw.text((4, 2), text, fill=white, font=ImageFont.load_default())
    return np.asarray(out)


def gif_bytes(frames: list[np.ndarray], duration_ms: int = 400, scale: int = 1,
              labels: list[str] | None = None) -> bytes:
    """An animated GIF, looping forever, from equally sized uint8 frames; `labels` (e.g. 'epoch 3')
    are written above each frame, after enlarging, so they stay legible."""
    big = [upscale(f, scale) for f in frames]
    if labels is not None:
        big = [with_caption(f, text) for f, text in zip(big, labels)]
    pil = [Image.fromarray(f) for f in big]
    buf = io.BytesIO()
    pil[0].save(buf, format="GIF", save_all=True, append_images=pil[1:], duration=duration_ms, loop=0)
    return buf.getvalue()


def save_png(image: np.ndarray, path: str | Path, scale: int = 1) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(image, scale))
    return path
