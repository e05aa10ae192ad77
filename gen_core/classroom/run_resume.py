"""Runs on disk: re-open, resume from the last epoch (the Trainer is built on the run's own worker
thread, see gen_core/training/threads.py), frozen model views and saved checkpoints. A mixin of
`RunRegistry` (gen_core/classroom/runs.py), which documents the registry as a whole.
"""
from __future__ import annotations

import copy
import inspect
import logging
import os
import time
from pathlib import Path

from gen_core.classroom.model_views import ModelView
from gen_core.classroom.owners import Actor, may_control
from gen_core.classroom.run_info import RESUMABLE_STATES, NotYourRun, RunError, _done, _Entry, _record_resumable
from gen_core.classroom.scheduler import SchedulerFull
from gen_core.config.checks import ConfigError
from gen_core.config.train import is_folder_dataset
from gen_core.data.datasets import load_dataset
from gen_core.data.image_folders import ImageFolderError
from gen_core.persistence.checkpoints import CheckpointError
from gen_core.persistence.persist import RunPersistence, record_for
from gen_core.persistence.resume import resume_problem, resume_trainer
from gen_core.training.runner import FAILED, FINAL_STATES, FINISHED, INTERRUPTED, TrainingRunner


def _builds_on_worker(executor) -> bool:
    """The executor's runners take a `build` run on their worker (threads do; Ray trains elsewhere and
    is handed a trainer)."""
    try:
        return "build" in inspect.signature(executor.runner).parameters
    except (TypeError, ValueError):
        return False


def _resume_from(checkpoint):
    """The build of a resumed run, on its worker thread: a damaged checkpoint fails the run with a
    readable reason (ConfigError: the runner shows its message as the run's error)."""
    try:
        return resume_trainer(checkpoint)
    except CheckpointError as e:
        raise ConfigError(f"this run cannot be resumed: its checkpoint cannot be used: {e}") from None


log = logging.getLogger("gen_core")

class DiskResume:
    """Runs on disk: re-open, resume from the last epoch, frozen model views and saved checkpoints. A mixin
    of `RunRegistry`.
    """
    

    def rescan(self) -> list[str]:
        """List run folders that appeared in runs_dir since this registry started (e.g. copied in, or
        left by another server process). Returns their ids; runs already known are untouched."""
        if self.store is None:
            return []
        found = self.store.scan()
        with self._lock:
            new = {r.run_id: r for r in found if r.run_id not in self._runs and r.run_id not in self._disk}
            self._disk.update(new)
        return list(new)

    # ------------------------------------------------------------------ re-open / resume
    def _reopen(self, run_id: str) -> _Entry | None:
        """Load a run listed from disk back into memory (final state; trainer from its checkpoint)."""
        with self._open_lock:
            with self._lock:
                entry = self._runs.get(run_id)
                record = self._disk.get(run_id)
            if entry is not None or record is None or self.store is None:
                return entry
            blocker = None
            ck = None
            try:
                config = self.store.read_config(run_id)
            except ConfigError as e:
                log.warning("run %s cannot be re-opened: %s", run_id, e)
                return None
            try:
                if is_folder_dataset(config.dataset):  # your own images: still there and intact?
                    load_dataset(config.dataset, config.data_root,
                                 image_size=getattr(config.model_config, "image_size", 32),
                                 channels=getattr(config.model_config, "channels", 3))
                # Reading only: the Trainer (data, optimisers, weights) is built by the worker on resume.
                ck = self.store.read_checkpoint(run_id)
                if ck is not None:
                    problem = resume_problem(ck)
                    if problem:
                        blocker = f"its checkpoint cannot be used: {problem}"
                elif record.checkpoint_epoch or record.epoch > 0 or record.step > 0:
                    # It had trained (run.json says so) but its checkpoint.pt is gone: resuming would start
                    # again from step 0 and overwrite its history, which is not what "resume" promises.
                    blocker = (f"its saved state (state.pt or checkpoint.pt) is missing, so its "
                               f"{record.epoch} trained epoch{'s' if record.epoch != 1 else ''} cannot be continued; "
                               "start a new run with the same settings instead")
            except ImageFolderError as e:
                blocker = str(e).rstrip(".")
            except (CheckpointError, ConfigError, OSError) as e:
                blocker = f"its checkpoint cannot be used: {e}"
            except Exception as e:  # noqa: BLE001 — a damaged folder must give a message, never a traceback
                log.exception("run %s: its checkpoint cannot be used", run_id)
                blocker = f"its checkpoint cannot be used ({type(e).__name__}: {' '.join(str(e).split())[:160]})"
            state = record.state if record.state in FINAL_STATES else INTERRUPTED
            runner = TrainingRunner(config, run_id=run_id, state=state, error=record.error)
            for w in record.warnings:
                runner.add_warning(w)
            if blocker:
                runner.add_warning(f"This run cannot be resumed: {blocker}")
            if ck is not None:
                runner.show_saved(ck)
            entry = _Entry(runner, record.label, record.created, resume_blocker=blocker, owner=record.owner,
                           exempt=record.owner is None, note=record.note, saved=ck)
            if ck is not None:
                # The views' model: the checkpoint's own copy (eval mode, CPU), frozen; nothing trains it.
                for p in ck.model.parameters():
                    p.requires_grad_(False)
                if ck.step > 0:
                    entry.model_copy, entry.copy_epoch = ck.model.eval(), ck.epoch
            entry.final_copy = True
            entry.persistence = RunPersistence(self.store, record)
            entry.persistence.runner = runner
            entry.persistence.saved_step = record.checkpoint_step
            entry.ended_at = time.monotonic()
            with self._lock:
                if run_id not in self._disk:  # forgotten (clear/remove) while loading
                    return None
                del self._disk[run_id]
                self._runs[run_id] = entry
                self._evict_locked()
        return entry

    def resume(self, run_id: str, actor: Actor | None = None) -> str:
        """Continue a stopped or interrupted run (from where it stopped; from its last saved epoch after a
        crash). It keeps its id, folder and history, and waits in line like a new run. Returns the id.
        Only its owner or the teacher may (`actor`; None: the local process)."""
        entry = self._entry(run_id)
        if entry is None:
            raise RunError(f"no run with id {run_id!r}.")
        if not may_control(actor, entry.owner):
            raise NotYourRun("resume")
        old = entry.runner
        why = self._resume_blocker(entry)
        if why:
            raise RunError(f"this run cannot be resumed: {why}.")
        if old.started and not old.join(5.0):
            raise RunError("this run is still stopping; try again in a moment.")
        trainer, saved = old.trainer, entry.saved
        if trainer is None and saved is not None and _builds_on_worker(self.executor):
            # Re-opened from disk: the worker that trains builds the Trainer and loads data and weights.
            runner = self.executor.runner(old.config, build=lambda ck=saved: _resume_from(ck), run_id=run_id)
            runner.show_saved(saved)   # while it waits in line (or if the build fails): where it stands
        else:
            if trainer is None and saved is not None:   # another process trains it (Ray): it needs a trainer
                try:
                    trainer = resume_trainer(saved)
                except (CheckpointError, ConfigError) as e:
                    raise RunError(f"this run cannot be resumed: its checkpoint cannot be used: {e}") from None
            runner = self.executor.runner(old.config, trainer=trainer, run_id=run_id)
        trained = (trainer.step if trainer is not None else saved.step if saved is not None else 0) > 0
        for w in old.warnings:
            if not w.startswith("Stopped automatically"):
                runner.add_warning(w)
        # Resuming is someone looking at it: a fresh idle clock (the stale one would let the reaper
        # stop it again at its next tick).
        watched = time.monotonic() if entry.last_seen is not None else None
        new = _Entry(runner, entry.label, entry.created, last_seen=watched, sessions=dict(entry.sessions),
                     owner=entry.owner, note=entry.note)
        new.exempt = entry.exempt
        if trained:
            new.model_copy, new.copy_epoch = entry.model_copy, entry.copy_epoch
        self._watch(new)
        if self.store is not None:
            record = entry.persistence.record if entry.persistence else record_for(runner, entry.label, entry.created)
            new.persistence = RunPersistence(self.store, record)
            new.persistence.saved_step = entry.persistence.saved_step if entry.persistence else None
            new.persistence.attach(runner)
            record.state, record.error = "queued", None
            new.persistence.save_record()
        with self._lock:
            if self._runs.get(run_id) is not entry:
                raise RunError("this run changed meanwhile; try again.")
            self._runs[run_id] = new
        try:
            self.scheduler.submit(runner, owner=new.owner, exempt=new.exempt)
        except SchedulerFull as e:
            with self._lock:
                self._runs[run_id] = entry
            raise RunError(str(e)) from None
        self._ensure_reaper()
        return run_id

    def _resume_blocker(self, entry: _Entry) -> str | None:
        r = entry.runner
        if r.state not in RESUMABLE_STATES:
            return {FINISHED: "it has finished all its epochs", FAILED: f"it failed ({r.snapshot().error})"
                    }.get(r.state, "it is still training or waiting")
        if entry.resume_blocker:
            return entry.resume_blocker
        if _done(entry):
            return "it has finished all its epochs"
        return None

    def resume_point(self, run_id: str) -> int | None:
        """The epoch Resume would continue from (its saved trainer's); None when it would start from
        the beginning (nothing trained or saved yet)."""
        entry = self._entry(run_id)
        if entry is None:
            return None
        saved = entry.runner.trainer if entry.runner.trainer is not None else entry.saved
        return saved.epoch if saved is not None and saved.step > 0 else None

    def resumable(self, run_id: str) -> bool:
        with self._lock:
            entry = self._runs.get(run_id)
            record = self._disk.get(run_id)
        if entry is not None:
            return self._resume_blocker(entry) is None
        return record is not None and _record_resumable(record, self.store)

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
        entry = self._entry(run_id)
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
        entry = self._entry(run_id)
        if entry is None:
            raise RunError(f"no run with id {run_id!r}.")
        runner = entry.runner
        if runner.state not in FINAL_STATES or not runner.join(0):
            raise RunError("this run is still training: stop it or let it finish, then save it.")
        if runner.trainer is None and entry.saved is not None and entry.saved.step > 0:
            # A run re-opened from disk holds no trainer (resuming builds one on its worker): make one to
            # write the file from. Only for a download or a save, never for training.
            try:
                return resume_trainer(entry.saved)
            except (CheckpointError, ConfigError) as e:
                raise RunError(f"this run cannot be saved: its checkpoint cannot be used: {e}") from None
        if runner.trainer is None or runner.trainer.step == 0:
            raise RunError("this run has not trained a single step, so there is nothing to save.")
        return runner.trainer

    def save(self, run_id: str, path: str | os.PathLike, **kwargs) -> Path:
        """Write a finished or stopped run to a checkpoint file (gen_core.persistence.checkpoints)."""
        from gen_core.persistence.checkpoints import save_checkpoint
        return save_checkpoint(self._ended_trainer(run_id), path, **kwargs)

    def checkpoint_bytes(self, run_id: str, **kwargs) -> bytes:
        """The checkpoint file of a finished or stopped run, made in memory (for a download button):
        it works with a full or read-only disk too."""
        import io

        import torch

        from gen_core.persistence.checkpoints import checkpoint_payload
        trainer = self._ended_trainer(run_id)
        buf = io.BytesIO()
        torch.save(checkpoint_payload(trainer, **kwargs), buf)
        return buf.getvalue()

