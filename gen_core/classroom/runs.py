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
    registry.save(run_id, "run.pt")      # via gen_core.persistence.checkpoints, once the run is over

A classroom shares one server, so the registry keeps every resource bounded:

* Slots: a `gen_core.classroom.scheduler.Scheduler` lets at most `max_running` runs train at once
  (default: GEN_CORE_MAX_RUNS, else the CPU core count) and queues the rest first come, first
  served (state "queued", `RunSnapshot.queue_position`); running runs share the CPU threads.
* Disk: with `runs_dir`, every run is written under runs_dir/<run_id>/ (gen_core.persistence.persist) after
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
import logging
import os
import threading
import time
from pathlib import Path

from gen_core.classroom.budget import check_budget, run_budget_mb
from gen_core.classroom.describe import clean_note
from gen_core.classroom.executors import Executor, resolve_executor
from gen_core.classroom.owners import POLICY_FILE, Actor, ClassroomPolicy, may_control
from gen_core.classroom.run_access import OwnerControls
from gen_core.classroom.run_info import (DEFAULT_IDLE_TIMEOUT_S, DEFAULT_KEEP_FINISHED_S, DEFAULT_PAUSED_RELEASE_S,
                                         SHUTDOWN_WAIT_S, NotYourRun, RunError, RunInfo, _default_label, _Entry,
                                         _env_seconds, _info, _info_from_record)
from gen_core.classroom.run_reaper import _LIVE, IdleReaper, _shutdown_all
from gen_core.classroom.run_resume import DiskResume
from gen_core.classroom.scheduler import Scheduler, SchedulerFull
from gen_core.config.checks import ConfigError
from gen_core.config.train import FOLDER_PREFIX, TrainConfig, check_against_data, is_folder_dataset
from gen_core.data.datasets import load_dataset
from gen_core.data.image_folders import is_stored_path, store_images
from gen_core.data.images import ImageData
from gen_core.persistence.persist import (RunPersistence, RunRecord, RunStore, describe_os_error, record_for,
                                          valid_run_id)
from gen_core.training.runner import ACTIVE_STATES, STOPPED, RunSnapshot, TrainingRunner


log = logging.getLogger("gen_core")



class RunRegistry(OwnerControls, DiskResume, IdleReaper):
    """Create, queue, find, list, stop, resume and save training runs.

    max_running:     runs training at once (the rest wait in line); default GEN_CORE_MAX_RUNS or
                     the core count. `max_active` is the same (its former name).
    max_queued:      runs that may wait in line (GEN_CORE_MAX_QUEUED, default 64); beyond, RunError.
    max_runs:        finished runs kept in memory; beyond, the oldest leave it (disk-backed first).
    runs_dir:        folder to persist runs in (None: memory only, lost with the process).
    idle_timeout:    seconds without any page watching after which an active, watched run is stopped.
    keep_finished_s: seconds after which a finished, unwatched, saved run leaves memory.
    executor:        where runs train (gen_core.classroom.executors): an Executor, "thread" or "ray";
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
        # Memory per run (gen_core.classroom.budget): a config over it is refused before anything is built.
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
    def queue_position(self, run_id: str) -> int | None:
        return self.scheduler.position(run_id)
    def status(self) -> dict:
        """Server load at a glance: running / queued / slots / threads per run / runs in memory and on disk."""
        with self._lock:
            in_memory, on_disk = len(self._runs), len(self._disk)
        return {**self.scheduler.describe(), "in_memory": in_memory, "on_disk_only": on_disk,
                "persisting": self.store is not None and self.store_problem is None,
                **self.executor.describe(), "executor_problem": self.executor_problem}
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


atexit.register(_shutdown_all)
