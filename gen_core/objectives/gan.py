"""The GAN objective: one discriminator/critic update (or d_steps) then one generator update per step
(Goodfellow et al. 2014; the loss variants in `losses.py`, the stabilisation tricks in `tricks.py`).
"""
from __future__ import annotations

import torch

from gen_core.config.train import TrainConfig
from gen_core.objectives.common import _adam, _check_finite
from gen_core.objectives.losses import get_gan_loss, gradient_penalty
from gen_core.objectives.tricks import instance_noise_std, update_ema


class GANObjective:
    """Alternating updates of D then G (Goodfellow et al. 2014, Algorithm 1).

    The stabilisation tricks of `TrainConfig` (gen_core.objectives.tricks) act here: label smoothing lowers
    D's real target, instance noise perturbs every image D sees, and the EMA generator is
    updated after each G step. Spectral norm lives in D's layers (built by `build_model_for`).
    """
    scale = "tanh"  # generators end in Tanh, so real images are scaled to [-1, 1]
    step_metrics = ("g_loss", "d_loss", "total_loss", "d_real", "d_fake")

    def __init__(self, model, cfg: TrainConfig, device: torch.device, rng: torch.Generator):
        self.model, self.cfg, self.device, self.rng = model, cfg, device, rng
        self.loss = get_gan_loss(cfg.gan_loss)
        betas = (cfg.beta1, cfg.beta2)
        self.optimizers = {
            "generator": _adam(model.generator.parameters(), cfg.lr_g, betas, device),
            "discriminator": _adam(model.discriminator.parameters(), cfg.lr_d, betas, device),
        }
        self.batches_per_step = cfg.d_steps
        self.real_target = 1.0 - cfg.label_smoothing
        self.progress = 0.0  # fraction of the run done; the trainer sets it (instance-noise anneal)
        self.step = 0        # optimiser steps done before this one; the trainer sets it (EMA warm-up)

    def _perturb(self, x: torch.Tensor) -> torch.Tensor:
        """x + N(0, σ²) with σ annealed over the run (Sønderby et al. 2016); x itself when off."""
        std = instance_noise_std(self.cfg, self.progress)
        if std <= 0:
            return x
        return x + std * torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=self.rng)

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.model.latent_dim, device=self.device, generator=self.rng)

    def _scores(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        D = self.model.discriminator
        if self.model.d_has_batch_stats:
            # BatchNorm: real and fake batches must be normalised separately (pytorch/examples dcgan).
            return D(real), D(fake)
        # No batch statistics: one forward over [real; fake] gives the same result with
        # one large matrix product instead of two half-size ones.
        scores = D(torch.cat([real, fake]))
        return scores[: real.shape[0]], scores[real.shape[0]:]

    def train_step(self, batches: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        G, D, loss = self.model.generator, self.model.discriminator, self.loss
        opt_g, opt_d = self.optimizers["generator"], self.optimizers["discriminator"]

        # ---- (1) Update D: maximise its objective on real vs generated images ----------
        D.requires_grad_(True)
        for i, real in enumerate(batches):
            if i == len(batches) - 1:
                fake_full = G(self._noise(real.shape[0]))  # kept with its graph for the G step
                fake = fake_full.detach()
            else:
                with torch.no_grad():
                    fake = G(self._noise(real.shape[0]))
            real_scores, fake_scores = self._scores(self._perturb(real), self._perturb(fake))
            d_loss = loss.d_loss(real_scores, fake_scores, self.real_target)
            if loss.gradient_penalty:
                d_loss = d_loss + self.cfg.gp_weight * gradient_penalty(D, real, fake)
            _check_finite(d_loss, "D loss")
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()

        # ---- (2) Update G: make D score G(z) as real -----------------------------------
        # D's weights are frozen for this pass: their gradients would be thrown away anyway.
        D.requires_grad_(False)
        g_loss = loss.g_loss(D(self._perturb(fake_full)))
        _check_finite(g_loss, "G loss")
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        D.requires_grad_(True)
        if self.model.ema_generator is not None:
            update_ema(self.model, self.cfg.ema_decay, self.step)

        with torch.no_grad():
            return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach(), "total_loss": (g_loss + d_loss).detach(),
                    "d_real": loss.readout(real_scores.detach()).mean(),
                    "d_fake": loss.readout(fake_scores.detach()).mean()}

    @torch.no_grad()
    def validate(self, real: torch.Tensor, batch_size: int) -> dict[str, float]:
        """D and G losses on held-out real images vs a fixed set of fresh fakes."""
        sums = {"val_d_loss": 0.0, "val_g_loss": 0.0, "val_d_real": 0.0, "val_d_fake": 0.0}
        gen = torch.Generator(device=self.device).manual_seed(self.cfg.seed + 1)
        n = 0
        for chunk in real.split(batch_size):
            z = torch.randn(chunk.shape[0], self.model.latent_dim, device=self.device, generator=gen)
            real_scores, fake_scores = self._scores(chunk, self.model.generator(z))
            b = chunk.shape[0]
            sums["val_d_loss"] += b * self.loss.d_loss(real_scores, fake_scores).item()
            sums["val_g_loss"] += b * self.loss.g_loss(fake_scores).item()
            sums["val_d_real"] += b * self.loss.readout(real_scores).mean().item()
            sums["val_d_fake"] += b * self.loss.readout(fake_scores).mean().item()
            n += b
        return {k: v / max(n, 1) for k, v in sums.items()}
