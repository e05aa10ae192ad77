"""The process-wide store of ablation sweeps (gen_core.experiments), shared by every session.

Like the run registry (ui.state.registry), it lives in st.cache_resource: a page refresh, or a
second screen in the classroom, finds the same sweeps, still running in their background thread.
"""
from __future__ import annotations

import streamlit as st

from gen_core.experiments import SweepStore

FOCUS = "sweep_focus"  # session key: the sweep shown on the Experiments page


@st.cache_resource(show_spinner=False)
def store() -> SweepStore:
    # Several students may sweep at once (one sweep each); each sweep is ONE job in the run
    # registry's line and trains its points in turn inside one training slot (slot_for below).
    return SweepStore(max_sweeps=16, max_active=8, max_active_per_owner=1)


def slot_for(actor):
    """The training-slot factory for a sweep of `actor`: the same fair line and per-student caps as runs."""
    from . import state
    scheduler = state.registry().scheduler

    def slot(sweep):
        return scheduler.slot(f"sweep-{sweep.sweep_id}", owner=actor.owner, exempt=actor.teacher,
                              cancelled=sweep.stopping, on_ticket=sweep.attach_ticket)
    return slot


def start(base, param, values, seeds) -> str:
    """Start a sweep owned by this browser; RunError-style refusals come back as SweepError."""
    from gen_core.experiments import SweepError

    from . import identity, state
    actor = identity.actor()
    why = state.registry().scheduler.refusal(actor.owner, exempt=actor.teacher)
    if why:
        raise SweepError(why)
    return store().create(base, param, values, seeds, owner=actor.owner, slot=slot_for(actor))


def stop(sweep_id: str) -> None:
    """The Stop button: only the sweep's owner or the teacher."""
    from gen_core.owners import may_control

    from . import identity
    sweep = store().get(sweep_id)
    if sweep is not None and may_control(identity.actor(), sweep.owner):
        sweep.stop()


def focus() -> str | None:
    """The sweep this session looks at: the one it chose, else the newest."""
    s = store()
    sid = st.session_state.get(FOCUS)
    if sid is not None and s.get(sid) is not None:
        return sid
    sweeps = s.list()
    return sweeps[0].sweep_id if sweeps else None


def set_focus(sweep_id: str) -> None:
    st.session_state[FOCUS] = sweep_id
