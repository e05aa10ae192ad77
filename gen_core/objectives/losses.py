"""Objectives. Discriminators return raw logits/scores; each GAN loss says how to read them.

GAN losses (a registry, `GAN_LOSSES`), written as quantities to *minimise*:

  minimax         Goodfellow et al. 2014, eq. 1:  D: -E[log D(x)] - E[log(1 - D(G(z)))]
                                                  G:  E[log(1 - D(G(z)))]   (saturates early on)
  non-saturating  Goodfellow et al. 2014, §3:     G: -E[log D(G(z))]        (the usual default)
  lsgan           Mao et al. 2017:                D: ½E[(D(x)-1)²] + ½E[D(G(z))²], G: ½E[(D(G(z))-1)²]
  wgan-gp         Gulrajani et al. 2017:          D: E[D(G(z))] - E[D(x)] + λ E[(‖∇D(x̂)‖ - 1)²], G: -E[D(G(z))]
  hinge           Lim & Ye 2017; Miyato et al. 2018: D: E[relu(1 - D(x))] + E[relu(1 + D(G(z)))], G: -E[D(G(z))]

VAE: negative ELBO = reconstruction + β·KL(q(z|x) ‖ N(0, I)) (Kingma & Welling 2014, Higgins
et al. 2017 for β), summed over pixels and latent dims, averaged over the batch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F


Tensor = torch.Tensor


@dataclass(frozen=True)
class GANLoss:
    name: str
    # (real scores, fake scores[, real_target]) → scalar. real_target < 1 is one-sided label
    # smoothing (Salimans et al. 2016, §3.4), only for losses with `smoothable` targets.
    d_loss: Callable[..., Tensor]
    g_loss: Callable[[Tensor], Tensor]           # fake scores → scalar
    # How to show D(x) / D(G(z)): a probability for the log-loss family, the raw score otherwise.
    readout: Callable[[Tensor], Tensor]
    gradient_penalty: bool = False
    description: str = ""
    smoothable: bool = False  # has a real-image target that label smoothing can lower


def _bce_d(real: Tensor, fake: Tensor, real_target: float = 1.0) -> Tensor:
    # -log σ(r) - log(1 - σ(f)) == softplus(-r) + softplus(f), stable for large logits.
    # With a real target t < 1: BCE(σ(r), t) = t·softplus(-r) + (1 - t)·softplus(r).
    real_term = F.softplus(-real).mean() if real_target == 1.0 else (
        real_target * F.softplus(-real) + (1 - real_target) * F.softplus(real)).mean()
    return real_term + F.softplus(fake).mean()


def _lsgan_d(real: Tensor, fake: Tensor, real_target: float = 1.0) -> Tensor:
    return 0.5 * ((real - real_target) ** 2).mean() + 0.5 * (fake ** 2).mean()


def _identity(scores: Tensor) -> Tensor:
    return scores


GAN_LOSSES: dict[str, GANLoss] = {loss.name: loss for loss in [
    GANLoss("non-saturating", _bce_d, lambda f: F.softplus(-f).mean(), torch.sigmoid, smoothable=True,
            description="G maximises log D(G(z)): strong gradients early in training."),
    GANLoss("minimax", _bce_d, lambda f: -F.softplus(f).mean(), torch.sigmoid, smoothable=True,
            description="G minimises log(1 − D(G(z))): the original game; saturates when D wins."),
    GANLoss("lsgan", _lsgan_d, lambda f: 0.5 * ((f - 1) ** 2).mean(), _identity, smoothable=True,
            description="Least squares: penalises samples by their distance to the decision boundary."),
    GANLoss("wgan-gp", lambda r, f, real_target=1.0: f.mean() - r.mean(), lambda f: -f.mean(), _identity,
            gradient_penalty=True,
            description="Wasserstein critic with gradient penalty; use several D steps per G step."),
    GANLoss("hinge", lambda r, f, real_target=1.0: F.relu(1 - r).mean() + F.relu(1 + f).mean(), lambda f: -f.mean(), _identity,
            description="Hinge loss, as in SAGAN/BigGAN."),
]}


def get_gan_loss(name: str) -> GANLoss:
    from gen_core.config.checks import ConfigError
    try:
        return GAN_LOSSES[name]
    except KeyError:
        raise ConfigError(f"unknown GAN loss {name!r}; choose one of {', '.join(GAN_LOSSES)}.") from None


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """WGAN-GP: E[(‖∇ₓ̂ D(x̂)‖₂ - 1)²] on random interpolates x̂ of real and fake (Gulrajani et al. 2017)."""
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


# ---------------------------------------------------------------------------
# VAE
# ---------------------------------------------------------------------------

def kl_per_dim(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, σ²) ‖ N(0, 1)) per latent dimension, averaged over the batch. (latent,)

    Closed form (Kingma & Welling 2014, appendix B): -½ (1 + log σ² - mu² - σ²).
    """
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(0)


def _bce_per_pixel(recon_logits: Tensor, x: Tensor) -> Tensor:
    # Bernoulli decoder, x in [0, 1]; logits keep it stable (no log(0)).
    return F.binary_cross_entropy_with_logits(recon_logits, x, reduction="none")


def _mse_per_pixel(recon_logits: Tensor, x: Tensor) -> Tensor:
    # Gaussian decoder with fixed variance: the NLL is ½‖x - x̂‖²/σ² + const; like
    # pytorch/examples and the seed reports we use the plain sum of squares.
    return (torch.sigmoid(recon_logits) - x) ** 2


RECON_LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"bce": _bce_per_pixel, "mse": _mse_per_pixel}


def reconstruction_loss(recon_logits: Tensor, x: Tensor, kind: str) -> Tensor:
    """-log p(x|z) up to a constant, summed over pixels, averaged over the batch."""
    if kind not in RECON_LOSSES:
        from gen_core.config.checks import ConfigError
        raise ConfigError(f"unknown reconstruction loss {kind!r}; choose one of {', '.join(RECON_LOSSES)}.")
    return RECON_LOSSES[kind](recon_logits, x).flatten(1).sum(1).mean()


def vae_loss(out, x: Tensor, recon: str = "bce", beta: float = 1.0) -> dict[str, Tensor]:
    """Negative ELBO terms for a batch. `out` is a `VAEOutput`; x in [0, 1], (B, C, H, W)."""
    rec = reconstruction_loss(out.recon_logits, x, recon)
    kl_dims = kl_per_dim(out.mu, out.logvar)
    kl = kl_dims.sum()
    return {"loss": rec + beta * kl, "recon": rec, "kl": kl, "kl_per_dim": kl_dims}
