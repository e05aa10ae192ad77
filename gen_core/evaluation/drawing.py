"""Draw and encode: where does the encoder put *your* digit? (after VAE Explainer, Bertucci & Endert 2024)

`prepare_drawing` turns a canvas or an uploaded picture into the model's input the way MNIST
digits were made (LeCun et al.): grey, white strokes on black, cropped to the strokes, scaled
into a 20×20 box and centred by mass in a 28×28 frame, then resized to the model's side.
`encode_drawing` gives q(z|x) = N(mu, diag σ²), the reconstruction and, for 2-D latents, the
decoded neighbourhood mu ± 2σ.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from gen_core.data.imaging import make_grid, to_uint8
from gen_core.models.sampling import decode


class DrawingError(ValueError):
    """The picture cannot be used (empty canvas, not an image). Message for users."""


def _to_grey(picture) -> np.ndarray:
    """bytes (PNG/JPEG) or an array (H, W), (H, W, 3) or (H, W, 4 RGBA) → float grey (H, W) in [0, 1]."""
    if isinstance(picture, (bytes, bytearray)):
        try:
            with Image.open(io.BytesIO(picture)) as im:
                if im.size[0] * im.size[1] > 25_000_000:
                    raise DrawingError("that picture is too large (over 25 megapixels).")
                picture = np.asarray(im.convert("RGBA"))
        except DrawingError:
            raise
        except Exception:
            raise DrawingError("that file is not a PNG or JPEG picture.") from None
    a = np.asarray(picture)
    if a.ndim == 2:
        grey = a.astype(np.float32)
    elif a.ndim == 3 and a.shape[2] in (3, 4):
        rgb = a[..., :3].astype(np.float32)
        grey = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
        if a.shape[2] == 4:  # a canvas: transparent = background; strokes are the opaque pixels
            alpha = a[..., 3].astype(np.float32) / 255.0
            if alpha.min() < 1.0:
                return alpha
    else:
        raise DrawingError(f"a drawing must be an (H, W) or (H, W, 3/4) image, got shape {a.shape}.")
    if grey.max() > 1.0:
        grey = grey / 255.0
    if np.median(grey) > 0.5:  # dark strokes on white paper → white strokes on black, as in MNIST
        grey = 1.0 - grey
    return grey


def prepare_drawing(picture, image_size: int = 28) -> torch.Tensor:
    """A drawing → (1, 1, S, S) float in [0, 1], MNIST-style (20×20 box centred by mass in 28×28)."""
    grey = _to_grey(picture)
    mask = grey > 0.1
    if mask.sum() < 3:
        raise DrawingError("the drawing is empty: draw a digit first.")
    rows, cols = np.where(mask.any(1))[0], np.where(mask.any(0))[0]
    crop = grey[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    new = (max(1, round(h * scale)), max(1, round(w * scale)))
    t = torch.from_numpy(np.ascontiguousarray(crop))[None, None]
    small = F.interpolate(t, size=new, mode="area" if scale < 1 else "bilinear",
                          align_corners=False if scale >= 1 else None)[0, 0]
    frame = torch.zeros(28, 28)
    top, left = (28 - new[0]) // 2, (28 - new[1]) // 2
    frame[top:top + new[0], left:left + new[1]] = small
    # centre of mass to the centre of the frame
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    total = frame.sum()
    cy, cx = float((ys * frame).sum() / total), float((xs * frame).sum() / total)
    dy, dx = int(round(13.5 - cy)), int(round(13.5 - cx))
    frame = torch.roll(frame, shifts=(dy, dx), dims=(0, 1))
    x = frame.clamp(0, 1)[None, None]
    if image_size != 28:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return x


@dataclass
class Encoding:
    mu: np.ndarray               # (latent,)
    sigma: np.ndarray            # (latent,) posterior standard deviations
    input_image: np.ndarray      # uint8 (S, S): what the encoder saw
    reconstruction: np.ndarray   # uint8 (S, S): decode(mu)
    neighbourhood: np.ndarray | None = None  # uint8 grid: decode over mu ± 2σ (2-D latents)
    neighbourhood_n: int = 0


@torch.no_grad()
def encode_drawing(model, x: torch.Tensor, *, label: int | None = None, n: int = 7) -> Encoding:
    """Encode a prepared drawing (1, C, S, S) with a VAE; a conditional VAE also takes `label`."""
    if getattr(model, "family", None) != "vae":
        raise DrawingError("drawing and encoding needs a VAE (a GAN has no encoder).")
    was = model.training
    model.eval()
    try:
        dev = next(model.parameters()).device
        c = model.image_shape[0]
        x = x.to(dev).expand(1, c, -1, -1) if x.shape[1] != c else x.to(dev)
        kw = {}
        if getattr(model, "conditional", False) and label is not None:
            kw = {"y": torch.tensor([int(label)], device=dev)}
        mu, logvar = model.encode(x, **kw)
        recon = model.decode(mu, **kw)
        out = Encoding(mu=mu[0].cpu().numpy(), sigma=torch.exp(0.5 * logvar[0]).cpu().numpy(),
                       input_image=_plane(to_uint8(x.cpu())), reconstruction=_plane(to_uint8(recon.cpu())))
        if model.latent_dim == 2:
            offsets = torch.linspace(-2, 2, n)
            s = torch.exp(0.5 * logvar[0]).cpu()
            m = mu[0].cpu()
            rows, cols = torch.meshgrid(offsets.flip(0), offsets, indexing="ij")
            z = torch.stack([m[0] + cols.reshape(-1) * s[0], m[1] + rows.reshape(-1) * s[1]], dim=1)
            if kw:
                images = model.decode(z.to(dev), y=kw["y"].expand(len(z))).cpu()
            else:
                images = decode(model, z)
            out.neighbourhood = make_grid(to_uint8(images), nrow=n)
            out.neighbourhood_n = n
        return out
    finally:
        model.train(was)


def _plane(images_u8: np.ndarray) -> np.ndarray:
    """(1, C, H, W) → (H, W) or (H, W, 3)."""
    img = images_u8[0]
    return img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
