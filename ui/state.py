"""Session and process state: the one RunRegistry, which run is in focus, dataset and device.

Focus: each session remembers one run per family (the Train pages show "their" family's
run) plus the last one focused (the explorer's default). The run id also goes into the
URL (`?run=<id>`), so a refresh, or the same URL on another screen, re-attaches to it.
"""
from __future__ import annotations

import streamlit as st

from gen_core.config import DATASET_NAMES
from gen_core.runs import RunRegistry

FOCUS = "focus_runs"        # session key: {"gan": run_id, "vae": run_id}
FOCUS_ANY = "focus_any"     # session key: the run focused last, any family
URL_SEEN = "_url_run_seen"  # session key: the ?run= value already applied
DATASET_KEY = "dataset"     # sidebar widget key (bound to ?dataset=)
DEVICE_KEY = "device"       # sidebar widget key


@st.cache_resource(show_spinner=False)
def registry() -> RunRegistry:
    """The process-wide run registry: shared by every session of this server."""
    return RunRegistry()


def _focus_map() -> dict:
    return st.session_state.setdefault(FOCUS, {})


def focus(family: str | None = None) -> str | None:
    """The run in focus for `family` ("gan"/"vae"), or the last focused run of any family.

    A session that has focused nothing yet follows the newest run that is training, so a second
    screen in the classroom shows the run at once.
    """
    rid = st.session_state.get(FOCUS_ANY) if family is None else _focus_map().get(family)
    if rid is not None and rid in registry():
        return rid
    active = [r for r in registry().list(family) if r.is_active]
    return active[0].run_id if active else None


def set_focus(run_id: str | None, family: str | None = None) -> None:
    """Focus `run_id` (None clears the focus of `family`) and put it in the URL."""
    if run_id is None:
        if family is not None:
            _focus_map().pop(family, None)
        return
    info = registry().info(run_id)
    if info is None:
        return
    _focus_map()[info.family] = run_id
    st.session_state[FOCUS_ANY] = run_id
    show_in_url(run_id)


def show_in_url(run_id: str | None) -> None:
    """Keep ?run= equal to the run the page shows (removed when it shows none)."""
    try:
        if run_id is None:
            if "run" in st.query_params:
                del st.query_params["run"]
        elif st.query_params.get("run") != run_id:
            st.query_params["run"] = run_id
    except Exception:  # noqa: BLE001 — the URL is a convenience; never fail a page for it
        pass


def sync_from_url() -> None:
    """Apply ?run=<id> once per session (a refresh or a shared link re-attaches to the run)."""
    rid = st.query_params.get("run")
    if rid and rid != st.session_state.get(URL_SEEN):
        st.session_state[URL_SEEN] = rid
        if rid in registry():
            set_focus(rid)


def dataset() -> str:
    name = st.session_state.get(DATASET_KEY)
    return name if name in DATASET_NAMES else DATASET_NAMES[0]


def device() -> str:
    return st.session_state.get(DEVICE_KEY) or "auto"
