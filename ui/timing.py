"""Estimated time and memory of a setting, shown before a run starts: from gen_core.classroom.budget's FLOP and
memory model (the model is sized on the meta device; nothing is built or trained by the page)."""
from __future__ import annotations

import threading

import streamlit as st

from gen_core.classroom.budget import MemoryEstimate, TimeEstimate, estimate_memory, estimate_time, fmt_mb
from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig
from gen_core.data.datasets import load_dataset
from gen_core.training.estimate import measured_epoch_seconds, speed_key

from . import state
from .widgets import fmt_seconds


SLOW_EPOCH_S = 60.0   # slower than this is hard to watch live
_CACHE: dict[str, tuple[TimeEstimate, MemoryEstimate]] = {}   # process-wide, bounded below
_LOCK = threading.Lock()


def _both(cfg: TrainConfig) -> tuple[TimeEstimate, MemoryEstimate]:
    key = speed_key(cfg) + f"|{cfg.epochs}|{cfg.n_fixed}|{cfg.latent_map_size}"
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    n_train = None
    if not cfg.images_per_epoch:
        n_train = len(load_dataset(cfg.dataset, None).train_images)
    both = (estimate_time(cfg, n_train), estimate_memory(cfg))
    with _LOCK:
        if len(_CACHE) > 512:
            _CACHE.clear()
        _CACHE[key] = both
    return both


def cached(cfg: TrainConfig) -> TimeEstimate | None:
    """The time estimate (cheap: no model is built); None when the setting cannot be sized."""
    try:
        return _both(cfg)[0]
    except ConfigError:
        return None


estimate = cached


def suggestion(cfg: TrainConfig, est: TimeEstimate) -> str:
    tips = []
    if cfg.model == "dcgan-64":
        tips.append("DCGAN 28×28 instead of 64×64")
    if cfg.images_per_epoch is None or cfg.images_per_epoch > 3200:
        tips.append("fewer images per epoch (e.g. 3,200)")
    tips.append("smaller layer widths")
    if est.device.startswith("CPU"):
        tips.append("a GPU if you have one")
    return ", ".join(tips)


def measured(cfg: TrainConfig) -> tuple[float, str] | None:
    """(seconds per epoch, run name) of the newest run in memory with the same speed-relevant settings
    that has finished an epoch: what this server really took, which beats any model of it."""
    key = speed_key(cfg)
    reg = state.registry()
    for info in reg.list(cfg.family):
        if not info.in_memory or info.epoch < 1:
            continue
        snap = reg.snapshot(info.run_id)
        if snap is None or speed_key(snap.config) != key:
            continue
        seconds = measured_epoch_seconds(snap.epoch_history)
        if seconds:
            return seconds, info.label
    return None


def show(cfg: TrainConfig) -> None:
    """'≈ 4.2 s per epoch on CPU (…), needs ≈ 40 MB'; a warning when slow. When a run with the same
    speed-relevant settings has finished an epoch on this server, its measured time is shown instead."""
    try:
        est, mem = _both(cfg)
    except ConfigError as e:
        st.caption(f"Could not size this setting: {e}")
        return
    real = measured(cfg)
    if real is not None:
        seconds = real[0]
        per_step = seconds / max(est.steps_per_epoch, 1)
        text = (f"≈ **{fmt_seconds(seconds)} per epoch** on {state.device_text(cfg.device)} "
                f"({est.steps_per_epoch:,} steps × {per_step * 1000:,.0f} ms with validation, as measured by an "
                f"earlier run with the same model and batch sizes), ≈ {fmt_seconds(seconds * cfg.epochs)} for "
                f"{cfg.epochs} epochs; needs ≈ {fmt_mb(mem.total_bytes)} of memory.")
        if seconds > SLOW_EPOCH_S:
            st.warning(f"{text} That is slow to watch live: try {suggestion(cfg, est)}.", icon=":material/speed:")
        else:
            st.caption(f":material/timer: {text}")
        return
    total = est.seconds_per_epoch * cfg.epochs
    gpu = "" if est.device.startswith("CPU") else " (an upper bound: the model is calibrated on the CPU)"
    text = (f"≈ **{fmt_seconds(est.seconds_per_epoch)} per epoch** on {est.device}{gpu} "
            f"({est.steps_per_epoch:,} steps × {est.seconds_per_step * 1000:,.0f} ms), "
            f"≈ {fmt_seconds(total)} for {cfg.epochs} epochs; needs ≈ {fmt_mb(mem.total_bytes)} of memory "
            f"(a run may use {fmt_mb(state.registry().max_run_mb * 2**20)}).")
    if est.seconds_per_epoch > SLOW_EPOCH_S:
        st.warning(f"{text} That is slow to watch live: try {suggestion(cfg, est)}.", icon=":material/speed:")
    else:
        st.caption(f":material/timer: {text}")
