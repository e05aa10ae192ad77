"""Linear (fully connected) GAN — seed report 000, after Goodfellow et al. 2014.

Generator     z → 256 → 512 → 1024 → 784, LeakyReLU(0.2), Tanh output in [-1, 1].
Discriminator 784 → 1024 → 512 → 256 → 1, LeakyReLU(0.2) + Dropout(0.3), returns a logit.
Widths are configurable, so seed 001's small GAN (64 → 256 → 784) and seed 004's
DenseGAN / DenseGAN-Deep are presets of this one class.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from gen_core.config.models import MLPGANConfig
from gen_core.models.base import GAN
from gen_core.models.layers import FastDropout


def _mlp(widths: list[int], *, slope: float, dropout: float = 0.0, batch_norm: bool = False) -> list[nn.Module]:
    """Hidden stack widths[0] → … → widths[-1], each followed by (BN,) LeakyReLU (, Dropout)."""
    layers: list[nn.Module] = []
    for w_in, w_out in zip(widths[:-1], widths[1:]):
        layers.append(nn.Linear(w_in, w_out))
        if batch_norm:
            layers.append(nn.BatchNorm1d(w_out))
        layers.append(nn.LeakyReLU(slope, inplace=True))
        if dropout > 0:
            layers.append(FastDropout(dropout))
    return layers


class MLPGenerator(nn.Module):
    def __init__(self, cfg: MLPGANConfig):
        super().__init__()
        self.out_shape = (cfg.channels, cfg.image_size, cfg.image_size)
        n_pixels = math.prod(self.out_shape)
        self.net = nn.Sequential(
            *_mlp([cfg.latent_dim, *cfg.g_hidden], slope=cfg.leaky_slope, batch_norm=cfg.batch_norm),
            nn.Linear(cfg.g_hidden[-1], n_pixels),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (B, latent) → (B, C, H, W)
        return self.net(z).view(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, cfg: MLPGANConfig):
        super().__init__()
        n_pixels = cfg.channels * cfg.image_size ** 2
        self.net = nn.Sequential(
            *_mlp([n_pixels, *cfg.d_hidden], slope=cfg.leaky_slope, dropout=cfg.dropout),
            nn.Linear(cfg.d_hidden[-1], 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) → (B,) logits
        return self.net(x.flatten(1)).squeeze(1)


def build_mlp_gan(cfg: MLPGANConfig) -> GAN:
    return GAN(MLPGenerator(cfg), MLPDiscriminator(cfg), cfg.latent_dim,
               # Real and fake batches may share one D forward only when D has no
               # batch statistics to mix (see training.GANObjective).
               d_has_batch_stats=False)
