"""A run as a thing you work with: its name and note, its full settings, a link to them, Delete.

Names and notes are read through `RunRegistry.info` (one place: gen_core.classroom.runs) and written with
`rename` / `set_note` (saved in the run's run.json). Renaming, notes and Delete are offered on the runs
this browser may control (its owner, or the teacher: `state.mine`, gen_core.classroom.owners).
"""
from __future__ import annotations

import re
import urllib.parse

import pandas as pd
import streamlit as st

from gen_core.classroom.describe import MAX_NAME, MAX_NOTE, default_run_name, settings_rows, unique_name
from gen_core.classroom.links import link_query
from gen_core.classroom.run_info import RunError

from . import identity, settings, state


def name_for_new_run(cfg) -> str:
    """The default name of a run about to start: model + what differs from the form's defaults, made unique."""
    base = settings.demo_defaults(cfg.model, dataset=cfg.dataset, device=cfg.device)
    return unique_name(default_run_name(cfg, base), [r.label for r in state.registry().list()])


def settings_table(cfg) -> pd.DataFrame:
    base = settings.demo_defaults(cfg.model, dataset=cfg.dataset, device=cfg.device)
    rows = settings_rows(cfg, base)
    return pd.DataFrame([{"": "●" if r["changed"] else "", "setting": r["setting"], "value": r["value"],
                          "default": r["default"], "group": r["group"]} for r in rows])


def share_query(cfg, page: str) -> str:
    """'train-gan?model=mlp-gan&lr_g=0.0005': a relative link that fills the form with these settings."""
    base = settings.demo_defaults(cfg.model, dataset=cfg.dataset, device=cfg.device)
    return f"{page}?{urllib.parse.urlencode(link_query(cfg, base))}"


def safe_md(text: str) -> str:
    """User text inside markdown: no links, images or HTML sneak in."""
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~])", r"\\\1", text)


def run_details(run_id: str, cfg, *, key: str, page: str) -> None:
    """Expander under the run header: rename, note, settings table, link, delete."""
    reg = state.registry()
    info = reg.info(run_id)
    if info is None:
        return
    with st.expander("Name, note, settings and link", icon=":material/edit_note:"):
        if not state.mine(run_id):
            st.markdown(f"**{safe_md(info.label)}**" + (f"  \n{safe_md(info.note)}" if info.note else ""))
        else:
            _name_form(run_id, info, key=key)
        st.markdown("**Settings** (● = changed from the defaults)")
        st.dataframe(settings_table(cfg), hide_index=True, key=f"{key}_settings_{run_id}")
        st.markdown("**Link to these settings** (for a slide: it fills the form of whoever opens it)")
        st.code(share_query(cfg, page), language=None)
        delete_button(run_id, key=f"{key}_delete")


def _name_form(run_id: str, info, *, key: str) -> None:
    reg = state.registry()
    with st.form(f"{key}_form", border=False):
        name = st.text_input("Name", value=info.label, max_chars=MAX_NAME, key=f"{key}_name_{run_id}")
        note = st.text_area("Note", value=info.note, max_chars=MAX_NOTE, key=f"{key}_note_{run_id}",
                            placeholder="What you tried and what you saw, e.g. 'lr G too high: D wins by "
                                        "epoch 2'.", height=80)
        if st.form_submit_button("Save name and note", icon=":material/save:"):
            try:
                reg.rename(run_id, name, identity.actor())
                reg.set_note(run_id, note, identity.actor())
            except RunError as e:
                st.error(str(e), icon=":material/error:")
            else:
                st.toast("Saved", icon=":material/check:")


def delete_button(run_id: str, *, key: str) -> None:
    """Delete (after a confirmation tick) — only for runs this session started."""
    if not state.mine(run_id):
        st.caption("Only the student who started a run, or the teacher, can rename or delete it.")
        return
    cols = st.columns([2, 1])
    sure = cols[0].checkbox("Yes, delete this run and its files for good", key=f"{key}_sure_{run_id}")
    if cols[1].button("Delete run", icon=":material/delete:", key=f"{key}_{run_id}", disabled=not sure,
                      type="secondary"):
        try:
            state.registry().delete(run_id, identity.actor())
        except RunError as e:
            st.error(str(e), icon=":material/error:")
            return
        state.forget(run_id)
        st.toast("Run deleted", icon=":material/delete:")
        st.rerun()
