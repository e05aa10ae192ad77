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
    return SweepStore(max_sweeps=8, max_active=1)


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
