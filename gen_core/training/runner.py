"""Run a `Trainer` in a background thread and publish thread-safe snapshots.

The CLI and the dashboard share this class. The worker thread is the only one that
touches the model while it runs; everyone else reads `runner.snapshot()`, an immutable
copy made under a lock. Controls (`pause`, `resume`, `step`, `stop`) only set flags
that the worker checks between optimiser steps, so they never block on training.

States: idle → (queued →) starting → running ⇄ paused → finished | stopped | failed.
"queued" is set by `gen_core.classroom.scheduler.Scheduler` while the run waits for a free slot;
"interrupted" marks a run found on disk that a dead server never finished (see
gen_core.classroom.runs / gen_core.persistence.persist). The scheduler also tells each worker how many CPU
threads to use (`set_threads`); the worker applies it itself, between steps, because
`torch.set_num_threads` under the OpenMP backend acts on the calling thread only.

Every torch op of a run belongs on its worker thread (see gen_core.training.threads for why a second
OpenMP thread pool slows training 1.5-2.6x): give the runner a config (it builds the `Trainer`
itself) or a `build` function that it calls on the worker, rather than a prebuilt trainer.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
import traceback
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Callable

from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig
from gen_core.data.images import ImageData
from gen_core.training.history import EpochSnapshot, TrainingDiverged
from gen_core.training.threads import prepare_worker_thread, set_worker_threads
from gen_core.training.trainer import Trainer


log = logging.getLogger("gen_core")

# Run states. "finished", "stopped", "failed" and "interrupted" are final (no worker thread).
IDLE, QUEUED, STARTING, RUNNING, PAUSED, FINISHED, STOPPED, FAILED, INTERRUPTED = (
    "idle", "queued", "starting", "running", "paused", "finished", "stopped", "failed", "interrupted")
FINAL_STATES = (FINISHED, STOPPED, FAILED, INTERRUPTED)
ACTIVE_STATES = (QUEUED, STARTING, RUNNING, PAUSED)


@dataclass(frozen=True)
class RunSnapshot:
    """Everything a UI needs to draw a run, copied at one instant. Safe to read from any thread."""
    run_id: str
    config: TrainConfig
    state: str
    error: str | None
    step: int
    total_steps: int
    epoch: int                      # completed epochs
    epochs: int
    progress: float                 # 0..1
    samples_per_sec: float
    eta_seconds: float | None
    elapsed: float                  # training seconds, pauses excluded
    step_history: tuple[dict, ...]
    epoch_history: tuple[dict, ...]
    epoch_snapshots: tuple[EpochSnapshot, ...]
    num_parameters: dict
    device: str
    queue_position: int | None = None   # 1 = next to start, while state is "queued"
    warnings: tuple[str, ...] = ()      # e.g. "could not save to disk"; the run goes on
    threads: int | None = None          # CPU threads this run's worker uses (None: torch's default)

    @property
    def latest(self) -> EpochSnapshot | None:
        return self.epoch_snapshots[-1] if self.epoch_snapshots else None

    @property
    def is_active(self) -> bool:
        """Queued, starting, training or paused: the run will still change."""
        return self.state in ACTIVE_STATES


EpochCallback = Callable[[Trainer], None]
EndCallback = Callable[["TrainingRunner"], None]
PUBLISH_INTERVAL = 0.2  # seconds between snapshot copies while training


def failure_reason(exc: BaseException) -> str:
    """One line for users saying why a run crashed."""
    text = str(exc)
    if (isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError" or "out of memory" in text
            or "can't allocate memory" in text or "not enough memory" in text.lower()):
        detail = " ".join(str(exc).split())[:200]
        return ("ran out of memory" + (f" ({detail})" if detail else "") +
                ": try a smaller model, a smaller batch size or fewer runs at once.")
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:500]}"


def samples_per_step(config: TrainConfig) -> int:
    """Training images one optimiser step consumes (a GAN step takes d_steps batches for D)."""
    return config.batch_size * (config.d_steps if config.family == "gan" else 1)


def average_samples_per_sec(step: int, config: TrainConfig, elapsed: float) -> float:
    """Samples/s over a whole run: steps × samples per step / training seconds (pauses excluded)."""
    return step * samples_per_step(config) / elapsed if elapsed > 0 and step > 0 else 0.0


class TrainingRunner:
    """Owns one training run. `start()` spawns the worker; the rest is polling and flags."""

    def __init__(self, config: TrainConfig | None, data: ImageData | None = None, *,
                 trainer: Trainer | None = None, build: Callable[[], Trainer] | None = None,
                 run_id: str | None = None,
                 on_epoch_end: list[EpochCallback] | None = None,
                 on_end: list[EndCallback] | None = None,
                 state: str | None = None, error: str | None = None):
        """config: the run's settings (None only with `build`, which then settles them, e.g. a resume);
        build: makes the trainer, called on the worker thread (default: `Trainer(config, data)`);
        trainer: one built already (a re-opened run; its ops then ran on another thread).
        state/error: for a run that is already over (re-opened from disk); it is never started."""
        if trainer is not None and build is not None:
            raise ValueError("give a trainer or a build function, not both")
        if config is None and build is None:
            raise ValueError("a run needs a config (or a build function that makes its trainer)")
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.config = config
        self._data = data
        self._build = build
        self.trainer = trainer
        self.build_error: BaseException | None = None   # what `build` raised, if it did
        self._built = threading.Event()                 # set once the trainer exists or building failed
        self.on_epoch_end = list(on_epoch_end or [])
        # Called once, with this runner, when the run is over (in the worker thread, or in the
        # thread that stopped a run that never started). Exceptions are logged, never raised.
        self.on_end = list(on_end or [])
        self._lock = threading.Lock()
        self._resume = threading.Event()      # set = may run; cleared = paused
        self._resume.set()
        self._stop = threading.Event()
        self._single_steps = 0                # steps requested while paused
        self._thread: threading.Thread | None = None
        self._state = IDLE
        self._error: str | None = error
        self._rate = deque(maxlen=50)         # (time, samples) for a smoothed samples/s
        self._snapshot: RunSnapshot | None = None
        self._last_publish = 0.0
        self._num_parameters: dict = {}
        self._warnings: list[str] = []
        self._queue_position: int | None = None
        self._threads_wanted: int | None = None   # set by the scheduler, applied by the worker
        self._threads_used: int | None = None
        self._ended = False
        if state is not None:
            if state not in FINAL_STATES:
                raise ValueError(f"a run can only be created in a final state, not {state!r}")
            self._state, self._ended = state, True
            if trainer is not None:
                self._num_parameters = trainer.model.num_parameters()
                self._publish(force=True)

    # ---------------------------------------------------------------- controls
    def start(self, *, paused: bool = False) -> "TrainingRunner":
        if not self.launch(paused=paused):
            raise RuntimeError("this run was already started or is over")
        return self

    def launch(self, *, paused: bool = False) -> bool:
        """Start the worker unless the run was started already or is over (e.g. stopped while queued).

        paused: the worker builds the trainer, then waits paused before its first step."""
        with self._lock:
            if self._thread is not None or self._state in FINAL_STATES:
                return False
            self._state = STARTING
            if paused:
                self._resume.clear()
            self._queue_position = None
            self._thread = threading.Thread(target=self._work, name=f"train-{self.run_id}", daemon=True)
            thread = self._thread
        thread.start()
        return True

    def mark_queued(self, position: int | None) -> None:
        """Scheduler: the run waits for a slot; `position` 1 is next in line."""
        with self._lock:
            if self._thread is None and self._state in (IDLE, QUEUED):
                self._state, self._queue_position = QUEUED, position

    def set_threads(self, n: int | None) -> None:
        """Scheduler: CPU threads the worker should use from its next step on (None: leave torch's)."""
        self._threads_wanted = None if n is None else max(1, int(n))

    def add_warning(self, message: str) -> None:
        """A problem the run survives (e.g. its files cannot be written). Shown with the run; not repeated."""
        with self._lock:
            if message not in self._warnings:
                self._warnings.append(message)
                del self._warnings[:-10]  # keep the newest few

    def pause(self) -> None:
        with self._lock:
            if self._state in (RUNNING, STARTING):
                self._resume.clear()
                self._state = PAUSED if self._state == RUNNING else self._state

    def resume(self) -> None:
        with self._lock:
            if self._state == PAUSED:
                self._state = RUNNING
            self._resume.set()

    def step(self, n: int = 1) -> None:
        """While paused: run exactly n more optimiser steps, then stay paused."""
        with self._lock:
            if self._state == PAUSED:
                self._single_steps += n
                self._resume.set()

    def stop(self, reason: str | None = None) -> None:
        """End the run after its current step. A run that has not started ends at once.

        reason: shown with the run as a warning (e.g. why the server stopped it)."""
        if reason:
            self.add_warning(reason)
        self._stop.set()
        self._resume.set()  # wake a paused worker so it can see the stop flag
        with self._lock:
            never_started = self._thread is None and self._state in (IDLE, QUEUED)
            if never_started:
                self._state, self._queue_position = STOPPED, None
        if never_started:
            self._run_end_callbacks()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker to end; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def state(self) -> str:
        return self._state

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def warnings(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._warnings)

    # ---------------------------------------------------------------- worker
    def wait_built(self, timeout: float | None = None) -> Trainer | None:
        """Wait until the worker has built the trainer (or failed to); the trainer, or None."""
        self._built.wait(timeout)
        return self.trainer

    def _apply_threads(self) -> None:
        wanted = self._threads_wanted
        if wanted is not None and wanted != self._threads_used:
            set_worker_threads(wanted)  # this (worker) thread's OpenMP/MKL thread count only
            self._threads_used = wanted

    def _run_end_callbacks(self) -> None:
        with self._lock:
            if self._ended:
                return
            self._ended = True
        for callback in list(self.on_end):
            try:
                callback(self)
            except Exception:  # noqa: BLE001 — bookkeeping must never take a run (or the app) down
                log.error("run %s: end-of-run callback failed:\n%s", self.run_id, traceback.format_exc())

    def _work(self) -> None:
        try:
            prepare_worker_thread()
            self._apply_threads()
            if self.trainer is None:
                try:
                    self.trainer = self._build() if self._build is not None else Trainer(self.config, self._data)
                except BaseException as exc:
                    self.build_error = exc
                    raise
                self.config = self.trainer.config  # a build (e.g. a resume) may settle the config
            self._built.set()
            trainer = self.trainer
            with self._lock:
                if self._state == STARTING:
                    self._state = RUNNING if self._resume.is_set() else PAUSED
            self._num_parameters = trainer.model.num_parameters()
            self._publish(force=True)
            self._rate.append((time.perf_counter(), 0))
            samples = 0
            while not trainer.done:
                if not self._resume.is_set():
                    self._resume.wait()
                    # The pause is not training time: start the samples/s window afresh after it.
                    self._rate.clear()
                    self._rate.append((time.perf_counter(), samples))
                if self._stop.is_set():
                    break
                self._apply_threads()
                epochs_before = trainer.epoch
                trainer.train_step()
                samples += trainer.samples_per_step
                self._rate.append((time.perf_counter(), samples))
                if trainer.epoch != epochs_before:
                    for callback in self.on_epoch_end:
                        callback(trainer)
                with self._lock:
                    if self._single_steps > 0:
                        self._single_steps -= 1
                        if self._single_steps == 0:
                            self._resume.clear()
                self._publish(force=trainer.epoch != epochs_before or not self._resume.is_set())
            with self._lock:
                self._state = STOPPED if (self._stop.is_set() and not trainer.done) else FINISHED
        except (TrainingDiverged, ConfigError) as exc:
            self._fail(str(exc))
        except Exception as exc:  # noqa: BLE001 — any crash (MemoryError included) ends this run only
            log.error("run %s failed:\n%s", self.run_id, traceback.format_exc())
            self._fail(failure_reason(exc))
        finally:
            self._built.set()
            try:
                self._publish(force=True)
            except Exception:  # noqa: BLE001 — e.g. MemoryError again while copying the history
                log.error("run %s: could not publish its last snapshot", self.run_id)
            self._run_end_callbacks()

    def _fail(self, reason: str) -> None:
        with self._lock:
            self._state = FAILED
            self._error = reason

    def _samples_per_sec(self) -> float:
        """Samples/s over the last ~50 steps (recent speed while training)."""
        if len(self._rate) < 2:
            return 0.0
        (t0, s0), (t1, s1) = self._rate[0], self._rate[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0

    def _publish(self, force: bool = False) -> None:
        """Copy the trainer's state into an immutable snapshot (worker thread only).

        Throttled to a few times a second: copying long histories after every step of a
        fast model would cost more than the step itself.
        """
        trainer = self.trainer
        now = time.perf_counter()
        if trainer is None or (not force and now - self._last_publish < PUBLISH_INTERVAL):
            return
        self._last_publish = now
        rate = self._samples_per_sec()
        remaining = (trainer.total_steps - trainer.step) * trainer.samples_per_step
        with self._lock:
            self._snapshot = RunSnapshot(
                run_id=self.run_id, config=self.config, state=self._state, error=self._error,
                step=trainer.step, total_steps=trainer.total_steps,
                epoch=trainer.epoch, epochs=self.config.epochs,
                progress=trainer.step / max(trainer.total_steps, 1),
                samples_per_sec=rate, eta_seconds=(remaining / rate) if rate > 0 else None,
                elapsed=trainer.elapsed,
                # The lists only ever grow, so a tuple copy is a consistent view.
                step_history=tuple(trainer.history.steps),
                epoch_history=tuple(trainer.history.epochs),
                epoch_snapshots=tuple(trainer.snapshots),
                num_parameters=self._num_parameters,
                device=str(trainer.device),
                queue_position=self._queue_position, warnings=tuple(self._warnings),
                threads=self._threads_used,
            )

    def show_saved(self, saved) -> None:
        """A run re-opened from disk, with no trainer in memory (it is built on the worker if the run is
        resumed): publish what its saved state says. `saved`: a gen_core.persistence.checkpoints.Checkpoint."""
        per_epoch = saved.steps_per_epoch or (saved.step // saved.epoch if saved.epoch else 0)
        total = max(per_epoch * self.config.epochs, saved.step)
        params = dict(saved.metadata.get("num_parameters") or {})
        with self._lock:
            self._num_parameters = params
            self._snapshot = RunSnapshot(
                run_id=self.run_id, config=self.config, state=self._state, error=self._error,
                step=saved.step, total_steps=total, epoch=saved.epoch, epochs=self.config.epochs,
                progress=saved.step / max(total, 1), samples_per_sec=0.0, eta_seconds=None,
                elapsed=saved.elapsed, step_history=tuple(saved.history.steps),
                epoch_history=tuple(saved.history.epochs), epoch_snapshots=tuple(saved.snapshots),
                num_parameters=params, device=str(saved.rng_device), queue_position=None,
                warnings=tuple(self._warnings), threads=None)

    def publish_now(self) -> None:
        """Refresh the snapshot from the trainer (only when no worker is running, e.g. a re-opened run)."""
        if self._thread is None or not self._thread.is_alive():
            self._publish(force=True)

    def snapshot(self) -> RunSnapshot:
        """The latest published state. Before the worker has built the trainer, a placeholder."""
        with self._lock:
            snap = self._snapshot
            if snap is None:
                snap = RunSnapshot(self.run_id, self.config, self._state, self._error, 0, 0, 0,
                                   self.config.epochs if self.config is not None else 0, 0.0, 0.0, None, 0.0, (), (), (), {}, "")
            live = dict(state=self._state, error=self._error, queue_position=self._queue_position,
                        warnings=tuple(self._warnings), threads=self._threads_used)
            if (self._state == PAUSED or self._state in FINAL_STATES) and self.config is not None:
                # (no config: the build failed before there was one, so there is no rate to give)
                # Not training now: the windowed rate would count the pause (or the end) as slow steps.
                rate = average_samples_per_sec(snap.step, self.config, snap.elapsed)
                live["samples_per_sec"] = rate
                remaining = (snap.total_steps - snap.step) * samples_per_step(self.config)
                live["eta_seconds"] = (remaining / rate if rate > 0 else None) if self._state == PAUSED else None
            if any(getattr(snap, k) != v for k, v in live.items()):
                snap = dataclasses.replace(snap, **live)
            return snap
