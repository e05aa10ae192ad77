"""A process-wide, thread-safe registry of training runs, and read-only views of trained models.

The dashboard holds ONE `RunRegistry` (through `st.cache_resource`), so every browser
session of the server sees the same runs: a page refresh (or a second laptop in the
class) re-attaches to a run by its id, which the app keeps in the URL.

    registry = RunRegistry()
    run_id = registry.create(TrainConfig(model="mlp-gan", epochs=3))   # starts training
    registry.snapshot(run_id)            # RunSnapshot: progress, metrics, epoch images
    registry.get(run_id).pause()         # the TrainingRunner's own controls
    view = registry.view(run_id)         # ModelView: a frozen copy of the model to decode from
    registry.save(run_id, "run.pt")      # via gen_core.checkpoints, once the run is over

Thread-safety: the registry's own dict is guarded by a lock; runners publish immutable
snapshots; models handed out for decoding are *copies* made in the worker thread at the
end of each epoch (or after the worker has ended), in eval mode, so the UI never reads
weights while an optimiser step writes them, nor flips a training model into eval mode.

No streamlit import: the CLI or a notebook can use this too.
"""
from __future__ import annotations

import copy
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import ConfigError, TrainConfig
from .data import ImageData
from .registry import get_model_spec
from .runner import FINAL_STATES, RunSnapshot, TrainingRunner


class RunError(ValueError):
    """A run request cannot be met (unknown id, too many runs, not saveable yet). User-facing message."""


@dataclass(frozen=True)
class RunInfo:
    """One line about a run, for pickers and lists."""
    run_id: str
    label: str
    family: str
    model: str
    dataset: str
    created: float           # time.time()
    state: str
    epoch: int
    epochs: int
    latent_dim: int

    @property
    def is_active(self) -> bool:
        return self.state not in FINAL_STATES


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


@dataclass
class _Entry:
    runner: TrainingRunner
    label: str
    created: float
    model_copy: Any = None            # eval-mode copy of the model …
    copy_epoch: int = -1              # … as of this many completed epochs
    final_copy: bool = False          # the copy was taken after the worker ended
    lock: threading.Lock = field(default_factory=threading.Lock)


class RunRegistry:
    """Create, find, list, stop and save training runs. Finished runs are kept (up to `max_runs`).

    max_runs:   runs kept in all; when a new run would exceed it, the oldest *finished* runs go.
    max_active: runs training at once; more is refused with a RunError (a CPU has few cores).
    """

    def __init__(self, *, max_runs: int = 16, max_active: int = 3):
        self.max_runs = max_runs
        self.max_active = max_active
        self._lock = threading.Lock()
        self._runs: dict[str, _Entry] = {}

    # ------------------------------------------------------------------ create / find
    def create(self, config: TrainConfig, *, label: str | None = None, data: ImageData | None = None,
               start: bool = True, run_id: str | None = None) -> str:
        """Register a run for `config` and (by default) start training it. Returns the run id."""
        if not isinstance(config, TrainConfig):
            raise ConfigError("a run needs a TrainConfig.")
        entry: _Entry | None = None
        with self._lock:
            active = [e for e in self._runs.values() if e.runner.state not in FINAL_STATES]
            if len(active) >= self.max_active:
                raise RunError(f"{len(active)} runs are already training (the limit is {self.max_active}); "
                               "stop one before starting another.")
            self._evict_locked(room_for=1)
            runner = TrainingRunner(config, data, run_id=run_id)
            if runner.run_id in self._runs:
                raise RunError(f"a run with id {runner.run_id!r} already exists.")
            created = time.time()
            entry = _Entry(runner, label or _default_label(config, runner.run_id, created), created)
            runner.on_epoch_end.append(lambda trainer, e=entry: self._keep_copy(e, trainer))
            self._runs[runner.run_id] = entry
        if start:
            entry.runner.start()
        return entry.runner.run_id

    def get(self, run_id: str | None) -> TrainingRunner | None:
        """The runner of `run_id`, or None when there is no such run (e.g. an old URL)."""
        with self._lock:
            entry = self._runs.get(run_id) if isinstance(run_id, str) else None
        return entry.runner if entry else None

    def __contains__(self, run_id: object) -> bool:
        with self._lock:
            return isinstance(run_id, str) and run_id in self._runs

    def __len__(self) -> int:
        with self._lock:
            return len(self._runs)

    def snapshot(self, run_id: str | None) -> RunSnapshot | None:
        runner = self.get(run_id)
        return runner.snapshot() if runner else None

    def info(self, run_id: str) -> RunInfo | None:
        with self._lock:
            entry = self._runs.get(run_id)
        return _info(entry) if entry else None

    def list(self, family: str | None = None) -> list[RunInfo]:
        """Runs, newest first; only one family's when `family` is "gan" or "vae"."""
        with self._lock:
            entries = list(self._runs.values())
        infos = [_info(e) for e in entries]
        if family is not None:
            infos = [i for i in infos if i.family == family]
        return sorted(infos, key=lambda i: i.created, reverse=True)

    # ------------------------------------------------------------------ stop / remove
    def remove(self, run_id: str, *, wait: float = 5.0) -> bool:
        """Stop `run_id` (if training) and forget it. False when there was no such run."""
        with self._lock:
            entry = self._runs.pop(run_id, None)
        if entry is None:
            return False
        entry.runner.stop()
        entry.runner.join(wait)
        return True

    def stop_all(self, *, wait: float = 5.0) -> None:
        with self._lock:
            runners = [e.runner for e in self._runs.values()]
        for r in runners:
            r.stop()
        deadline = time.monotonic() + wait
        for r in runners:
            r.join(max(0.0, deadline - time.monotonic()))

    def clear(self, *, wait: float = 5.0) -> None:
        """Stop every run and forget them all (tests, or a fresh lesson)."""
        self.stop_all(wait=wait)
        with self._lock:
            self._runs.clear()

    def _evict_locked(self, room_for: int) -> None:
        excess = len(self._runs) + room_for - self.max_runs
        if excess <= 0:
            return
        finished = sorted((e for e in self._runs.values() if e.runner.state in FINAL_STATES),
                          key=lambda e: e.created)
        for entry in finished[:excess]:
            self._runs.pop(entry.runner.run_id, None)

    # ------------------------------------------------------------------ models to look at
    @staticmethod
    def _keep_copy(entry: _Entry, trainer) -> None:
        """Epoch-end callback, in the worker thread: a frozen eval-mode copy of the model."""
        model = copy.deepcopy(trainer.model).eval()
        for p in model.parameters():
            p.requires_grad_(False)
        with entry.lock:
            entry.model_copy, entry.copy_epoch = model, trainer.epoch

    def _model_for(self, entry: _Entry):
        runner = entry.runner
        with entry.lock:
            if entry.final_copy:
                return entry.model_copy, entry.copy_epoch
            ended = runner.state in FINAL_STATES and runner.join(0) and runner.trainer is not None
            if ended:
                # The worker is gone: the trainer's model is stable now (it may be past the last epoch copy).
                trainer = runner.trainer
                if trainer.step > 0 and (entry.model_copy is None or entry.copy_epoch != trainer.epoch
                                         or trainer._epoch_iter is not None):
                    model = copy.deepcopy(trainer.model).eval()
                    for p in model.parameters():
                        p.requires_grad_(False)
                    entry.model_copy, entry.copy_epoch = model, trainer.epoch
                entry.final_copy = True
            return entry.model_copy, entry.copy_epoch

    def view(self, run_id: str) -> ModelView | None:
        """A `ModelView` of a run: None until it has a model to show (one epoch done, or stopped)."""
        with self._lock:
            entry = self._runs.get(run_id)
        if entry is None:
            return None
        model, epoch = self._model_for(entry)
        if model is None:
            return None
        snap = entry.runner.snapshot()
        return ModelView(key=f"run:{run_id}", label=entry.label, config=snap.config, model=model,
                         epoch=max(epoch, 0), step_history=snap.step_history, epoch_history=snap.epoch_history,
                         snapshots=snap.epoch_snapshots, num_parameters=dict(snap.num_parameters),
                         elapsed=snap.elapsed, samples_per_sec=snap.samples_per_sec or None, state=snap.state)

    # ------------------------------------------------------------------ saving
    def _ended_trainer(self, run_id: str):
        runner = self.get(run_id)
        if runner is None:
            raise RunError(f"no run with id {run_id!r}.")
        if runner.state not in FINAL_STATES or not runner.join(0):
            raise RunError("this run is still training: stop it or let it finish, then save it.")
        if runner.trainer is None or runner.trainer.step == 0:
            raise RunError("this run has not trained a single step, so there is nothing to save.")
        return runner.trainer

    def save(self, run_id: str, path: str | os.PathLike, **kwargs) -> Path:
        """Write a finished or stopped run to a checkpoint file (gen_core.checkpoints)."""
        from .checkpoints import save_checkpoint
        return save_checkpoint(self._ended_trainer(run_id), path, **kwargs)

    def checkpoint_bytes(self, run_id: str, **kwargs) -> bytes:
        """The checkpoint file of a finished or stopped run, in memory (for a download button)."""
        trainer = self._ended_trainer(run_id)
        from .checkpoints import save_checkpoint
        with tempfile.TemporaryDirectory() as tmp:
            path = save_checkpoint(trainer, Path(tmp) / f"{run_id}.pt", **kwargs)
            return Path(path).read_bytes()


def _default_label(config: TrainConfig, run_id: str, created: float) -> str:
    return f"{config.model} · {config.dataset} · {time.strftime('%H:%M:%S', time.localtime(created))} · {run_id[:4]}"


def _info(entry: _Entry) -> RunInfo:
    r = entry.runner
    snap = r.snapshot()
    cfg = r.config
    return RunInfo(run_id=r.run_id, label=entry.label, family=cfg.family, model=cfg.model,
                   dataset=cfg.dataset, created=entry.created, state=snap.state, epoch=snap.epoch,
                   epochs=cfg.epochs, latent_dim=cfg.model_config.latent_dim)


def view_from_checkpoint(checkpoint, *, key: str, label: str | None = None) -> ModelView:
    """A `ModelView` of a loaded `gen_core.checkpoints.Checkpoint`."""
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


__all__ = ["RunRegistry", "RunError", "RunInfo", "ModelView", "view_from_checkpoint"]
