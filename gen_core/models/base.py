"""Common model wrappers: every model is a `GAN` or a `VAE` with named outputs.

Both expose the same small surface the rest of the app relies on:
`family`, `latent_dim`, `image_shape`, `decode_to_unit(z)` (images in [0, 1]
for display, whatever the output activation) and `num_parameters()`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


class GAN(nn.Module):
    family = "gan"

    def __init__(self, generator: nn.Module, discriminator: nn.Module, latent_dim: int,
                 *, d_has_batch_stats: bool):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.d_has_batch_stats = d_has_batch_stats
        # An exponential moving average of G's weights (gen_core.objectives.tricks, Yazıcı et al. 2019), or None.
        # When present it draws every sample shown or scored; the live `generator` is what trains.
        self.ema_generator: nn.Module | None = None

    @property
    def sampler(self) -> nn.Module:
        """The generator that draws samples: the EMA copy when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.generator.out_shape)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.sampler(z)

    def decode_to_unit(self, z: torch.Tensor) -> torch.Tensor:
        """G(z) mapped from tanh's [-1, 1] to [0, 1]. (B, latent) → (B, C, H, W)."""
        return (self.sampler(z) + 1) / 2

    def num_parameters(self) -> dict[str, int]:
        g = sum(p.numel() for p in self.generator.parameters())
        d = sum(p.numel() for p in self.discriminator.parameters())
        return {"generator": g, "discriminator": d, "total": g + d}


@dataclass
class VAEOutput:
    """Named outputs of one VAE forward pass (as in pythae)."""
    recon_logits: torch.Tensor  # (B, C, H, W) decoder logits; sigmoid gives p(x|z) means
    mu: torch.Tensor            # (B, latent)
    logvar: torch.Tensor        # (B, latent)
    z: torch.Tensor             # (B, latent) reparameterised sample

    @property
    def recon(self) -> torch.Tensor:
        return torch.sigmoid(self.recon_logits)


class VAE(nn.Module):
    """q(z|x) = N(mu, diag(exp(logvar))), p(z) = N(0, I), Bernoulli/Gaussian p(x|z).

    The decoder ends in logits; `decode` applies the Sigmoid. Keeping logits lets the
    BCE loss use the numerically stable `binary_cross_entropy_with_logits`.
    """
    family = "vae"

    def __init__(self, encoder: nn.Module, decoder: nn.Module, latent_dim: int):
        super().__init__()
        self.encoder = encoder  # x → (mu, logvar)
        self.decoder = decoder  # z → logits
        self.latent_dim = latent_dim

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.decoder.out_shape)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z))

    decode_to_unit = decode

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> VAEOutput:
        mu, logvar = self.encoder(x)
        # Reparameterisation trick (Kingma & Welling 2014, §2.4): z = mu + sigma * eps.
        eps = torch.randn(mu.shape, device=mu.device, dtype=mu.dtype, generator=generator)
        z = mu + torch.exp(0.5 * logvar) * eps
        return VAEOutput(self.decoder(z), mu, logvar, z)

    def num_parameters(self) -> dict[str, int]:
        e = sum(p.numel() for p in self.encoder.parameters())
        d = sum(p.numel() for p in self.decoder.parameters())
        return {"encoder": e, "decoder": d, "total": e + d}
