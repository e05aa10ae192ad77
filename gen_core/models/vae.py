"""Variational auto-encoders — Kingma & Welling 2014.

* MLP VAE (seed report 000): encoder 784 → 512 → 256 → (mu, logvar), latent 2 by
  default; the decoder mirrors it and ends in a Sigmoid (applied in `VAE.decode`).
* Conv VAE (seed report 002): two stride-2 convolutions (32, 64 channels) → dense →
  (mu, logvar); the decoder mirrors it with transposed convolutions.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from gen_core.config.models import ConvVAEConfig, MLPVAEConfig
from gen_core.models.base import VAE


class GaussianHead(nn.Module):
    """features → (mu, logvar), the parameters of q(z|x)."""

    def __init__(self, features: int, latent_dim: int):
        super().__init__()
        self.mu = nn.Linear(features, latent_dim)
        self.logvar = nn.Linear(features, latent_dim)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.mu(h), self.logvar(h)


def _relu_stack(widths: list[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for w_in, w_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(w_in, w_out), nn.ReLU(True)]
    return layers


class MLPEncoder(nn.Module):
    def __init__(self, cfg: MLPVAEConfig):
        super().__init__()
        n_pixels = cfg.channels * cfg.image_size ** 2
        self.body = nn.Sequential(nn.Flatten(), *_relu_stack([n_pixels, *cfg.hidden]))
        self.head = GaussianHead(cfg.hidden[-1], cfg.latent_dim)

    def forward(self, x):  # (B, C, H, W) → 2 × (B, latent)
        return self.head(self.body(x))


class MLPDecoder(nn.Module):
    def __init__(self, cfg: MLPVAEConfig):
        super().__init__()
        self.out_shape = (cfg.channels, cfg.image_size, cfg.image_size)
        widths = [cfg.latent_dim, *reversed(cfg.hidden)]
        self.net = nn.Sequential(*_relu_stack(widths), nn.Linear(widths[-1], math.prod(self.out_shape)))

    def forward(self, z):  # (B, latent) → (B, C, H, W) logits
        return self.net(z).view(z.shape[0], *self.out_shape)


class ConvEncoder(nn.Module):
    def __init__(self, cfg: ConvVAEConfig):
        super().__init__()
        layers: list[nn.Module] = []
        c_in, side = cfg.channels, cfg.image_size
        for c_out in cfg.conv_channels:  # 4×4 stride-2 convs halve the side: 28 → 14 → 7
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.ReLU(True)]
            c_in, side = c_out, side // 2
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c_in * side * side, cfg.hidden), nn.ReLU(True))
        self.head = GaussianHead(cfg.hidden, cfg.latent_dim)

    def forward(self, x):
        return self.head(self.body(x))


class ConvDecoder(nn.Module):
    def __init__(self, cfg: ConvVAEConfig):
        super().__init__()
        self.out_shape = (cfg.channels, cfg.image_size, cfg.image_size)
        chans = list(reversed(cfg.conv_channels))  # 64, 32
        side = cfg.image_size // 2 ** len(chans)
        self.start = (chans[0], side, side)
        layers: list[nn.Module] = [nn.Linear(cfg.latent_dim, cfg.hidden), nn.ReLU(True),
                                   nn.Linear(cfg.hidden, chans[0] * side * side), nn.ReLU(True)]
        self.dense = nn.Sequential(*layers)
        up: list[nn.Module] = []
        for c_in, c_out in zip(chans, chans[1:] + [cfg.channels]):
            up += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.ReLU(True)]
        self.up = nn.Sequential(*up[:-1])  # no ReLU on the output logits

    def forward(self, z):  # (B, latent) → (B, C, H, W) logits
        return self.up(self.dense(z).view(z.shape[0], *self.start))


def build_mlp_vae(cfg: MLPVAEConfig) -> VAE:
    return VAE(MLPEncoder(cfg), MLPDecoder(cfg), cfg.latent_dim)


def build_conv_vae(cfg: ConvVAEConfig) -> VAE:
    _check_side(cfg)
    return VAE(ConvEncoder(cfg), ConvDecoder(cfg), cfg.latent_dim)


def _check_side(cfg: ConvVAEConfig) -> None:
    from gen_core.config.checks import ConfigError
    if cfg.image_size % (2 ** len(cfg.conv_channels)):
        raise ConfigError(f"conv-vae needs an image side divisible by {2 ** len(cfg.conv_channels)}.")
