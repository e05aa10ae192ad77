"""Conditional VAE — Sohn, Lee & Yan 2015 ("Learning Structured Output Representation using Deep
Conditional Generative Models"), in the MLP layout of seed report 000's VAE.

Encoder  q(z | x, y):  [flatten(x) ; onehot(y)] → hidden … → (mu, logvar)
Decoder  p(x | z, y):  [z ; onehot(y)] → reversed hidden … → pixel logits
With the class given to the decoder, z is free to hold what the label does not say — slant,
thickness, style — so "the same z under every label" draws ten digits in one handwriting.

`y` is optional everywhere: None encodes with the uniform label vector (1/K each, the average
of the one-hot inputs; the first layer is linear in it) and decodes cycling 0, 1, …, K-1, so code
written for plain VAEs (latent scatter, samples, metrics) keeps working.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gen_core.config.models import CVAEConfig
from gen_core.models.base import VAE, VAEOutput
from gen_core.models.vae import GaussianHead, _relu_stack


def label_vector(y: torch.Tensor | None, n: int, num_classes: int, device, *, cycle: bool) -> torch.Tensor:
    """(n, K) float: one-hot of y; without y, uniform (cycle=False) or one-hot of 0, 1, …, K-1, 0, … ."""
    if y is None:
        if not cycle:
            return torch.full((n, num_classes), 1.0 / num_classes, device=device)
        y = torch.arange(n, device=device) % num_classes
    return F.one_hot(y.long(), num_classes).float()


class ConditionalEncoder(nn.Module):
    def __init__(self, cfg: CVAEConfig):
        super().__init__()
        self.num_classes = cfg.num_classes
        n_pixels = cfg.channels * cfg.image_size ** 2
        self.body = nn.Sequential(*_relu_stack([n_pixels + cfg.num_classes, *cfg.hidden]))
        self.head = GaussianHead(cfg.hidden[-1], cfg.latent_dim)

    def forward(self, x, y=None):  # (B, C, H, W), (B,) → 2 × (B, latent)
        onehot = label_vector(y, x.shape[0], self.num_classes, x.device, cycle=False)
        return self.head(self.body(torch.cat([x.flatten(1), onehot], dim=1)))


class ConditionalDecoder(nn.Module):
    def __init__(self, cfg: CVAEConfig):
        super().__init__()
        self.num_classes = cfg.num_classes
        self.out_shape = (cfg.channels, cfg.image_size, cfg.image_size)
        widths = [cfg.latent_dim + cfg.num_classes, *reversed(cfg.hidden)]
        self.net = nn.Sequential(*_relu_stack(widths), nn.Linear(widths[-1], math.prod(self.out_shape)))

    def forward(self, z, y=None):  # (B, latent), (B,) → (B, C, H, W) logits
        onehot = label_vector(y, z.shape[0], self.num_classes, z.device, cycle=True)
        return self.net(torch.cat([z, onehot], dim=1)).view(z.shape[0], *self.out_shape)


class ConditionalVAE(VAE):
    conditional = True

    def __init__(self, cfg: CVAEConfig):
        super().__init__(ConditionalEncoder(cfg), ConditionalDecoder(cfg), cfg.latent_dim)
        self.num_classes = cfg.num_classes

    def encode(self, x, y=None):
        return self.encoder(x, y)

    def decode(self, z, y=None):
        return torch.sigmoid(self.decoder(z, y))

    def decode_to_unit(self, z, y=None):
        return self.decode(z, y)

    def forward(self, x, generator: torch.Generator | None = None, y=None) -> VAEOutput:
        mu, logvar = self.encoder(x, y)
        eps = torch.randn(mu.shape, device=mu.device, dtype=mu.dtype, generator=generator)
        z = mu + torch.exp(0.5 * logvar) * eps
        return VAEOutput(self.decoder(z, y), mu, logvar, z)


def build_cvae(cfg: CVAEConfig) -> ConditionalVAE:
    return ConditionalVAE(cfg)
