"""A process-wide, thread-safe registry of training runs, and read-only views of trained models.

The dashboard holds ONE `RunRegistry` (through `st.cache_resource`), so every browser
session of the server sees the same runs: a page refresh (or a second laptop in the
class) re-attaches to a run by its id, which the app keeps in the URL.

    registry = RunRegistry(runs_dir="runs")                        # runs survive a restart
    run_id = registry.create(TrainConfig(model="mlp-gan", epochs=3))   # starts, or waits in line
    registry.snapshot(run_id)            # RunSnapshot: progress, metrics, epoch images, queue place
    registry.get(run_id).pause()         # the TrainingRunner's own controls
    registry.touch(run_id, session_id)   # a page shows it (idle runs are stopped, see below)
    registry.resume(run_id)              # continue a stopped or interrupted run from its checkpoint
    view = registry.view(run_id)         # ModelView: a frozen copy of the model to decode from
    registry.save(run_id, "run.pt")      # via gen_core.checkpoints, once the run is over

A classroom shares one server, so the registry keeps every resource bounded:

* Slots: a `gen_core.scheduler.Scheduler` lets at most `max_running` runs train at once
  (default: GEN_CORE_MAX_RUNS, else the CPU core count) and queues the rest first come, first
  served (state "queued", `RunSnapshot.queue_position`); running runs share the CPU threads.
* Disk: with `runs_dir`, every run is written under runs_dir/<run_id>/ (gen_core.persist) after
  each epoch. A new registry on the same folder lists those runs again — unfinished ones as
  "interrupted" — and `resume` continues them from their last checkpoint.
* Idle runs: pages call `touch(run_id, session_id)` while they show a run. An active run that
  has been watched, but by no page for `idle_timeout` seconds (GEN_CORE_IDLE_TIMEOUT_S, default
  900), is stopped; its results are kept and it can be resumed. Runs nobody ever watched
  (scripts, notebooks, tests) are never stopped for that.
* Memory: at most `max_runs` finished runs stay in memory; finished runs nobody looked at for
  `keep_finished_s` (GEN_CORE_KEEP_FINISHED_S, default 1800) leave it too. Runs that are safely
  on disk go first and stay listed: `get`, `snapshot` or `view` re-open them from their folder.
  Per-run histories and epoch images are capped by the Trainer (gen_core.training).

Thread-safety: the registry's own dicts are guarded by a lock; runners publish immutable
snapshots; models handed out for decoding are *copies* made in the worker thread at the
end of each epoch (or after the worker has ended), in eval mode, so the UI never reads
weights while an optimiser step writes them, nor flips a training model into eval mode.
A daemon thread ("gen_core-reaper") applies the idle and memory rules every few seconds.

No streamlit import: the CLI or a notebook can use this too.
"""
from __future__ import annotations

import atexit
import copy
import gc
import inspect
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .envvars import env_number
from .budget import check_budget, run_budget_mb
from .checkpoints import CheckpointError, resume_problem, resume_trainer
from .config import FOLDER_PREFIX, ConfigError, TrainConfig, check_against_data, is_folder_dataset
from .data import ImageData, load_dataset
from .describe import clean_name, clean_note
from .executors import Executor, resolve_executor
from .image_folders import ImageFolderError, is_stored_path, shown_dataset, store_images
from .owners import POLICY_FILE, Actor, ClassroomPolicy, may_control, owner_name
from .persist import RunPersistence, RunRecord, RunStore, describe_os_error, record_for, valid_run_id
from .registry import get_model_spec
from .runner import (ACTIVE_STATES, FAILED, FINAL_STATES, FINISHED, INTERRUPTED, PAUSED, STOPPED, RunSnapshot,
                     TrainingRunner)
from .scheduler import Scheduler, SchedulerFull, ordinal

log = logging.getLogger("gen_core")

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
    owner: str | None = None             # gen_core.owners.owner_id of who started it
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
    owner: str | None = None          # gen_core.owners.owner_id (None: the local process)
    paused_since: float | None = None  # time.monotonic() when the reaper first saw it paused
    exempt: bool = True               # not held to the per-student caps (the teacher, the local process)
    # A run re-opened from disk: its saved state (gen_core.checkpoints.Checkpoint), read for the page
    # (progress, history, the model to look at). Its Trainer is not built here but on the worker
    # thread if the run is resumed (gen_core.threads: a second OpenMP pool slows training 1.5-2.6x).
    saved: Any = None


class RunRegistry:
    """Create, queue, find, list, stop, resume and save training runs.

    max_running:     runs training at once (the rest wait in line); default GEN_CORE_MAX_RUNS or
                     the core count. `max_active` is the same (its former name).
    max_queued:      runs that may wait in line (GEN_CORE_MAX_QUEUED, default 64); beyond, RunError.
    max_runs:        finished runs kept in memory; beyond, the oldest leave it (disk-backed first).
    runs_dir:        folder to persist runs in (None: memory only, lost with the process).
    idle_timeout:    seconds without any page watching after which an active, watched run is stopped.
    keep_finished_s: seconds after which a finished, unwatched, saved run leaves memory.
    executor:        where runs train (gen_core.executors): an Executor, "thread" or "ray";
                     default GEN_CORE_EXECUTOR, else threads of this process.
    """

    def __init__(self, *, max_runs: int = 16, max_running: int | None = None, max_active: int | None = None,
                 max_queued: int | None = None, runs_dir: str | os.PathLike | None = None,
                 idle_timeout: float | None = None, keep_finished_s: float | None = None,
                 cores: int | None = None, reap_interval: float | None = None,
                 executor: Executor | str | None = None, paused_release_s: float | None = None,
                 max_run_mb: float | None = None):
        self.max_runs = max_runs
        self.executor, self.executor_problem = resolve_executor(executor)
        self.scheduler = Scheduler(max_running if max_running is not None else max_active,
                                   cores=cores, max_queued=max_queued)
        # Memory per run (gen_core.budget): a config over it is refused before anything is built.
        self.max_run_mb = max_run_mb if max_run_mb is not None else run_budget_mb(self.scheduler.max_running)
        self.paused_release_s = (paused_release_s if paused_release_s is not None
                                 else _env_seconds("GEN_CORE_PAUSED_RELEASE_S", DEFAULT_PAUSED_RELEASE_S))
        if hasattr(self.executor, "connect_in_background"):
            # Ray: its start-up takes seconds, so begin now; and unless the slots were set, there are as
            # many as the cluster has room for (not this server's cores).
            if max_running is None and max_active is None and not os.environ.get("GEN_CORE_MAX_RUNS", "").strip():
                if self.executor.connected:
                    self.scheduler.resize(self.executor.capacity())
                else:
                    self.executor.on_connect.append(self.scheduler.resize)
            self.executor.connect_in_background()
        self.idle_timeout = (idle_timeout if idle_timeout is not None
                             else _env_seconds("GEN_CORE_IDLE_TIMEOUT_S", DEFAULT_IDLE_TIMEOUT_S))
        self.keep_finished_s = (keep_finished_s if keep_finished_s is not None
                                else _env_seconds("GEN_CORE_KEEP_FINISHED_S", DEFAULT_KEEP_FINISHED_S))
        finite = [t for t in (self.idle_timeout, self.keep_finished_s, self.paused_release_s) if t != float("inf")]
        self.reap_interval = reap_interval if reap_interval is not None else max(0.05, min([10.0, *[t / 4 for t in finite]]))
        self._lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._runs: dict[str, _Entry] = {}
        self._disk: dict[str, RunRecord] = {}     # runs listed from runs_dir, not in memory
        self._closed = threading.Event()
        self._reaper: threading.Thread | None = None
        self._last_release = time.monotonic()
        self.store: RunStore | None = None
        self.store_problem: str | None = None
        if runs_dir is not None:
            self.store = RunStore(runs_dir)
            try:
                self.store.root.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                self.store_problem = (f"runs cannot be saved in {self.store.root} ({describe_os_error(e)}); "
                                      "they live in memory only.")
                log.warning(self.store_problem)
            self._disk = {rec.run_id: rec for rec in self.store.scan()}
        _LIVE.add(self)
        self.policy = ClassroomPolicy.load(self.store.root / POLICY_FILE) if self.store else ClassroomPolicy()
        self.scheduler.set_caps(self.policy.running_per_student, self.policy.queued_per_student)

    @property
    def max_active(self) -> int:
        return self.scheduler.max_running

    # ------------------------------------------------------------------ owners and the teacher
    def owner_of(self, run_id: str | None) -> str | None:
        with self._lock:
            entry = self._runs.get(run_id) if isinstance(run_id, str) else None
            record = self._disk.get(run_id) if isinstance(run_id, str) else None
        return entry.owner if entry is not None else (record.owner if record is not None else None)

    def may_control(self, run_id: str | None, actor: Actor | None) -> bool:
        """May `actor` stop, pause, resume, step, dequeue or delete this run? (owner or teacher)."""
        return run_id in self and may_control(actor, self.owner_of(run_id))

    def may_view(self, run_id: str | None, actor: Actor | None) -> bool:
        """May `actor` see this run (read-only unless `may_control`)? The teacher's policy decides."""
        return run_id in self and self.policy.may_view(actor, self.owner_of(run_id), run_id)

    def _check(self, run_id: str, actor: Actor | None, what: str) -> None:
        if run_id not in self:
            raise RunError(f"no run with id {run_id!r}.")
        if not may_control(actor, self.owner_of(run_id)):
            raise NotYourRun(what)

    def control(self, run_id: str, action: str, actor: Actor | None) -> None:
        """pause / resume / step / stop / dequeue a run — only its owner or the teacher may.

        Every button of the dashboard goes through here (never the runner directly), so knowing a
        run's id is not enough to act on it. Raises NotYourRun or RunError."""
        if action not in CONTROL_ACTIONS:
            raise RunError(f"unknown action {action!r}; one of {', '.join(CONTROL_ACTIONS)}.")
        self._check(run_id, actor, {"dequeue": "take out of the line"}.get(action, action))
        runner = self.get(run_id)
        if runner is None:
            raise RunError(f"no run with id {run_id!r}.")
        if action == "pause":
            runner.pause()
        elif action == "resume":
            runner.resume()
            with self._lock:
                entry = self._runs.get(run_id)
                if entry is not None:
                    entry.paused_since = None
        elif action == "step":
            runner.step()
        else:
            runner.stop()

    def delete(self, run_id: str, actor: Actor | None, *, wait: float = 5.0) -> None:
        """Stop a run, forget it and remove its folder (owner or teacher only)."""
        self._check(run_id, actor, "delete")
        runner = self.get(run_id)
        if runner is not None:
            runner.stop()
            if not runner.join(wait):  # its worker may still write into the folder
                raise RunError("this run is still stopping; try again in a moment.")
        self.remove(run_id, wait=wait)
        if self.store is not None:
            try:
                self.store.delete(run_id)
            except OSError as e:
                raise RunError(f"the run was removed from the list, but its folder could not be deleted "
                               f"({describe_os_error(e)}).") from None
        self._set_shown(run_id, False)

    def _save_policy(self) -> None:
        if self.store is None:
            return
        import json

        from .checkpoints import atomic_write
        try:
            data = json.dumps(self.policy.to_json(), indent=1).encode()
            atomic_write(self.store.root / POLICY_FILE, lambda f: f.write(data))
        except OSError as e:
            log.warning("classroom settings not saved: %s", describe_os_error(e))

    @staticmethod
    def _teacher_only(actor: Actor | None) -> None:
        if actor is not None and not actor.teacher:
            raise NotYourRun("change the class settings of")

    def set_policy(self, actor: Actor | None, *, running_per_student: int | None = None,
                   queued_per_student: int | None = None, others: str | None = None) -> ClassroomPolicy:
        """The teacher's settings: per-student caps and whether students see each other's runs."""
        self._teacher_only(actor)
        if running_per_student is not None:
            self.policy.running_per_student = max(1, int(running_per_student))
        if queued_per_student is not None:
            self.policy.queued_per_student = max(0, int(queued_per_student))
        if others is not None:
            self.policy.others = others if others in ("read-only", "hidden") else self.policy.others
        self.scheduler.set_caps(self.policy.running_per_student, self.policy.queued_per_student)
        self._save_policy()
        return self.policy

    def _set_shown(self, run_id: str, shown: bool) -> None:
        ids = [r for r in self.policy.shown if r != run_id] + ([run_id] if shown else [])
        if ids != self.policy.shown:
            self.policy.shown = ids
            self._save_policy()

    def show_to_class(self, run_id: str, actor: Actor | None, shown: bool = True) -> None:
        """Every session may open this run (read-only) through its link: the teacher's choice."""
        self._teacher_only(actor)
        if run_id not in self:
            raise RunError(f"no run with id {run_id!r}.")
        self._set_shown(run_id, shown)

    def clear_old(self, actor: Actor | None, older_than_s: float) -> list[str]:
        """Delete every run that is over and was created more than `older_than_s` ago (teacher)."""
        self._teacher_only(actor)
        cutoff = time.time() - older_than_s
        gone = []
        for info in self.list():
            if not info.is_active and info.created < cutoff:
                try:
                    self.delete(info.run_id, actor)
                    gone.append(info.run_id)
                except RunError as e:
                    log.warning("could not delete run %s: %s", info.run_id, e)
        return gone

    # ------------------------------------------------------------------ create / find
    def create(self, config: TrainConfig, *, label: str | None = None, data: ImageData | None = None,
               start: bool = True, run_id: str | None = None, actor: Actor | None = None, note: str = "") -> str:
        """Register a run for `config` and (by default) start it, or put it in line. Returns the run id.

        `actor` owns the run (None: the local process). Students are held to the per-student caps;
        the teacher and the local process only to the server's. Raises ConfigError when the config
        does not fit its data (e.g. more images per epoch than the dataset has) and RunError when
        the line is full, the student's caps are reached, or the id is taken.
        """
        if not isinstance(config, TrainConfig):
            raise ConfigError("a run needs a TrainConfig.")
        check_budget(config, self.max_run_mb)   # OverBudget (a ConfigError) before a byte is allocated
        if run_id is not None and not valid_run_id(run_id):
            raise RunError(f"a run id may hold letters, digits, '-' and '_' only (at most 64), got {run_id!r}.")
        if data is None:
            data = load_dataset(config.dataset, config.data_root)  # cached; needed for the size check
            images = data.train_images
            check_against_data(config, len(images), image_channels=1 if images.dim() == 3 else int(images.shape[1]),
                               dataset=data.name)
            data = None  # the worker loads (the same cached) data itself
        else:
            images = data.train_images
            check_against_data(config, len(images), image_channels=1 if images.dim() == 3 else int(images.shape[1]),
                               dataset=data.name)
        shown_dataset = config.dataset
        config, keep_problem = self._keep_uploaded_data(config, data)
        owner = actor.owner if actor is not None else None
        exempt = actor is None or actor.teacher
        with self._lock:
            why = self.scheduler.refusal(owner, exempt=exempt) if start else None
            if why:
                raise RunError(why)
            runner = self.executor.runner(config, data, run_id=run_id)
            if runner.run_id in self._runs or runner.run_id in self._disk:
                raise RunError(f"a run with id {runner.run_id!r} already exists.")
            created = time.time()
            entry = _Entry(runner, label or _default_label(config, runner.run_id, created, shown_dataset),
                           created, owner=owner,
                           note=clean_note(note))
            entry.exempt = exempt
            self._watch(entry)
            self._runs[runner.run_id] = entry
            self._evict_locked()
        if self.executor_problem:
            runner.add_warning(self.executor_problem)
        if keep_problem:
            runner.add_warning(keep_problem)
        if self.store is not None:
            record = record_for(runner, entry.label, created)
            record.owner = owner
            record.note = entry.note
            entry.persistence = RunPersistence(self.store, record)
            entry.persistence.attach(runner)
            if self.store_problem:
                runner.add_warning(self.store_problem[0].upper() + self.store_problem[1:])
            entry.persistence.write_initial(config)
        if start:
            self._submit(entry)
        self._ensure_reaper()
        return runner.run_id

    def start(self, run_id: str, actor: Actor | None = None) -> None:
        """Start (or queue) a run created with start=False."""
        with self._lock:
            entry = self._runs.get(run_id)
        if entry is None:
            raise RunError(f"no run with id {run_id!r}.")
        if not may_control(actor, entry.owner):
            raise NotYourRun("start")
        if entry.runner.started or entry.runner.state != "idle":
            raise RunError("this run was started already.")
        self._submit(entry)

    def _submit(self, entry: _Entry) -> None:
        try:
            self.scheduler.submit(entry.runner, owner=entry.owner, exempt=entry.exempt)
        except SchedulerFull as e:
            with self._lock:
                self._runs.pop(entry.runner.run_id, None)
            if entry.persistence is not None:  # its folder must not come back as "interrupted"
                entry.persistence.record.state, entry.persistence.record.error = STOPPED, str(e)
                entry.persistence.save_record()
            raise RunError(str(e)) from None

    def _watch(self, entry: _Entry) -> None:
        """Registry hooks on a (new) runner: model copies for views, end time for memory pruning."""
        entry.runner.on_epoch_end.append(lambda trainer, e=entry: self._keep_copy(e, trainer))
        entry.runner.on_end.append(lambda runner, e=entry: setattr(e, "ended_at", time.monotonic()))

    def get(self, run_id: str | None) -> TrainingRunner | None:
        """The runner of `run_id` (re-opened from its folder if it left memory), or None when unknown."""
        entry = self._entry(run_id)
        return entry.runner if entry else None

    def _entry(self, run_id: str | None, *, reopen: bool = True) -> _Entry | None:
        if not isinstance(run_id, str):
            return None
        with self._lock:
            entry = self._runs.get(run_id)
            on_disk = run_id in self._disk
        if entry is not None or not on_disk or not reopen:
            return entry
        return self._reopen(run_id)

    def __contains__(self, run_id: object) -> bool:
        with self._lock:
            return isinstance(run_id, str) and (run_id in self._runs or run_id in self._disk)

    def __len__(self) -> int:
        with self._lock:
            return len(self._runs) + len(self._disk)

    def snapshot(self, run_id: str | None) -> RunSnapshot | None:
        runner = self.get(run_id)
        return runner.snapshot() if runner else None

    def info(self, run_id: str) -> RunInfo | None:
        with self._lock:
            entry = self._runs.get(run_id) if isinstance(run_id, str) else None
            record = self._disk.get(run_id) if isinstance(run_id, str) else None
        shown = set(self.policy.shown)
        if entry is not None:
            return _info(entry, shown)
        return _info_from_record(record, shown, self.store) if record is not None else None

    def list(self, family: str | None = None, *, actor: Actor | None = None,
             mine: bool = False) -> list[RunInfo]:
        """Runs, newest first (in memory and on disk); only one family's when `family` is "gan" or "vae".

        With `actor`: only the runs that actor may see (the teacher's policy); with `mine` too,
        only those the actor may control."""
        with self._lock:
            entries = list(self._runs.values())
            records = [r for k, r in self._disk.items() if k not in self._runs]
        shown = set(self.policy.shown)
        infos = [_info(e, shown) for e in entries] + [_info_from_record(r, shown, self.store) for r in records]
        if family is not None:
            infos = [i for i in infos if i.family == family]
        if actor is not None:
            infos = [i for i in infos if (may_control(actor, i.owner) if mine
                                          else self.policy.may_view(actor, i.owner, i.run_id))]
        return sorted(infos, key=lambda i: i.created, reverse=True)

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

    def queue_position(self, run_id: str) -> int | None:
        return self.scheduler.position(run_id)

    def status(self) -> dict:
        """Server load at a glance: running / queued / slots / threads per run / runs in memory and on disk."""
        with self._lock:
            in_memory, on_disk = len(self._runs), len(self._disk)
        return {**self.scheduler.describe(), "in_memory": in_memory, "on_disk_only": on_disk,
                "persisting": self.store is not None and self.store_problem is None,
                **self.executor.describe(), "executor_problem": self.executor_problem}

    # ------------------------------------------------------------------ sessions and the reaper
    def touch(self, run_id: str | None, session_id: str | None = None) -> None:
        """A page shows `run_id` now. Cheap; call it on every render or live tick."""
        if not isinstance(run_id, str):
            return
        now = time.monotonic()
        with self._lock:
            entry = self._runs.get(run_id)
            if entry is None:
                return
            entry.last_seen = now
            if session_id is not None:
                entry.sessions[str(session_id)] = now
                if len(entry.sessions) > 64:
                    horizon = now - min(self.idle_timeout, 3600.0)
                    entry.sessions = {k: t for k, t in entry.sessions.items() if t >= horizon}

    def sessions_watching(self, within_s: float = 10.0) -> int:
        """Distinct sessions that touched any run in the last `within_s` seconds (server-wide load)."""
        now = time.monotonic()
        with self._lock:
            return len({sid for e in self._runs.values() for sid, t in e.sessions.items() if now - t <= within_s})

    def watchers(self, run_id: str, within_s: float = 10.0) -> int:
        """Sessions that touched `run_id` in the last `within_s` seconds."""
        now = time.monotonic()
        with self._lock:
            entry = self._runs.get(run_id)
            return 0 if entry is None else sum(1 for t in entry.sessions.values() if now - t <= within_s)

    def _ensure_reaper(self) -> None:
        if self._reaper is not None and self._reaper.is_alive():
            return
        ref = weakref.ref(self)
        self._reaper = threading.Thread(target=_reaper_loop, args=(ref, self.reap_interval, self._closed),
                                        name="gen_core-reaper", daemon=True)
        self._reaper.start()

    def reap(self, now: float | None = None) -> list[str]:
        """Stop idle runs and move old finished runs out of memory. Returns the ids stopped.

        Called by the reaper thread every `reap_interval` s; tests call it with a made-up `now`."""
        now = time.monotonic() if now is None else now
        stopped = []
        with self._lock:
            entries = list(self._runs.values())
        if self.idle_timeout != float("inf"):
            for e in entries:
                if e.runner.state in ACTIVE_STATES and e.last_seen is not None and now - e.last_seen > self.idle_timeout:
                    minutes = self.idle_timeout / 60
                    e.runner.stop(reason=f"Stopped automatically: no page had this run open for "
                                         f"{minutes:.0f} min{'' if minutes >= 1 else ' (less than a minute)'}. "
                                         "Its results are kept; resume it from the sidebar.")
                    stopped.append(e.runner.run_id)
        if self.paused_release_s != float("inf"):
            for e in entries:
                if e.runner.state != PAUSED:
                    e.paused_since = None
                    continue
                if e.paused_since is None:
                    e.paused_since = now
                elif now - e.paused_since > self.paused_release_s and e.runner.run_id not in stopped:
                    minutes = self.paused_release_s / 60
                    e.runner.stop(reason=f"Stopped automatically: paused for {minutes:.0f} min, so its training "
                                         "slot went to the next in line. Its results are kept; resume it to "
                                         "continue.")
                    stopped.append(e.runner.run_id)
        busy = any(e.runner.state in ACTIVE_STATES for e in entries)
        del entries  # (so that evicted runs are really unreferenced when memory is released)
        with self._lock:
            gone = self._evict_locked(now)
        # Release memory after runs left it, and now and then while nothing trains (what closed
        # browser sessions held — e.g. their buttons' callbacks on a runner — goes when they expire).
        if gone or (not busy and now - self._last_release > IDLE_RELEASE_S):
            del gone
            self._last_release = now
            _release_memory()
        return stopped

    def close(self, *, wait: float = 5.0) -> None:
        """Stop every run and the reaper thread (the registry is not used afterwards)."""
        self._closed.set()
        self.stop_all(wait=wait)

    def shutdown(self, *, wait: float = SHUTDOWN_WAIT_S) -> None:
        """The process is exiting (SIGTERM/SIGINT to the server, or a plain exit): every active run stops
        after its current step and saves (its folder says where it stopped; Resume continues it), and
        the worker threads are joined — a training thread still inside torch when the interpreter
        tears down aborts the process ("terminate called without an active exception")."""
        self._closed.set()
        with self._lock:
            runners = [e.runner for e in self._runs.values() if e.runner.state in ACTIVE_STATES]
        for r in sorted(runners, key=lambda r: r.started):
            r.stop(reason="Stopped because the server shut down; resume it to continue from where it stopped.")
        deadline = time.monotonic() + wait
        for r in runners:
            r.join(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ stop / remove
    def remove(self, run_id: str, *, wait: float = 5.0) -> bool:
        """Stop `run_id` (if training) and forget it (its folder, if any, stays). False when unknown."""
        with self._lock:
            entry = self._runs.pop(run_id, None)
            record = self._disk.pop(run_id, None)
        if entry is None:
            return record is not None
        entry.runner.stop()
        entry.runner.join(wait)
        return True

    # ------------------------------------------------------------------ names, notes, deleting
    def rename(self, run_id: str, name: str, actor: Actor | None = None) -> str:
        """Give a run a name (shown in every picker; saved in its run.json). Returns the cleaned name.
        Only its owner or the teacher may (actor None: the local process). Raises RunError for an
        unknown run or an unusable name, NotYourRun for someone else's run."""
        self._check(run_id, actor, "rename")
        try:
            name = clean_name(name)
        except ValueError as e:
            raise RunError(str(e)) from None
        self._edit_record(run_id, label=name)
        return name

    def set_note(self, run_id: str, note: str, actor: Actor | None = None) -> str:
        """Attach a note to a run ("lr too high: D wins by epoch 2"). Returns the cleaned note.
        Owner or teacher only, as `rename`."""
        self._check(run_id, actor, "write a note on")
        try:
            note = clean_note(note)
        except ValueError as e:
            raise RunError(str(e)) from None
        self._edit_record(run_id, note=note)
        return note

    def _edit_record(self, run_id: str, **fields) -> None:
        key = {"label": "label", "note": "note"}
        with self._lock:
            entry = self._runs.get(run_id) if isinstance(run_id, str) else None
            record = self._disk.get(run_id) if isinstance(run_id, str) else None
            if entry is None and record is None:
                raise RunError(f"no run with id {run_id!r}.")
            if entry is not None:
                for k, v in fields.items():
                    setattr(entry, key[k], v)
                if entry.persistence is not None:
                    for k, v in fields.items():
                        setattr(entry.persistence.record, k, v)
            else:
                for k, v in fields.items():
                    setattr(record, k, v)
        if entry is not None and entry.persistence is not None:
            entry.persistence.save_record()
        elif record is not None and self.store is not None:
            try:
                self.store.write_record(record)
            except OSError as e:
                raise RunError(f"the change could not be saved ({describe_os_error(e)}).") from None

    def stop_all(self, *, wait: float = 5.0) -> None:
        with self._lock:
            runners = [e.runner for e in self._runs.values()]
        for r in sorted(runners, key=lambda r: r.started):  # the waiting first, so none gets a freed slot
            r.stop()
        deadline = time.monotonic() + wait
        for r in runners:
            r.join(max(0.0, deadline - time.monotonic()))

    def clear(self, *, wait: float = 5.0) -> None:
        """Stop every run and forget them all, the listing of saved runs included (their folders stay:
        a new registry on the same runs_dir lists them again). For tests, or a fresh lesson."""
        self.stop_all(wait=wait)
        with self._lock:
            self._runs.clear()
            self._disk.clear()

    def _evict_locked(self, now: float | None = None) -> list:
        """Finished runs leave memory: beyond `max_runs`, or unwatched for `keep_finished_s`."""
        now = time.monotonic() if now is None else now
        over = [e for e in self._runs.values() if _ended(e.runner)]
        saved = lambda e: e.persistence is not None and e.persistence.healthy  # noqa: E731
        gone: list[_Entry] = []
        for e in over:
            last = max(t for t in (e.ended_at, e.last_seen, 0.0) if t is not None)
            if saved(e) and e.ended_at is not None and now - last > self.keep_finished_s:
                gone.append(e)
        remaining = [e for e in over if e not in gone]
        excess = len(remaining) - self.max_runs
        if excess > 0:
            # Saved runs first (they stay listed and re-open from disk), oldest first.
            gone += sorted(remaining, key=lambda e: (not saved(e), e.created))[:excess]
        for e in gone:
            rid = e.runner.run_id
            self._runs.pop(rid, None)
            if saved(e):
                rec = e.persistence.record
                self._disk[rid] = rec
        return gone

    def _keep_uploaded_data(self, config: TrainConfig, data: ImageData | None) -> tuple[TrainConfig, str | None]:
        """A run on uploaded images (held only in a page's memory) gets them stored under the runs dir and a
        config naming that file, so a restarted server can resume it. Returns (config, warning or None)."""
        if data is None or self.store is None or not is_folder_dataset(config.dataset):
            return config, None
        path = config.dataset[len(FOLDER_PREFIX):]
        if is_stored_path(path) or Path(path).exists():  # already on disk: a folder, a zip, a stored set
            return config, None
        try:
            stored = store_images(data, self.store.root)
        except OSError as e:
            return config, (f"The uploaded images could not be saved under {self.store.root} "
                            f"({describe_os_error(e)}): this run cannot be resumed after a server restart.")
        return config.replace(dataset=f"{FOLDER_PREFIX}{stored}"), None

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
        """Write a finished or stopped run to a checkpoint file (gen_core.checkpoints)."""
        from .checkpoints import save_checkpoint
        return save_checkpoint(self._ended_trainer(run_id), path, **kwargs)

    def checkpoint_bytes(self, run_id: str, **kwargs) -> bytes:
        """The checkpoint file of a finished or stopped run, made in memory (for a download button):
        it works with a full or read-only disk too."""
        import io

        import torch

        from .checkpoints import checkpoint_payload
        trainer = self._ended_trainer(run_id)
        buf = io.BytesIO()
        torch.save(checkpoint_payload(trainer, **kwargs), buf)
        return buf.getvalue()


_LIVE: "weakref.WeakSet[RunRegistry]" = weakref.WeakSet()


def _shutdown_all() -> None:
    for registry in list(_LIVE):
        try:
            registry.shutdown()
        except Exception:  # noqa: BLE001 — exiting: do what can be done for the others
            log.exception("could not stop the runs of a registry at exit")


atexit.register(_shutdown_all)


def _release_memory() -> None:
    """After runs left memory: collect their reference cycles (runner ⇄ callbacks) now, and hand
    the freed heap back to the OS (glibc keeps it otherwise), so a server's memory goes back down."""
    gc.collect()
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _reaper_loop(ref, interval: float, closed: threading.Event) -> None:
    while not closed.wait(interval):
        registry = ref()
        if registry is None:
            return
        try:
            registry.reap()
        except Exception:  # noqa: BLE001 — the reaper must outlive any one bad run
            log.exception("run reaper failed")
        del registry


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


__all__ = ["RunRegistry", "RunError", "NotYourRun", "RunInfo", "ModelView", "view_from_checkpoint", "RESUMABLE_STATES"]
