"""How long will one epoch take on this device? Time a few real training steps and extrapolate.

The dashboard shows this before a run starts (and warns when a setting would be too slow
to watch live, e.g. DCGAN 64×64 on a CPU). Only settings that change the cost of a step
matter, so `speed_key(config)` is what a cache should be keyed on: changing the learning
rate or the seed does not re-time anything.
"""
from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass

from gen_core.config.train import TrainConfig
from gen_core.data.images import ImageData
from gen_core.training.device import device_description, resolve_device
from gen_core.training.trainer import Trainer


VAL_PROBE = 256
# Fields of TrainConfig that change how long a step or an epoch takes.
SPEED_FIELDS = ("model", "dataset", "data_root", "batch_size", "images_per_epoch", "device", "gan_loss", "d_steps",
                "val_images", "n_fixed", "latent_map_size")


@dataclass(frozen=True)
class EpochEstimate:
    seconds_per_epoch: float
    seconds_per_step: float
    steps_per_epoch: int
    steps_timed: int
    device: str                 # e.g. "CPU (2 cores)"
    epoch_end_seconds: float = 0.0   # validation + the epoch's snapshot (grid, latent map, scatter)

    def seconds_for(self, epochs: int) -> float:
        return self.seconds_per_epoch * epochs


def speed_key(config: TrainConfig) -> str:
    """A JSON string of the settings that affect speed (model sizes included): a cache key."""
    d = config.to_dict()
    key = {k: d[k] for k in SPEED_FIELDS}
    key["model_config"] = d["model_config"]
    return json.dumps(key, sort_keys=True)


def estimate_epoch(config: TrainConfig, data: ImageData | None = None, *, steps: int = 5, warmup: int = 2,
                   budget_s: float = 6.0, device=None) -> EpochEstimate:
    """Build a throwaway Trainer, run `warmup` untimed steps then up to `steps` timed ones, then time
    the epoch's end once (validation and snapshots: for a VAE with a latent scatter of 2,000
    held-out images that is a good part of a short epoch, and leaving it out halved the estimate).

    Stops early once `budget_s` seconds have gone by (a very slow model is then estimated
    from fewer steps — or from the warm-up steps alone, which over- rather than under-estimates).
    The first steps of a fresh model are slow (allocations, thread start-up): two warm-up steps
    keep them out of the median.
    """
    # Validation is timed on at most VAL_PROBE images and scaled up (it is linear in their number).
    probe = config.replace(epochs=1, metrics_every=0, val_images=min(config.val_images, VAL_PROBE))
    trainer = Trainer(probe, data, device=device if device is not None else config.device)
    started = time.perf_counter()
    warm_times = []
    for _ in range(max(0, warmup)):
        if trainer.done:
            break
        t0 = time.perf_counter()
        trainer.train_step()
        warm_times.append(time.perf_counter() - t0)
    times = []
    for _ in range(max(1, steps)):
        if trainer.done or time.perf_counter() - started > budget_s:
            break
        t0 = time.perf_counter()
        trainer.train_step()
        times.append(time.perf_counter() - t0)
    per_step = statistics.median(times) if times else (warm_times[-1] if warm_times else 0.0)
    end_s = 0.0
    if time.perf_counter() - started <= budget_s:
        n_val = 0 if trainer.val_x is None else len(trainer.val_x)
        scale = config.val_images / n_val if n_val else 0.0   # (val_images may exceed the test set: an upper bound)
        trainer.model.eval()
        t0 = time.perf_counter()
        if n_val:
            trainer.objective.validate(trainer.val_x, config.batch_size)
        t1 = time.perf_counter()
        trainer.make_snapshot()
        t2 = time.perf_counter()
        # A VAE's snapshot encodes every held-out image (the latent scatter); a GAN's does not depend on them.
        end_s = (t1 - t0) * scale + (t2 - t1) * (scale if trainer.family == "vae" and n_val else 1.0)
    return EpochEstimate(seconds_per_epoch=per_step * trainer.steps_per_epoch + end_s, seconds_per_step=per_step,
                         steps_per_epoch=trainer.steps_per_epoch, steps_timed=len(times),
                         device=device_description(resolve_device(trainer.device)), epoch_end_seconds=end_s)


def measured_epoch_seconds(epoch_history) -> float | None:
    """Seconds per epoch a real run took (training time, validation included, pauses excluded), from its
    per-epoch records' cumulative "time": the mean over epochs after the first (which carries the
    start-up), or the first alone. None before an epoch has ended."""
    times = [r.get("time") for r in epoch_history if isinstance(r.get("time"), (int, float))]
    if not times:
        return None
    if len(times) == 1:
        return float(times[0])
    return float(times[-1] - times[0]) / (len(times) - 1)


def estimate_epoch_seconds(config: TrainConfig, data: ImageData | None = None, **kwargs) -> float:
    """Estimated seconds for one epoch of `config` on its device (see `estimate_epoch`)."""
    return estimate_epoch(config, data, **kwargs).seconds_per_epoch


__all__ = ["EpochEstimate", "estimate_epoch", "measured_epoch_seconds", "estimate_epoch_seconds", "speed_key", "SPEED_FIELDS"]
