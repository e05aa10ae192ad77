"""Run a `Trainer` in a background thread and publish thread-safe snapshots.

The CLI and the dashboard share this class. The worker thread is the only one that
touches the model while it runs; everyone else reads `runner.snapshot()`, an immutable
copy made under a lock. Controls (`pause`, `resume`, `step`, `stop`) only set flags
that the worker checks between optimiser steps, so they never block on training.
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

from .config import TrainConfig
from .data import ImageData
from .training import EpochSnapshot, Trainer, TrainingDiverged

log = logging.getLogger("gen_core")

# Run states. "finished", "stopped" and "failed" are final.
IDLE, STARTING, RUNNING, PAUSED, FINISHED, STOPPED, FAILED = (
    "idle", "starting", "running", "paused", "finished", "stopped", "failed")
FINAL_STATES = (FINISHED, STOPPED, FAILED)


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

    @property
    def latest(self) -> EpochSnapshot | None:
        return self.epoch_snapshots[-1] if self.epoch_snapshots else None

    @property
    def is_active(self) -> bool:
        return self.state in (STARTING, RUNNING, PAUSED)


EpochCallback = Callable[[Trainer], None]
PUBLISH_INTERVAL = 0.2  # seconds between snapshot copies while training


class TrainingRunner:
    """Owns one training run. `start()` spawns the worker; the rest is polling and flags."""

    def __init__(self, config: TrainConfig, data: ImageData | None = None, *,
                 trainer: Trainer | None = None, run_id: str | None = None,
                 on_epoch_end: list[EpochCallback] | None = None):
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.config = config
        self._data = data
        self.trainer = trainer
        self.on_epoch_end = list(on_epoch_end or [])
        self._lock = threading.Lock()
        self._resume = threading.Event()      # set = may run; cleared = paused
        self._resume.set()
        self._stop = threading.Event()
        self._single_steps = 0                # steps requested while paused
        self._thread: threading.Thread | None = None
        self._state = IDLE
        self._error: str | None = None
        self._rate = deque(maxlen=50)         # (time, samples) for a smoothed samples/s
        self._snapshot: RunSnapshot | None = None
        self._last_publish = 0.0
        self._num_parameters: dict = {}

    # ---------------------------------------------------------------- controls
    def start(self) -> "TrainingRunner":
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("this run was already started")
            self._state = STARTING
            self._thread = threading.Thread(target=self._work, name=f"train-{self.run_id}", daemon=True)
        self._thread.start()
        return self

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

    def stop(self) -> None:
        self._stop.set()
        self._resume.set()  # wake a paused worker so it can see the stop flag

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker to end; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def state(self) -> str:
        return self._state

    # ---------------------------------------------------------------- worker
    def _work(self) -> None:
        try:
            if self.trainer is None:
                self.trainer = Trainer(self.config, self._data)
            trainer = self.trainer
            with self._lock:
                if self._state == STARTING:
                    self._state = RUNNING if self._resume.is_set() else PAUSED
            self._num_parameters = trainer.model.num_parameters()
            self._publish(force=True)
            self._rate.append((time.perf_counter(), 0))
            samples = 0
            while not trainer.done:
                self._resume.wait()
                if self._stop.is_set():
                    break
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
        except TrainingDiverged as exc:
            self._fail(str(exc))
        except Exception as exc:  # noqa: BLE001 — any crash must end this run only, with its reason
            log.error("run %s failed:\n%s", self.run_id, traceback.format_exc())
            self._fail(f"{type(exc).__name__}: {exc}")
        finally:
            self._publish(force=True)

    def _fail(self, reason: str) -> None:
        with self._lock:
            self._state = FAILED
            self._error = reason

    def _samples_per_sec(self) -> float:
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
            )

    def snapshot(self) -> RunSnapshot:
        """The latest published state. Before the worker has built the trainer, a placeholder."""
        with self._lock:
            if self._snapshot is not None:
                if self._snapshot.state != self._state or self._snapshot.error != self._error:
                    return dataclasses.replace(self._snapshot, state=self._state, error=self._error)
                return self._snapshot
            return RunSnapshot(self.run_id, self.config, self._state, self._error, 0, 0, 0,
                               self.config.epochs, 0.0, 0.0, None, 0.0, (), (), (), {}, "")
