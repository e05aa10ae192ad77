"""Checkpoints: save a training run, load it back safely, resume it exactly.

A checkpoint is one `torch.save` zip file holding only plain data: tensors, dicts,
lists, tuples, str, int, float, bool and None. Config and history are JSON strings
(NaN and ±inf round-trip), images are uint8 tensors. So every file loads with
`torch.load(path, map_location="cpu", weights_only=True)` and a file from a stranger
can never run code: `load_checkpoint` uses nothing else and turns every failure into
a `CheckpointError` with a one-line message for users.

    save_checkpoint(trainer, "run/checkpoint.pt")            # atomic: old file kept on failure
    ck = load_checkpoint("run/checkpoint.pt")                # config, model (eval), history, ...
    trainer = resume_trainer(ck, epochs=10)                  # continues exactly where it stopped
    grid = sample_grid(ck, n=64, seed=0)                     # uint8 image for a PNG

Layout of the saved dict (version 1):

    format, version          "gen_core.checkpoint", 1
    metadata                 model, family, num_parameters, saved_at, torch_version, half, ...
    config                   JSON of TrainConfig.to_dict()
    model                    state_dict (float16 when half=True)
    optimizers               {name: optimizer.state_dict()} or None (weights-only file)
    trainer                  step, epoch, elapsed, epoch_step, epoch_sums, steps_per_epoch
    history                  JSON of {"steps": [...], "epochs": [...]} (None in a slim state
                             file: gen_core.persistence.runstate keeps history and snapshots beside it)
    batcher                  Batcher.state_dict()
    rng                      trainer generator state (+ its device), torch's global CPU/CUDA states
    snapshots                one dict per EpochSnapshot, arrays as tensors (None stays None;
                             the whole list None in a slim state file)
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig
from gen_core.data.imaging import make_grid, to_uint8
from gen_core.models.registry import get_model_spec
from gen_core.models.sampling import decode, sample
from gen_core.persistence.atomic import _atomic_torch_save
from gen_core.training.history import EpochSnapshot, History
from gen_core.training.trainer import Trainer


FORMAT = "gen_core.checkpoint"


VERSION = 1


# dcgan-64 with its Adam state is about 300 MB; anything far beyond that is not ours.
DEFAULT_MAX_BYTES = 1 << 30


# Browser uploads on a shared server: the same 64 MB as .streamlit/config.toml's transport cap
# (every shipped or dashboard-trained model but dcgan-64 with optimiser state fits; weights-only does).
UPLOAD_MAX_BYTES = 64 << 20


# History records a file may carry: the Trainer keeps at most GEN_CORE_MAX_STEP_RECORDS (20,000)
# step records plus one per epoch; a crafted file with millions costs seconds of parsing and GBs.
MAX_HISTORY_RECORDS = 200_000


MAX_HISTORY_CHARS = 32 << 20


_SNAPSHOT_ARRAYS = ("samples", "originals", "reconstructions", "latent_map", "latent_means", "latent_labels")


_SNAPSHOT_DTYPES = {"samples": torch.uint8, "originals": torch.uint8, "reconstructions": torch.uint8,
                    "latent_map": torch.uint8, "latent_means": torch.float32, "latent_labels": torch.int64}


class CheckpointError(ValueError):
    """A checkpoint file cannot be used. The message is one line, meant for end users."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: everything needed to sample from a run or to resume it."""
    config: TrainConfig
    model: nn.Module                                   # built from config, weights loaded, float32, CPU, eval
    history: History
    snapshots: list[EpochSnapshot]
    metadata: dict
    step: int = 0
    epoch: int = 0                                     # completed epochs
    elapsed: float = 0.0
    optimizer_states: dict[str, dict] | None = None    # None: saved with include_optimizer=False
    batcher_state: dict | None = None
    rng_state: torch.Tensor | None = None              # the trainer's generator
    rng_device: str = "cpu"                            # device type of that generator
    torch_rng_state: torch.Tensor | None = None        # torch's global CPU RNG (dropout, GP mixing)
    cuda_rng_state: torch.Tensor | None = None         # torch's global CUDA RNG, when trained on CUDA
    epoch_step: int = 0                                # steps done in an unfinished epoch (stopped mid-epoch)
    epoch_sums: dict[str, float] = field(default_factory=dict)
    steps_per_epoch: int | None = None                 # as trained (a check when resuming)
    version: int = VERSION
    source: str | None = None                          # the path it was read from, if any

    @property
    def family(self) -> str:
        return get_model_spec(self.config.model).family

    @property
    def resumable(self) -> bool:
        """True when it holds optimizer state (and full-precision weights), so training can go on exactly."""
        return self.optimizer_states is not None and not self.metadata.get("half", False)

    @property
    def done(self) -> bool:
        return self.epoch >= self.config.epochs

    def summary(self) -> str:
        """One line for users, e.g. 'mlp-gan on mnist: 2/5 epochs, 938 steps, 2.92M parameters'."""
        params = self.metadata.get("num_parameters", {}).get("total")
        extra = f", {params / 1e6:.2f}M parameters" if isinstance(params, int) else ""
        mid = f" (+{self.epoch_step} steps into epoch {self.epoch + 1})" if self.epoch_step else ""
        return (f"{self.config.model} on {self.config.dataset}: {self.epoch}/{self.config.epochs} epochs{mid}, "
                f"{self.step:,} steps{extra}")


def _to_cpu(value):
    """Deep copy of a state dict with every tensor on the CPU, in the standard (NCHW) layout.

    Contiguous because a model may train channels-last (ModelSpec.channels_last) and a file's
    tensors must not depend on that: the loader refuses non-contiguous tensors (_check_tensors).
    """
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True, memory_format=torch.contiguous_format)
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_cpu(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_cpu(v) for v in value)
    return value


def snapshot_to_dict(snap: EpochSnapshot) -> dict:
    out: dict[str, Any] = {"epoch": int(snap.epoch), "step": int(snap.step)}
    for name in _SNAPSHOT_ARRAYS:
        arr = getattr(snap, name)
        out[name] = None if arr is None else torch.from_numpy(np.ascontiguousarray(arr)).clone()
    return out


def checkpoint_payload(trainer: Trainer, *, include_optimizer: bool = True, half: bool = False,
                       include_history: bool = True) -> dict:
    """The dict `save_checkpoint` writes. Call it from the thread that trains (or after training).

    include_history=False leaves out the history and the snapshots (both grow with the run):
    the slim per-epoch state of gen_core.persistence.runstate, which keeps them in files of their own.
    """
    # Contiguous either way: a channels-last weight (the DCGAN trains so on the CPU) would keep its
    # strides through .to(float16), and the loader rightly refuses tensors that are not their own data.
    model_state = {k: v.detach().to("cpu", torch.float16 if half and v.is_floating_point() else v.dtype,
                                    copy=True, memory_format=torch.contiguous_format)
                   for k, v in trainer.model.state_dict().items()}
    optimizers = None
    if include_optimizer:
        optimizers = {name: _to_cpu(opt.state_dict()) for name, opt in trainer.objective.optimizers.items()}
    cuda_state = None
    if trainer.device.type == "cuda" and torch.cuda.is_available():
        cuda_state = torch.cuda.get_rng_state(trainer.device)
    return {
        "format": FORMAT,
        "version": VERSION,
        "metadata": {
            "model": trainer.config.model,
            "family": trainer.family,
            "num_parameters": {k: int(v) for k, v in trainer.model.num_parameters().items()},
            "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "torch_version": str(torch.__version__),
            "device": str(trainer.device),
            "dataset": trainer.data.name,           # may be mnist-mini after a fallback
            "half": bool(half),
            "include_optimizer": bool(include_optimizer),
        },
        "config": json.dumps(trainer.config.to_dict()),
        "model": model_state,
        "optimizers": optimizers,
        "trainer": {
            "step": int(trainer.step),
            "epoch": int(trainer.epoch),
            "elapsed": float(trainer.elapsed),
            "steps_per_epoch": int(trainer.steps_per_epoch),
            # Non-zero only when stopped mid-epoch (Ctrl-C / Stop): resume continues inside the epoch.
            "epoch_step": int(trainer._epoch_step) if trainer._epoch_iter is not None else 0,
            "epoch_sums": ({k: float(v) for k, v in trainer._epoch_sums.items()}
                           if trainer._epoch_iter is not None else {}),
        },
        "history": (json.dumps({"steps": trainer.history.steps, "epochs": trainer.history.epochs})
                    if include_history else None),
        "batcher": {k: int(v) for k, v in trainer.batcher.state_dict().items()},
        "rng": {
            "trainer": trainer.rng.get_state().clone(),
            "trainer_device": trainer.rng.device.type,
            "torch_cpu": torch.get_rng_state(),
            "torch_cuda": cuda_state,
        },
        "snapshots": [snapshot_to_dict(s) for s in trainer.snapshots] if include_history else None,
    }


def save_checkpoint(trainer: Trainer, path: str | os.PathLike, *, include_optimizer: bool = True,
                    half: bool = False) -> Path:
    """Write `trainer`'s full state to `path`, atomically; returns the path.

    include_optimizer=False and half=True give a small weights-only file (for sampling and
    shipping); such a file cannot be resumed exactly. The file is written to a temporary
    name in the same folder, flushed to disk and renamed over `path`, so a crash or a
    full disk mid-write leaves any previous checkpoint intact.
    """
    payload = checkpoint_payload(trainer, include_optimizer=include_optimizer, half=half)
    return _atomic_torch_save(payload, Path(path))


def match_param_layouts(opt: torch.optim.Optimizer) -> None:
    """Give each per-parameter state tensor (Adam's moments) its parameter's memory layout.

    Files hold contiguous tensors and load_state_dict keeps that layout, but a channels-last
    parameter needs channels-last moments: torch's fused CPU Adam walks all of them by raw
    index, so mixed layouts give wrong updates (measured: 0.18 off after one step at lr 0.1).
    """
    for group in opt.param_groups:
        for p in group["params"]:
            for key, value in opt.state.get(p, {}).items():
                if (isinstance(value, torch.Tensor) and value.shape == p.shape and value.dim() == 4
                        and value.stride() != p.stride()):
                    opt.state[p][key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def sample_grid(checkpoint_or_model: Checkpoint | nn.Module, n: int = 64, seed: int = 0,
                nrow: int | None = None) -> np.ndarray:
    """n samples from z ~ N(0, I) (reproducible per seed) as one uint8 grid image (H, W) or (H, W, 3)."""
    model = checkpoint_or_model.model if isinstance(checkpoint_or_model, Checkpoint) else checkpoint_or_model
    if not (isinstance(n, int) and 1 <= n <= 1024):
        raise ConfigError(f"n must be a whole number between 1 and 1,024, got {n!r}.")
    return make_grid(to_uint8(sample(model, n, seed)), nrow=nrow)


def sample_array(checkpoint_or_model: Checkpoint | nn.Module, n: int = 2000, seed: int = 0) -> np.ndarray:
    """n samples from z ~ N(0, I) (reproducible per seed) as uint8 (n, C, H, W), decoded in batches."""
    model = checkpoint_or_model.model if isinstance(checkpoint_or_model, Checkpoint) else checkpoint_or_model
    if not (isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 1_000_000):
        raise ConfigError(f"n must be a whole number between 1 and 1,000,000, got {n!r}.")
    z = torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    return np.concatenate([to_uint8(decode(model, chunk)) for chunk in z.split(500)])
