"""The shared sidebar: dataset (with where it comes from), device, and the run in focus."""
from __future__ import annotations

import streamlit as st

from gen_core.config.train import DATASET_NAMES
from gen_core.data.datasets import DATASETS, dataset_status, load_dataset
from gen_core.training.device import device_description

from . import classroom, identity, present, runcard, state


STATUS_TEXT = {"full": "full dataset on disk", "embedded": "embedded subset, always there",
               "missing": "not on disk: download, else the embedded subset"}
SOURCE_BADGE = {"full": ("full", "green"), "downloaded": ("downloaded", "blue"),
                "embedded": ("embedded subset", "orange")}


@st.cache_resource(show_spinner=False)
def _cuda() -> tuple[bool, str]:
    import torch
    ok = torch.cuda.is_available()
    return ok, (torch.cuda.get_device_name(0) if ok else "")


def dataset_picker() -> None:
    status = {name: dataset_status(name) for name in DATASET_NAMES}
    default = "mnist" if status["mnist"] == "full" else "mnist-mini"
    # ?dataset=<name> (a shared link, a test) applies once per session; afterwards the widget rules.
    wanted = st.query_params.get("dataset")
    if wanted in DATASET_NAMES and st.session_state.get("_url_dataset_seen") != wanted:
        st.session_state["_url_dataset_seen"] = wanted
        st.session_state[state.DATASET_KEY] = wanted
    st.session_state.setdefault(state.DATASET_KEY, default)
    st.selectbox("Dataset", DATASET_NAMES, key=state.DATASET_KEY,
                 format_func=lambda n: f"{DATASETS[n].title} — {STATUS_TEXT[status[n]]}",
                 help="Full datasets are read from data/ or ../shared/data. Without them (and offline) "
                      "training uses the embedded mnist-mini subset that ships with the app.")
    name = state.dataset()
    if name != default:
        st.query_params["dataset"] = name
    elif "dataset" in st.query_params:
        del st.query_params["dataset"]
    st.session_state["_url_dataset_seen"] = name
    with st.spinner(f"Loading {DATASETS[name].title}…"):
        data = load_dataset(name)
    label, color = SOURCE_BADGE.get(data.source, (data.source, "gray"))
    st.badge(label, color=color, icon=":material/dataset:")
    if data.fell_back:
        st.warning(data.message, icon=":material/warning:")
    else:
        st.caption(data.message)


def device_picker() -> None:
    has_cuda, name = _cuda()
    if has_cuda:
        st.radio("Device", ["auto", "cpu"], key=state.DEVICE_KEY, horizontal=True,
                 format_func={"auto": f"GPU: {name}", "cpu": "CPU"}.get)
    text = device_description(state.device())
    st.caption(f"Training on **{text}**")


def run_picker(family: str | None) -> None:
    reg = state.registry()
    runs = reg.list(family, actor=identity.actor())
    what = {"gan": "GAN run", "vae": "VAE run"}.get(family, "Run")
    if not runs:
        st.caption(f"No {what[0].lower() + what[1:] if what == 'Run' else what}s yet.")
        return
    ids = [r.run_id for r in runs]
    me = identity.me()
    labels = {r.run_id: classroom.picker_label(r) + ("" if r.owner == me else f" · {r.owner_name}") for r in runs}
    current = state.focus(family)
    index = ids.index(current) if current in ids else None
    choice = st.selectbox(f"{what} in focus", ids, index=index, format_func=labels.get,
                          placeholder="Choose a run", help="Runs live on the server: every browser sees them, "
                          "and they are saved to disk after every epoch, so they survive a restart. "
                          "The run's id is in the URL, so a refresh comes back to it.")
    if choice is not None and choice != current:
        state.set_focus(choice)
    shown = choice or current
    info = reg.info(shown) if shown else None
    if info is not None:
        state.touch(info.run_id)
        whose = ("yours" if info.owner == me else f"{info.owner_name}'s (you are the teacher)"
                 if state.mine(info.run_id) else f"{info.owner_name}'s, read-only")
        st.caption(f"**{runcard.safe_md(info.label)}** · {info.model}, {info.epochs} epochs · id `{info.run_id}` · "
                   f"{whose}" + (f"  \n:material/sticky_note_2: {runcard.safe_md(info.note[:200])}" if info.note else ""))
        classroom.sidebar_run_status(info, key=f"sidebar_resume_{info.run_id}")


def render(family: str | None) -> None:
    """Draw the sidebar. `family`: which runs the page in view cares about (None: all)."""
    with st.sidebar:
        present.toggle()
        st.markdown("### Data")
        dataset_picker()
        st.markdown("### Device")
        device_picker()
        st.markdown("### Run")
        run_picker(family)
        st.caption(classroom.server_caption())
