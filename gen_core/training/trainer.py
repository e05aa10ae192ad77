"""One trainer for both families: plain loops, as in pytorch/examples dcgan and vae.

`Trainer.train_step()` performs one optimiser step of the family's objective and
records its metrics; at the end of each epoch it scores held-out data and keeps an
`EpochSnapshot` (fixed-noise samples, reconstructions, latent map, latent scatter).
The trainer knows nothing about threads or UIs: `runner.TrainingRunner` drives it.
"""
from __future__ import annotations

import threading
import time

import torch

from gen_core.config.train import TrainConfig, check_against_data, check_device_available
from gen_core.data.datasets import load_dataset
from gen_core.data.images import Batcher, ImageData
from gen_core.data.imaging import to_uint8
from gen_core.models.registry import get_model_spec
from gen_core.models.sampling import latent_map
from gen_core.objectives.gan import GANObjective
from gen_core.objectives.tricks import build_model_for
from gen_core.objectives.vae import VAEObjective
from gen_core.training.device import resolve_device
from gen_core.training.history import MAX_SNAPSHOT_BYTES, MAX_STEP_RECORDS, EpochSnapshot, History, thin_snapshots


OBJECTIVES = {"gan": GANObjective, "vae": VAEObjective}


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
        mc = config.model_config  # sizes for your own image folders (gen_core.data.image_folders)
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
        if self.spec.conditional:  # labels are model inputs: gen_core.evaluation.conditional's objectives
            from gen_core.objectives.conditional import CONDITIONAL_OBJECTIVES, check_labels
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

    def truncate_to(self, epoch: int, model_state: dict) -> None:
        """Make this trainer what it was at the end of `epoch` (an earlier one): `model_state` (that
        epoch's weights, e.g. kept by early stopping), the history and snapshots up to it, and
        config.epochs = epoch, so a saved file says what its weights are. Optimiser moments are
        not rolled back: the result is for sampling and saving, not for training on."""
        if not 0 < epoch <= self.epoch:
            raise ValueError(f"can only truncate to a completed epoch (1..{self.epoch}), not {epoch}")
        if epoch == self.epoch:
            return
        records = [r for r in self.history.epochs if r["epoch"] <= epoch]  # never thinned (History)
        step = records[-1]["step"]
        self.model.load_state_dict(model_state)
        self.history.epochs = records
        self.history.steps = [r for r in self.history.steps if r["step"] <= step]
        self.snapshots = [sn for sn in self.snapshots if sn.epoch <= epoch]
        self.config = self.config.replace(epochs=epoch)
        self.step, self.epoch = step, epoch
        self._epoch_iter, self._epoch_step, self._epoch_sums = None, 0, {}

    def quality_metrics(self) -> dict:
        """FID, KID, IS, precision/recall and class balance of fresh samples (gen_core.evaluation.metrics).

        Real features are extracted once per run; an epoch's evaluation costs one batch of
        sampling and feature extraction (well under 10% of an epoch at default sizes).
        """
        from gen_core.evaluation import metrics  # imported lazily: torchmetrics is only needed when scoring
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
