"""The teacher's view: every run on the server with its owner and settings; stop, delete, show to
the class; per-student caps; what students see of each other's runs; clearing old runs.

Unlocked by the password in GEN_CORE_TEACHER_PASSWORD or .streamlit/secrets.toml
(`teacher_password`). Every action goes through the registry with the teacher's Actor, which is
what allows it (gen_core.classroom.owners); the page itself grants nothing.
"""
from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from gen_core.classroom.owners import OTHERS_HIDDEN, OTHERS_READONLY
from gen_core.classroom.run_info import RunError
from ui import identity, state


st.title("Teacher")
reg = state.registry()

if identity.teacher_password() is None:
    st.info("No teacher password is set on this server, so there is no teacher's view. Start the server with "
            "`GEN_CORE_TEACHER_PASSWORD=...` or put `teacher_password = \"...\"` in `.streamlit/secrets.toml`.",
            icon=":material/lock:")
    st.stop()

if not identity.is_teacher():
    with st.form("teacher_unlock"):
        password = st.text_input("Teacher password", type="password")
        if st.form_submit_button("Unlock", icon=":material/lock_open:"):
            if identity.unlock_teacher(password):
                st.rerun()
            st.error("That is not the teacher password.", icon=":material/lock:")
    st.caption("Students: this page is for your teacher. Your own runs are in the sidebar of the Train pages.")
    st.stop()

actor = identity.actor()
if st.button("Lock the teacher's view", icon=":material/lock:"):
    identity.lock_teacher()
    st.rerun()

# ---------------------------------------------------------------- class settings
policy = reg.policy
d = reg.scheduler.describe()
st.subheader("Class settings")
st.caption(f"{d['running']} of {d['max_running']} training slots busy, {d['queued']} runs waiting "
           f"(the server takes at most {reg.scheduler.max_queued} waiting).")
with st.form("teacher_policy"):
    c = st.columns(3)
    running = c[0].number_input("Trainings per student at once", 1, 64, int(policy.running_per_student))
    queued = c[1].number_input("Waiting runs per student", 0, 64, int(policy.queued_per_student))
    others = c[2].radio("Students see other students' runs", [OTHERS_READONLY, OTHERS_HIDDEN],
                        index=0 if policy.others == OTHERS_READONLY else 1, horizontal=True,
                        format_func={OTHERS_READONLY: "read-only", OTHERS_HIDDEN: "not at all"}.get,
                        help="Runs you show to the class are visible (read-only) either way.")
    if st.form_submit_button("Apply", icon=":material/check:"):
        reg.set_policy(actor, running_per_student=int(running), queued_per_student=int(queued), others=others)
        st.toast("Class settings saved", icon=":material/check:")
        st.rerun()

# ---------------------------------------------------------------- every run
st.subheader("Runs on this server")
runs = reg.list()
if not runs:
    st.info("No runs yet.", icon=":material/info:")
else:
    rows = [{"run": r.run_id, "owner": r.owner_name, "model": r.model, "dataset": r.dataset,
             "latent": r.latent_dim, "status": r.status, "shown to class": r.shown,
             "created": time.strftime("%H:%M:%S", time.localtime(r.created))} for r in runs]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    labels = {r.run_id: f"{r.label} — {r.owner_name} — {r.status}" for r in runs}
    chosen = st.selectbox("Run", list(labels), format_func=labels.get, key="teacher_run")
    info = reg.info(chosen) if chosen else None
    if info is not None:
        try:
            config = reg.get(chosen).config.to_dict() if reg.get(chosen) is not None else {}
        except Exception:  # noqa: BLE001 — a damaged folder: show what the listing knows
            config = {}
        with st.expander("Settings of this run", icon=":material/tune:"):
            st.json(config, expanded=False)
        c = st.columns(4)
        if c[0].button("Stop", icon=":material/stop:", disabled=not info.is_active, key="teacher_stop"):
            reg.control(chosen, "stop", actor)
            st.rerun()
        if c[1].button("Delete", icon=":material/delete:", key="teacher_delete",
                       help="Stop it, remove it from every list and delete its folder."):
            try:
                reg.delete(chosen, actor)
            except RunError as e:
                st.error(str(e))
            else:
                st.rerun()
        if info.shown:
            if c[2].button("Stop showing to the class", icon=":material/visibility_off:", key="teacher_hide"):
                reg.show_to_class(chosen, actor, False)
                st.rerun()
        elif c[2].button("Show this run to the class", icon=":material/cast_for_education:", key="teacher_show"):
            reg.show_to_class(chosen, actor, True)
            st.rerun()
        if info.shown:
            page = "train-gan" if info.family == "gan" else "train-vae"
            st.markdown(f"Read-only link for the class: `/{page}?run={chosen}` (every browser can open it).")

    # ------------------------------------------------------------ clear old runs
    st.subheader("Clear old runs")
    with st.form("teacher_clear"):
        hours = st.number_input("Delete runs that are over and older than (hours)", 0.0, 24.0 * 365, 24.0, 1.0)
        if st.form_submit_button("Delete old runs", icon=":material/delete_sweep:"):
            gone = reg.clear_old(actor, hours * 3600)
            st.toast(f"Deleted {len(gone)} run{'s' if len(gone) != 1 else ''}", icon=":material/delete:")
            st.rerun()
