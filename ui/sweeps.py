"""The process-wide store of ablation sweeps (gen_core.experiments), shared by every session.

Like the run registry (ui.state.registry), it lives in st.cache_resource: a page refresh, or a
second screen in the classroom, finds the same sweeps, still running in their background thread.
Sweeps are saved under the runs dir (gen_core.experiments.store), so a restarted server lists them again;
one cut off by the restart can be resumed or deleted by its owner or the teacher.
"""
from __future__ import annotations

import streamlit as st

from gen_core.experiments.store import SweepStore


FOCUS = "sweep_focus"  # session key: the sweep shown on the Experiments page


@st.cache_resource(show_spinner=False)
def store() -> SweepStore:
    # Several students may sweep at once (one sweep each); each sweep is ONE job in the run
    # registry's line and trains its points in turn inside one training slot (slot_for below).
    from . import state
    return SweepStore(max_sweeps=16, max_active=8, max_active_per_owner=1, root=state.runs_dir())


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
    from gen_core.experiments.params import SweepError

    from . import identity, state
    actor = identity.actor()
    why = state.registry().scheduler.refusal(actor.owner, exempt=actor.teacher)
    if why:
        raise SweepError(why)
    return store().create(base, param, values, seeds, owner=actor.owner, slot=slot_for(actor))


def stop(sweep_id: str) -> None:
    """The Stop button: only the sweep's owner or the teacher."""
    from gen_core.classroom.owners import may_control

    from . import identity
    sweep = store().get(sweep_id)
    if sweep is not None and may_control(identity.actor(), sweep.owner):
        sweep.stop()


ERROR = "_sweep_error"  # session key: why the last Resume / Delete was refused


def resume(sweep_id: str) -> None:
    """The Resume button of an interrupted sweep: its remaining points, through this browser's slots."""
    from gen_core.config.checks import ConfigError
    from gen_core.experiments.params import SweepError

    from . import identity, state
    actor = identity.actor()
    try:
        why = state.registry().scheduler.refusal(actor.owner, exempt=actor.teacher)
        if why:
            raise SweepError(why)
        sweep = store().get(sweep_id)
        owner_actor = actor if sweep is None or sweep.owner in (None, actor.owner) else _owner_actor(sweep.owner)
        store().resume(sweep_id, actor, slot=slot_for(owner_actor))
    except (ConfigError, SweepError) as e:
        st.session_state[ERROR] = str(e)


def _owner_actor(owner: str):
    # the teacher resumes a student's sweep: it queues as that student's job (their caps, their turn)
    from gen_core.classroom.owners import Actor
    return Actor(owner)


def delete(sweep_id: str) -> None:
    """The Delete button: stops it if it trains, then removes it and its folder (owner or teacher)."""
    from gen_core.experiments.params import SweepError

    from . import identity
    try:
        store().delete(sweep_id, identity.actor())
    except SweepError as e:
        st.session_state[ERROR] = str(e)
    else:
        if st.session_state.get(FOCUS) == sweep_id:
            st.session_state.pop(FOCUS, None)


def visible(actor=None) -> list:
    """The sweeps this browser may see, newest first: its own, and others' unless the teacher hides them."""
    from gen_core.classroom.owners import OTHERS_HIDDEN, may_control

    from . import identity, state
    actor = actor or identity.actor()
    hidden = state.registry().policy.others == OTHERS_HIDDEN
    return [s for s in store().list() if not hidden or may_control(actor, s.owner)]


def focus() -> str | None:
    """The sweep this session looks at: the one it chose, else the newest it may see."""
    shown = visible()
    sid = st.session_state.get(FOCUS)
    if sid is not None and any(s.sweep_id == sid for s in shown):
        return sid
    return shown[0].sweep_id if shown else None


def set_focus(sweep_id: str) -> None:
    st.session_state[FOCUS] = sweep_id
