"""What the registry tells pages about a run (`RunInfo`), its errors, and its timing defaults."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from gen_core.classroom.envvars import env_number
from gen_core.classroom.owners import owner_name
from gen_core.classroom.scheduler import ordinal
from gen_core.config.train import TrainConfig
from gen_core.data.image_folders import shown_dataset
from gen_core.persistence.persist import RunPersistence, RunRecord, RunStore
from gen_core.training.runner import FINAL_STATES, INTERRUPTED, STOPPED, TrainingRunner


DEFAULT_IDLE_TIMEOUT_S = 15 * 60


DEFAULT_KEEP_FINISHED_S = 30 * 60


DEFAULT_PAUSED_RELEASE_S = 5 * 60   # a paused run gives its training slot back after this long


CONTROL_ACTIONS = ("pause", "resume", "step", "stop", "dequeue")


RESUMABLE_STATES = (STOPPED, INTERRUPTED)


SHUTDOWN_WAIT_S = 30.0   # at exit: how long runs get to save their checkpoint


IDLE_RELEASE_S = 60.0   # while no run trains, collect garbage and return freed memory this often


def _env_seconds(name: str, default: float) -> float:
    value = env_number(name, default)
    return value if value > 0 else float("inf")  # 0 or less: never


class RunError(ValueError):
    """A run request cannot be met (unknown id, line full, not saveable yet). User-facing message."""


class NotYourRun(RunError):
    """The actor may not act on this run (it belongs to another student)."""

    def __init__(self, what: str = "act on"):
        super().__init__(f"This run belongs to someone else: only the student who started it, or the teacher, "
                         f"may {what} it.")


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
    queue_position: int | None = None    # 1 = next to start, while "queued"
    in_memory: bool = True               # False: listed from its folder, re-opened on first use
    resumable: bool = False              # stopped or interrupted with epochs left: `resume` continues it
    error: str | None = None
    owner: str | None = None             # gen_core.classroom.owners.owner_id of who started it
    shown: bool = False                  # the teacher shows it to the class
    note: str = ""                       # the user's note (label is the run's name)

    @property
    def name(self) -> str:
        return self.label

    @property
    def is_active(self) -> bool:
        return self.state not in FINAL_STATES

    @property
    def owner_name(self) -> str:
        return owner_name(self.owner)

    @property
    def status(self) -> str:
        """'queued · 2nd in line', 'training · epoch 3/10', 'interrupted · epoch 2/4', …"""
        if self.state == "queued" and self.queue_position:
            return f"queued · {ordinal(self.queue_position)} in line"
        if self.state in ("running", "paused", "starting"):
            shown = min(self.epoch + 1, self.epochs)
            return f"{'training' if self.state == 'running' else self.state} · epoch {shown}/{self.epochs}"
        return f"{self.state} · epoch {self.epoch}/{self.epochs}"


@dataclass
class _Entry:
    runner: TrainingRunner
    label: str
    created: float
    persistence: RunPersistence | None = None
    note: str = ""
    model_copy: Any = None            # eval-mode copy of the model …
    copy_epoch: int = -1              # … as of this many completed epochs
    final_copy: bool = False          # the copy was taken after the worker ended
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_seen: float | None = None    # time.monotonic() of the last touch (None: never watched)
    sessions: dict = field(default_factory=dict)   # session id → last touch
    ended_at: float | None = None     # time.monotonic() when the worker ended
    resume_blocker: str | None = None  # why `resume` would fail (e.g. a damaged checkpoint)
    owner: str | None = None          # gen_core.classroom.owners.owner_id (None: the local process)
    paused_since: float | None = None  # time.monotonic() when the reaper first saw it paused
    exempt: bool = True               # not held to the per-student caps (the teacher, the local process)
    # A run re-opened from disk: its saved state (gen_core.persistence.checkpoints.Checkpoint), read for the page
    # (progress, history, the model to look at). Its Trainer is not built here but on the worker
    # thread if the run is resumed (gen_core.training.threads: a second OpenMP pool slows training 1.5-2.6x).
    saved: Any = None


def _default_label(config: TrainConfig, run_id: str, created: float, dataset: str | None = None) -> str:
    when = time.strftime('%H:%M:%S', time.localtime(created))
    return f"{config.model} · {dataset or config.dataset} · {when} · {run_id[:4]}"


def _ended(runner: TrainingRunner) -> bool:
    """Over, and its worker (if it had one) has exited: nothing writes its trainer or files any more."""
    return runner.state in FINAL_STATES and (not runner.started or runner.join(0))


def _done(entry: _Entry) -> bool:
    """It has trained all its epochs (its trainer says so, or the saved state of a re-opened run)."""
    held = entry.runner.trainer if entry.runner.trainer is not None else entry.saved
    return held is not None and held.done


def _record_resumable(record: RunRecord, store: RunStore | None = None) -> bool:
    if not (record.state in RESUMABLE_STATES and record.epoch < record.epochs):
        return False
    # It trained, but its checkpoint is gone: Resume would restart from step 0 (see _reopen).
    trained = bool(record.checkpoint_epoch or record.epoch > 0 or record.step > 0)
    return not (trained and store is not None and store.files(record.run_id).newest_file() is None)


def _info(entry: _Entry, shown=frozenset()) -> RunInfo:
    r = entry.runner
    snap = r.snapshot()
    cfg = r.config
    resumable = snap.state in RESUMABLE_STATES and not entry.resume_blocker and not _done(entry)
    return RunInfo(run_id=r.run_id, label=entry.label, family=cfg.family, model=cfg.model,
                   dataset=shown_dataset(cfg.dataset), created=entry.created, state=snap.state, epoch=snap.epoch,
                   epochs=cfg.epochs, latent_dim=cfg.model_config.latent_dim,
                   queue_position=snap.queue_position, in_memory=True, resumable=resumable, error=snap.error,
                   owner=entry.owner, shown=r.run_id in shown, note=entry.note)


def _info_from_record(rec: RunRecord, shown=frozenset(), store: RunStore | None = None) -> RunInfo:
    return RunInfo(run_id=rec.run_id, label=rec.label, family=rec.family, model=rec.model,
                   dataset=shown_dataset(rec.dataset),
                   created=rec.created, state=rec.state, epoch=rec.epoch, epochs=rec.epochs,
                   latent_dim=rec.latent_dim, in_memory=False, resumable=_record_resumable(rec, store), error=rec.error,
                   owner=rec.owner, shown=rec.run_id in shown, note=rec.note)
