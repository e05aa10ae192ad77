"""The Ray actor that trains one run, in a worker process of its own (see ray_executor.py).

It wraps an ordinary `TrainingRunner` (so the training loop, controls and snapshots are the
thread executor's, line for line) and adds what a remote server needs:

* `poll()` — the latest snapshot, with its histories and epoch images sent as *deltas* (only
  what the server has not seen; everything again when the Trainer thinned them), plus the
  slim state (`checkpoint_payload` without history and images: weights, optimiser moments,
  RNG, counters) of every epoch that ended since the last poll, so the server's run folder,
  model views and resume work as with threads, at a cost per epoch that does not grow with
  the run;
* the controls (`pause`, `resume`, `step`, `stop`) as fire-and-forget actor calls;
* `abort()` — test-only: kills the interpreter (os.abort), as a segfault or the OOM killer would.

This module imports no ray: Ray wraps the class (`ray.remote(TrainingActor)`) in the server,
and workers import it by name, so gen_core must be importable there (ray_executor ships it).
"""
from __future__ import annotations

import io
import os
import re
import threading
from pathlib import Path

from gen_core.config.train import TrainConfig
from gen_core.persistence.checkpoints import checkpoint_payload
from gen_core.persistence.loading import load_checkpoint_bytes
from gen_core.persistence.resume import resume_trainer
from gen_core.training.runner import FINAL_STATES, TrainingRunner


def cap_memory(mb: float | None) -> int | None:
    """Hold this worker process to `mb` MB of private memory beyond what it uses now (RLIMIT_DATA:
    heap and anonymous mappings, where tensors live; shared object-store pages do not count). Past
    it allocations fail, torch raises "can't allocate memory" and the run ends "failed: ran out of
    memory" while the server and other runs go on, instead of the node's OOM killer picking a
    victim (perhaps Ray's raylet). Not with CUDA, which maps large private regions. Returns the
    limit in bytes, or None when none was set (no limit asked, or not Linux)."""
    if not mb:
        return None
    try:
        import resource
        used = re.search(r"VmData:\s+(\d+) kB", Path("/proc/self/status").read_text())
    except (ImportError, OSError):
        return None
    if used is None:
        return None
    limit = int(used.group(1)) * 1024 + int(mb * 1024 * 1024)
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    return limit


def trainer_bytes(trainer, *, slim: bool = False) -> bytes:
    """A trainer's state as bytes (the checkpoint format), for the wire. slim: without the history and
    the epoch images, which grow with the run (the server has them already, from the polled deltas)."""
    import torch
    buf = io.BytesIO()
    torch.save(checkpoint_payload(trainer, include_history=not slim), buf)
    return buf.getvalue()


def delta(old: tuple, new: tuple):
    """What a reader holding `old` needs to hold `new`: None (same), ("tail", items) or ("full", items).

    The Trainer's lists only grow, except when it thins them (old records dropped): then the
    element `old` ended with is no longer where it was, and everything goes again."""
    if len(new) == len(old) and (not new or new[-1] is old[-1]):
        return None
    if old and len(new) >= len(old) and new[len(old) - 1] is old[-1]:
        return ("tail", new[len(old):])
    return ("full", new)


def apply_delta(held: tuple, change) -> tuple:
    if change is None:
        return held
    kind, items = change
    return tuple(held) + tuple(items) if kind == "tail" else tuple(items)


class TrainingActor:
    """One run, trained in this (Ray worker) process. Built and started by the server's RayRunner."""

    def __init__(self, config: dict, run_id: str, data=None, state: bytes | None = None,
                 threads: int = 1, paused: bool = False, memory_mb: float | None = None):
        self.memory_limit = cap_memory(memory_mb)
        cfg = TrainConfig.from_dict(config)
        build = None
        self._last_state_step: int | None = None
        if state is not None:
            checkpoint = load_checkpoint_bytes(state)
            self._last_state_step = checkpoint.step
            # Built on the runner's worker thread, like every torch op of a run (gen_core.training.threads).
            build = lambda: resume_trainer(checkpoint, data=data)  # noqa: E731
        self._lock = threading.Lock()
        self._pending: list[tuple[int, int, bytes]] = []     # (epoch, step, slim state) not yet polled
        self._sent = {"steps": (), "epochs": (), "grids": ()}
        self.runner = TrainingRunner(cfg, data, build=build, run_id=run_id)
        self.runner.on_epoch_end.append(self._keep_state)
        self.runner.set_threads(threads)
        self.runner.start(paused=paused)   # paused: no step before the server says so

    def _keep_state(self, trainer) -> None:
        """Epoch end, in the training thread (the only moment the state is consistent)."""
        data = trainer_bytes(trainer, slim=True)
        with self._lock:
            self._pending.append((int(trainer.epoch), int(trainer.step), data))
            self._last_state_step = int(trainer.step)

    # ------------------------------------------------------------------ controls
    def pause(self) -> None:
        self.runner.pause()

    def resume(self) -> None:
        self.runner.resume()

    def step(self, n: int = 1) -> None:
        self.runner.step(n)

    def stop(self) -> None:
        self.runner.stop()

    def abort(self) -> None:
        """Test-only: crash this worker process the way a segfault or an abort() in C code would."""
        os.abort()

    def pid(self) -> int:
        return os.getpid()

    # ------------------------------------------------------------------ polling
    def poll(self) -> dict:
        runner = self.runner
        ended = runner.state in FINAL_STATES and runner.join(0)
        snap = runner.snapshot()
        with self._lock:
            states, self._pending = self._pending, []
        final = None
        trainer = runner.trainer
        if ended and trainer is not None and trainer.step > 0 and trainer.step != self._last_state_step:
            try:   # stopped (or failed) mid-epoch: Resume continues there
                final = (int(trainer.epoch), int(trainer.step), trainer_bytes(trainer, slim=True))
            except Exception:  # noqa: BLE001 — e.g. MemoryError again: the last epoch's state stands
                final = None
            self._last_state_step = trainer.step
        lists = {"steps": snap.step_history, "epochs": snap.epoch_history, "grids": snap.epoch_snapshots}
        changes = {k: delta(self._sent[k], v) for k, v in lists.items()}
        self._sent = lists
        light = snap.__class__(**{**snap.__dict__, "step_history": (), "epoch_history": (), "epoch_snapshots": ()})
        return {"snapshot": light, "changes": changes, "states": states, "final": final, "ended": ended,
                "pid": os.getpid()}


__all__ = ["TrainingActor", "cap_memory", "trainer_bytes", "delta", "apply_delta"]
