"""Runs on disk: every run of the dashboard survives a server restart, losing at most one epoch.

Layout, one folder per run under the runs directory (`GEN_CORE_RUNS_DIR`, default `runs/`):

    runs/<run_id>/
        run.json              what the run is and where it stands: state, epoch, step, error,
                              warnings (format "gen_core.run", version 1); rewritten at creation,
                              after every epoch and when the run ends
        config.json           TrainConfig.to_dict(), written once at creation
        state.pt              while the run goes on: the last epoch's slim resumable state
        history.jsonl         (weights, optimiser moments, RNG, counters), the append-only
        snapshots/epoch_NNN.pt history journal and each epoch's snapshot (gen_core.persistence.runstate:
                              per-epoch cost independent of the run's length); resumes exactly
        checkpoint.pt         when the run ends (finished, stopped — mid-epoch too — or failed:
                              then of its last good epoch): the full checkpoint
                              (gen_core.persistence.checkpoints), and state.pt is removed
        history.json          {"steps": [...], "epochs": [...]} as of the end (readable without
                              torch; while it runs, history.jsonl holds the same records)
        grids/epoch_NNN.png   the fixed-noise samples of every epoch (+ latent_map_NNN.png,
                              recon_NNN.png where the model has them)

Every file is written to a temporary name in the same folder, flushed and renamed over the
old one, so a crash (or `kill -9`) mid-write leaves the previous version intact. A run whose
run.json says it was still queued, starting, training or paused when the server died is
listed as "interrupted" after a restart and can be resumed from its checkpoint.

Writing never stops training: any OSError (disk full, read-only folder, permission) becomes
one warning on the run (`TrainingRunner.add_warning`) and the run goes on in memory; later
epochs try again, and the warning says so when saving works again.

No streamlit import.
"""
from __future__ import annotations

import errno
import json
import logging
import math
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig
from gen_core.data.imaging import make_grid, png_bytes
from gen_core.persistence.atomic import atomic_write
from gen_core.persistence.checkpoints import Checkpoint, CheckpointError, save_checkpoint
from gen_core.persistence.loading import load_checkpoint
from gen_core.persistence.runstate import RunFiles
from gen_core.training.runner import ACTIVE_STATES, FINISHED, INTERRUPTED, STOPPED, TrainingRunner
from gen_core.training.trainer import Trainer


log = logging.getLogger("gen_core")

FORMAT = "gen_core.run"
VERSION = 1
RUN_FILE, CONFIG_FILE, CHECKPOINT_FILE, HISTORY_FILE, GRIDS = (
    "run.json", "config.json", "checkpoint.pt", "history.json", "grids")
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
GRID_SCALE = 2


def default_runs_dir() -> Path:
    """GEN_CORE_RUNS_DIR if set, else runs/ (relative to the working directory)."""
    return Path(os.environ.get("GEN_CORE_RUNS_DIR", "").strip() or "runs")


def valid_run_id(run_id: object) -> bool:
    """Run ids become folder names: letters, digits, '-' and '_' only (never '..' or '/')."""
    return isinstance(run_id, str) and RUN_ID_PATTERN.fullmatch(run_id) is not None


def describe_os_error(exc: BaseException) -> str:
    """'No space left on device' / 'read-only file system' … in words, for users."""
    if isinstance(exc, OSError):
        known = {errno.ENOSPC: "the disk is full", errno.EROFS: "the folder is on a read-only file system",
                 errno.EACCES: "no permission to write there", errno.EPERM: "no permission to write there",
                 errno.EDQUOT: "the disk quota is used up", errno.ENOTDIR: "a file stands where a folder should be",
                 errno.EEXIST: "a file stands where a folder should be"}
        why = known.get(exc.errno) or (exc.strerror or str(exc) or type(exc).__name__)
        return why
    return f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------
# Atomic writes (all persistence goes through these two, so tests can inject faults)
# ---------------------------------------------------------------------------

def _atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data))


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=1, default=_json_default).encode()


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _save_checkpoint(trainer: Trainer, path: Path) -> None:
    save_checkpoint(trainer, path)


# ---------------------------------------------------------------------------
# What run.json holds
# ---------------------------------------------------------------------------

@dataclass
class RunRecord:
    run_id: str
    label: str
    created: float                  # time.time()
    state: str
    model: str
    family: str
    dataset: str
    epochs: int
    latent_dim: int
    epoch: int = 0                  # completed epochs (as of the last write)
    step: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    updated: float = 0.0
    checkpoint_epoch: int | None = None   # epochs in checkpoint.pt (None: no checkpoint yet)
    checkpoint_step: int | None = None
    owner: str | None = None              # gen_core.classroom.owners.owner_id of who started it (None: the local process)
    note: str = ""                        # the user's note on the run (label is its name)

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: Any) -> "RunRecord":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a gen_core run record")
        if not isinstance(data.get("version"), int) or data["version"] > VERSION:
            raise ValueError(f"run record version {data.get('version')!r} is newer than this gen_core reads")
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        rec = cls(**fields)
        if not valid_run_id(rec.run_id):
            raise ValueError(f"bad run id {rec.run_id!r}")
        for name in ("label", "state", "model", "family", "dataset", "note"):
            if not isinstance(getattr(rec, name), str):
                raise ValueError(f"{name} must be text")
        for name in ("epochs", "latent_dim", "epoch", "step"):
            if not isinstance(getattr(rec, name), int) or isinstance(getattr(rec, name), bool):
                raise ValueError(f"{name} must be a whole number")
        if not isinstance(rec.created, (int, float)) or not math.isfinite(rec.created):
            raise ValueError("created must be a time")
        rec.warnings = [str(w) for w in rec.warnings][:10] if isinstance(rec.warnings, list) else []
        if not (rec.owner is None or (isinstance(rec.owner, str) and len(rec.owner) <= 64)):
            raise ValueError("owner must be text")
        return rec


def record_for(runner: TrainingRunner, label: str, created: float) -> RunRecord:
    cfg = runner.config
    state = "queued" if runner.state == "idle" else runner.state  # (written before it is handed to the scheduler)
    return RunRecord(run_id=runner.run_id, label=label, created=created, state=state, model=cfg.model,
                     family=cfg.family, dataset=cfg.dataset, epochs=cfg.epochs,
                     latent_dim=cfg.model_config.latent_dim)


# ---------------------------------------------------------------------------
# The runs directory
# ---------------------------------------------------------------------------

class RunStore:
    """Reads and writes run folders under `root`. Write methods raise OSError; callers decide."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def folder(self, run_id: str) -> Path:
        if not valid_run_id(run_id):
            raise ValueError(f"invalid run id {run_id!r}")
        return self.root / run_id

    def checkpoint_path(self, run_id: str) -> Path:
        return self.folder(run_id) / CHECKPOINT_FILE

    # -- writing
    def write_record(self, record: RunRecord) -> None:
        record.updated = time.time()
        _atomic_write_bytes(self.folder(record.run_id) / RUN_FILE, _json_bytes(record.to_json()))

    def write_config(self, run_id: str, config: TrainConfig) -> None:
        _atomic_write_bytes(self.folder(run_id) / CONFIG_FILE, _json_bytes(config.to_dict()))

    def write_history(self, run_id: str, trainer: Trainer) -> None:
        data = {"steps": trainer.history.steps, "epochs": trainer.history.epochs}
        _atomic_write_bytes(self.folder(run_id) / HISTORY_FILE, _json_bytes(data))

    def write_grids(self, run_id: str, trainer: Trainer) -> None:
        if not trainer.snapshots:
            return
        snap = trainer.snapshots[-1]
        grids = self.folder(run_id) / GRIDS
        n = f"{snap.epoch:03d}"
        _atomic_write_bytes(grids / f"epoch_{n}.png", png_bytes(make_grid(snap.samples), GRID_SCALE))
        if snap.latent_map is not None:
            grid = make_grid(snap.latent_map, nrow=trainer.config.latent_map_size, padding=0)
            _atomic_write_bytes(grids / f"latent_map_{n}.png", png_bytes(grid, GRID_SCALE))
        if snap.originals is not None and snap.reconstructions is not None:
            pairs = make_grid(np.concatenate([snap.originals, snap.reconstructions]), nrow=len(snap.originals))
            _atomic_write_bytes(grids / f"recon_{n}.png", png_bytes(pairs, GRID_SCALE))

    def write_checkpoint(self, run_id: str, trainer: Trainer) -> None:
        _save_checkpoint(trainer, self.checkpoint_path(run_id))

    def files(self, run_id: str) -> RunFiles:
        """The run's per-epoch state files (gen_core.persistence.runstate)."""
        return RunFiles(self.folder(run_id))

    # -- reading
    def scan(self) -> list[RunRecord]:
        """Every readable run folder, oldest first. Unreadable ones are skipped with a log line."""
        try:
            folders = [p for p in self.root.iterdir() if p.is_dir() and valid_run_id(p.name)]
        except OSError:
            return []
        records = []
        for folder in folders:
            path = folder / RUN_FILE
            if not path.is_file():
                continue  # e.g. a CLI output folder: not ours
            try:
                rec = RunRecord.from_json(json.loads(path.read_text()))
            except (OSError, ValueError, TypeError) as e:
                log.warning("skipping run folder %s: unreadable %s (%s)", folder, RUN_FILE, e)
                continue
            if rec.run_id != folder.name:
                log.warning("skipping run folder %s: its %s names run %s", folder, RUN_FILE, rec.run_id)
                continue
            if rec.state in ACTIVE_STATES:
                rec.state = INTERRUPTED  # the server that trained it is gone
            records.append(rec)
        return sorted(records, key=lambda r: r.created)

    def delete(self, run_id: str) -> None:
        """Remove a run's folder (only folders that hold a run.json: never anything else)."""
        import shutil
        folder = self.folder(run_id)
        if folder.is_dir() and not folder.is_symlink() and (folder / RUN_FILE).is_file():
            shutil.rmtree(folder)

    def read_config(self, run_id: str) -> TrainConfig:
        path = self.folder(run_id) / CONFIG_FILE
        try:
            return TrainConfig.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as e:
            if isinstance(e, ConfigError):
                raise
            raise ConfigError(f"the settings of run {run_id} cannot be read ({path}): {e}") from None

    def read_checkpoint(self, run_id: str) -> Checkpoint | None:
        """The run's last saved state (state.pt + journal while it has one, else checkpoint.pt), None
        when it has none yet. Raises CheckpointError when damaged."""
        files = self.files(run_id)
        if files.has_state():
            return files.load()
        path = self.checkpoint_path(run_id)
        if not path.is_file():
            return None
        return load_checkpoint(path)


# ---------------------------------------------------------------------------
# One run's writer, hooked into its runner
# ---------------------------------------------------------------------------

class RunPersistence:
    """Keeps one run's folder up to date. Hook `on_epoch_end` and `on_end` into its runner.

    Every method swallows write errors: they become a warning on the runner, training goes on.
    """

    def __init__(self, store: RunStore, record: RunRecord):
        self.store = store
        self.record = record
        self.runner: TrainingRunner | None = None
        self.failed_writes = 0
        self.saved_step: int | None = None
        self._failing = False
        self._files: RunFiles | None = None

    @property
    def files(self) -> RunFiles:
        if self._files is None:
            self._files = self.store.files(self.run_id)
        return self._files

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def healthy(self) -> bool:
        """True when the last write worked (the folder holds the run as of its last epoch)."""
        return not self._failing

    def attach(self, runner: TrainingRunner) -> None:
        self.runner = runner
        runner.on_epoch_end.append(self.on_epoch_end)
        runner.on_end.append(self.on_end)

    def _guard(self, what: str, fn, *args) -> bool:
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 — OSError above all; nothing here may stop training
            self.failed_writes += 1
            if not self._failing:
                log.warning("run %s: could not %s in %s: %s", self.run_id, what, self.store.root, e)
            self._failing = True
            if self.runner is not None:
                self.runner.add_warning(
                    f"Could not save this run to disk ({describe_os_error(e)}; folder "
                    f"{self.store.root / self.run_id}). Training goes on in memory and saving is tried "
                    "again after each epoch; when the run ends you can still download its checkpoint.")
            return False
        if self._failing:
            self._failing = False
            if self.runner is not None:
                self.runner.add_warning(f"Saving to disk works again (as of epoch {self.record.epoch}).")
        return True

    def save_record(self) -> bool:
        """Write run.json as the record stands now (any thread)."""
        return self._guard("write run.json", self.store.write_record, self.record)

    def write_initial(self, config: TrainConfig) -> bool:
        """config.json and run.json, in the creating thread (before the run starts)."""
        return (self._guard("write the run's settings", self.store.write_config, self.run_id, config)
                and self.save_record())

    def _update_record(self, trainer: Trainer | None, state: str) -> None:
        r = self.record
        r.state = state
        if trainer is not None:
            r.epoch, r.step = int(trainer.epoch), int(trainer.step)
        if self.runner is not None:
            r.warnings = [w for w in self.runner.warnings if not w.startswith("Could not save")]
            r.error = self.runner.snapshot().error

    def on_epoch_end(self, trainer: Trainer) -> None:
        """Worker thread, after each epoch: grids, the slim state files, then run.json (in that order,
        so run.json never points at a state that is not there yet). Cost: O(1) in the run's length."""
        state = self.runner.state if self.runner is not None else "running"
        ok = self._guard("write the epoch grids", self.store.write_grids, self.run_id, trainer)
        ok = self._guard("write the run's state", self.files.write_epoch, trainer) and ok
        if ok:
            self.saved_step = trainer.step
            self.record.checkpoint_epoch, self.record.checkpoint_step = int(trainer.epoch), int(trainer.step)
        self._update_record(trainer, state)
        self.save_record()

    def on_end(self, runner: TrainingRunner) -> None:
        """The run is over (finished, stopped, failed): the full checkpoint.pt (of a run stopped
        mid-epoch too, so that Resume continues from the very step it stopped at), history.json,
        and its final state in run.json."""
        trainer = runner.trainer
        state = runner.state
        if trainer is not None and state in (FINISHED, STOPPED) and trainer.step > 0:
            if self._guard("write the checkpoint", self.files.finish, trainer):
                self.saved_step = trainer.step
                self.record.checkpoint_epoch, self.record.checkpoint_step = int(trainer.epoch), int(trainer.step)
                self._guard("write the history", self.store.write_history, self.run_id, trainer)
        elif self.files.has_state():
            # FAILED: a diverged GAN step may have half-updated the weights, so the last good epoch's
            # state becomes the checkpoint.
            self._guard("write the checkpoint", self.files.finish, None)
        self._update_record(trainer, state)
        self.save_record()


__all__ = ["RunStore", "RunRecord", "RunPersistence", "default_runs_dir", "valid_run_id", "describe_os_error",
           "record_for", "FORMAT", "VERSION", "RUN_FILE", "CONFIG_FILE", "CHECKPOINT_FILE", "HISTORY_FILE",
           "GRIDS", "CheckpointError"]
