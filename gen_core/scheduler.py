"""Training slots for a shared server: at most K runs train at once, the rest wait in line.

A class of twenty on a two-core machine must not start twenty trainings at once: each would
get a tenth of a core and, worse, every PyTorch worker would start its own OpenMP team sized
for the whole machine. Measured on a 2-core box (bench/classroom_load.py threads): three runs
each using 2 threads made a 30 ms step take about a second. So:

* `Scheduler.submit(runner)` starts the run when fewer than `max_running` are training, else
  puts it at the back of a FIFO queue (its state is "queued", `queue_position` 1 = next);
* when a run ends (finished, stopped, failed — any way), its slot goes to the head of the queue;
* every running run's worker uses `max(1, cores // running)` CPU threads, re-balanced whenever
  a run starts or ends. `torch.set_num_threads` acts on the *calling* thread under PyTorch's
  OpenMP backend (measured: a worker that sets 1 leaves the main thread at 2), so the scheduler
  only records the number (`TrainingRunner.set_threads`) and each worker applies it itself
  between two steps.

Paused runs keep their slot (pressing Resume must not wait in line). The queue is bounded
(`max_queued`) so a crowd cannot pile up unbounded memory; beyond it `submit` raises
`SchedulerFull` with a message for users.

Configuration: `GEN_CORE_MAX_RUNS` (K; default: the number of usable CPU cores, at least 1),
`GEN_CORE_MAX_QUEUED` (default 64). No streamlit import.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import deque

from .runner import FINAL_STATES, TrainingRunner

log = logging.getLogger("gen_core")

DEFAULT_MAX_QUEUED = 64


class SchedulerFull(RuntimeError):
    """The waiting line is full. The message is meant for users."""


def cpu_cores() -> int:
    """CPU cores this process may use (the affinity mask, e.g. a container's cpuset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _env_positive_int(name: str) -> int | None:
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        log.warning("ignoring %s=%r: not a whole number", name, text)
        return None
    if value < 1:
        log.warning("ignoring %s=%r: must be at least 1", name, text)
        return None
    return value


def default_max_running() -> int:
    """GEN_CORE_MAX_RUNS if set, else the number of CPU cores (one training per core)."""
    return _env_positive_int("GEN_CORE_MAX_RUNS") or cpu_cores()


def default_max_queued() -> int:
    return _env_positive_int("GEN_CORE_MAX_QUEUED") or DEFAULT_MAX_QUEUED


def threads_per_run(cores: int, running: int) -> int:
    """Fair share of the CPU threads: each of `running` runs gets cores // running, at least 1."""
    return max(1, cores // max(1, running))


def ordinal(n: int) -> str:
    """1 → '1st', 2 → '2nd', 11 → '11th', 23 → '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class Scheduler:
    """FIFO admission of training runs into `max_running` slots, with fair CPU thread shares.

    Thread-safe. Runners report their end through `TrainingRunner.on_end`, which the
    scheduler hooks in `submit`; a run stopped while queued leaves the line at once.
    """

    def __init__(self, max_running: int | None = None, *, cores: int | None = None,
                 max_queued: int | None = None, balance_threads: bool = True):
        self.max_running = max(1, int(max_running)) if max_running is not None else default_max_running()
        self.max_queued = max(0, int(max_queued)) if max_queued is not None else default_max_queued()
        self.cores = max(1, int(cores)) if cores is not None else cpu_cores()
        self.balance_threads = balance_threads
        self._lock = threading.Lock()
        self._running: dict[str, TrainingRunner] = {}     # insertion order = start order
        self._queue: deque[TrainingRunner] = deque()

    # ------------------------------------------------------------------ queries
    @property
    def running_ids(self) -> list[str]:
        with self._lock:
            return list(self._running)

    @property
    def queued_ids(self) -> list[str]:
        with self._lock:
            return [r.run_id for r in self._queue]

    def position(self, run_id: str) -> int | None:
        """1-based place in the waiting line, None when not waiting."""
        with self._lock:
            for i, r in enumerate(self._queue, 1):
                if r.run_id == run_id:
                    return i
        return None

    def threads_now(self) -> int:
        """CPU threads each running run gets at the moment."""
        with self._lock:
            return threads_per_run(self.cores, len(self._running))

    def describe(self) -> dict:
        with self._lock:
            return {"max_running": self.max_running, "running": len(self._running),
                    "queued": len(self._queue), "cores": self.cores,
                    "threads_per_run": threads_per_run(self.cores, len(self._running))}

    # ------------------------------------------------------------------ admission
    def can_accept(self) -> bool:
        with self._lock:
            return len(self._running) < self.max_running or len(self._queue) < self.max_queued

    def submit(self, runner: TrainingRunner) -> bool:
        """Start `runner` now (True) or put it in line (False). Raises SchedulerFull when the line is full."""
        with self._lock:
            if runner.run_id in self._running or any(r is runner for r in self._queue):
                raise ValueError(f"run {runner.run_id} was already submitted")
            if len(self._running) >= self.max_running and len(self._queue) >= self.max_queued:
                raise SchedulerFull(
                    f"{len(self._running)} trainings are running and {len(self._queue)} are waiting, the most "
                    "this server takes; try again when one has finished.")
            runner.on_end.append(self._on_end)
            if len(self._running) < self.max_running:
                self._running[runner.run_id] = runner
                start_now = True
            else:
                self._queue.append(runner)
                runner.mark_queued(len(self._queue))
                start_now = False
            self._rebalance_locked()
        if start_now:
            self._launch(runner)
        return start_now

    def _launch(self, runner: TrainingRunner) -> None:
        if not runner.launch():  # stopped between admission and start: its on_end frees the slot
            self._on_end(runner)

    def _on_end(self, runner: TrainingRunner) -> None:
        """A run is over: free its slot or its place in line, and start whoever is next."""
        to_start: list[TrainingRunner] = []
        with self._lock:
            if self._running.get(runner.run_id) is runner:
                del self._running[runner.run_id]
            else:
                self._queue = deque(r for r in self._queue if r is not runner)
            while len(self._running) < self.max_running and self._queue:
                nxt = self._queue.popleft()
                if nxt.state in FINAL_STATES:  # stopped while waiting (its own on_end removes it too)
                    continue
                self._running[nxt.run_id] = nxt
                to_start.append(nxt)
            for i, r in enumerate(self._queue, 1):
                r.mark_queued(i)
            self._rebalance_locked()
        for r in to_start:
            self._launch(r)

    def _rebalance_locked(self) -> None:
        if not self.balance_threads:
            return
        n = threads_per_run(self.cores, len(self._running))
        for r in self._running.values():
            r.set_threads(n)

    # ------------------------------------------------------------------ housekeeping
    def drop_all(self) -> list[TrainingRunner]:
        """Forget every queued run (returned, not stopped) — used when a registry is cleared."""
        with self._lock:
            queued = list(self._queue)
            self._queue.clear()
        return queued


__all__ = ["Scheduler", "SchedulerFull", "cpu_cores", "default_max_running", "default_max_queued",
           "threads_per_run", "ordinal"]
