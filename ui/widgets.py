"""Shared widgets: run controls, progress, epoch-scrubbed image grids, download buttons."""
from __future__ import annotations

import datetime as _dt
import re
from typing import Callable, Sequence

import numpy as np
import streamlit as st

from gen_core.data.imaging import gif_bytes, make_grid, png_bytes, upscale
from gen_core.figures.curves import history_csv
from gen_core.training.runner import (FAILED, FINISHED, PAUSED, RUNNING, STARTING, STOPPED, RunSnapshot,
                                      TrainingRunner)


STATE_BADGES = {
    STARTING: ("starting", "gray", ":material/hourglass_top:"),
    RUNNING: ("training", "green", ":material/play_arrow:"),
    PAUSED: ("paused", "orange", ":material/pause:"),
    FINISHED: ("finished", "blue", ":material/check_circle:"),
    STOPPED: ("stopped", "gray", ":material/stop:"),
    FAILED: ("failed", "red", ":material/error:"),
}


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------

def fmt_seconds(seconds: float | None) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "—"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    return str(_dt.timedelta(seconds=round(seconds)))


def fmt_count(n: int | float | None) -> str:
    if n is None:
        return "—"
    n = float(n)
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.2f}{unit}"
    return f"{n:.0f}"


def display_scale(width_px: int, target_px: int = 480, max_scale: int = 8) -> int:
    """Integer nearest-neighbour factor that brings an image close to target_px wide."""
    return int(max(1, min(max_scale, round(target_px / max(1, width_px)))))


# ---------------------------------------------------------------------------
# Run state
# ---------------------------------------------------------------------------

def state_badge(state: str) -> None:
    label, color, icon = STATE_BADGES.get(state, (state, "gray", None))
    st.badge(label, color=color, icon=icon)


def control(run_id: str, action: str) -> None:
    """A control button's callback: the registry checks that this browser may act on the run."""
    from gen_core.classroom.run_info import RunError

    from . import identity, state
    try:
        state.registry().control(run_id, action, identity.actor())
    except RunError as e:
        st.session_state["_control_error"] = str(e)


def run_controls(runner: TrainingRunner, snap: RunSnapshot, *, key: str) -> None:
    """Pause / Resume / Step / Stop for a run (each only enabled when it makes sense); read-only
    for a run that belongs to someone else."""
    if not control_allowed(snap):
        return
    control_buttons(runner, snap, key=key, cols=st.columns(4))


def control_allowed(snap: RunSnapshot) -> bool:
    """Shows a refused control's message; False (with a line saying so) for someone else's run."""
    from . import state as session
    error = st.session_state.pop("_control_error", None)
    if error:
        st.error(error, icon=":material/lock:")
    if not session.mine(snap.run_id):
        from gen_core.classroom.owners import owner_name
        st.caption(f":material/visibility: Watching {owner_name(session.registry().owner_of(snap.run_id))}'s run "
                   "(read-only): only the student who started it, or the teacher, can control it.")
        return False
    return True


def control_buttons(runner: TrainingRunner, snap: RunSnapshot, *, key: str, cols, labels: bool = True) -> None:
    """The four controls in `cols`, through the registry's owner check; labels=False: icons only
    (presenter mode's compact row)."""
    state = snap.state
    rid = snap.run_id
    text = (lambda s: s) if labels else (lambda s: "")
    cols[0].button(text("Pause"), icon=":material/pause:", key=f"{key}_pause", on_click=control, args=(rid, "pause"),
                   disabled=state not in (RUNNING, STARTING), width="stretch",
                   help="Pause: halt after the current optimiser step.")
    cols[1].button(text("Resume"), icon=":material/play_arrow:", key=f"{key}_resume", on_click=control,
                   args=(rid, "resume"), disabled=state != PAUSED, width="stretch", help="Resume training.")
    cols[2].button(text("Step"), icon=":material/skip_next:", key=f"{key}_step", on_click=control, args=(rid, "step"),
                   disabled=state != PAUSED, width="stretch",
                   help="Step: while paused, exactly one more optimiser step, then pause again.")
    cols[3].button(text("Stop"), icon=":material/stop:", key=f"{key}_stop", on_click=control, args=(rid, "stop"),
                   disabled=not snap.is_active, width="stretch",
                   help="Stop: end the run for good (the model trained so far is kept).")


def progress_text(snap: RunSnapshot) -> str:
    """'Epoch 3 of 10 · step 50 / 250' while training (the epoch in progress); once over, the epoch it
    ended in: a run stopped part-way through epoch 3 says 'Stopped in epoch 3 of 3', never 'Epoch 2'."""
    if snap.state == STARTING:
        return "Starting: loading data and building the model…"
    steps = f"step {snap.step:,} / {snap.total_steps:,}"
    per_epoch = snap.total_steps // max(snap.epochs, 1) if snap.total_steps else 0
    mid_epoch = per_epoch > 0 and snap.step % per_epoch != 0 and snap.epoch < snap.epochs
    if snap.is_active:
        shown = min(snap.epoch + (1 if snap.epoch < snap.epochs else 0), snap.epochs)
        return f"Epoch {max(shown, 1)} of {snap.epochs} · {steps}"
    if mid_epoch:
        return f"{snap.state.capitalize()} in epoch {snap.epoch + 1} of {snap.epochs} · {steps}"
    return f"Epoch {snap.epoch} of {snap.epochs} · {steps}"


def progress_panel(snap: RunSnapshot) -> None:
    """Progress bar with epoch, step, samples/s and ETA, plus the run's state."""
    state_badge(snap.state)
    st.progress(min(max(snap.progress, 0.0), 1.0), text=progress_text(snap))
    c = st.columns(4)
    c[0].metric("Samples / s", f"{snap.samples_per_sec:,.0f}" if snap.samples_per_sec else "—",
                help="While training: over the last ~50 steps. Paused or over: the run's average "
                     "(images trained ÷ training time, pauses excluded).")
    c[1].metric("Training time", fmt_seconds(snap.elapsed))
    c[2].metric("Time left (ETA)", fmt_seconds(snap.eta_seconds) if snap.is_active else "—")
    c[3].metric("Parameters", fmt_count(snap.num_parameters.get("total")) if snap.num_parameters else "—")
    if snap.state == FAILED and snap.error:
        st.error(f"Training stopped with an error: {snap.error}")


# ---------------------------------------------------------------------------
# Downloads (data is produced lazily, only when clicked)
# ---------------------------------------------------------------------------

def download_png(label: str, image: np.ndarray, file_name: str, *, key: str, scale: int = 1) -> None:
    st.download_button(label, data=lambda: png_bytes(image, scale), file_name=file_name, mime="image/png",
                       key=key, icon=":material/download:", on_click="ignore")


def labelled_gif(frames: Sequence, *, duration_ms: int = 400, scale: int = 1) -> bytes:
    """GIF bytes from frames that are images or (label, image) pairs (the label is drawn on the frame)."""
    frames = list(frames)
    if frames and isinstance(frames[0], tuple):
        labels = [str(lab) for lab, _ in frames]
        return gif_bytes([img for _, img in frames], duration_ms=duration_ms, scale=scale, labels=labels)
    return gif_bytes(frames, duration_ms=duration_ms, scale=scale)


def gif_name(file_stem: str) -> str:
    """'gan_ab12_samples_epoch3' → 'gan_ab12_samples_all_epochs.gif': the animation holds every epoch,
    so its name must not carry the one on the slider."""
    return re.sub(r"_epoch\d+$", "", file_stem) + "_all_epochs.gif"


def download_gif(label: str, frames: Sequence | Callable[[], Sequence], file_name: str,
                 *, key: str, scale: int = 1, duration_ms: int = 400) -> None:
    """`frames` may be a callable, so the frames are only made when the button is clicked. Frames are
    images, or (label, image) pairs whose label is written on the frame."""
    get = frames if callable(frames) else (lambda f=list(frames): f)
    st.download_button(label, data=lambda: labelled_gif(get(), duration_ms=duration_ms, scale=scale),
                       file_name=file_name, mime="image/gif", key=key, icon=":material/animation:",
                       on_click="ignore")


def download_csv(label: str, records: Sequence[dict], file_name: str, *, key: str) -> None:
    records = tuple(records)
    st.download_button(label, data=lambda: history_csv(records), file_name=file_name, mime="text/csv",
                       key=key, icon=":material/table:", on_click="ignore", disabled=not records)


# ---------------------------------------------------------------------------
# Epoch-scrubbed grids
# ---------------------------------------------------------------------------

def epoch_slider(key: str, epochs: Sequence[int], *, label: str = "Epoch") -> int:
    """Pick one of `epochs`; returns its index. Follows the newest epoch until the user scrubs back."""
    epochs = list(epochs)
    if len(epochs) == 1:
        st.caption(f"{label} {epochs[0]} (more appear as training goes on)")
        return 0
    ss = st.session_state
    last_key = f"{key}__last"
    current, last = ss.get(key), ss.get(last_key)
    if current not in epochs or current == last:  # new, or parked at the newest: follow it
        ss[key] = epochs[-1]
    ss[last_key] = epochs[-1]
    chosen = st.select_slider(label, options=epochs, key=key)
    return epochs.index(chosen)


def image_panel(image: np.ndarray, *, key: str, title: str, file_stem: str, caption: str | None = None,
                frames: Callable[[], Sequence[np.ndarray]] | None = None, target_px: int = 440) -> None:
    """One picture, enlarged crisply, with a PNG download (and a GIF of `frames()` when given)."""
    if title:
        st.markdown(f"**{title}**")
    scale = display_scale(image.shape[1], target_px)
    st.image(upscale(image, scale), caption=caption)
    cols = st.columns(2)
    with cols[0]:
        download_png("PNG", image, f"{file_stem}.png", key=f"{key}_png", scale=scale)
    if frames is not None:
        with cols[1]:
            download_gif("GIF, all epochs", frames, gif_name(file_stem), key=f"{key}_gif", scale=scale)


def epoch_frames(snapshots: Sequence, make: Callable) -> Callable[[], list[tuple[str, np.ndarray]]]:
    """A callable giving ('epoch N', `make(snapshot)`) for every epoch (run only when a GIF is asked for)."""
    snaps = tuple(snapshots)
    return lambda: [(f"epoch {s.epoch}", make(s)) for s in snaps]


def samples_of(snap) -> np.ndarray:
    return make_grid(snap.samples)


def latent_map_of(n: int) -> Callable:
    return lambda snap: make_grid(snap.latent_map, nrow=n)


def has_recon(snap) -> bool:
    return snap.originals is not None and snap.reconstructions is not None


def recon_of(snap) -> np.ndarray:
    """Rows of originals, each above the row of their reconstructions."""
    n = len(snap.originals)
    nrow = min(n, 8)
    rows = []
    for i in range(0, n, nrow):
        rows.append(snap.originals[i:i + nrow])
        rows.append(snap.reconstructions[i:i + nrow])
    return make_grid(np.concatenate(rows), nrow=nrow)


def history_downloads(snap: RunSnapshot, *, key: str) -> None:
    c1, c2 = st.columns(2)
    stem = f"{snap.config.model}_{snap.run_id}"
    with c1:
        download_csv("Per-step metrics (CSV)", snap.step_history, f"{stem}_steps.csv", key=f"{key}_csv_steps")
    with c2:
        download_csv("Per-epoch metrics (CSV)", snap.epoch_history, f"{stem}_epochs.csv", key=f"{key}_csv_epochs")


def chart_options(key: str, *, x_axis: bool = True, default_x: str = "step") -> tuple[str, float]:
    """x-axis (step / epoch / seconds) and EMA smoothing for the loss charts."""
    cols = st.columns([3, 3, 2])  # the x-axis control needs room for "seconds" at 1280 px
    x = default_x
    if x_axis:
        x = cols[0].segmented_control("x axis", ["step", "epoch", "time"], default=default_x, required=True,
                                      key=f"{key}_x", format_func={"step": "steps", "epoch": "epochs",
                                                                   "time": "seconds"}.get) or default_x
    smoothing = cols[1 if x_axis else 0].slider("Smoothing (EMA)", 0.0, 0.99, 0.9, 0.01, key=f"{key}_smooth",
                               help="Exponential moving average over steps; the raw values stay visible, faint.")
    return x, smoothing


def save_panel(run_id: str, snap: RunSnapshot, *, key: str) -> None:
    """Once a run is over: save it to runs/ (then the explorer lists it) or download the file."""
    from pathlib import Path

    from gen_core.classroom.run_info import RunError

    from . import state
    if snap.is_active or snap.step == 0:
        return
    reg = state.registry()
    folder = state.runs_dir()   # GEN_CORE_RUNS_DIR (the explorer lists checkpoints saved there)
    name = f"{snap.config.model}_{run_id}.pt"
    cols = st.columns(2)
    with cols[0]:
        if st.button(f"Save checkpoint to {folder.name}/", icon=":material/save:", key=f"{key}_save",
                     disabled=not state.mine(run_id),
                     help=f"Writes {name} into {folder} on the server (the run's owner or the teacher)."):
            try:
                path = reg.save(run_id, folder / name)
                st.toast(f"Saved {Path(path).name}", icon=":material/check:")
            except (RunError, ValueError, OSError) as e:
                st.error(f"Could not save: {e}")
    with cols[1]:
        st.download_button("Download checkpoint (.pt)", data=lambda: reg.checkpoint_bytes(run_id),
                           file_name=name, mime="application/octet-stream", key=f"{key}_ckpt",
                           icon=":material/download:", on_click="ignore")
