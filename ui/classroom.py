"""What a shared classroom server tells each student about their run: the waiting line, saving
problems, runs stopped while nobody watched, runs interrupted by a restart — and Resume.

Rendering only; the facts come from `gen_core.classroom.runs.RunRegistry` (scheduler, persistence, reaper).
Called by the live panel (ui/live.py) above each run and by the sidebar (ui/sidebar.py).
"""
from __future__ import annotations

import streamlit as st

from gen_core.classroom.run_info import RunError, RunInfo
from gen_core.classroom.scheduler import ordinal
from gen_core.config.checks import ConfigError
from gen_core.training.runner import INTERRUPTED, QUEUED, STOPPED, RunSnapshot

from . import identity, state


# Redraw intervals of the live panel (seconds): a queued run only changes its place in line.
LIVE_INTERVAL_S = 1.0
QUEUED_INTERVAL_S = 2.0
# With many pages polling one server, each polls a little less often: +1 s per 10 pages open
# (20 pages → 3 s); buttons and full page runs still answer at once.
PAGES_PER_EXTRA_SECOND = 10


def queue_text(position: int | None, reg=None) -> str:
    reg = reg or state.registry()
    d = reg.scheduler.describe()
    where = f"**{ordinal(position)} in line**" if position else "in line"
    return (f"Waiting for a free training slot: {where}. {d['running']} of {d['max_running']} slots are busy "
            "on this server; the run starts by itself when it is its turn. You can keep this page open, "
            "or come back later with this page's link.")


def poll_interval(snaps: list[RunSnapshot], reg=None) -> float:
    """How often the live panel should redraw: slower while only waiting, and when many pages watch."""
    reg = reg or state.registry()
    base = QUEUED_INTERVAL_S if snaps and all(s.state == QUEUED for s in snaps) else LIVE_INTERVAL_S
    try:
        pages = reg.sessions_watching()
    except Exception:  # noqa: BLE001
        return base
    return base + pages // PAGES_PER_EXTRA_SECOND


def resume_button(run_id: str, *, key: str, label: str = "Resume training") -> None:
    """A Resume button for a stopped or interrupted run; errors are shown, never raised."""
    if st.button(label, key=key, icon=":material/restart_alt:", type="primary",
                 help="Continue from where it stopped (after a restart: from its last saved epoch). "
                      "It may wait in line for a free slot."):
        try:
            state.registry().resume(run_id, identity.actor())
        except (RunError, ConfigError) as e:
            st.error(str(e), icon=":material/error:")
            return
        state.set_focus(run_id)
        st.rerun()


def run_notices(snap: RunSnapshot, *, key: str) -> None:
    """Notices above a run's live panel: its place in line, disk warnings, how to resume it."""
    reg = state.registry()
    if snap.state == QUEUED:
        st.info(queue_text(snap.queue_position, reg), icon=":material/hourglass_top:")
    for text in snap.warnings:
        st.warning(text, icon=":material/warning:")
    if snap.state in (STOPPED, INTERRUPTED) and reg.resumable(snap.run_id) and state.mine(snap.run_id):
        if snap.state == INTERRUPTED:
            point = reg.resume_point(snap.run_id)
            if point is None:
                then = "Resume starts it from the beginning (it had not saved an epoch yet)."
            elif point >= snap.epoch:
                then = f"Resume continues from its last saved epoch ({point})."
            else:
                then = (f"Resume continues from epoch {point}, the last one saved (the epoch that was in "
                        "progress is trained again).")
            st.warning(f"This run was interrupted (the server stopped) after epoch {snap.epoch} of "
                       f"{snap.epochs}. {then}", icon=":material/history:")
        resume_button(snap.run_id, key=f"{key}_resume_{snap.run_id}")


def leave_line_button(runners, *, key: str) -> None:
    """For runs that are only waiting: a way out of the line (the page's own controls are not drawn)."""
    runners = [r for r in runners if state.mine(r.run_id)]
    if not runners:
        st.caption(":material/visibility: Someone else's run, waiting for a slot (read-only).")
        return
    if st.button("Leave the line", key=f"{key}_leave_{'_'.join(r.run_id for r in runners)}",
                 icon=":material/logout:", help="Cancel: the run never starts (its settings stay listed)."):
        for r in runners:
            try:
                state.registry().control(r.run_id, "dequeue", identity.actor())
            except RunError as e:
                st.error(str(e), icon=":material/lock:")
                return
        st.rerun()


def picker_label(info: RunInfo) -> str:
    """'Linear GAN · lr G 0.0005 — training · epoch 3/10 · 14:05': the run's name first (what tells runs
    apart), then where it stands and when it was started."""
    import time
    started = time.strftime("%H:%M", time.localtime(info.created))
    return f"{info.label} — {info.status} · {started}"


def server_caption(reg=None) -> str:
    reg = reg or state.registry()
    d = reg.scheduler.describe()
    text = f"Server: {d['running']}/{d['max_running']} training"
    if d["queued"]:
        text += f", {d['queued']} waiting"
    if d["running"]:
        text += f" · {d['threads_per_run']} CPU thread{'s' if d['threads_per_run'] != 1 else ''} per run"
    return text


def sidebar_run_status(info: RunInfo, *, key: str) -> None:
    """Under the sidebar's run picker: the focused run's state, and Resume when it applies."""
    if info.state == QUEUED and info.queue_position:
        st.caption(f":material/hourglass_top: Waiting: {ordinal(info.queue_position)} in line")
    elif info.state == INTERRUPTED:
        st.caption(f":material/history: Interrupted after epoch {info.epoch} of {info.epochs}")
    elif info.error and info.state == "failed":
        st.caption(f":material/error: Failed: {info.error}")
    if info.resumable and state.mine(info.run_id):
        resume_button(info.run_id, key=key)
