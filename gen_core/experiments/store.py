"""Sweeps that survive a restart: the process-wide `SweepStore`, saving each sweep under the runs dir.

Layout (beside the run folders, under GEN_CORE_RUNS_DIR):

    runs/sweeps/<sweep_id>/
        sweep.json        what the sweep is (base config, swept setting, values, seeds, owner, label) and
                          where each point stands (state, steps, histories, final metrics); format
                          "gen_core.sweep", version 1; rewritten when the sweep starts, as each point ends
                          and when the sweep ends
        grid_NNN.npy      the last fixed-noise grid of point NNN (uint8), once that point has ended

Every file is written to a temporary name and renamed (gen_core.persistence.atomic.atomic_write), so a crash
mid-write leaves the previous version. A new process lists saved sweeps read-only (`StoredSweep`); one
that was still going when its server stopped is "interrupted": its owner or the teacher may resume it
(only the points that had not ended train, through the same slot as a new sweep) or delete it. A damaged
sweep.json is one clear line in `SweepStore.problems()`, never an exception on the page.

No streamlit import.
"""
from __future__ import annotations

import io
import json
import logging
import math
import os
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable, ContextManager, Sequence

import numpy as np

from gen_core.classroom.owners import Actor, may_control
from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig
from gen_core.data.images import ImageData
from gen_core.experiments.params import SweepError, apply_value, parse_seeds, parse_values
from gen_core.experiments.sweep import (FINAL_STATES, INTERRUPTED, PENDING, RUNNING, SKIPPED, Sweep, SweepItem,
                                        SweepSnapshot)
from gen_core.persistence.atomic import atomic_write


log = logging.getLogger("gen_core")

FORMAT, VERSION = "gen_core.sweep", 1
SWEEPS_DIR, SWEEP_FILE = "sweeps", "sweep.json"
MAX_FILE_BYTES = 32 * 2**20          # a sweep.json above this is not parsed (a saved one is ~1 MB at most)
MAX_STEP_RECORDS = 2000              # per point: enough for a smooth curve; keeps sweep.json small
MAX_EPOCH_RECORDS = 1000
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class SweepFileError(ValueError):
    """A saved sweep cannot be read back. The message is user-facing."""


def _thin(records: Sequence[dict], cap: int) -> list[dict]:
    """At most `cap` records, evenly spaced, the last always kept (the curve's end is what people read)."""
    records = list(records)
    if len(records) <= cap:
        return records
    step = len(records) / cap
    picked = [records[int(i * step)] for i in range(cap - 1)]
    return picked + [records[-1]]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    return value


_ITEM_FIELDS = ("state", "error", "step", "total_steps", "epoch", "epochs", "elapsed", "wall_seconds",
                "samples_per_sec")


def sweep_json(snap: SweepSnapshot, owner: str | None) -> dict:
    """What sweep.json holds for `snap` (grids go to their own .npy files)."""
    items = []
    for it in snap.items:
        row = {"index": it.index, "value": it.value, "seed": it.seed, **{k: getattr(it, k) for k in _ITEM_FIELDS},
               "final": it.final, "has_grid": it.samples is not None,
               "step_history": _thin(it.step_history, MAX_STEP_RECORDS),
               "epoch_history": _thin(it.epoch_history, MAX_EPOCH_RECORDS)}
        items.append(row)
    return _plain({"format": FORMAT, "version": VERSION, "sweep_id": snap.sweep_id, "label": snap.label,
                   "param": snap.param, "values": list(snap.values), "seeds": list(snap.seeds),
                   "base": snap.base.to_dict(), "owner": owner, "state": snap.state, "error": snap.error,
                   "created": snap.created, "elapsed": snap.elapsed, "saved": time.time(), "items": items})


def _need(ok: bool, why: str) -> None:
    if not ok:
        raise SweepFileError(why)


def _number(value: Any, default: float = 0.0) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def snapshot_from_json(data: Any, folder: Path | None = None) -> tuple[SweepSnapshot, str | None]:
    """(the sweep as it was saved, its owner). A sweep saved while still going comes back "interrupted",
    its unfinished points pending. SweepFileError for anything that is not a sweep this version wrote."""
    _need(isinstance(data, dict) and data.get("format") == FORMAT, "it is not a gen_core sweep file.")
    _need(data.get("version") == VERSION, f"it has version {data.get('version')!r}; this server reads {VERSION}.")
    sid, owner = data.get("sweep_id"), data.get("owner")
    _need(isinstance(sid, str) and _ID.fullmatch(sid) is not None, "its sweep id is missing or malformed.")
    _need(owner is None or isinstance(owner, str), "its owner is malformed.")
    try:
        base = TrainConfig.from_dict(data.get("base"))
        param = data.get("param")
        values = parse_values(param, data.get("values") or [])
        seeds = parse_seeds(data.get("seeds") or [])
    except (ConfigError, TypeError, ValueError) as e:
        raise SweepFileError(f"its settings do not validate ({e}).") from None
    rows = data.get("items")
    _need(isinstance(rows, list) and len(rows) == len(values) * len(seeds), "its list of points is damaged.")
    was_going = data.get("state") in (PENDING, RUNNING)
    items = []
    for i, row in enumerate(rows):
        _need(isinstance(row, dict) and row.get("index") == i, f"point {i} is damaged.")
        value, seed = values[i // len(seeds)], seeds[i % len(seeds)]
        _need(row.get("seed") == seed and parse_values(param, [row.get("value")]) == [value],
              f"point {i} does not match the sweep's values and seeds.")
        try:
            cfg = apply_value(base, param, value, seed)
        except (ConfigError, TypeError) as e:
            raise SweepFileError(f"point {i} does not validate ({e}).") from None
        state = row.get("state") if isinstance(row.get("state"), str) else PENDING
        if state not in FINAL_STATES:   # it had not ended: on resume it trains from its start
            skipped = state == SKIPPED and not was_going     # (a sweep its owner stopped skipped it)
            items.append(SweepItem(i, value, seed, cfg, state=SKIPPED if skipped else PENDING, epochs=cfg.epochs))
            continue
        hist = [row.get("step_history"), row.get("epoch_history")]
        _need(all(isinstance(h, list) and all(isinstance(r, dict) for r in h) for h in hist),
              f"point {i}'s history is damaged.")
        final = row.get("final") if isinstance(row.get("final"), dict) else {}
        samples = _read_grid(folder, i) if folder is not None and row.get("has_grid") else None
        items.append(SweepItem(
            i, value, seed, cfg, state=state, error=row.get("error") if isinstance(row.get("error"), str) else None,
            step=int(_number(row.get("step"))), total_steps=int(_number(row.get("total_steps"))),
            epoch=int(_number(row.get("epoch"))), epochs=int(_number(row.get("epochs"), cfg.epochs)),
            elapsed=_number(row.get("elapsed")), wall_seconds=_number(row.get("wall_seconds")),
            samples_per_sec=row.get("samples_per_sec") if isinstance(row.get("samples_per_sec"), float) else None,
            step_history=tuple(hist[0]), epoch_history=tuple(hist[1]),
            final={k: float(v) for k, v in final.items() if isinstance(v, (int, float)) and not isinstance(v, bool)},
            samples=samples))
    state = INTERRUPTED if was_going else data.get("state")
    _need(isinstance(state, str), "its state is missing.")
    label = data.get("label") if isinstance(data.get("label"), str) else sid
    error = data.get("error") if isinstance(data.get("error"), str) else None
    snap = SweepSnapshot(sweep_id=sid, label=label[:200], param=param, values=tuple(values), seeds=tuple(seeds),
                         family=base.family, base=base, state=state, error=error, items=tuple(items),
                         created=_number(data.get("created"), time.time()), elapsed=_number(data.get("elapsed")),
                         eta_seconds=None)
    return snap, owner


def _grid_path(folder: Path, i: int) -> Path:
    return folder / f"grid_{i:03d}.npy"


def _read_grid(folder: Path, i: int) -> np.ndarray | None:
    """A point's grid, or None when its file is missing or not a small uint8 image (the curves still show)."""
    path = _grid_path(folder, i)
    try:
        if path.stat().st_size > 16 * 2**20:
            return None
        grid = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        log.warning("sweep grid %s unreadable: %s", path, e)
        return None
    return grid if grid.dtype == np.uint8 and grid.ndim in (2, 3) else None


class SweepDisk:
    """Reads and writes sweep folders under <root>/sweeps. Write methods raise OSError; callers decide."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root) / SWEEPS_DIR

    def folder(self, sweep_id: str) -> Path:
        if not _ID.fullmatch(sweep_id or ""):
            raise SweepError(f"not a sweep id: {sweep_id!r}")
        return self.root / sweep_id

    def save(self, snap: SweepSnapshot, owner: str | None) -> None:
        folder = self.folder(snap.sweep_id)
        for it in snap.items:  # grids first: sweep.json never names a grid that is not on disk
            if it.samples is not None and it.state in FINAL_STATES and not _grid_path(folder, it.index).exists():
                buf = io.BytesIO()
                np.save(buf, np.ascontiguousarray(it.samples), allow_pickle=False)
                atomic_write(_grid_path(folder, it.index), lambda f, b=buf.getvalue(): f.write(b))
        data = json.dumps(sweep_json(snap, owner), indent=1, allow_nan=False).encode()
        atomic_write(folder / SWEEP_FILE, lambda f: f.write(data))

    def load(self, sweep_id: str) -> tuple[SweepSnapshot, str | None]:
        folder = self.folder(sweep_id)
        path = folder / SWEEP_FILE
        try:
            size = path.stat().st_size
            _need(size <= MAX_FILE_BYTES, f"it is {size / 2**20:.0f} MB, more than a sweep file can be.")
            data = json.loads(path.read_bytes())
        except SweepFileError:
            raise
        except FileNotFoundError:
            raise SweepFileError("its sweep.json is missing.") from None
        except (OSError, ValueError, RecursionError) as e:
            raise SweepFileError(f"its sweep.json cannot be read ({type(e).__name__}: {str(e)[:120]}).") from None
        snap, owner = snapshot_from_json(data, folder)
        _need(snap.sweep_id == sweep_id, "its id does not match its folder.")
        return snap, owner

    def ids(self) -> list[str]:
        """Saved sweeps, most recently written first."""
        def written(p: Path) -> float:
            try:
                return (p / SWEEP_FILE).stat().st_mtime
            except OSError:
                return 0.0
        try:
            folders = [p for p in self.root.iterdir() if p.is_dir() and _ID.fullmatch(p.name)]
        except OSError:
            return []
        return [p.name for p in sorted(folders, key=written, reverse=True)]

    def delete(self, sweep_id: str) -> None:
        shutil.rmtree(self.folder(sweep_id), ignore_errors=True)


class StoredSweep:
    """A sweep from a previous process, read-only: what the page needs of a `Sweep` (snapshot, owner, state)."""

    def __init__(self, snap: SweepSnapshot, owner: str | None):
        self._snap = snap
        self.owner = owner
        self.sweep_id, self.label, self.created = snap.sweep_id, snap.label, snap.created
        self.queue_position = None
        self.is_active = False

    @property
    def state(self) -> str:
        return self._snap.state

    @property
    def resumable(self) -> bool:
        return self._snap.state == INTERRUPTED

    def snapshot(self) -> SweepSnapshot:
        return self._snap

    def stop(self) -> None:  # nothing trains
        pass

    def stopping(self) -> bool:
        return True

    def join(self, timeout: float | None = None) -> bool:
        return True


class SweepStore:
    """Process-wide, thread-safe store of sweeps (the dashboard keeps one via st.cache_resource).

    root: the runs directory; sweeps are saved under root/sweeps and listed again by a new store on the
          same root (None: in memory only, as in scripts and most tests).
    max_active: sweeps training at once; max_active_per_owner: per student.
    max_sweeps: sweeps kept in memory; when a new one would exceed it, the oldest ended ones go (from the
          listing; their folders stay until deleted).
    """

    def __init__(self, *, max_sweeps: int = 8, max_active: int = 1, max_active_per_owner: int = 1,
                 root: str | os.PathLike | None = None):
        self.max_sweeps = max_sweeps
        self.max_active = max_active
        self.max_active_per_owner = max_active_per_owner
        self.disk = SweepDisk(root) if root is not None else None
        self._lock = threading.Lock()
        self._sweeps: dict[str, Sweep | StoredSweep] = {}
        self._problems: dict[str, str] = {}
        if self.disk is not None:
            self.rescan()

    # ---------------------------------------------------------------- disk
    def rescan(self) -> None:
        """List the saved sweeps this store does not hold yet (damaged ones as `problems`)."""
        if self.disk is None:
            return
        # the newest `max_sweeps` only: a server with years of sweeps must not load them all at start
        for sid in self.disk.ids()[:self.max_sweeps]:
            if sid in self._sweeps:
                continue
            try:
                snap, owner = self.disk.load(sid)
            except SweepFileError as e:
                self._problems[sid] = (f"Saved sweep {sid} cannot be shown: {e} Its folder "
                                       f"{self.disk.folder(sid)} can be deleted.")
                continue
            with self._lock:
                self._sweeps.setdefault(sid, StoredSweep(snap, owner))

    def problems(self) -> list[str]:
        """One user-facing line per saved sweep that could not be read."""
        return list(self._problems.values())

    def _saver(self, sweep: Sweep) -> None:
        # a sweep deleted (or forgotten) while its thread ends must not write its folder back
        if self.disk is None or self.get(sweep.sweep_id) is not sweep:
            return
        try:
            self.disk.save(sweep.snapshot(), sweep.owner)
        except (OSError, ValueError) as e:  # a full disk must not end the sweep: it goes on in memory
            log.warning("sweep %s could not be saved: %s", sweep.sweep_id, e)

    # ---------------------------------------------------------------- sweeps
    def _admit_locked(self, owner: str | None) -> None:
        active = [s for s in self._sweeps.values() if s.is_active]
        if len([s for s in active if s.owner == owner]) >= self.max_active_per_owner:
            raise SweepError("a sweep is already running: wait for it or stop it before starting another."
                             if owner is None else "You already have a sweep running: wait for it or stop it "
                             "before starting another.")
        if len(active) >= self.max_active:
            raise SweepError(f"{len(active)} sweeps are running, the most this server takes; try again when "
                             "one has finished.")

    def create(self, base: TrainConfig, param: str, values: Sequence, seeds: Sequence[int] = (0,), *,
               data: ImageData | None = None, label: str | None = None, start: bool = True,
               slot: Callable[..., ContextManager] | None = None, owner: str | None = None) -> str:
        """Validate, register and (by default) start a sweep. ConfigError / SweepError otherwise.

        owner: who starts it (gen_core.classroom.owners.owner_id); each owner may have `max_active_per_owner`
        sweeps going, the server `max_active` in all (their training goes through `slot`)."""
        sweep = Sweep(base, param, values, seeds, data=data, label=label, slot=slot,  # validates every config
                      on_change=self._saver)
        sweep.owner = owner
        with self._lock:
            self._admit_locked(owner)
            ended = sorted((s for s in self._sweeps.values() if not s.is_active), key=lambda s: s.created)
            for old in ended[:max(0, len(self._sweeps) + 1 - self.max_sweeps)]:
                self._sweeps.pop(old.sweep_id, None)
            self._sweeps[sweep.sweep_id] = sweep
            if start:
                sweep.start()
        return sweep.sweep_id

    def _check(self, sweep_id: str, actor: Actor | None, what: str):
        sweep = self.get(sweep_id)
        if sweep is None:
            raise SweepError(f"no sweep with id {str(sweep_id)[:64]!r}.")
        if not may_control(actor, sweep.owner):
            raise SweepError(f"Only the student who started this sweep, or the teacher, may {what} it.")
        return sweep

    def resume(self, sweep_id: str, actor: Actor | None = None, *, data: ImageData | None = None,
               slot: Callable[..., ContextManager] | None = None) -> str:
        """Train the points an interrupted sweep had not ended (the ended ones are kept), under its id."""
        stored = self._check(sweep_id, actor, "resume")
        if not isinstance(stored, StoredSweep) or not stored.resumable:
            raise SweepError("only a sweep cut off by a server restart can be resumed.")
        snap = stored.snapshot()
        sweep = Sweep(snap.base, snap.param, snap.values, snap.seeds, data=data, sweep_id=snap.sweep_id,
                      label=snap.label, slot=slot, carried=snap.items, created=snap.created, on_change=self._saver)
        sweep.owner = stored.owner
        with self._lock:
            if self._sweeps.get(sweep_id) is not stored:
                raise SweepError("this sweep was resumed or deleted meanwhile.")
            self._admit_locked(stored.owner)
            self._sweeps[sweep_id] = sweep
            sweep.start()
        return sweep_id

    def delete(self, sweep_id: str, actor: Actor | None = None, *, wait: float = 5.0) -> None:
        """Stop (if it trains), forget and delete a sweep's folder: its owner or the teacher."""
        self._check(sweep_id, actor, "delete")
        self.remove(sweep_id, wait=wait)
        if self.disk is not None:
            self.disk.delete(sweep_id)

    def get(self, sweep_id: str | None) -> Sweep | StoredSweep | None:
        with self._lock:
            return self._sweeps.get(sweep_id) if isinstance(sweep_id, str) else None

    def list(self) -> list[Sweep | StoredSweep]:
        """Newest first."""
        with self._lock:
            return sorted(self._sweeps.values(), key=lambda s: s.created, reverse=True)

    def any_active(self) -> bool:
        return any(s.is_active for s in self.list())

    def remove(self, sweep_id: str, *, wait: float = 5.0) -> bool:
        """Stop and forget a sweep (its saved folder stays: a new store lists it again)."""
        with self._lock:
            sweep = self._sweeps.pop(sweep_id, None)
        if sweep is None:
            return False
        sweep.stop()
        sweep.join(wait)
        return True

    def clear(self, *, wait: float = 10.0) -> None:
        """Stop and forget every sweep (folders stay). For tests, or a fresh lesson."""
        with self._lock:
            sweeps = list(self._sweeps.values())
            self._sweeps.clear()
            self._problems.clear()
        for s in sweeps:
            s.stop()
        deadline = time.monotonic() + wait
        for s in sweeps:
            s.join(max(0.0, deadline - time.monotonic()))


__all__ = ["SweepStore", "StoredSweep", "SweepDisk", "SweepFileError", "sweep_json", "snapshot_from_json"]
