"""Class-conditional DCGAN: "pick a digit and see it drawn".

Generator  [z ; embed(y)] → DCGAN up-sampling stack → Tanh   (label embedding concatenated to z,
           as in Mirza & Osindero 2014, "Conditional Generative Adversarial Nets"). Up-sampling is
           nearest + 3×3 conv by default: with DCGAN's transposed convs the labels took far longer
           to show (config.CGANConfig.upsample has the measurement).
Critic     DCGAN down-sampling stack → features φ(x) (B, F, s, s);
           logit = ψ(φ(x)) + ⟨embed_D(y), Σ_s φ(x)⟩   — the projection discriminator of
           Miyato & Koyama 2018 ("cGANs with Projection Discriminator", eq. 3): the label enters
           as an inner product with pooled features rather than as an extra input channel.

Both nets take labels `y` (B,) int64; when `y` is None the generator cycles through the classes
(0, 1, …, K-1, 0, …), so code written for unconditional GANs (sample grids, metrics) still works
and shows every class, and the critic scores with its unconditional part ψ only.
"""
from __future__ import annotations

import torch
from torch import nn

from gen_core.config.models import CGANConfig
from gen_core.models.base import GAN
from gen_core.models.dcgan import _UPSAMPLERS


def _plan(image_size: int) -> tuple[int, list[int]]:
    """(start side, width multipliers from the smallest feature map up) — DCGAN's layout."""
    return {28: (7, [2, 1]), 32: (4, [4, 2, 1]), 64: (4, [8, 4, 2, 1])}[image_size]


def cycle_labels(n: int, num_classes: int, device) -> torch.Tensor:
    """0, 1, …, K-1, 0, 1, … (n labels): the default when a caller gives none."""
    return torch.arange(n, device=device) % num_classes


class ConditionalGenerator(nn.Module):
    def __init__(self, cfg: CGANConfig):
        super().__init__()
        self.out_shape = (cfg.channels, cfg.image_size, cfg.image_size)
        self.num_classes = cfg.num_classes
        self.embed = nn.Embedding(cfg.num_classes, cfg.embed_dim)
        side, mults = _plan(cfg.image_size)
        w = [m * cfg.g_width for m in mults]
        up = _UPSAMPLERS[cfg.upsample]  # the DCGAN's choice of up-sampling (see models/dcgan.py)
        layers: list[nn.Module] = [nn.ConvTranspose2d(cfg.latent_dim + cfg.embed_dim, w[0], side, 1, 0, bias=False),
                                   nn.BatchNorm2d(w[0]), nn.ReLU(True)]
        for w_in, w_out in zip(w[:-1], w[1:]):
            layers += [*up(w_in, w_out), nn.BatchNorm2d(w_out), nn.ReLU(True)]
        layers += [*up(w[-1], cfg.channels), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # → (B, C, S, S)
        if y is None:
            y = cycle_labels(z.shape[0], self.num_classes, z.device)
        h = torch.cat([z, self.embed(y)], dim=1)          # (B, latent + embed)
        return self.net(h[:, :, None, None])


class ProjectionDiscriminator(nn.Module):
    def __init__(self, cfg: CGANConfig):
        super().__init__()
        side, mults = _plan(cfg.image_size)
        w = [m * cfg.d_width for m in reversed(mults)]
        slope = cfg.leaky_slope
        layers: list[nn.Module] = [nn.Conv2d(cfg.channels, w[0], 4, 2, 1, bias=False), nn.LeakyReLU(slope, True)]
        for w_in, w_out in zip(w[:-1], w[1:]):
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.LeakyReLU(slope, True)]
        self.features = nn.Sequential(*layers)                  # (B, F, side, side)
        self.psi = nn.Conv2d(w[-1], 1, side, 1, 0, bias=False)  # unconditional logit ψ(φ(x))
        self.embed = nn.Embedding(cfg.num_classes, w[-1])       # V in ⟨V y, φ(x)⟩

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # → (B,) logits
        h = self.features(x)
        out = self.psi(h).flatten()
        if y is not None:
            out = out + (self.embed(y) * h.sum(dim=(2, 3))).sum(dim=1)
        return out


class ConditionalGAN(GAN):
    """A `GAN` whose generator and critic also take labels."""
    conditional = True

    def __init__(self, cfg: CGANConfig):
        super().__init__(ConditionalGenerator(cfg), ProjectionDiscriminator(cfg), cfg.latent_dim,
                         d_has_batch_stats=True)
        self.num_classes = cfg.num_classes

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.sampler(z, y)  # the EMA generator when there is one (gen_core.objectives.tricks)

    def decode_to_unit(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return (self.sampler(z, y) + 1) / 2


def _init(module: nn.Module) -> None:
    # Radford et al. §4: weights from N(0, 0.02); BatchNorm scales around 1. The label embeddings
    # start small too, so the projection term grows from zero rather than dominating at step 0.
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def build_cgan(cfg: CGANConfig) -> ConditionalGAN:
    model = ConditionalGAN(cfg)
    model.apply(_init)
    # The generator's embedding feeds z-sized inputs: unit scale, like z itself.
    nn.init.normal_(model.generator.embed.weight, 0.0, 1.0)
    return model
