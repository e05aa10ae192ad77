"""The VAE objective: one step on the negative ELBO (Kingma & Welling 2014)."""
from __future__ import annotations

import torch

from gen_core.config.train import TrainConfig
from gen_core.objectives.common import _adam, _check_finite
from gen_core.objectives.losses import vae_loss


class VAEObjective:
    """Maximise the ELBO = E_q[log p(x|z)] - β·KL(q(z|x) ‖ p(z)) (Kingma & Welling 2014)."""
    scale = "unit"  # Bernoulli / sigmoid decoders model pixels in [0, 1]
    step_metrics = ("loss", "recon", "kl", "elbo")

    def __init__(self, model, cfg: TrainConfig, device: torch.device, rng: torch.Generator):
        self.model, self.cfg, self.device, self.rng = model, cfg, device, rng
        # Adam's own defaults (0.9, 0.999), as in pytorch/examples vae; beta1/beta2 in the config are the GANs'.
        self.optimizers = {"vae": _adam(model.parameters(), cfg.lr, (0.9, 0.999), device)}
        self.batches_per_step = 1

    def train_step(self, batches: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        (x,) = batches
        terms = vae_loss(self.model(x, generator=self.rng), x, self.cfg.recon_loss, self.cfg.beta)
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
        for chunk in x.split(batch_size):
            terms = vae_loss(self.model(chunk, generator=gen), chunk, self.cfg.recon_loss, self.cfg.beta)
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
