"""Objectives of the class-conditional models: the cGAN (labels into G and a projection D, Miyato &
Koyama 2018) and the cVAE (labels into encoder and decoder, Sohn et al. 2015).
"""
from __future__ import annotations

import torch

from gen_core.config.checks import ConfigError
from gen_core.objectives.common import _check_finite
from gen_core.objectives.gan import GANObjective
from gen_core.objectives.losses import gradient_penalty, vae_loss
from gen_core.objectives.tricks import update_ema
from gen_core.objectives.vae import VAEObjective


def is_conditional(model) -> bool:
    return bool(getattr(model, "conditional", False))


def check_labels(config, data) -> None:
    """A conditional model needs one label per class of the data."""
    k = getattr(config.model_config, "num_classes", None)
    if k is not None and k != data.num_classes:
        raise ConfigError(f"{config.model} is set for {k} classes but {data.name} has {data.num_classes} "
                          f"({', '.join(map(str, data.classes[:12]))}): set num_classes to {data.num_classes}.")


class CGANObjective(GANObjective):
    """Algorithm 1 of Goodfellow et al. with y given to G and D; fakes get uniformly drawn labels.
    The GAN tricks of `TrainConfig` (label smoothing, instance noise, EMA generator, spectral norm)
    apply as in `GANObjective`."""
    uses_labels = True
    val_labels: torch.Tensor | None = None  # set by the Trainer

    def _labels(self, n: int) -> torch.Tensor:
        return torch.randint(0, self.model.num_classes, (n,), device=self.device, generator=self.rng)

    def train_step(self, batches) -> dict[str, torch.Tensor]:
        G, D, loss = self.model.generator, self.model.discriminator, self.loss
        opt_g, opt_d = self.optimizers["generator"], self.optimizers["discriminator"]
        # ---- (1) D: real (x, y) pairs against G(z, y') with random labels y' ----------------
        D.requires_grad_(True)
        for i, (real, y_real) in enumerate(batches):
            y_fake = self._labels(real.shape[0])
            if i == len(batches) - 1:
                fake_full = G(self._noise(real.shape[0]), y_fake)
                fake = fake_full.detach()
            else:
                with torch.no_grad():
                    fake = G(self._noise(real.shape[0]), y_fake)
            real_scores, fake_scores = D(self._perturb(real), y_real), D(self._perturb(fake), y_fake)
            d_loss = loss.d_loss(real_scores, fake_scores, self.real_target)
            if loss.gradient_penalty:  # the penalty is on the unconditional critic path
                d_loss = d_loss + self.cfg.gp_weight * gradient_penalty(lambda x: D(x, y_real), real, fake)
            _check_finite(d_loss, "D loss")
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        # ---- (2) G: make D score G(z, y') as a real y' ---------------------------------------
        D.requires_grad_(False)
        g_loss = loss.g_loss(D(self._perturb(fake_full), y_fake))
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
        sums = {"val_d_loss": 0.0, "val_g_loss": 0.0, "val_d_real": 0.0, "val_d_fake": 0.0}
        gen = torch.Generator(device=self.device).manual_seed(self.cfg.seed + 1)
        labels = self.val_labels
        n = 0
        for chunk, y in zip(real.split(batch_size), labels.split(batch_size)):
            z = torch.randn(chunk.shape[0], self.model.latent_dim, device=self.device, generator=gen)
            real_scores = self.model.discriminator(chunk, y)
            fake_scores = self.model.discriminator(self.model.generator(z, y), y)
            b = chunk.shape[0]
            sums["val_d_loss"] += b * self.loss.d_loss(real_scores, fake_scores).item()
            sums["val_g_loss"] += b * self.loss.g_loss(fake_scores).item()
            sums["val_d_real"] += b * self.loss.readout(real_scores).mean().item()
            sums["val_d_fake"] += b * self.loss.readout(fake_scores).mean().item()
            n += b
        return {k: v / max(n, 1) for k, v in sums.items()}


class CVAEObjective(VAEObjective):
    """The ELBO of q(z|x,y) and p(x|z,y) (Sohn et al. 2015, eq. 4)."""
    uses_labels = True
    val_labels: torch.Tensor | None = None

    def train_step(self, batches) -> dict[str, torch.Tensor]:
        ((x, y),) = batches
        terms = vae_loss(self.model(x, generator=self.rng, y=y), x, self.cfg.recon_loss, self.cfg.beta)
        _check_finite(terms["loss"], "VAE loss")
        opt = self.optimizers["vae"]
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        opt.step()
        return {"loss": terms["loss"].detach(), "recon": terms["recon"].detach(), "kl": terms["kl"].detach(),
                "elbo": -(terms["recon"] + terms["kl"]).detach()}

    @torch.no_grad()
    def validate(self, x: torch.Tensor, batch_size: int) -> dict[str, float]:
        gen = torch.Generator(device=self.device).manual_seed(self.cfg.seed + 1)
        totals = {"val_loss": 0.0, "val_recon": 0.0, "val_kl": 0.0}
        kl_dims = torch.zeros(self.model.latent_dim, device=self.device)
        n = 0
        for chunk, y in zip(x.split(batch_size), self.val_labels.split(batch_size)):
            terms = vae_loss(self.model(chunk, generator=gen, y=y), chunk, self.cfg.recon_loss, self.cfg.beta)
            b = chunk.shape[0]
            totals["val_loss"] += b * terms["loss"].item()
            totals["val_recon"] += b * terms["recon"].item()
            totals["val_kl"] += b * terms["kl"].item()
            kl_dims += b * terms["kl_per_dim"]
            n += b
        out = {k: v / max(n, 1) for k, v in totals.items()}
        out["val_elbo"] = -(out["val_recon"] + out["val_kl"])
        out["val_kl_per_dim"] = (kl_dims / max(n, 1)).tolist()
        return out


CONDITIONAL_OBJECTIVES = {"gan": CGANObjective, "vae": CVAEObjective}
