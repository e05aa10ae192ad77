"""Ablation sweeps: one setting varied over a list of values (and seeds), one run after another.

    from gen_core.experiments.sweep import Sweep
    sweep = Sweep(base_config, "lr_g", [1e-4, 5e-4, 2e-3], seeds=[0, 1]).start()
    sweep.snapshot()          # SweepSnapshot: per run value, seed, state, histories, final metrics
    sweep.stop()              # ends the run in progress after its current step, skips the rest
    results_frame(sweep.snapshot())   # mean ± std of the final metrics per value (pandas)

Every configuration is built and validated through `TrainConfig` *before* anything runs, so a
bad value (a learning rate of -1, a batch larger than an epoch) is one clear `ConfigError` and
no half-finished sweep. The runs share one background thread and one loaded dataset and train
strictly one after another (a classroom CPU has few cores; two at once would only halve each).

Thread-safety is the runner's: the worker thread alone touches the trainers; everyone else reads
`Sweep.snapshot()`, an immutable copy published under a lock a few times a second.
No streamlit import: the dashboard's Experiments page, a notebook or a script can drive this.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
import traceback
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, Sequence

import numpy as np

from gen_core.config.train import TrainConfig
from gen_core.data.datasets import load_dataset
from gen_core.data.images import ImageData
from gen_core.data.imaging import make_grid
from gen_core.experiments.params import get_param, plan_sweep, value_label
from gen_core.models.registry import get_model_spec


log = logging.getLogger("gen_core")



# Sweep and run states. "finished", "stopped" and "failed" are final; "interrupted": a saved sweep that was
# still going when its server stopped (gen_core.experiments.store), resumable.
PENDING, RUNNING, FINISHED, STOPPED, FAILED, SKIPPED, INTERRUPTED = (
    "pending", "running", "finished", "stopped", "failed", "skipped", "interrupted")


FINAL_STATES = (FINISHED, STOPPED, FAILED)


PUBLISH_INTERVAL = 0.25  # seconds between snapshot copies while training


@dataclass(frozen=True)
class SweepItem:
    """One run of a sweep, as of the last publish. Safe to read from any thread."""
    index: int
    value: Any
    seed: int
    config: TrainConfig
    state: str = PENDING
    error: str | None = None
    step: int = 0
    total_steps: int = 0
    epoch: int = 0
    epochs: int = 0
    elapsed: float = 0.0              # training seconds
    wall_seconds: float = 0.0         # everything: data, validation, snapshots, scoring
    samples_per_sec: float | None = None
    step_history: tuple = ()
    epoch_history: tuple = ()
    final: dict = field(default_factory=dict)    # final metrics (see `final_metrics`)
    samples: np.ndarray | None = None            # uint8 grid of the last fixed-noise samples

    @property
    def label(self) -> str:
        return value_label(self.value)

    @property
    def progress(self) -> float:
        if self.state in (FINISHED,):
            return 1.0
        return self.step / self.total_steps if self.total_steps else 0.0


@dataclass(frozen=True)
class SweepSnapshot:
    sweep_id: str
    label: str
    param: str
    values: tuple
    seeds: tuple
    family: str
    base: TrainConfig
    state: str
    error: str | None
    items: tuple[SweepItem, ...]
    created: float
    elapsed: float                    # wall seconds since the start
    eta_seconds: float | None

    @property
    def is_active(self) -> bool:
        return self.state in (PENDING, RUNNING)

    @property
    def param_label(self) -> str:
        return get_param(self.param).label

    @property
    def current(self) -> SweepItem | None:
        return next((it for it in self.items if it.state == RUNNING), None)

    @property
    def done(self) -> int:
        return sum(it.state in FINAL_STATES or it.state == SKIPPED for it in self.items)

    @property
    def progress(self) -> float:
        if not self.items:
            return 0.0
        return sum(1.0 if (it.state in FINAL_STATES or it.state == SKIPPED) else it.progress
                   for it in self.items) / len(self.items)


GAN_FINAL = ("g_loss", "d_loss", "val_d_real", "val_d_fake")


VAE_FINAL = ("val_elbo", "val_recon", "val_kl", "elbo")


QUALITY_FINAL = ("fid", "kid", "inception_score", "sharpness", "precision", "recall", "kl_to_uniform",
                 "missing_classes", "active_units")


def final_metrics(family: str, epoch_history: Sequence[dict]) -> dict:
    """The numbers a results table compares: the last epoch's losses and quality scores."""
    if not epoch_history:
        return {}
    last = epoch_history[-1]
    keys = (GAN_FINAL if family == "gan" else VAE_FINAL) + QUALITY_FINAL
    out = {k: float(last[k]) for k in keys if isinstance(last.get(k), (int, float))}
    if "time" in last:
        out["train_seconds"] = float(last["time"])
    return out


class Sweep:
    """Runs `values × seeds` configurations one after another in one background thread."""

    def __init__(self, base: TrainConfig, param: str, values: Sequence, seeds: Sequence[int] = (0,), *,
                 data: ImageData | None = None, sweep_id: str | None = None, label: str | None = None,
                 slot: Callable[[], ContextManager] | None = None, carried: Sequence[SweepItem] = (),
                 created: float | None = None, on_change: Callable[["Sweep"], None] | None = None):
        """Validates every configuration (ConfigError) before anything runs.

        data: the loaded dataset (default: `load_dataset(base.dataset)`, cached in-process).
        slot: optional factory of a context manager held while each run trains, e.g. a training
              slot of a server-wide scheduler; by default runs start at once.
        carried: points a previous process already ended (a resumed sweep): kept, not trained again.
        on_change: called (on the worker thread) when the sweep starts, each point ends and the sweep
              ends, e.g. to save it (gen_core.experiments.store); its errors are logged, never fatal.
        """
        self.plan = plan_sweep(base, param, values, seeds, data)  # ConfigError before anything runs
        self._slot = slot or nullcontext
        self.owner: str | None = None     # gen_core.classroom.owners.owner_id of who started it
        self._ticket = None               # the scheduler's SlotTicket while it holds or waits for a slot
        self.sweep_id = sweep_id or uuid.uuid4().hex[:8]
        self.base = base
        self.param = param
        self.values = tuple(dict.fromkeys(v for v, _, _ in self.plan))
        self.seeds = tuple(dict.fromkeys(s for _, s, _ in self.plan))
        self.created = time.time() if created is None else created
        self._on_change = on_change
        p = get_param(param)
        self.label = label or (f"{base.model} · {p.label} ∈ {{{', '.join(value_label(v) for v in self.values)}}}"
                               f" · {len(self.seeds)} seed{'s' if len(self.seeds) != 1 else ''}")
        self._data = data
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = PENDING
        self._error: str | None = None
        self._items = [SweepItem(i, v, s, cfg, epochs=cfg.epochs) for i, (v, s, cfg) in enumerate(self.plan)]
        for old in carried:
            new = self._items[old.index] if 0 <= old.index < len(self._items) else None
            if new is not None and old.state in FINAL_STATES and (old.value, old.seed) == (new.value, new.seed):
                self._items[old.index] = dataclasses.replace(old, config=new.config)
        self._t0: float | None = None
        self._t_end: float | None = None
        self._snapshot: SweepSnapshot | None = None
        self._last_publish = 0.0
        self._publish(force=True)

    # ---------------------------------------------------------------- controls
    def start(self) -> "Sweep":
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("this sweep was already started")
            self._state = RUNNING
            self._t0 = time.perf_counter()
            self._thread = threading.Thread(target=self._work, name=f"sweep-{self.sweep_id}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the run in progress after its current step; the runs not started are skipped."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def state(self) -> str:
        return self._state

    @property
    def is_active(self) -> bool:
        return self._state in (PENDING, RUNNING) and self._thread is not None

    def stopping(self) -> bool:
        return self._stop.is_set()

    def attach_ticket(self, ticket) -> None:
        self._ticket = ticket

    @property
    def queue_position(self) -> int | None:
        """Its place in the server's line while it waits for a training slot (None otherwise)."""
        ticket = self._ticket
        return getattr(ticket, "queue_position", None) if getattr(ticket, "state", None) == "queued" else None

    def snapshot(self) -> SweepSnapshot:
        with self._lock:
            snap = self._snapshot
            if snap.state != self._state or snap.error != self._error:
                snap = dataclasses.replace(snap, state=self._state, error=self._error)
            return snap

    # ---------------------------------------------------------------- worker
    def _work(self) -> None:
        try:
            data = self._data if self._data is not None else load_dataset(self.base.dataset, self.base.data_root)
            # ONE slot for the whole sweep: it is one job in the server's line, and trains its points in
            # turn (a slot factory that takes an argument gets this sweep: `stopping` to leave the line,
            # `attach_ticket` to show its place in it).
            import inspect
            try:
                wants_stop = len(inspect.signature(self._slot).parameters) >= 1
            except (TypeError, ValueError):
                wants_stop = False
            self._changed()
            with (self._slot(self) if wants_stop else self._slot()) as ticket:
                self._ticket = ticket
                for i in range(len(self._items)):
                    if self._items[i].state in FINAL_STATES:  # carried over from before a restart
                        continue
                    if self._stop.is_set():  # (also: stopped while waiting for the slot)
                        self._set_item(i, state=SKIPPED)
                        continue
                    self._run_item(i, data)
                self._ticket = None
            with self._lock:
                states = [it.state for it in self._items]
                if self._stop.is_set():
                    self._state = STOPPED
                elif states and all(s == FAILED for s in states):
                    self._state = FAILED
                    self._error = self._items[0].error
                else:
                    self._state = FINISHED
        except Exception as exc:  # noqa: BLE001 — a crash ends this sweep only, with its reason
            log.error("sweep %s failed:\n%s", self.sweep_id, traceback.format_exc())
            with self._lock:
                self._state = FAILED
                self._error = f"{type(exc).__name__}: {exc}"
        finally:
            self._t_end = time.perf_counter()
            self._publish(force=True)
            self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            try:
                self._on_change(self)
            except Exception:  # noqa: BLE001 — saving must never end a sweep
                log.warning("sweep %s: on_change failed:\n%s", self.sweep_id, traceback.format_exc())

    def _run_item(self, i: int, data: ImageData) -> None:
        from gen_core.training.history import TrainingDiverged  # late: keeps importing this module light
        from gen_core.training.trainer import Trainer

        cfg = self._items[i].config
        t0 = time.perf_counter()
        self._set_item(i, state=RUNNING)
        self._publish(force=True)
        trainer = None
        rate: list[tuple[float, int]] = []
        try:
            trainer = Trainer(cfg, data)
            self._set_item(i, total_steps=trainer.total_steps)
            samples = 0
            rate.append((time.perf_counter(), 0))
            threads = None
            while not trainer.done and not self._stop.is_set():
                want = getattr(self._ticket, "threads", None)
                if want and want != threads:  # the slot's share of the CPU (the scheduler re-balances)
                    import torch
                    torch.set_num_threads(want)
                    threads = want
                before = trainer.epoch
                trainer.train_step()
                samples += trainer.samples_per_step
                rate.append((time.perf_counter(), samples))
                self._update_item(i, trainer, t0, rate)
                self._publish(force=trainer.epoch != before)
            state = FINISHED if trainer.done else STOPPED
            self._finish_item(i, trainer, t0, rate, state)
        except TrainingDiverged as exc:
            self._finish_item(i, trainer, t0, rate, FAILED, str(exc))
        except Exception as exc:  # noqa: BLE001 — one bad run must not end the sweep
            log.error("sweep %s, run %d failed:\n%s", self.sweep_id, i, traceback.format_exc())
            self._finish_item(i, trainer, t0, rate, FAILED, f"{type(exc).__name__}: {exc}")
        self._publish(force=True)
        self._changed()

    def _set_item(self, i: int, **changes) -> None:
        with self._lock:
            self._items[i] = dataclasses.replace(self._items[i], **changes)

    @staticmethod
    def _rate(rate: list[tuple[float, int]]) -> float | None:
        recent = rate[-50:]
        if len(recent) < 2 or recent[-1][0] <= recent[0][0]:
            return None
        return (recent[-1][1] - recent[0][1]) / (recent[-1][0] - recent[0][0])

    def _update_item(self, i: int, trainer, t0: float, rate) -> None:
        now = time.perf_counter()
        if now - self._last_publish < PUBLISH_INTERVAL and trainer.epoch == self._items[i].epoch:
            return  # nothing new worth copying yet
        self._set_item(i, step=trainer.step, epoch=trainer.epoch, elapsed=trainer.elapsed,
                       wall_seconds=now - t0, samples_per_sec=self._rate(rate),
                       step_history=tuple(trainer.history.steps), epoch_history=tuple(trainer.history.epochs))

    def _finish_item(self, i: int, trainer, t0: float, rate, state: str, error: str | None = None) -> None:
        changes: dict[str, Any] = dict(state=state, error=error, wall_seconds=time.perf_counter() - t0)
        if trainer is not None:
            family = get_model_spec(trainer.config.model).family
            final = final_metrics(family, trainer.history.epochs) if state == FINISHED else {}
            if final:
                final["train_seconds"] = float(trainer.elapsed)
                r = self._rate(rate)
                if r:
                    final["samples_per_sec"] = r
            grid = make_grid(trainer.snapshots[-1].samples) if trainer.snapshots else None
            changes.update(step=trainer.step, total_steps=trainer.total_steps, epoch=trainer.epoch,
                           elapsed=trainer.elapsed, samples_per_sec=self._rate(rate),
                           step_history=tuple(trainer.history.steps), epoch_history=tuple(trainer.history.epochs),
                           final=final, samples=grid)
        self._set_item(i, **changes)

    def _eta(self, items: Sequence[SweepItem], elapsed: float) -> float | None:
        if self._state not in (PENDING, RUNNING) or self._t0 is None:
            return None
        done = [it for it in items if it.state in FINAL_STATES]
        current = next((it for it in items if it.state == RUNNING), None)
        pending = sum(it.state == PENDING for it in items)
        per_run = None
        if done:
            per_run = sum(it.wall_seconds for it in done) / len(done)
        left = 0.0
        if current is not None:
            if current.progress > 0.02:
                run_total = current.wall_seconds / current.progress
                left += max(0.0, run_total - current.wall_seconds)
                per_run = per_run or run_total
            elif per_run is None:
                return None
            else:
                left += per_run
        if pending:
            if per_run is None:
                return None
            left += pending * per_run
        return left

    def _publish(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_publish < PUBLISH_INTERVAL:
            return
        self._last_publish = now
        with self._lock:
            items = tuple(self._items)
            elapsed = 0.0 if self._t0 is None else (self._t_end or now) - self._t0
            self._snapshot = SweepSnapshot(
                sweep_id=self.sweep_id, label=self.label, param=self.param, values=self.values, seeds=self.seeds,
                family=self.base.family, base=self.base, state=self._state, error=self._error, items=items,
                created=self.created, elapsed=elapsed, eta_seconds=self._eta(items, elapsed))
