"""One trainer for both families: plain loops, as in pytorch/examples dcgan and vae.

`Trainer.train_step()` performs one optimiser step of the family's objective and
records its metrics; at the end of each epoch it scores held-out data and keeps an
`EpochSnapshot` (fixed-noise samples, reconstructions, latent map, latent scatter).
The trainer knows nothing about threads or UIs: `runner.TrainingRunner` drives it.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .config import TrainConfig, check_against_data, check_device_available
from .data import Batcher, ImageData, load_dataset
from .device import resolve_device
from .imaging import to_uint8
from .losses import get_gan_loss, gradient_penalty, vae_loss
from .registry import get_model_spec
from .sampling import latent_map
from .tricks import build_model_for, instance_noise_std, update_ema


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite. The model still holds the weights from before that step."""


@dataclass
class EpochSnapshot:
    """What one finished epoch looked like. Images are uint8 (N, C, H, W) numpy arrays."""
    epoch: int
    step: int
    samples: np.ndarray                          # G(fixed_z) or decode(fixed_z)
    originals: np.ndarray | None = None          # VAE: fixed real images …
    reconstructions: np.ndarray | None = None    # … and their reconstructions
    latent_map: np.ndarray | None = None         # (n*n, C, H, W) when latent_dim == 2
    latent_means: np.ndarray | None = None       # VAE: (M, latent) float32 means of held-out images
    latent_labels: np.ndarray | None = None      # (M,) int64 classes of those images


@dataclass
class History:
    """Metric records. `steps`: one dict per optimiser step (thinned when long); `epochs`: one per epoch.

    Epoch records are never dropped. Step records are capped by `thin_steps`: the newest half of
    the cap stays raw, older records are halved (every other one kept, the first always), so a
    very long run keeps its whole curve at a resolution that falls off with age.
    """
    steps: list[dict] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)

    def thin_steps(self, cap: int) -> bool:
        """Bring `steps` under `cap` records if it is over; True when it thinned."""
        if cap < 4 or len(self.steps) <= cap:
            return False
        keep_raw = cap // 2
        old, recent = self.steps[:-keep_raw], self.steps[-keep_raw:]
        while len(old) + len(recent) > (3 * cap) // 4 and len(old) > 1:
            old = old[::2]
        self.steps = old + recent
        return True


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, "").strip() or default)
    except ValueError:
        return default
    return value if value > 0 else default


# Per-run memory caps (a class may leave a run going for hours). Environment-overridable.
MAX_STEP_RECORDS = _env_int("GEN_CORE_MAX_STEP_RECORDS", 20_000)          # ~10 MB of step dicts
MAX_SNAPSHOT_BYTES = _env_int("GEN_CORE_MAX_SNAPSHOT_MB", 64) * 1024 * 1024
KEEP_LAST_SNAPSHOTS = 20


def snapshot_nbytes(snap: "EpochSnapshot") -> int:
    return sum(a.nbytes for a in (snap.samples, snap.originals, snap.reconstructions, snap.latent_map,
                                  snap.latent_means, snap.latent_labels) if a is not None)


def thin_snapshots(snapshots: list, max_bytes: int, keep_last: int = KEEP_LAST_SNAPSHOTS) -> list:
    """Drop every other epoch snapshot from the old part (never the first nor the last `keep_last`)
    until the total is under `max_bytes`. The epoch records and the PNG grids on disk stay complete."""
    total = sum(snapshot_nbytes(s) for s in snapshots)
    while total > max_bytes and len(snapshots) > keep_last + 2:
        head, middle, tail = snapshots[:1], snapshots[1:-keep_last], snapshots[-keep_last:]
        kept = middle[1::2]
        if len(kept) == len(middle):
            break
        snapshots = head + kept + tail
        total = sum(snapshot_nbytes(s) for s in snapshots)
    return snapshots


# ---------------------------------------------------------------------------
# Objectives: one per family, chosen through `OBJECTIVES` (no if-chains).
# ---------------------------------------------------------------------------

def _adam(params, lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Optimizer:
    # The fused kernel updates all tensors in one pass: noticeably faster for the many
    # small parameter tensors of these models. Fall back where a build lacks it.
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=device.type in ("cpu", "cuda"))
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, betas=betas)


class GANObjective:
    """Alternating updates of D then G (Goodfellow et al. 2014, Algorithm 1).

    The stabilisation tricks of `TrainConfig` (gen_core.tricks) act here: label smoothing lowers
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


OBJECTIVES = {"gan": GANObjective, "vae": VAEObjective}


def _check_finite(loss: torch.Tensor, what: str) -> None:
    # Checked *before* the optimiser step, so the weights in memory stay usable.
    if not torch.isfinite(loss):
        raise TrainingDiverged(f"{what} became {loss.item()} — training diverged. "
                               "Try a lower learning rate or a different loss.")


# Model construction draws from torch's global RNG (weight init); holding this lock while
# seeding and building keeps runs reproducible when several start from different threads.
_BUILD_LOCK = threading.Lock()


class Trainer:
    """Owns a model, its optimisers, data batches, history and per-epoch snapshots."""

    def __init__(self, config: TrainConfig, data: ImageData | None = None, device: str | torch.device | None = None):
        self.config = config
        if device is None:
            check_device_available(config.device)
        self.device = resolve_device(device if device is not None else config.device)
        self.spec = get_model_spec(config.model)
        mc = config.model_config  # sizes for your own image folders (gen_core.image_folders)
        self.data = data if data is not None else load_dataset(
            config.dataset, config.data_root, image_size=getattr(mc, "image_size", 32),
            channels=getattr(mc, "channels", 3))
        images = self.data.train_images
        # The data's size is known only now: the one place that checks a config against it.
        check_against_data(config, len(images), image_channels=1 if images.dim() == 3 else int(images.shape[1]),
                           dataset=self.data.name)
        self.max_step_records = MAX_STEP_RECORDS
        self.max_snapshot_bytes = MAX_SNAPSHOT_BYTES
        with _BUILD_LOCK:
            torch.manual_seed(config.seed)
            self.model = build_model_for(config).to(self.device)
        if self.spec.channels_last and self.device.type == "cpu":
            # NHWC for oneDNN (see ModelSpec.channels_last); before the optimisers exist, so their
            # moments take the same layout (checkpoints.match_param_layouts says why that matters).
            self.model.to(memory_format=torch.channels_last)
        self.rng = torch.Generator(device=self.device).manual_seed(config.seed)
        objectives = OBJECTIVES
        if self.spec.conditional:  # labels are model inputs: gen_core.conditional's objectives
            from .conditional import CONDITIONAL_OBJECTIVES, check_labels
            check_labels(config, self.data)
            objectives = CONDITIONAL_OBJECTIVES
        self.objective = objectives[self.spec.family](self.model, config, self.device, self.rng)

        side = self.model.image_shape[-1]
        self.batcher = Batcher(self.data.train_images, self.data.train_labels, config.batch_size,
                               device=self.device, scale=self.objective.scale, image_size=side,
                               subset=config.images_per_epoch, seed=config.seed)
        n_val = min(config.val_images, len(self.data.test_images))
        self.val_batcher = Batcher(self.data.test_images[:n_val], self.data.test_labels[:n_val],
                                   max(n_val, 1), device=self.device, scale=self.objective.scale,
                                   image_size=side, seed=config.seed)
        self.val_x = self.val_batcher.take(n_val) if n_val else None
        self.val_labels = self.data.test_labels[:n_val].numpy()
        self._labels_kw = (lambda y: {"y": y}) if self.spec.conditional else (lambda y: {})
        if self.spec.conditional:
            self.objective.val_labels = self.data.test_labels[:n_val].to(self.device)
        # The same z every epoch, so the grids show one set of samples evolving (pytorch/examples dcgan).
        fixed_gen = torch.Generator().manual_seed(config.seed + 12345)
        self.fixed_z = torch.randn(config.n_fixed, self.model.latent_dim, generator=fixed_gen).to(self.device)

        self.steps_per_epoch = max(1, len(self.batcher) // self.objective.batches_per_step)
        self.step = 0
        self.epoch = 0              # completed epochs
        self.elapsed = 0.0          # seconds of training (pauses excluded)
        self.history = History()
        self.snapshots: list[EpochSnapshot] = []
        self._epoch_iter = None
        self._epoch_step = 0
        self._epoch_sums: dict[str, float] = {}

    # ------------------------------------------------------------------ properties
    @property
    def family(self) -> str:
        return self.spec.family

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs

    @property
    def done(self) -> bool:
        return self.epoch >= self.config.epochs

    @property
    def samples_per_step(self) -> int:
        return self.config.batch_size * self.objective.batches_per_step

    # ------------------------------------------------------------------ training
    def train_step(self) -> dict[str, float]:
        """One optimiser step (GAN: d_steps D updates + one G update). Ends the epoch when due."""
        if self.done:
            raise RuntimeError("training is already complete")
        if self._epoch_iter is None:
            self._epoch_iter = iter(self.batcher)
            self._epoch_step = 0
            self._epoch_sums = {}
        t0 = time.perf_counter()
        self.model.train()
        self.objective.progress = self.step / max(self.total_steps, 1)
        self.objective.step = self.step
        batches = [next(self._epoch_iter) for _ in range(self.objective.batches_per_step)]  # (x, y) pairs
        if not getattr(self.objective, "uses_labels", False):
            batches = [x for x, _ in batches]
        values = self.objective.train_step(batches)
        # One host sync for all metrics of the step.
        metrics = dict(zip(values, torch.stack(list(values.values())).tolist()))
        self.elapsed += time.perf_counter() - t0
        self.step += 1
        self._epoch_step += 1
        record = {"step": self.step, "epoch": self.epoch + self._epoch_step / self.steps_per_epoch,
                  "time": self.elapsed, **metrics}
        self.history.steps.append(record)
        self.history.thin_steps(self.max_step_records)
        for k, v in metrics.items():
            self._epoch_sums[k] = self._epoch_sums.get(k, 0.0) + v
        if self._epoch_step >= self.steps_per_epoch:
            self._end_epoch()
        return record

    def _end_epoch(self) -> None:
        t0 = time.perf_counter()
        self._epoch_iter = None
        self.epoch += 1
        self.model.eval()
        record = {"epoch": self.epoch, "step": self.step}
        record.update({k: v / self._epoch_step for k, v in self._epoch_sums.items()})
        if self.val_x is not None and self.config.validation_due(self.epoch):
            record.update(self.objective.validate(self.val_x, self.config.batch_size))
        self.snapshots.append(self.make_snapshot())
        self.snapshots = thin_snapshots(self.snapshots, self.max_snapshot_bytes)
        self.elapsed += time.perf_counter() - t0
        record["time"] = self.elapsed
        every = self.config.metrics_every
        if every and (self.epoch % every == 0 or self.epoch == self.config.epochs):
            record.update(self.quality_metrics())  # timed separately: not training time
        self.model.train()
        self.history.epochs.append(record)

    def quality_metrics(self) -> dict:
        """FID, KID, IS, precision/recall and class balance of fresh samples (gen_core.metrics).

        Real features are extracted once per run; an epoch's evaluation costs one batch of
        sampling and feature extraction (well under 10% of an epoch at default sizes).
        """
        from . import metrics  # imported lazily: torchmetrics is only needed when scoring
        t0 = time.perf_counter()
        evaluator = metrics.load_evaluator(self.data.name, self.device)
        if evaluator is None:
            return {}
        n = self.config.metrics_samples
        if getattr(self, "_real_features", None) is None:
            gen = torch.Generator().manual_seed(self.config.seed + 7)
            idx = torch.randperm(len(self.data.train_images), generator=gen)[:n]
            self._real_features = metrics.extract(evaluator, metrics.images_from_u8(self.data.train_images[idx]))
        fake = metrics.extract(evaluator, metrics.generate(self.model, n, seed=self.config.seed + 99))
        scores = metrics.score_features(self._real_features, fake, seed=self.config.seed)
        out = {k: v for k, v in scores.as_dict().items()
               if k not in ("n", "class_histogram", "mode_collapse", "noise") and v is not None}
        out["class_histogram"] = scores.class_histogram
        if self.family == "vae" and self.val_x is not None:
            out["active_units"] = metrics.vae_scores(self.model, self.val_x, self.config.recon_loss).active_units
        out["metrics_seconds"] = time.perf_counter() - t0
        return out

    @torch.no_grad()
    def make_snapshot(self) -> EpochSnapshot:
        """Fixed-noise samples (+ VAE reconstructions and latent scatter, + 2-D latent map)."""
        model = self.model
        snap = EpochSnapshot(self.epoch, self.step, to_uint8(model.decode_to_unit(self.fixed_z)))
        if model.latent_dim == 2:
            snap.latent_map = to_uint8(latent_map(model, self.config.latent_map_size))
        if self.family == "vae" and self.val_x is not None:
            k = min(getattr(self.config, "n_recon", 16), len(self.val_x))
            originals = self.val_x[:k]
            snap.originals = to_uint8(originals)
            labels = self.data.test_labels[: len(self.val_x)].to(self.device)
            kw = self._labels_kw
            snap.reconstructions = to_uint8(model.decode(model.encode(originals, **kw(labels[:k]))[0],
                                                         **kw(labels[:k])))
            means = torch.cat([model.encode(c, **kw(y))[0] for c, y in
                               zip(self.val_x.split(self.config.batch_size), labels.split(self.config.batch_size))])
            snap.latent_means = means.float().cpu().numpy()
            snap.latent_labels = self.val_labels
        return snap


__all__ = ["Trainer", "TrainingDiverged", "EpochSnapshot", "History", "OBJECTIVES", "thin_snapshots",
           "snapshot_nbytes", "MAX_STEP_RECORDS", "MAX_SNAPSHOT_BYTES"]
