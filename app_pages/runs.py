"""Runs: the runs on this server this browser may see (yours, the ones the teacher shows to the class, and
your classmates' unless the teacher hides them) and the shipped checkpoints;
name and annotate yours, compare any of them with their curves on shared axes and final grids side by side."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from gen_core import figures as plots
from gen_core.classroom.describe import settings_compare
from ui import identity, overlay, present, runcard, state, widgets


present.title("Runs")
st.caption("Every run you may see on this server, newest first, and the shipped checkpoints. Pick several to overlay "
           "their curves and put their final samples side by side.")

reg = state.registry()
runs = reg.list(actor=identity.actor())
if runs:
    st.dataframe(pd.DataFrame([{"name": r.label, "note": r.note, "yours": state.mine(r.run_id), "model": r.model,
                                "dataset": r.dataset, "status": r.status, "id": r.run_id} for r in runs]),
                 hide_index=True, key="runs_table")
else:
    st.info("No runs on this server yet: train one on the Train pages. The shipped checkpoints can still be "
            "compared below.", icon=":material/info:")

options = overlay.options()
mine = [k for k in options if k.startswith("run:") and state.mine(k[4:])]
st.session_state.setdefault("runs_overlay", mine[:4])
st.session_state["runs_overlay"] = [k for k in st.session_state["runs_overlay"] if k in options]
chosen = st.multiselect("Overlay these runs", list(options), format_func=options.get, key="runs_overlay",
                        placeholder="Choose runs or shipped checkpoints",
                        help="Curves on shared axes and the final fixed-noise grids side by side.")
items, problems = overlay.load(chosen)
for p in problems:
    st.warning(p, icon=":material/warning:")

if items:
    c = st.columns([3, 3, 2])
    x = c[0].segmented_control("x axis", ["step", "epoch", "time"], default="epoch", required=True, key="runs_x",
                               format_func={"step": "steps", "epoch": "epochs", "time": "seconds"}.get) or "epoch"
    smoothing = c[1].slider("Smoothing (EMA)", 0.0, 0.99, 0.9, 0.01, key="runs_smooth")
    gans = [(it.name, it.steps) for it in items if it.config.family == "gan"]
    vaes = [(it.name, it.steps) for it in items if it.config.family == "vae"]
    vae_epochs = [(it.name, it.epochs) for it in items if it.config.family == "vae"]
    figs = []
    if gans:
        figs += [plots.runs_overlay_figure(gans, "g_loss", x=x, smoothing=smoothing, title="Generator loss",
                                           y_title="loss (per batch)"),
                 plots.runs_overlay_figure(gans, "d_loss", x=x, smoothing=smoothing, title="Discriminator loss",
                                           y_title="loss (per batch)"),
                 plots.runs_overlay_figure(gans, "d_fake", x=x, smoothing=smoothing, title="D(G(z)) on fakes",
                                           y_title="D output")]
    if vaes:
        figs += [plots.runs_overlay_figure(vaes, "elbo", x=x, smoothing=smoothing, title="ELBO (train)",
                                           y_title="nats per image"),
                 plots.runs_overlay_figure(vae_epochs, "val_elbo", x=x, smoothing=0.0, markers=True,
                                           title="ELBO (held-out)", y_title="nats per image"),
                 plots.runs_overlay_figure(vaes, "kl", x=x, smoothing=smoothing, title="KL", y_title="nats")]
    for i in range(0, len(figs), 3):
        for col, (j, fig) in zip(st.columns(3), enumerate(figs[i:i + 3], start=i)):
            col.plotly_chart(fig, key=f"runs_curve_{j}")

    st.markdown("#### Final samples, side by side")
    for i in range(0, len(items), 4):
        for col, it in zip(st.columns(4), items[i:i + 4]):
            with col:
                if it.final_grid is None:
                    st.caption(f"**{runcard.safe_md(it.name)}**: no epoch finished yet.")
                    continue
                scale = widgets.display_scale(it.final_grid.shape[1], 300)
                st.image(widgets.upscale(it.final_grid, scale),
                         caption=f"{it.name} · epoch {it.final_epoch} · {it.state}")

    st.markdown("#### Settings, side by side")
    rows = settings_compare({it.name: it.config for it in items})
    only_diff = st.toggle("Only the settings that differ", value=len(items) > 1, key="runs_only_diff")
    shown = [r for r in rows if r["differs"] or not only_diff]
    st.dataframe(pd.DataFrame([{k: v for k, v in r.items() if k != "differs"} for r in shown]), hide_index=True,
                 key="runs_settings")

own = [r for r in runs if state.mine(r.run_id)]
if own:
    st.markdown("#### Your runs")
    labels = {r.run_id: f"{r.label} — {r.status}" for r in own}
    rid = st.selectbox("Run", list(labels), format_func=labels.get, key="runs_manage")
    snap = reg.snapshot(rid)
    if snap is not None:
        runcard.run_details(rid, snap.config, key="runs_card", page=f"train-{snap.config.family}")
