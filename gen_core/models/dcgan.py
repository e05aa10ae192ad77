"""Deep convolutional GAN — Radford, Metz & Chintala 2016 ("DCGAN").

Two sizes from one config:
  * 28×28 (CPU-sized): z → 7×7 → 14×14 → 28×28 with widths 2·ngf, ngf.
  * 64×64 (paper / seed report 000): z → 4×4 → 8 → 16 → 32 → 64 with widths
    8·ngf … ngf, ngf = ndf = 128, latent 100 (pytorch/examples dcgan layout).
Architecture guidelines from the paper: strided convolutions instead of pooling,
BatchNorm in both nets (not on G's output or D's input), ReLU in G, LeakyReLU(0.2) in D,
Tanh output; weights initialised from N(0, 0.02).
"""
from __future__ import annotations

import torch
from torch import nn

from gen_core.config.models import DCGANConfig
from gen_core.models.base import GAN


def _plan(image_size: int) -> tuple[int, list[int]]:
    """(start side, width multipliers from the smallest feature map up)."""
    # 28: 7 → 14 → 28 (CPU-sized); 32: 4 → 8 → 16 → 32 (your images); 64: the paper's 4 → … → 64.
    return {28: (7, [2, 1]), 32: (4, [4, 2, 1])}.get(image_size, (4, [8, 4, 2, 1]))


def _conv_transpose(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)]  # the paper's fractionally-strided conv


def _nearest_conv(c_in: int, c_out: int) -> list[nn.Module]:
    # Odena, Dumoulin & Olah 2016 ("Deconvolution and Checkerboard Artifacts"): resize, then convolve.
    # Measured here (2 CPU cores, full MNIST, evaluator): it learns more per step than the transposed
    # convs (at step 250: 27% confident over all ten classes vs one class only; at 2,000: 58% vs 52%),
    # which outweighs its cost per step: 1,333 vs 1,820 samples/s at batch 64 (3.25 vs 2.43 GFLOP per
    # step at the same ~50% of the matmul roof). It is not a speed-up per FLOP.
    return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False)]


_UPSAMPLERS = {"convtranspose": _conv_transpose, "nearest": _nearest_conv}


class DCGenerator(nn.Module):
    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        self.out_shape = (cfg.channels, cfg.image_size, cfg.image_size)
        side, mults = _plan(cfg.image_size)
        w = [m * cfg.g_width for m in mults]
        # Project z to the smallest feature map with one transposed conv (a 1×1 → side×side "dense" layer).
        layers: list[nn.Module] = [nn.ConvTranspose2d(cfg.latent_dim, w[0], side, 1, 0, bias=False),
                                   nn.BatchNorm2d(w[0]), nn.ReLU(True)]
        up = _UPSAMPLERS[cfg.upsample]
        for w_in, w_out in zip(w[:-1], w[1:]):  # each doubles the side
            layers += [*up(w_in, w_out), nn.BatchNorm2d(w_out), nn.ReLU(True)]
        layers += [*up(w[-1], cfg.channels), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (B, latent) → (B, C, S, S)
        # Standard layout out even when trained channels-last (a no-op for 1 channel), so that
        # callers may .view() the images.
        return self.net(z[:, :, None, None]).contiguous()


class DCDiscriminator(nn.Module):
    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        side, mults = _plan(cfg.image_size)
        w = [m * cfg.d_width for m in reversed(mults)]  # ndf, 2·ndf, …
        slope = cfg.leaky_slope
        layers: list[nn.Module] = [nn.Conv2d(cfg.channels, w[0], 4, 2, 1, bias=False), nn.LeakyReLU(slope, True)]
        for w_in, w_out in zip(w[:-1], w[1:]):  # each halves the side
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.LeakyReLU(slope, True)]
        layers += [nn.Conv2d(w[-1], 1, side, 1, 0, bias=False)]  # side×side → 1×1 logit
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, S, S) → (B,) logits
        return self.net(x).flatten()


def _dcgan_init(module: nn.Module) -> None:
    # Radford et al. §4: "All weights were initialized from a zero-centered Normal distribution
    # with standard deviation 0.02"; BatchNorm scales around 1.
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def build_dcgan(cfg: DCGANConfig) -> GAN:
    model = GAN(DCGenerator(cfg), DCDiscriminator(cfg), cfg.latent_dim, d_has_batch_stats=True)
    model.apply(_dcgan_init)
    return model
