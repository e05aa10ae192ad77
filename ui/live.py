"""The live panel: an `st.fragment` that redraws a run from its thread-safe snapshot.

While any of the runs shown is active (queued, starting, training or paused) the fragment
re-runs itself every few seconds (ui/classroom.poll_interval: 1 s, 2 s while only waiting in
line, a little slower when many pages watch one server), re-reading
`TrainingRunner.snapshot()`; nothing else on the page re-runs. When the last of them ends,
the fragment asks for one full re-run, and the page then defines it again *without* a timer,
so a finished run costs nothing. Each redraw also `touch`es the runs shown, which is how the
registry knows a run still has a page open (abandoned runs are stopped after a while).
Worker threads never touch streamlit: they only publish snapshots.
"""
from __future__ import annotations

from typing import Callable, Sequence

import streamlit as st

from gen_core.training.runner import QUEUED, RunSnapshot, TrainingRunner

from . import classroom, state


LIVE_INTERVAL_S = classroom.LIVE_INTERVAL_S


def live_panel(run_ids: Sequence[str], body: Callable[[list[RunSnapshot], list[TrainingRunner]], None], *,
               interval: float | None = None) -> None:
    """Draw `body(snapshots, runners)` now, and again every few seconds while a run is active.

    Above each run: its place in the waiting line, saving problems and a Resume button when it
    applies (ui/classroom.run_notices). While every run shown is waiting in line, `body` is not
    drawn (nothing to show yet); a "Leave the line" button is. `interval` fixes the redraw period
    (default: adaptive, ui/classroom.poll_interval).
    """
    reg = state.registry()
    runners = [reg.get(rid) for rid in run_ids]
    if not runners or any(r is None for r in runners):
        st.warning("That run is no longer available (it was cleared, or its folder was removed).")
        return
    sid = state.session_id()
    for rid in run_ids:
        reg.touch(rid, sid)
    first = [r.snapshot() for r in runners]
    active_at_start = any(s.is_active for s in first)
    every = interval if interval is not None else classroom.poll_interval(first, reg)
    # The fragment closure lives as long as the browser session (and a while after it disconnects):
    # it keeps ids and states only, never runners or snapshots, so finished runs can leave memory.
    ids = tuple(run_ids)
    first_states = tuple(s.state for s in first)
    first_places = tuple(s.queue_position for s in first)
    first_runners = tuple(id(r) for r in runners)
    del runners, first

    @st.fragment(run_every=every if active_at_start else None)
    def _panel():
        # Looked up again: a run resumed from another screen has a new runner under the same id.
        current = [reg.get(rid) for rid in ids]
        if any(r is None for r in current):
            st.warning("That run is no longer available (it was cleared).")
            return
        snaps = [r.snapshot() for r in current]
        for rid in ids:
            reg.touch(rid, sid)
        for snap in snaps:
            classroom.run_notices(snap, key="live")
        if all(s.state == QUEUED for s in snaps):
            # Nothing to chart yet: skip the page's panel (its charts are most of a redraw's cost,
            # and most of a full classroom is waiting in line). Leaving the line stays possible.
            classroom.leave_line_button(current, key="live")
        else:
            body(snaps, current)
        restarted = any(id(r) != old for r, old in zip(current, first_runners))
        # Moving up in line or leaving it: redraw the whole page, so that the sidebar says so too.
        left_line = any(a == QUEUED and (b.state != QUEUED or b.queue_position != place)
                        for a, place, b in zip(first_states, first_places, snaps))
        if (active_at_start and not any(s.is_active for s in snaps)) or left_line or (
                not active_at_start and restarted and any(s.is_active for s in snaps)):
            st.rerun()  # the whole page once more: redefined with the right timer (or none)

    _panel()
