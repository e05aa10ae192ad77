"""Training slots for a shared server: at most K runs train at once, the rest wait in line.

A class of twenty on a two-core machine must not start twenty trainings at once: each would
get a tenth of a core and, worse, every PyTorch worker would start its own OpenMP team sized
for the whole machine. Measured on a 2-core box (bench/classroom_load.py threads): three runs
each using 2 threads made a 30 ms step take about a second. So:

* `Scheduler.submit(runner, owner=...)` starts the run when fewer than `max_running` are
  training (and its owner is under their own running cap), else puts it in line (its state is
  "queued", `queue_position` 1 = next);
* per-owner caps (`running_per_owner`, `queued_per_owner`, default 1 and 2: the teacher sets
  them, gen_core.classroom.owners.ClassroomPolicy) bound what one student can take: clicking Start 34
  times queues two runs, not 66, and the others still get a slot;
* when a run ends (finished, stopped, failed — any way), its slot goes to the next run in a
  *round-robin* over owners — the owner served longest ago first, each owner's runs in their
  own order — so a student with three runs waiting does not go before one with a single run
  (first come, first served by clicks would). Runs without an owner (scripts, the CLI) count as
  one owner with no caps, in FIFO order;
* every running run's worker uses `max(1, cores // running)` CPU threads, re-balanced whenever
  a run starts or ends. `torch.set_num_threads` acts on the *calling* thread under PyTorch's
  OpenMP backend (measured: a worker that sets 1 leaves the main thread at 2), so the scheduler
  only records the number (`TrainingRunner.set_threads`) and each worker applies it itself
  between two steps.

Paused runs keep their slot (pressing Resume must not wait in line) until the registry's
reaper stops them after GEN_CORE_PAUSED_RELEASE_S (gen_core.classroom.runs). The queue is bounded
(`max_queued`) so a crowd cannot pile up unbounded memory; beyond it `submit` raises
`SchedulerFull` with a message for users.

Configuration: `GEN_CORE_MAX_RUNS` (K; default: the number of usable CPU cores, at least 1),
`GEN_CORE_MAX_QUEUED` (default 64), `GEN_CORE_UI_CORES` (cores the dashboard keeps out of its runs'
thread counts, default 1: `training_cores`). No streamlit import.
"""
from __future__ import annotations

import threading
from collections import deque
from contextlib import contextmanager
from typing import Callable, Iterator

from gen_core.classroom.envvars import env_number
from gen_core.training.device import \
    cpu_cores  # noqa: F401 — one definition (gen_core.training.device); importable from here too
from gen_core.training.runner import FINAL_STATES, FINISHED, STOPPED, TrainingRunner


DEFAULT_MAX_QUEUED = 64


class SchedulerFull(RuntimeError):
    """The waiting line is full. The message is meant for users."""


def _env_positive_int(name: str) -> int | None:
    return env_number(name, None, cast=int, minimum=1)


def default_max_running() -> int:
    """GEN_CORE_MAX_RUNS if set, else the number of CPU cores (one training per core)."""
    return _env_positive_int("GEN_CORE_MAX_RUNS") or cpu_cores()


def default_max_queued() -> int:
    return _env_positive_int("GEN_CORE_MAX_QUEUED") or DEFAULT_MAX_QUEUED


def training_cores(cores: int | None = None) -> int:
    """The cores the dashboard's runs share: all but GEN_CORE_UI_CORES (default 1), at least 1.

    Why a core is kept back: the server's page reruns and, in a demo, the browser on the same
    machine need CPU too, and a run whose OpenMP team has one thread per core stalls at every
    barrier whenever another process takes a core. Measured on 2 cores (default GAN, the Train page
    open in a local Chromium): 16 steps/s with 2 torch threads, 40 with 1; with the page closed
    52 vs 48. The CLI and the benchmarks have no pages and keep every core."""
    total = cores if cores is not None else cpu_cores()
    reserve = env_number("GEN_CORE_UI_CORES", 1, cast=int, minimum=0)
    return max(1, total - reserve)


def threads_per_run(cores: int, running: int) -> int:
    """Fair share of the CPU threads: each of `running` runs gets cores // running, at least 1."""
    return max(1, cores // max(1, running))


def ordinal(n: int) -> str:
    """1 → '1st', 2 → '2nd', 11 → '11th', 23 → '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class SlotTicket:
    """A place in the same line for work that is not a TrainingRunner — a sweep, which trains its
    points one after another inside ONE slot. It speaks the small part of the runner interface the
    scheduler uses (run_id, state, on_end, mark_queued, launch, set_threads)."""

    def __init__(self, name: str):
        self.run_id = name
        self.on_end: list = []
        self.threads: int | None = None
        self.queue_position: int | None = None
        self._state = "idle"
        self._granted = threading.Event()
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        return self._state

    @property
    def started(self) -> bool:
        return self._granted.is_set()

    def mark_queued(self, position: int | None) -> None:
        with self._lock:
            if self._state in ("idle", "queued"):
                self._state, self.queue_position = "queued", position

    def launch(self) -> bool:
        with self._lock:
            if self._state in FINAL_STATES:
                return False
            self._state, self.queue_position = "running", None
        self._granted.set()
        return True

    def set_threads(self, n: int | None) -> None:
        self.threads = n

    def end(self, state: str = FINISHED) -> None:
        with self._lock:
            if self._state in FINAL_STATES:
                return
            self._state = state
        for callback in list(self.on_end):
            callback(self)


class Scheduler:
    """Fair admission of training runs into `max_running` slots, with fair CPU thread shares.

    Thread-safe. Runners report their end through `TrainingRunner.on_end`, which the
    scheduler hooks in `submit`; a run stopped while queued leaves the line at once.
    """

    def __init__(self, max_running: int | None = None, *, cores: int | None = None,
                 max_queued: int | None = None, balance_threads: bool = True,
                 running_per_owner: int | None = None, queued_per_owner: int | None = None):
        self.max_running = max(1, int(max_running)) if max_running is not None else default_max_running()
        self.max_queued = max(0, int(max_queued)) if max_queued is not None else default_max_queued()
        self.cores = max(1, int(cores)) if cores is not None else cpu_cores()
        self.balance_threads = balance_threads
        self.running_per_owner = running_per_owner    # None: no cap (the teacher's policy sets them)
        self.queued_per_owner = queued_per_owner
        self._lock = threading.Lock()
        self._running: dict[str, TrainingRunner] = {}     # insertion order = start order
        self._queue: deque[TrainingRunner] = deque()      # submission order; started in fair order
        self._owner: dict[str, str | None] = {}           # run id -> owner, while running or queued
        self._exempt: set[str] = set()                    # run ids the caps do not count (the teacher's)
        self._served: dict[str | None, int] = {}          # owner -> when it last got a slot
        self._clock = 0

    # ------------------------------------------------------------------ queries
    @property
    def running_ids(self) -> list[str]:
        with self._lock:
            return list(self._running)

    @property
    def queued_ids(self) -> list[str]:
        """Waiting runs, in the order they will start."""
        with self._lock:
            return [r.run_id for r in self._fair_order_locked()]

    def position(self, run_id: str) -> int | None:
        """1-based place in the waiting line (in fair order), None when not waiting."""
        with self._lock:
            for i, r in enumerate(self._fair_order_locked(), 1):
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
                    "threads_per_run": threads_per_run(self.cores, len(self._running)),
                    "running_per_owner": self.running_per_owner, "queued_per_owner": self.queued_per_owner}

    def owner_counts(self, owner: str | None) -> tuple[int, int]:
        """(running, queued) runs of `owner` that count against their caps."""
        with self._lock:
            return self._counts_locked(owner)

    def _counts_locked(self, owner: str | None) -> tuple[int, int]:
        running = sum(1 for rid in self._running if self._owner.get(rid) == owner and rid not in self._exempt)
        queued = sum(1 for r in self._queue if self._owner.get(r.run_id) == owner and r.run_id not in self._exempt)
        return running, queued

    # ------------------------------------------------------------------ admission
    def can_accept(self, owner: str | None = None, *, exempt: bool = False) -> bool:
        with self._lock:
            return self._refusal_locked(owner, exempt) is None

    def refusal(self, owner: str | None = None, *, exempt: bool = False) -> str | None:
        """Why a new run of `owner` would be refused now (a message for users), or None."""
        with self._lock:
            return self._refusal_locked(owner, exempt)

    def _capped(self, owner: str | None, exempt: bool) -> bool:
        return owner is not None and not exempt

    def _may_start_locked(self, owner: str | None, run_id: str | None = None, extra: int = 0) -> bool:
        if len(self._running) >= self.max_running:
            return False
        if self.running_per_owner is None or owner is None or (run_id is not None and run_id in self._exempt):
            return True
        return self._counts_locked(owner)[0] + extra < max(1, self.running_per_owner)

    def _refusal_locked(self, owner: str | None, exempt: bool) -> str | None:
        if len(self._running) >= self.max_running and len(self._queue) >= self.max_queued:
            return (f"{len(self._running)} trainings are running and {len(self._queue)} are waiting, the most "
                    "this server takes; try again when one has finished.")
        if self._capped(owner, exempt):
            running, queued = self._counts_locked(owner)
            run_cap = max(1, self.running_per_owner) if self.running_per_owner is not None else None
            queue_cap = self.queued_per_owner
            would_run = self._may_start_locked(owner) if not exempt else True
            if not would_run and queue_cap is not None and queued >= queue_cap:
                return (f"You already have {running} training and {queued} waiting, the most one student may "
                        f"have on this server ({run_cap} training, {queue_cap} waiting). Stop one, or let it "
                        "finish, to start another.")
        return None

    def submit(self, runner: TrainingRunner, *, owner: str | None = None, exempt: bool = False) -> bool:
        """Start `runner` now (True) or put it in line (False). Raises SchedulerFull when the line is
        full, or when `owner` already has as many runs as the per-owner caps allow (unless `exempt`)."""
        with self._lock:
            if runner.run_id in self._running or any(r is runner for r in self._queue):
                raise ValueError(f"run {runner.run_id} was already submitted")
            why = self._refusal_locked(owner, exempt)
            if why:
                raise SchedulerFull(why)
            runner.on_end.append(self._on_end)
            self._owner[runner.run_id] = owner
            if exempt:
                self._exempt.add(runner.run_id)
            if self._may_start_locked(owner, runner.run_id) and not self._queue_has_turn_locked(owner):
                self._start_locked(runner)
                start_now = True
            else:
                self._queue.append(runner)
                start_now = False
            self._mark_places_locked()
            self._rebalance_locked()
        if start_now:
            self._launch(runner)
        return start_now

    def _queue_has_turn_locked(self, owner: str | None) -> bool:
        """Someone already waiting who could take a free slot goes first (the slot is theirs)."""
        return any(self._may_start_locked(self._owner.get(r.run_id), r.run_id) for r in self._queue
                   if self._owner.get(r.run_id) != owner)

    def _start_locked(self, runner: TrainingRunner) -> None:
        self._running[runner.run_id] = runner
        self._clock += 1
        self._served[self._owner.get(runner.run_id)] = self._clock

    def _fair_order_locked(self) -> list[TrainingRunner]:
        """The waiting runs in the order they get slots: round-robin over owners, the owner served
        longest ago (or never) first; each owner's runs in submission order."""
        by_owner: dict[str | None, list[TrainingRunner]] = {}
        for r in self._queue:
            by_owner.setdefault(self._owner.get(r.run_id), []).append(r)
        first_seen = {o: i for i, o in enumerate(by_owner)}
        owners = sorted(by_owner, key=lambda o: (self._served.get(o, 0), first_seen[o]))
        order: list[TrainingRunner] = []
        for k in range(max((len(v) for v in by_owner.values()), default=0)):
            order += [by_owner[o][k] for o in owners if k < len(by_owner[o])]
        return order

    def _mark_places_locked(self) -> None:
        for i, r in enumerate(self._fair_order_locked(), 1):
            r.mark_queued(i)

    def _launch(self, runner: TrainingRunner) -> None:
        if not runner.launch():  # stopped between admission and start: its on_end frees the slot
            self._on_end(runner)

    def _on_end(self, runner: TrainingRunner) -> None:
        """A run is over: free its slot or its place in line, and start whoever is next."""
        with self._lock:
            if self._running.get(runner.run_id) is runner:
                del self._running[runner.run_id]
            else:
                self._queue = deque(r for r in self._queue if r is not runner)
            if runner.run_id not in self._running and not any(r.run_id == runner.run_id for r in self._queue):
                self._owner.pop(runner.run_id, None)
                self._exempt.discard(runner.run_id)
            to_start = self._fill_slots_locked()
        for r in to_start:
            self._launch(r)

    def _fill_slots_locked(self) -> list[TrainingRunner]:
        to_start: list[TrainingRunner] = []
        progress = True
        while progress and len(self._running) < self.max_running and self._queue:
            progress = False
            for nxt in self._fair_order_locked():
                if nxt.state in FINAL_STATES:  # stopped while waiting (its own on_end removes it too)
                    self._queue = deque(r for r in self._queue if r is not nxt)
                    progress = True
                    break
                if self._may_start_locked(self._owner.get(nxt.run_id), nxt.run_id):
                    self._queue = deque(r for r in self._queue if r is not nxt)
                    self._start_locked(nxt)
                    to_start.append(nxt)
                    progress = True
                    break
        self._mark_places_locked()
        self._rebalance_locked()
        return to_start

    @contextmanager
    def slot(self, name: str, *, owner: str | None = None, exempt: bool = False,
             cancelled: Callable[[], bool] = lambda: False, poll_s: float = 0.2,
             on_ticket: Callable[[SlotTicket], None] | None = None) -> Iterator[SlotTicket]:
        """Hold one training slot for the `with` block, after waiting in the same fair line as runs
        (SchedulerFull at once when the line or the owner's caps are full). When `cancelled()` turns
        true while waiting, the block runs without a slot (`ticket.state == "stopped"`): check it."""
        ticket = SlotTicket(name)
        self.submit(ticket, owner=owner, exempt=exempt)
        if on_ticket is not None:  # (e.g. a sweep shows its place in line while it waits)
            on_ticket(ticket)
        try:
            while not ticket._granted.wait(poll_s):
                if cancelled():
                    ticket.end(STOPPED)
                    break
            yield ticket
        finally:
            ticket.end(FINISHED)

    def set_caps(self, running_per_owner: int | None, queued_per_owner: int | None) -> None:
        """New per-owner caps (the teacher's view); runs they now allow start at once."""
        with self._lock:
            self.running_per_owner = None if running_per_owner is None else max(1, int(running_per_owner))
            self.queued_per_owner = None if queued_per_owner is None else max(0, int(queued_per_owner))
            to_start = self._fill_slots_locked()
        for r in to_start:
            self._launch(r)

    def resize(self, max_running: int) -> None:
        """Change the number of slots (e.g. once a Ray cluster's size is known); waiting runs fill new ones."""
        with self._lock:
            self.max_running = max(1, int(max_running))
            to_start = self._fill_slots_locked()
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


__all__ = ["Scheduler", "SchedulerFull", "SlotTicket", "cpu_cores", "default_max_running", "default_max_queued",
           "threads_per_run", "ordinal"]
