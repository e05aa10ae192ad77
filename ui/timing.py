"""Estimated time per epoch, shown before a run starts (gen_core.estimate), cached per speed-relevant config."""
from __future__ import annotations

import threading

import streamlit as st

from gen_core.config import TrainConfig
from gen_core.data import load_dataset
from gen_core.estimate import EpochEstimate, estimate_epoch, speed_key

from . import state
from .widgets import fmt_seconds

SLOW_EPOCH_S = 60.0   # slower than this is hard to watch live
_CACHE: dict[str, EpochEstimate] = {}   # process-wide: the same config times the same on this machine
_LOCK = threading.Lock()
_TIMING = threading.Lock()


def cached(cfg: TrainConfig) -> EpochEstimate | None:
    with _LOCK:
        return _CACHE.get(speed_key(cfg))


def estimate(cfg: TrainConfig) -> EpochEstimate:
    key = speed_key(cfg)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    # One timing at a time, process-wide: a class opening the page together would otherwise time the
    # same config twenty times at once (each slowing the others and skewing its own figure).
    with _TIMING:
        with _LOCK:
            if key in _CACHE:
                return _CACHE[key]
        est = estimate_epoch(cfg, load_dataset(cfg.dataset, cfg.data_root))
        with _LOCK:
            _CACHE[key] = est
    return est


def suggestion(cfg: TrainConfig, est: EpochEstimate) -> str:
    tips = []
    if cfg.model == "dcgan-64":
        tips.append("DCGAN 28×28 instead of 64×64")
    if cfg.images_per_epoch is None or cfg.images_per_epoch > 3200:
        tips.append("fewer images per epoch (e.g. 3,200)")
    tips.append("smaller layer widths")
    if est.device.startswith("CPU"):
        tips.append("a GPU if you have one")
    return ", ".join(tips)


def show(cfg: TrainConfig) -> None:
    """'≈ 4.2 s per epoch on CPU (…)', timing a few steps the first time; a warning when slow."""
    est = cached(cfg)
    if est is None:
        if any(r.is_active for r in state.registry().list()):
            st.caption("Time per epoch: estimated when no run is training (timing now would slow it down).")
            return
        if _TIMING.locked():  # another page is timing a setting right now: do not queue behind it
            st.caption("Time per epoch: being measured for another page; it shows on the next change.")
            return
        try:
            with st.spinner("Timing a few training steps on this device…"):
                est = estimate(cfg)
        except Exception as e:  # noqa: BLE001 — the estimate is advice; never break the page for it
            st.caption(f"Could not time this setting: {e}")
            return
    total = est.seconds_per_epoch * cfg.epochs
    text = (f"≈ **{fmt_seconds(est.seconds_per_epoch)} per epoch** on {est.device} "
            f"({est.steps_per_epoch:,} steps × {est.seconds_per_step * 1000:,.0f} ms), "
            f"≈ {fmt_seconds(total)} for {cfg.epochs} epochs.")
    if est.seconds_per_epoch > SLOW_EPOCH_S:
        st.warning(f"{text} That is slow to watch live: try {suggestion(cfg, est)}.", icon=":material/speed:")
    else:
        st.caption(f":material/timer: {text}")
