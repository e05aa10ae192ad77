"""Ablation sweeps: one setting varied over a list of values (and seeds), one run after another.

    from gen_core.experiments import Sweep
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
import math
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from contextlib import nullcontext
from typing import Any, Callable, ContextManager, Sequence

import numpy as np
import pandas as pd

from .config import GAN_LOSS_NAMES, RECON_LOSS_NAMES, ConfigError, TrainConfig

try:  # checks that need the loaded data (its size); newer engines have them
    from .config import check_against_data as _check_against_data
except ImportError:  # pragma: no cover - older config.py
    _check_against_data = None
from .data import ImageData, load_dataset
from .imaging import make_grid
from .registry import get_model_spec
from .tricks import EXPLAIN as TRICKS

log = logging.getLogger("gen_core")

# Sweep and run states. "finished", "stopped" and "failed" are final; "interrupted": a saved sweep that was
# still going when its server stopped (gen_core.sweepstore), resumable.
PENDING, RUNNING, FINISHED, STOPPED, FAILED, SKIPPED, INTERRUPTED = (
    "pending", "running", "finished", "stopped", "failed", "skipped", "interrupted")
FINAL_STATES = (FINISHED, STOPPED, FAILED)

MAX_VALUES = 8
MAX_SEEDS = 5
MAX_RUNS = 24
PUBLISH_INTERVAL = 0.25  # seconds between snapshot copies while training


class SweepError(ValueError):
    """A sweep request cannot be met (one already running, unknown id). The message is user-facing."""


# ---------------------------------------------------------------------------
# What can be swept
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SweepParam:
    """One setting a sweep may vary."""
    name: str                 # field of TrainConfig (target "train") or of the model's config ("model")
    label: str                # for menus and tables
    kind: type                # float, int, str or bool
    target: str               # "train" | "model"
    families: tuple[str, ...] = ("gan", "vae")
    models: tuple[str, ...] | None = None   # None: every model of those families
    suggest: str = ""         # a sensible list of values to start from
    help: str = ""

    def applies_to(self, model: str) -> bool:
        spec = get_model_spec(model)
        return spec.family in self.families and (self.models is None or model in self.models)


SWEEP_PARAMS: dict[str, SweepParam] = {p.name: p for p in [
    SweepParam("lr_g", "learning rate G", float, "train", ("gan",), suggest="0.0001, 0.0005, 0.002",
               help="Adam step size of the generator."),
    SweepParam("lr_d", "learning rate D", float, "train", ("gan",), suggest="0.0001, 0.0005, 0.002",
               help="Adam step size of the discriminator."),
    SweepParam("gan_loss", "GAN loss", str, "train", ("gan",), suggest="non-saturating, lsgan, hinge",
               help=f"One of {', '.join(GAN_LOSS_NAMES)}."),
    SweepParam("d_steps", "D steps per G step", int, "train", ("gan",), suggest="1, 2, 5",
               help=TRICKS["d_steps"]),
    SweepParam("spectral_norm", "spectral norm in D", bool, "train", ("gan",), suggest="false, true",
               help=TRICKS["spectral_norm"]),
    SweepParam("ema_decay", "EMA generator decay", float, "train", ("gan",), suggest="0, 0.999",
               help=TRICKS["ema_decay"]),
    SweepParam("label_smoothing", "label smoothing", float, "train", ("gan",), suggest="0, 0.1, 0.2",
               help=TRICKS["label_smoothing"]),
    SweepParam("instance_noise", "instance noise σ", float, "train", ("gan",), suggest="0, 0.1, 0.3",
               help=TRICKS["instance_noise"]),
    SweepParam("beta1", "Adam β₁", float, "train", ("gan",), suggest="0, 0.5, 0.9",
               help="Momentum of the GAN optimisers (0.5 in DCGAN)."),
    SweepParam("lr", "learning rate", float, "train", ("vae",), suggest="0.0001, 0.001, 0.01",
               help="Adam step size of the VAE."),
    SweepParam("beta", "β (KL weight)", float, "train", ("vae",), suggest="0.5, 1, 4",
               help="1 is the plain VAE; larger β pushes the codes towards the prior."),
    SweepParam("recon_loss", "reconstruction loss", str, "train", ("vae",), suggest="bce, mse",
               help=f"One of {', '.join(RECON_LOSS_NAMES)}."),
    SweepParam("latent_dim", "latent dim", int, "model", suggest="2, 8, 32",
               help="Size of z."),
    SweepParam("batch_size", "batch size", int, "train", suggest="32, 128, 512",
               help="Images per optimiser step (at most the images per epoch)."),
    SweepParam("images_per_epoch", "images per epoch", int, "train", suggest="1600, 3200, 6400",
               help="How much data each epoch sees."),
    SweepParam("dropout", "dropout (D)", float, "model", ("gan",), ("mlp-gan",), suggest="0, 0.3, 0.6",
               help="Dropout in the linear GAN's discriminator."),
    SweepParam("batch_norm", "batch-norm in G", bool, "model", ("gan",), ("mlp-gan",), suggest="false, true",
               help="Batch normalisation in the linear GAN's generator."),
    SweepParam("leaky_slope", "LeakyReLU slope", float, "model", ("gan",), ("mlp-gan", "dcgan", "dcgan-64"),
               suggest="0, 0.2", help="Negative slope of the LeakyReLUs."),
    SweepParam("g_width", "G feature maps", int, "model", ("gan",), ("dcgan", "dcgan-64"), suggest="8, 16, 32",
               help="DCGAN generator width (ngf)."),
    SweepParam("d_width", "D feature maps", int, "model", ("gan",), ("dcgan", "dcgan-64"), suggest="8, 16, 32",
               help="DCGAN discriminator width (ndf)."),
]}


def params_for(model: str) -> list[SweepParam]:
    """The settings a sweep of `model` can vary, in menu order."""
    get_model_spec(model)  # ConfigError for unknown names
    return [p for p in SWEEP_PARAMS.values() if p.applies_to(model)]


def get_param(name: str) -> SweepParam:
    try:
        return SWEEP_PARAMS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"cannot sweep {name!r}; choose one of {', '.join(SWEEP_PARAMS)}.") from None


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _split(text: Any) -> list[str]:
    if isinstance(text, (list, tuple)):
        return [str(t).strip() for t in text if str(t).strip()]
    return [p.strip() for p in str(text).replace(";", ",").split(",") if p.strip()]


def parse_values(param: str, text: str | Sequence) -> list:
    """'0.0001, 0.0005' → [0.0001, 0.0005] typed for `param`. ConfigError (user-facing) otherwise.

    Only the type is checked here; ranges are TrainConfig's job (`sweep_configs`).
    """
    p = get_param(param)
    parts = _split(text)
    if not parts:
        raise ConfigError(f"Values: give at least one value for {p.label}, e.g. {p.suggest}.")
    out: list = []
    for part in parts:
        low = part.lower()
        try:
            if p.kind is bool:
                if low not in _TRUE | _FALSE:
                    raise ValueError
                value: Any = low in _TRUE
            elif p.kind is int:
                f = float(part)
                if not f.is_integer():
                    raise ValueError
                value = int(f)
            elif p.kind is float:
                value = float(part)
            else:
                value = low
        except (ValueError, OverflowError):
            kind = {bool: "true or false", int: "whole numbers", float: "numbers"}.get(p.kind, "names")
            raise ConfigError(f"Values: {p.label} takes {kind} separated by commas, e.g. {p.suggest}; "
                              f"got {part!r}.") from None
        if value in out:
            raise ConfigError(f"Values: {value_label(value)} appears twice; give each value once.")
        out.append(value)
    if len(out) > MAX_VALUES:
        raise ConfigError(f"Values: at most {MAX_VALUES} values per sweep, got {len(out)}.")
    return out


def parse_seeds(text: str | Sequence) -> list[int]:
    """'0, 1, 2' → [0, 1, 2]. ConfigError (user-facing) otherwise."""
    parts = _split(text)
    if not parts:
        raise ConfigError("Seeds: give at least one seed, e.g. 0.")
    seeds: list[int] = []
    for part in parts:
        try:
            f = float(part)
            if not f.is_integer() or not 0 <= f <= 2**31 - 1:
                raise ValueError
        except (ValueError, OverflowError):
            raise ConfigError(f"Seeds: write whole numbers from 0 to 2,147,483,647 separated by commas; "
                              f"got {part!r}.") from None
        if int(f) in seeds:
            raise ConfigError(f"Seeds: {int(f)} appears twice; give each seed once.")
        seeds.append(int(f))
    if len(seeds) > MAX_SEEDS:
        raise ConfigError(f"Seeds: at most {MAX_SEEDS} seeds per sweep, got {len(seeds)}.")
    return seeds


def value_label(value: Any) -> str:
    """How a swept value is written in legends and tables."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _check_applies(p: SweepParam, model: str) -> None:
    if not p.applies_to(model):
        where = (f"the {', '.join(p.models)} model{'s' if len(p.models) > 1 else ''}" if p.models
                 else f"{' and '.join(f.upper() for f in p.families)} models")
        raise ConfigError(f"{p.label} is a setting of {where}, not of {model}.")


def apply_value(base: TrainConfig, param: str, value: Any, seed: int | None = None) -> TrainConfig:
    """`base` with `param` set to `value` (and the seed), validated by TrainConfig."""
    p = get_param(param)
    _check_applies(p, base.model)
    changes: dict[str, Any] = {} if seed is None else {"seed": seed}
    if p.target == "model":
        changes["model_config"] = dataclasses.replace(base.model_config, **{p.name: value})
    else:
        changes[p.name] = value
    return base.replace(**changes)


def sweep_configs(base: TrainConfig, param: str, values: Sequence, seeds: Sequence[int]
                  ) -> list[tuple[Any, int, TrainConfig]]:
    """Every (value, seed, config) of a sweep, value-major, each validated. ConfigError names the value."""
    if not isinstance(base, TrainConfig):
        raise ConfigError("a sweep needs a TrainConfig to start from.")
    p = get_param(param)
    values, seeds = list(values), list(seeds)
    if not values:
        raise ConfigError(f"Values: give at least one value for {p.label}.")
    if not seeds:
        raise ConfigError("Seeds: give at least one seed, e.g. 0.")
    if len(values) * len(seeds) > MAX_RUNS:
        raise ConfigError(f"{len(values)} values × {len(seeds)} seeds = {len(values) * len(seeds)} runs; "
                          f"a sweep may have at most {MAX_RUNS}.")
    _check_applies(p, base.model)  # once, not once per value
    out = []
    for value in values:
        for seed in seeds:
            try:
                cfg = apply_value(base, param, value, seed)
            except ConfigError as e:
                raise ConfigError(f"{p.label} = {value_label(value)}: {e}") from None
            except TypeError as e:  # a value of the wrong type for dataclasses.replace
                raise ConfigError(f"{p.label} = {value_label(value)}: {e}") from None
            out.append((value, seed, cfg))
    return out


def check_plan_against_data(plan: Sequence[tuple[Any, int, TrainConfig]], param: str, data: ImageData) -> None:
    """The checks only the loaded data allows (e.g. images per epoch ≤ training images), per value."""
    if _check_against_data is None:
        return
    label = get_param(param).label
    for value, _, cfg in plan:
        try:
            _check_against_data(cfg, len(data.train_images), dataset=data.name)
        except ConfigError as e:
            raise ConfigError(f"{label} = {value_label(value)}: {e}") from None
        except TypeError:  # a different signature: leave the check to the trainer
            return


def plan_sweep(base: TrainConfig, param: str, values: Sequence, seeds: Sequence[int],
               data: ImageData | None = None) -> list[tuple[Any, int, TrainConfig]]:
    """`sweep_configs` plus the checks against the loaded data (loaded here when not given; cached)."""
    plan = sweep_configs(base, param, values, seeds)
    if data is None and _check_against_data is not None:
        data = load_dataset(base.dataset, base.data_root)
    if data is not None:
        check_plan_against_data(plan, param, data)
    return plan


# ---------------------------------------------------------------------------
# Snapshots
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------

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
              ends, e.g. to save it (gen_core.sweepstore); its errors are logged, never fatal.
        """
        self.plan = plan_sweep(base, param, values, seeds, data)  # ConfigError before anything runs
        self._slot = slot or nullcontext
        self.owner: str | None = None     # gen_core.owners.owner_id of who started it
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
        from .training import Trainer, TrainingDiverged  # late: keeps importing this module light

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


def __getattr__(name: str):
    # SweepStore moved to gen_core.sweepstore (it saves sweeps now); `experiments.SweepStore` still works.
    if name == "SweepStore":
        from .sweepstore import SweepStore
        return SweepStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

METRIC_LABELS = {
    "fid": "FID ↓", "kid": "KID ↓", "inception_score": "IS ↑", "sharpness": "sharpness (1 = real)",
    "precision": "precision (fidelity) ↑", "recall": "recall (coverage) ↑", "kl_to_uniform": "KL to uniform ↓", "missing_classes": "missing classes ↓",
    "active_units": "active units", "val_elbo": "val ELBO ↑", "val_recon": "val recon ↓", "val_kl": "val KL",
    "elbo": "train ELBO ↑", "g_loss": "G loss", "d_loss": "D loss", "val_d_real": "D(x) held-out",
    "val_d_fake": "D(G(z))", "train_seconds": "train s", "samples_per_sec": "samples/s",
}
# Table order: quality first, then the family's losses, then speed.
RESULT_ORDER = ("fid", "kid", "inception_score", "sharpness", "precision", "recall", "kl_to_uniform", "missing_classes",
                "active_units", "val_elbo", "val_recon", "val_kl", "elbo", "g_loss", "d_loss", "val_d_real",
                "val_d_fake", "train_seconds", "samples_per_sec")
SHORT_NAMES = {"fid": "FID", "sharpness": "sharpness", "precision": "precision", "recall": "recall",
               "val_elbo": "ELBO"}
# Sharpness is best near real images' value (1): below is blur, above is grain.
CLOSEST_TO_ONE = {"sharpness"}
LOWER_IS_BETTER = {"fid", "kid", "kl_to_uniform", "missing_classes", "val_recon"}
HIGHER_IS_BETTER = {"inception_score", "precision", "recall", "val_elbo", "elbo"}


def runs_frame(snap: SweepSnapshot) -> pd.DataFrame:
    """One row per run: value, seed, state and its final metrics."""
    rows = []
    for it in snap.items:
        rows.append({snap.param: it.label, "seed": it.seed, "state": it.state, **it.final})
    frame = pd.DataFrame(rows)
    cols = [snap.param, "seed", "state"] + [k for k in RESULT_ORDER if k in frame.columns]
    return frame[cols]


def results_frame(snap: SweepSnapshot) -> pd.DataFrame:
    """One row per value, in sweep order: finished runs, then mean and std of each final metric.

    Columns: <param>, runs, then `<metric>` (mean) and `<metric>_std` (sample std; NaN with one run).
    """
    keys = [k for k in RESULT_ORDER if any(k in it.final for it in snap.items)]
    rows = []
    for value in snap.values:
        done = [it for it in snap.items if it.value == value and it.state == FINISHED]
        row: dict[str, Any] = {snap.param: value_label(value), "runs": len(done)}
        for k in keys:
            xs = np.array([it.final[k] for it in done if k in it.final], dtype=float)
            row[k] = float(xs.mean()) if len(xs) else np.nan
            row[f"{k}_std"] = float(xs.std(ddof=1)) if len(xs) > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=[snap.param, "runs"] + [c for k in keys for c in (k, f"{k}_std")])


def _decimals(v: float, key: str) -> int:
    if key in ("missing_classes", "active_units"):
        return 0 if float(v).is_integer() else 1
    if key == "samples_per_sec":
        return 0
    return 1 if abs(v) >= 100 else 2 if abs(v) >= 1 else 3


def _fmt(v: float, key: str, decimals: int | None = None) -> str:
    """A mean (or, with the mean's `decimals`, its std) as text."""
    if not np.isfinite(v):
        return "—"
    d = _decimals(v, key) if decimals is None else decimals
    return f"{v:,.{d}f}"


def _fmt_mean_std(mean: float, std: float, key: str) -> str:
    if not np.isfinite(mean):
        return "—"
    d = _decimals(mean, key)
    if key in ("missing_classes", "active_units"):
        d = max(d, 1) if np.isfinite(std) and std > 0 else d
    return _fmt(mean, key, d) + (f" ± {_fmt(std, key, d)}" if np.isfinite(std) else "")


# Shown on screen (the CSV has every column): what a student compares.
DISPLAY = ("fid", "inception_score", "sharpness", "precision", "recall", "kl_to_uniform", "missing_classes", "active_units",
           "val_elbo", "val_kl", "g_loss", "d_loss", "train_seconds")


def results_display(frame: pd.DataFrame, param: str, columns: Sequence[str] = DISPLAY) -> pd.DataFrame:
    """`results_frame` as readable text: 'mean ± std' per metric, friendly column names."""
    out = pd.DataFrame({param: frame[param], "runs": frame["runs"]})
    for col in columns:
        if col not in frame.columns:
            continue
        means, stds = frame[col].to_numpy(float), frame[f"{col}_std"].to_numpy(float)
        out[METRIC_LABELS.get(col, col)] = [_fmt_mean_std(m, s, col) for m, s in zip(means, stds)]
    return out


def results_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def _ranked(frame: pd.DataFrame, metric: str) -> list[int]:
    """Row positions with a finite mean, best first."""
    means = frame[metric].to_numpy(float)
    rows = [i for i in range(len(means)) if np.isfinite(means[i])]
    if metric in CLOSEST_TO_ONE:
        key = lambda i: abs(means[i] - 1.0)  # noqa: E731
    elif metric in LOWER_IS_BETTER:
        key = lambda i: means[i]  # noqa: E731
    else:
        key = lambda i: -means[i]  # noqa: E731
    return sorted(rows, key=key)


def best_value(frame: pd.DataFrame, metric: str) -> tuple[str, float, float] | None:
    """(value label, mean, std) of the best value for `metric`, or None when nothing was measured."""
    if metric not in frame.columns:
        return None
    means = frame[metric].to_numpy(float)
    finite = means[np.isfinite(means)]
    if len(finite) == 0 or (len(frame) > 1 and np.ptp(finite) <= 1e-9 * max(1.0, np.abs(finite).max())):
        return None  # nothing measured, or no difference to name
    pick = _ranked(frame, metric)[0]
    return str(frame.iloc[pick][frame.columns[0]]), float(means[pick]), float(frame[f"{metric}_std"].iloc[pick])


def within_seed_noise(frame: pd.DataFrame, metric: str) -> str | None:
    """The runner-up's label when it is within 2 combined seed stds of the best (None: separated, or unknown)."""
    ranked = _ranked(frame, metric)
    if len(ranked) < 2:
        return None
    a, b = ranked[0], ranked[1]
    means, stds = frame[metric].to_numpy(float), frame[f"{metric}_std"].to_numpy(float)
    if not (np.isfinite(stds[a]) and np.isfinite(stds[b])):
        return None
    if abs(means[a] - means[b]) <= 2 * math.hypot(stds[a], stds[b]):
        return str(frame.iloc[b][frame.columns[0]])
    return None


RECALL_FLOOR = 0.05  # as gen_core.reading: recalls below this say nothing about diversity


def sweep_reading(frame: pd.DataFrame, param_label: str, family: str) -> str:
    """A few sentences naming the best value per score, with the evidence numbers — and saying when
    the best is within seed noise of the runner-up, or when recall carries no evidence at all."""
    notes: list[str] = []

    def says(metric: str, what: str) -> str | None:
        best = best_value(frame, metric)
        if best is None:
            return None
        if metric == "recall" and np.nanmax(frame["recall"].to_numpy(float)) < RECALL_FLOOR:
            notes.append(f"Recall is near zero for every value (at most {np.nanmax(frame['recall']):.3f}): "
                         "no run covers the real data yet, so the sweep says nothing about diversity.")
            return None
        value, mean, std = best
        text = f"{what}: **{param_label} = {value}** ({SHORT_NAMES[metric]} {_fmt_mean_std(mean, std, metric)})"
        tied = within_seed_noise(frame, metric)
        if tied is not None:
            text += f", within seed noise of {param_label} = {tied}"
        return text

    parts = [s for s in (says("fid", "Closest to the real data"), says("sharpness", "closest to real sharpness"),
                         says("precision", "most faithful"), says("recall", "widest coverage")) if s]
    if family == "vae":
        elbo = says("val_elbo", "best held-out ELBO")
        if elbo:
            parts.append(elbo)
    if not parts and not notes:
        if family == "gan":
            return ("No quality scores in this sweep: GAN losses do not say which samples are better, so "
                    "turn on quality scoring to rank the values.")
        return "No finished runs yet."
    text = ""
    if parts:
        text = "; ".join(parts) + "."
        text = text[0].upper() + text[1:]
    text = " ".join([t for t in [text] + notes if t])
    if (frame["runs"] < 2).any():
        text += " One seed per value: differences smaller than the run-to-run noise are not evidence."
    return text


__all__ = ["Sweep", "SweepSnapshot", "SweepItem", "SweepError", "SweepParam", "SWEEP_PARAMS",
           "params_for", "get_param", "parse_values", "parse_seeds", "value_label", "apply_value",
           "sweep_configs", "plan_sweep", "check_plan_against_data", "final_metrics", "runs_frame", "results_frame", "results_display", "results_csv",
           "best_value", "within_seed_noise", "sweep_reading", "PENDING", "RUNNING", "FINISHED", "STOPPED", "FAILED", "SKIPPED", "INTERRUPTED"]
