"""Read-only, frozen copies of trained models for decoding on pages."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gen_core.config.train import TrainConfig
from gen_core.models.registry import get_model_spec
from gen_core.training.runner import FINAL_STATES


@dataclass(frozen=True)
class ModelView:
    """A trained model to look at, from a run or a checkpoint. Treat `model` as read-only.

    `model` is in eval mode and owned by this view (a copy for live runs), so decoding from it
    from any thread is safe.
    """
    key: str                          # "run:<id>" or "ckpt:<name>"
    label: str
    config: TrainConfig
    model: Any                        # gen_core.models.base.GAN | VAE
    epoch: int                        # epochs trained when the weights were taken
    step_history: tuple = ()
    epoch_history: tuple = ()
    snapshots: tuple = ()
    num_parameters: dict = field(default_factory=dict)
    elapsed: float = 0.0              # training seconds
    samples_per_sec: float | None = None
    state: str = "finished"

    @property
    def family(self) -> str:
        return get_model_spec(self.config.model).family

    @property
    def version(self) -> str:
        """Changes whenever `model` may hold other weights: a cache key for decoded pictures."""
        return f"{self.key}@{self.epoch}:{self.state in FINAL_STATES or self.state == 'checkpoint'}"

    @property
    def latent_dim(self) -> int:
        return int(self.model.latent_dim)

    @property
    def model_title(self) -> str:
        return get_model_spec(self.config.model).title


def view_from_checkpoint(checkpoint, *, key: str, label: str | None = None) -> ModelView:
    """A `ModelView` of a loaded `gen_core.persistence.checkpoints.Checkpoint`."""
    history = checkpoint.history
    steps = tuple(getattr(history, "steps", ()) or ())
    epochs = tuple(getattr(history, "epochs", ()) or ())
    model = checkpoint.model.eval()
    params = dict(checkpoint.metadata.get("num_parameters") or model.num_parameters())
    elapsed = float(getattr(checkpoint, "elapsed", 0.0) or 0.0)
    cfg = checkpoint.config
    step = int(getattr(checkpoint, "step", 0) or 0)
    per_step = cfg.batch_size * (cfg.d_steps if cfg.family == "gan" else 1)
    rate = step * per_step / elapsed if elapsed > 0 else None
    return ModelView(key=key, label=label or checkpoint.summary(), config=cfg, model=model,
                     epoch=int(getattr(checkpoint, "epoch", 0) or 0), step_history=steps, epoch_history=epochs,
                     snapshots=tuple(checkpoint.snapshots or ()), num_parameters=params, elapsed=elapsed,
                     samples_per_sec=rate, state="checkpoint")
