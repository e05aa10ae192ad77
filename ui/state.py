"""Session and process state: the one RunRegistry, which run is in focus, dataset and device.

Focus: each session remembers one run per family (the Train pages show "their" family's
run) plus the last one focused (the explorer's default). The run id also goes into the
URL (`?run=<id>`), so a refresh, or the same URL on another screen, re-attaches to it.
A fresh session focuses nothing: in a classroom every student starts their own run. Only
runs this browser may see (ui/identity, gen_core.classroom.owners: its own, the ones the teacher shows
to the class, and — unless the teacher hides them — others' runs read-only) can be focused,
by link or picker; only its own (or, for the teacher, any) can be controlled.

The registry persists runs under `runs_dir()` (GEN_CORE_RUNS_DIR, default <repo>/runs/),
so a server restart loses at most an epoch; pages `touch` the runs they show, so runs whose
pages are all closed are stopped after GEN_CORE_IDLE_TIMEOUT_S (default 15 min).
"""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import streamlit as st

from gen_core.classroom.runs import RunRegistry
from gen_core.classroom.scheduler import training_cores
from gen_core.config.train import DATASET_NAMES

from . import identity


REPO = Path(__file__).resolve().parents[1]
SESSION_KEY = "_gen_core_session_id"

FOCUS = "focus_runs"        # session key: {"gan": run_id, "vae": run_id}
FOCUS_ANY = "focus_any"     # session key: the run focused last, any family
URL_SEEN = "_url_run_seen"  # session key: the ?run= value already applied
URL_NOTICE = "_url_run_notice"  # session key: why the ?run= of the link shows nothing
DATASET_KEY = "dataset"     # sidebar widget key (bound to ?dataset=)
DEVICE_KEY = "device"       # sidebar widget key


def runs_dir() -> Path:
    """Where the dashboard keeps its runs: GEN_CORE_RUNS_DIR, else <repo>/runs (git-ignored)."""
    env = os.environ.get("GEN_CORE_RUNS_DIR", "").strip()
    return Path(env) if env else REPO / "runs"


@st.cache_resource(show_spinner=False)
def registry() -> RunRegistry:
    """The process-wide run registry: shared by every session of this server, persisted in runs_dir().

    Slots (GEN_CORE_MAX_RUNS), waiting line (GEN_CORE_MAX_QUEUED), idle stop (GEN_CORE_IDLE_TIMEOUT_S)
    and memory pruning (GEN_CORE_KEEP_FINISHED_S) come from the environment (see gen_core.classroom.runs)."""
    # One core is kept for the pages and a local browser (GEN_CORE_UI_CORES; training_cores says why).
    reg = RunRegistry(runs_dir=runs_dir(), cores=training_cores())
    _freeze_startup_objects()
    return reg


def _freeze_startup_objects() -> None:
    """Move everything imported so far (torch, streamlit, plotly, pandas: ~275k objects) out of the
    garbage collector's sight: a full collection then takes ~0 ms instead of ~130 ms (measured), so
    Python's own collections stop pausing every page and training thread of the server."""
    import atexit
    import gc

    import gen_core.figures  # noqa: F401 — the pages' heavy imports (plotly, pandas), before freezing
    gc.collect()
    gc.freeze()
    atexit.register(gc.unfreeze)  # a clean shutdown (extension modules check for leaked objects)


def session_id() -> str:
    """This browser session's id (Streamlit's own, else one kept in session state)."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
        ctx = get_script_run_ctx()
        if ctx is not None and getattr(ctx, "session_id", None):
            return str(ctx.session_id)
    except Exception:  # noqa: BLE001 — internal API; fall back to our own id
        pass
    return st.session_state.setdefault(SESSION_KEY, uuid.uuid4().hex)


def touch(run_id: str | None) -> None:
    """Tell the registry this session shows `run_id` (keeps it from being stopped as abandoned)."""
    if run_id:
        registry().touch(run_id, session_id())


def _focus_map() -> dict:
    return st.session_state.setdefault(FOCUS, {})


def focus(family: str | None = None) -> str | None:
    """The run in focus for `family` ("gan"/"vae"), or the last focused run of any family.

    A session that has focused nothing has no run in focus: another screen attaches to a run
    through its link (?run=<id>) or the sidebar's run picker, never by itself.
    """
    rid = st.session_state.get(FOCUS_ANY) if family is None else _focus_map().get(family)
    if rid is not None and registry().may_view(rid, identity.actor()):
        return rid
    return None


def mine(run_id: str | None) -> bool:
    """May this browser control `run_id` (it started it, or it is the teacher's)?"""
    return run_id is not None and registry().may_control(run_id, identity.actor())


def set_focus(run_id: str | None, family: str | None = None) -> None:
    """Focus `run_id` (None clears the focus of `family`) and put it in the URL."""
    if run_id is None:
        if family is not None:
            _focus_map().pop(family, None)
        return
    info = registry().info(run_id)
    if info is None or not registry().may_view(run_id, identity.actor()):
        return
    st.session_state.pop(URL_NOTICE, None)
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
        if registry().may_view(rid, identity.actor()):
            set_focus(rid)
        else:  # a stale link (the run was deleted, or lives on another server): say so, do not drop it silently
            shown = re.sub(r"[^A-Za-z0-9_-]", "", rid)[:64]
            st.session_state[URL_NOTICE] = (f"The link's run `{shown}` is not on this server any more (it was "
                                            "deleted, or its folder removed). Pick another run in the sidebar "
                                            "or start a new one.")


def show_url_notice() -> None:
    """One line when the link's ?run= no longer exists (until another run is focused)."""
    text = st.session_state.get(URL_NOTICE)
    if text:
        st.warning(text, icon=":material/link_off:")


def forget(run_id: str) -> None:
    """After a run is deleted: out of this session's focus and the URL."""
    for fam, rid in list(_focus_map().items()):
        if rid == run_id:
            _focus_map().pop(fam, None)
    if st.session_state.get(FOCUS_ANY) == run_id:
        st.session_state.pop(FOCUS_ANY, None)
    show_in_url(None)


def dataset() -> str:
    name = st.session_state.get(DATASET_KEY)
    return name if name in DATASET_NAMES else DATASET_NAMES[0]


def device() -> str:
    return st.session_state.get(DEVICE_KEY) or "auto"


def device_text(name: str | None = None) -> str:
    """'CPU (2 cores)' / 'GPU: …': the same words on every page."""
    from gen_core.training.device import device_description
    return device_description(name or device())
