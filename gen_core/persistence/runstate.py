"""A run folder's per-epoch files, written at a cost that does not grow with the run.

Saving the full checkpoint every epoch rewrote every snapshot and the whole history each
time (35 MB growing to ~100 MB by epoch 180 in issue 13). Instead, after each epoch:

    snapshots/epoch_NNN.pt   that epoch's EpochSnapshot (uint8 images, latent means), written once
    history.jsonl            append-only journal: one JSON line per write with the step and epoch
                             records since the previous line, {"step": S, "steps": [...], "epochs": [...]}
    state.pt                 the slim resumable state: the checkpoint format (gen_core.persistence.checkpoints)
                             without history and snapshots — weights, optimiser moments, RNG
                             states, batch order, counters; constant size. Written last: it is
                             the commit point, journal lines and snapshots past it are ignored.

`load_run` puts the three back together into a `Checkpoint` that resumes exactly (the history
and snapshot lists are rebuilt by replaying the trainer's own thinning, so they equal an
uninterrupted run's). When the run ends, `finish` writes the full checkpoint.pt (the one file
the app, the explorer and `sample` load) and removes state.pt, so a folder's newest state is
state.pt while it exists, else checkpoint.pt. Old folders (checkpoint.pt only) keep working:
the first write of a resumed run rewrites the journal and snapshots from memory once.

All writes are atomic (temp file + rename), the journal append excepted: a line torn by a
crash is skipped when read, and the next resume rewrites the journal. No streamlit import.
"""
from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import torch

from gen_core.persistence.atomic import atomic_torch_save, atomic_write
from gen_core.persistence.checkpoints import (Checkpoint, CheckpointError, checkpoint_payload, save_checkpoint,
                                              snapshot_to_dict)
from gen_core.persistence.loading import load_checkpoint, snapshots_from_dicts
from gen_core.training.history import MAX_SNAPSHOT_BYTES, MAX_STEP_RECORDS, History, thin_snapshots
from gen_core.training.trainer import Trainer


log = logging.getLogger("gen_core")

STATE_FILE, JOURNAL_FILE, SNAPSHOT_DIR, CHECKPOINT_FILE = "state.pt", "history.jsonl", "snapshots", "checkpoint.pt"
_SNAPSHOT_NAME = re.compile(r"epoch_(\d{3,9})\.pt")


def _json_line(value) -> bytes:
    return (json.dumps(value, separators=(",", ":"), default=_plain) + "\n").encode()


def _plain(value):
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class RunFiles:
    """Writes and reads one run folder's per-epoch files. Write methods raise OSError; callers decide."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.saved_step: int | None = None
        self._journal_step: int | None = None    # last step in the journal; None: not written this session
        self._journal_epoch = 0
        self._snapshot_epoch = 0

    @property
    def state_path(self) -> Path:
        return self.folder / STATE_FILE

    @property
    def journal_path(self) -> Path:
        return self.folder / JOURNAL_FILE

    @property
    def checkpoint_path(self) -> Path:
        return self.folder / CHECKPOINT_FILE

    def snapshot_path(self, epoch: int) -> Path:
        return self.folder / SNAPSHOT_DIR / f"epoch_{epoch:03d}.pt"

    # ------------------------------------------------------------------ writing
    def write_epoch(self, trainer: Trainer) -> None:
        """After an epoch (or at a mid-epoch stop): new snapshots, new journal lines, then state.pt.

        Call on the training thread. Costs O(1) in the run's length, except the first call of a
        process on a resumed run, which rewrites journal and snapshots from memory once.
        """
        self._write_snapshots(trainer)
        self._write_journal(trainer)
        atomic_torch_save(checkpoint_payload(trainer, include_history=False), self.state_path)
        self.saved_step = trainer.step

    def _write_snapshots(self, trainer: Trainer) -> None:
        fresh = self._journal_step is None
        for snap in trainer.snapshots if fresh else trainer.snapshots[-1:]:
            if fresh or snap.epoch > self._snapshot_epoch:
                payload = snapshot_to_dict(snap)
                # Not synced: read_snapshots skips a missing or torn picture, so a power cut costs at
                # most the newest images, never the run. 3 syncs an epoch instead of 5 (journal line,
                # state.pt and its folder: those resume needs, in that order).
                atomic_write(self.snapshot_path(snap.epoch), lambda f, p=payload: torch.save(p, f),
                             durable=False)
                self._snapshot_epoch = max(self._snapshot_epoch, snap.epoch)

    def _write_journal(self, trainer: Trainer) -> None:
        history = trainer.history
        if self._journal_step is None:
            # First write of this process: the whole history as one line (drops torn lines and
            # lines past the state a resumed run started from).
            line = {"step": trainer.step, "steps": history.steps, "epochs": history.epochs}
            atomic_write(self.journal_path, lambda f: f.write(_json_line(line)))
        else:
            steps = _records_after(history.steps, "step", self._journal_step)
            epochs = _records_after(history.epochs, "epoch", self._journal_epoch)
            line = _json_line({"step": trainer.step, "steps": steps, "epochs": epochs})
            with open(self.journal_path, "ab") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        self._journal_step = trainer.step
        self._journal_epoch = history.epochs[-1]["epoch"] if history.epochs else 0

    def finish(self, trainer: Trainer | None) -> Path | None:
        """The run is over: write the full checkpoint.pt and remove state.pt.

        trainer: the run's trainer, saved as it is now; None (e.g. a failed run, whose last step may
        have half-updated the weights): the last saved state is turned into checkpoint.pt instead.
        Returns checkpoint.pt's path, or None when there was nothing to write.
        """
        if trainer is not None:
            save_checkpoint(trainer, self.checkpoint_path)
            self.saved_step = trainer.step
        elif self.state_path.is_file():
            payload = self.full_payload()
            atomic_torch_save(payload, self.checkpoint_path)
        else:
            return self.checkpoint_path if self.checkpoint_path.is_file() else None
        try:
            self.state_path.unlink()
        except FileNotFoundError:
            pass
        return self.checkpoint_path

    # ------------------------------------------------------------------ reading
    def has_state(self) -> bool:
        return self.state_path.is_file()

    def newest_file(self) -> Path | None:
        """state.pt while the run has one, else checkpoint.pt, else None."""
        for path in (self.state_path, self.checkpoint_path):
            if path.is_file():
                return path
        return None

    def load(self) -> Checkpoint:
        """The run as of its newest file, history and snapshots included. Raises CheckpointError."""
        if not self.has_state():
            return load_checkpoint(self.checkpoint_path)
        ck = load_checkpoint(self.state_path)
        ck.history = self.read_history(ck.step)
        ck.snapshots = self.read_snapshots(ck.epoch)
        return ck

    def read_history(self, upto_step: int, cap: int = MAX_STEP_RECORDS) -> History:
        """The journal's records up to `upto_step`, thinned as the trainer thins them."""
        history = History()
        try:
            lines = self.journal_path.read_bytes().splitlines()
        except FileNotFoundError:
            return history
        except OSError as e:
            raise CheckpointError(f"cannot read {self.journal_path}: {e.strerror or e}") from None
        for raw in lines:
            try:
                line = json.loads(raw)
                steps, epochs = line["steps"], line["epochs"]
                if not (isinstance(steps, list) and isinstance(epochs, list)):
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                log.warning("%s: skipping a damaged line", self.journal_path)
                continue
            for record in steps:
                if isinstance(record, dict) and isinstance(record.get("step"), int) and record["step"] <= upto_step:
                    history.steps.append(record)
                    history.thin_steps(cap)
            history.epochs += [r for r in epochs if isinstance(r, dict) and isinstance(r.get("step"), int)
                               and r["step"] <= upto_step]
        return history

    def read_snapshots(self, upto_epoch: int, max_bytes: int = MAX_SNAPSHOT_BYTES) -> list:
        """The snapshot files up to `upto_epoch`, thinned as the trainer thins them."""
        folder = self.folder / SNAPSHOT_DIR
        try:
            names = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _SNAPSHOT_NAME.fullmatch(p.name))]
        except FileNotFoundError:
            return []
        snapshots: list = []
        for epoch, path in sorted(names):
            if epoch > upto_epoch:
                break
            try:
                item = torch.load(path, map_location="cpu", weights_only=True)
                snapshots += snapshots_from_dicts([item])
            except Exception as e:  # noqa: BLE001 — one damaged picture must not lose the run
                log.warning("%s: skipping an unreadable snapshot (%s)", path, e)
                continue
            snapshots = thin_snapshots(snapshots, max_bytes)
        return snapshots

    def full_payload(self) -> dict:
        """state.pt's dict with history and snapshots put back: the full checkpoint format."""
        try:
            payload = torch.load(self.state_path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001
            raise CheckpointError(f"cannot read {self.state_path}: {e}") from None
        step = int(payload["trainer"]["step"])
        epoch = int(payload["trainer"]["epoch"])
        history = self.read_history(step)
        payload["history"] = json.dumps({"steps": history.steps, "epochs": history.epochs}, default=_plain)
        payload["snapshots"] = [snapshot_to_dict(s) for s in self.read_snapshots(epoch)]
        return payload


def _records_after(records: list[dict], key: str, after: int) -> list[dict]:
    """The trailing records whose `key` is past `after` (records are in order)."""
    i = len(records)
    while i > 0 and records[i - 1].get(key, 0) > after:
        i -= 1
    return records[i:]


def resolve_resume_path(path: str | os.PathLike) -> Path:
    """What `--resume PATH` means: a run folder or a file in it → the folder's newest state file."""
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    if p.is_dir() or p.name in (STATE_FILE, CHECKPOINT_FILE):
        newest = RunFiles(folder).newest_file()
        if newest is not None:
            return newest
    return p


__all__ = ["RunFiles", "resolve_resume_path", "STATE_FILE", "JOURNAL_FILE", "SNAPSHOT_DIR", "CHECKPOINT_FILE"]
