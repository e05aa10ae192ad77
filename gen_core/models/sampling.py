"""Decoding the latent space: samples, latent maps, interpolations, encodings.

All functions take a built model (`GAN` or `VAE`) and return images in [0, 1],
(N, C, H, W), so the app and the CLI never touch tensors themselves.
"""
from __future__ import annotations

import torch


def _device(model) -> torch.device:
    return next(model.parameters()).device


def normal_quantile_grid(n: int, lo: float = 0.05, hi: float = 0.95) -> torch.Tensor:
    """n values of z spaced by N(0, 1) quantiles — Kingma & Welling 2014, Fig. 4 (seed 000, Fig. 8).

    Equal probability mass between neighbours, so the map covers where the prior puts its weight.
    """
    return torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(lo, hi, n))


def latent_grid_points(n: int, latent_dim: int, dims: tuple[int, int] = (0, 1),
                       base: torch.Tensor | None = None) -> torch.Tensor:
    """(n*n, latent_dim) points: dims[0] varies along columns, dims[1] down the rows (top = high)."""
    q = normal_quantile_grid(n)
    z = torch.zeros(n * n, latent_dim) if base is None else base.detach().cpu().float().expand(n * n, -1).clone()
    rows, cols = torch.meshgrid(q.flip(0), q, indexing="ij")
    z[:, dims[0]] = cols.reshape(-1)
    z[:, dims[1]] = rows.reshape(-1)
    return z


@torch.no_grad()
def decode(model, z: torch.Tensor) -> torch.Tensor:
    """z (N, latent) → images in [0, 1] (N, C, H, W), in eval mode (BatchNorm uses running stats)."""
    was_training = model.training
    model.eval()
    try:
        return model.decode_to_unit(z.to(_device(model), torch.float32)).cpu()
    finally:
        model.train(was_training)


def latent_map(model, n: int = 20, dims: tuple[int, int] = (0, 1), base: torch.Tensor | None = None) -> torch.Tensor:
    """The n×n latent map: decode a grid over two latent dims, other dims at `base` (default 0)."""
    return decode(model, latent_grid_points(n, model.latent_dim, dims, base))


def sample(model, n: int, seed: int = 0) -> torch.Tensor:
    """n images from z ~ N(0, I), reproducible for a given seed."""
    z = torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    return decode(model, z)


def interpolate(z_start: torch.Tensor, z_end: torch.Tensor, steps: int) -> torch.Tensor:
    """`steps` points on the straight line from z_start to z_end (inclusive). (steps, latent)."""
    t = torch.linspace(0, 1, steps)[:, None]
    return (1 - t) * z_start.reshape(1, -1).float() + t * z_end.reshape(1, -1).float()


@torch.no_grad()
def encode_means(model, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """VAE posterior means for images in [0, 1]: (N, C, H, W) → (N, latent)."""
    was_training = model.training
    model.eval()
    try:
        dev = _device(model)
        return torch.cat([model.encode(c.to(dev))[0].cpu() for c in x.split(batch_size)])
    finally:
        model.train(was_training)
