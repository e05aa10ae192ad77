"""Experiments: an ablation study. Vary one setting over a few values (and seeds), train the runs one
after another in the background, then compare their curves, final scores and samples."""
from __future__ import annotations

import streamlit as st

from gen_core import experiments as ex
from gen_core import figures as plots
from gen_core.classroom.owners import may_control
from gen_core.classroom.scheduler import ordinal
from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig
from gen_core.evaluation import reading
from gen_core.models.registry import get_model_spec
from ui import identity, quality, settings, state, sweeps, timing, widgets
from ui.quality import scoring_seconds


st.title("Experiments")
st.caption("An ablation changes **one** setting and keeps everything else fixed, so any difference in the "
           "curves, scores and samples is that setting's doing. Runs train one after another in the background; "
           "several seeds per value show how much of a difference is just noise.")

MODELS = {**settings.GAN_MODELS, **settings.VAE_MODELS}
SCORING = {"end": "after the last epoch", "every": "every epoch", "off": "off"}
# The default sweep must compare models that learn something within its budget (44 s for all three
# runs on a busy 2-core machine). Measured on full MNIST, 5 × 9,600 images, batch 64, seed 0, scored on
# 500 samples: latent 2 misses 6 classes (held-out ELBO −158.5), latent 8 covers all ten (−126.1,
# recall 0.15), latent 32 misses one (−133.1). The linear GAN's learning rates at the old default
# (4 × 3,200 images) were three noise generators (every run missing 9 of 10 classes).
DEFAULTS = dict(exp_model="mlp-vae", exp_preset=settings.CUSTOM, exp_param="latent_dim",
                exp_values=ex.SWEEP_PARAMS["latent_dim"].suggest, exp_seeds="0", exp_epochs=5, exp_ipe=9600,
                exp_batch=64, exp_scoring="end", exp_scoring_n=500)
for k, v in DEFAULTS.items():
    st.session_state.setdefault(k, v)
ss = st.session_state
PERSIST = settings.PERSIST  # keep the form across page switches


def _presets(model: str) -> list:
    family = get_model_spec(model).family
    return [p for p in settings.presets_for(family) if p.model == model]


def _on_model() -> None:
    ss.exp_preset = settings.CUSTOM
    names = [p.name for p in ex.params_for(ss.exp_model)]
    if ss.exp_param not in names:
        ss.exp_param = names[0]
        ss.exp_values = ex.SWEEP_PARAMS[names[0]].suggest


def _on_param() -> None:
    ss.exp_values = ex.SWEEP_PARAMS[ss.exp_param].suggest


def _on_preset() -> None:
    preset = next((p for p in _presets(ss.exp_model) if p.name == ss.exp_preset), None)
    if preset is not None:
        ss.exp_batch = preset.to_config().batch_size


def base_config() -> TrainConfig:
    """The configuration every run of the sweep starts from (the swept setting is then changed)."""
    every = {"end": int(ss.exp_epochs), "every": 1, "off": 0}[ss.exp_scoring]
    common = dict(dataset=state.dataset(), device=state.device(), epochs=int(ss.exp_epochs),
                  batch_size=int(ss.exp_batch), images_per_epoch=int(ss.exp_ipe) or None,
                  metrics_every=every, metrics_samples=int(ss.exp_scoring_n))
    preset = next((p for p in _presets(ss.exp_model) if p.name == ss.exp_preset), None)
    if preset is not None:
        return preset.to_config(**common)
    return TrainConfig(model=ss.exp_model, **common)


# ---------------------------------------------------------------------------- the form
store = sweeps.store()
# one sweep going per student (the store's cap); another student's sweep does not block this one
any_active = any(s.is_active and s.owner == identity.me() for s in store.list())
with st.expander("New sweep", expanded=not store.list(), icon=":material/science:"):
    c = st.columns([2, 3, 2, 2])
    c[0].selectbox("Model", list(MODELS), format_func=MODELS.get, key="exp_model", **PERSIST, on_change=_on_model)
    presets = _presets(ss.exp_model)
    if ss.exp_preset not in [settings.CUSTOM] + [p.name for p in presets]:
        ss.exp_preset = settings.CUSTOM
    titles = {settings.CUSTOM: "Model defaults", **{p.name: p.title for p in presets}}
    c[1].selectbox("Start from", list(titles), format_func=titles.get, key="exp_preset", **PERSIST, on_change=_on_preset,
                   help="Layer sizes and optimiser settings of a seed report's setup, or the model's defaults. "
                        "Epochs, images per epoch and batch size are set below.")
    params = {p.name: p for p in ex.params_for(ss.exp_model)}
    if ss.exp_param not in params:
        _on_model()
    c[2].selectbox("Setting to vary", list(params), format_func=lambda n: params[n].label, key="exp_param", **PERSIST,
                   on_change=_on_param, help=params[ss.exp_param].help)
    c[3].text_input("Seeds", key="exp_seeds", **PERSIST, help="One run per value and seed, e.g. 0, 1, 2. Same seed, same "
                    "initial weights and noise: only the setting differs.")
    st.text_input(f"Values of {params[ss.exp_param].label}", key="exp_values", **PERSIST,
                  help=f"Comma separated, e.g. {params[ss.exp_param].suggest}. {params[ss.exp_param].help}")
    c = st.columns(5)
    c[0].number_input("Epochs", 1, 200, step=1, key="exp_epochs", **PERSIST)
    c[1].number_input("Images per epoch", 0, 10_000_000, step=640, key="exp_ipe", **PERSIST, disabled=ss.exp_param ==
                      "images_per_epoch", help="0 = all training images. Small keeps a sweep short.")
    c[2].number_input("Batch size", 1, 4096, step=16, key="exp_batch", **PERSIST, disabled=ss.exp_param == "batch_size")
    c[3].selectbox("Score quality", list(SCORING), format_func=SCORING.get, key="exp_scoring", **PERSIST,
                   help="FID, Inception Score, precision and recall of each run's samples (a few seconds each "
                        "on a CPU). Without them a GAN sweep can only compare losses, which do not rank "
                        "sample quality.")
    c[4].select_slider("Samples per score", settings.QUALITY_SAMPLES, key="exp_scoring_n", **PERSIST,
                       disabled=ss.exp_scoring == "off")

    plan = None
    try:
        values = ex.parse_values(ss.exp_param, ss.exp_values)
        seeds = ex.parse_seeds(ss.exp_seeds)
        base = base_config()
        plan = ex.plan_sweep(base, ss.exp_param, values, seeds)
    except ConfigError as e:
        st.error(str(e), icon=":material/error:")
    left, right = st.columns([1, 4], vertical_alignment="center")
    with left:
        clicked = st.button("Run sweep", type="primary", icon=":material/play_arrow:", key="exp_start",
                            disabled=plan is None or any_active, width="stretch",
                            help="Stop the running sweep first." if any_active else "Train every run, one after "
                                 "another.")
    with right:
        if plan is not None:
            n_runs = len(plan)
            text = (f"**{n_runs} run{'s' if n_runs != 1 else ''}** ({len(values)} value{'s' if len(values) != 1 else ''}"
                    f" × {len(seeds)} seed{'s' if len(seeds) != 1 else ''}) on {base.dataset}, one after another")
            est = timing.cached(base)
            busy = any_active or any(r.is_active for r in state.registry().list())
            if est is None and not busy:
                try:
                    with st.spinner("Timing a few training steps…"):
                        est = timing.estimate(base)
                except Exception:  # noqa: BLE001 — an estimate is advice only
                    est = None
            if est is not None:
                per_run = est.seconds_per_epoch * base.epochs
                scores = {"end": 1, "every": base.epochs, "off": 0}[ss.exp_scoring]
                per_run += scores * scoring_seconds(base.metrics_samples)
                text += f": ≈ {widgets.fmt_seconds(per_run * n_runs)} in all (timed on the first setting)."
            else:
                text += "."
            st.caption(text)
            if any(r.is_active for r in state.registry().list()):
                st.caption(":material/warning: Runs are training on the Train pages: the sweep will share the "
                           "CPU with them.")
    if clicked and plan is not None:
        try:
            sid = sweeps.start(base, ss.exp_param, values, seeds)
        except (ConfigError, ex.SweepError) as e:
            st.error(str(e))
        else:
            sweeps.set_focus(sid)
            st.rerun()

# ---------------------------------------------------------------------------- the sweep in view
for problem in store.problems():   # a damaged sweep.json: one line, the page goes on
    st.warning(problem, icon=":material/warning:")
if st.session_state.get(sweeps.ERROR):
    st.error(st.session_state.pop(sweeps.ERROR), icon=":material/error:")
all_sweeps = sweeps.visible()
if not all_sweeps:
    st.info("No sweep yet. The defaults compare three latent sizes of the MLP VAE (2, 8, 32) in about a minute "
            "on a laptop CPU — enough for the difference to show in the samples and the scores: open "
            "**New sweep** above and press **Run sweep**.", icon=":material/info:")
    st.stop()

sid = sweeps.focus()
if len(all_sweeps) > 1:
    labels = {s.sweep_id: f"{s.label} · {s.state}" for s in all_sweeps}
    chosen = st.selectbox("Sweep", list(labels), index=list(labels).index(sid), format_func=labels.get,
                          key="exp_view")
    if chosen != sid:
        sweeps.set_focus(chosen)
        sid = chosen
sweep = store.get(sid)


def curves(snap) -> None:
    seeds_n = len(snap.seeds)
    c = st.columns([2, 3, 2])
    x = c[0].segmented_control("x axis", ["step", "epoch", "time"], default="epoch", required=True, key="exp_x",
                               format_func={"step": "steps", "epoch": "epochs", "time": "seconds"}.get) or "epoch"
    smoothing = c[1].slider("Smoothing (EMA)", 0.0, 0.99, 0.9, 0.01, key="exp_smooth")
    mode = "lines"
    if seeds_n > 1:
        mode = c[2].segmented_control("Seeds", ["lines", "band"], default="band", required=True, key="exp_seed_mode",
                                      format_func={"lines": "each seed", "band": "mean ± std"}.get) or "band"
    steps = [(it.label, it.seed, it.step_history) for it in snap.items if it.step_history]
    epochs = [(it.label, it.seed, it.epoch_history) for it in snap.items if it.epoch_history]
    legend = snap.param_label
    span = dict(x_range=(0, snap.base.epochs)) if x == "epoch" and snap.param != "epochs" else {}
    if snap.family == "gan":
        figs = [plots.sweep_curves_figure(steps, "g_loss", x=x, smoothing=smoothing, seeds=mode,
                                          y_title="loss (per batch)", legend_title=legend, **span),
                plots.sweep_curves_figure(steps, "d_loss", x=x, smoothing=smoothing, seeds=mode,
                                          y_title="loss (per batch)", legend_title=legend, **span)]
    else:
        figs = [plots.sweep_curves_figure(steps, "elbo", x=x, smoothing=smoothing, seeds=mode, negate=True,
                                          title="VAE loss −ELBO (train)", y_title="nats per image",
                                          legend_title=legend, **span),
                plots.sweep_curves_figure(epochs, "val_elbo", x=x, smoothing=0.0, seeds=mode, markers=True,
                                          title="Held-out ELBO (higher is better)", y_title="nats per image",
                                          legend_title=legend, **span)]
    if any(sum("fid" in r for r in recs) >= 2 for _, _, recs in epochs):  # a curve, not one final point
        figs.append(plots.sweep_curves_figure(epochs, "fid", x=x, smoothing=0.0, seeds=mode, markers=True,
                                              title="FID (lower is better)", y_title="FID", legend_title=legend,
                                              reference=(real_reference(snap) or {}).get("fid"), **span))
    for col, (i, fig) in zip(st.columns(len(figs)), enumerate(figs)):
        col.plotly_chart(fig, key=f"exp_curve_{i}")


def real_reference(snap) -> dict | None:
    """Real test vs real train images at the sweep's sample size (cached per server): every score chart's
    dashed line. None when the sweep does not score or the dataset has no evaluator."""
    b = snap.base
    if not b.metrics_every:
        return None
    name = quality.data_name(b.dataset, b.data_root)
    return quality.reference(name, b.metrics_samples) if reading.evaluator_available(name) else None


def results(snap) -> None:
    frame = ex.results_frame(snap)
    if not (frame["runs"] > 0).any():
        st.caption("Final scores appear here as the runs finish.")
        return
    st.markdown("#### Results")
    st.markdown(ex.sweep_reading(frame, snap.param_label, snap.family))
    st.dataframe(ex.results_display(frame, snap.param), hide_index=True, key="exp_results")
    caption = "Mean ± std over seeds of each run's final epoch; ↓ lower / ↑ higher is better."
    if "fid" in frame.columns:
        caption += " " + reading.EVALUATOR_CAPTION
    st.caption(caption)
    c = st.columns([1, 1, 3])
    stem = f"sweep_{snap.sweep_id}_{snap.param}"
    c[0].download_button("Results (CSV)", data=lambda f=frame: ex.results_csv(f), file_name=f"{stem}.csv",
                         mime="text/csv", key="exp_csv", icon=":material/table:", on_click="ignore",
                         width="stretch", help="Every final metric, mean and std per value.")
    c[1].download_button("Every run (CSV)", data=lambda s=snap: ex.results_csv(ex.runs_frame(s)),
                         file_name=f"{stem}_runs.csv", mime="text/csv", key="exp_csv_runs",
                         icon=":material/table:", on_click="ignore", width="stretch")
    metrics = [m for m in ("fid", "sharpness", "precision", "recall", "val_elbo") if m in frame.columns]
    if metrics:
        titles = {"fid": "FID", "sharpness": "Sharpness", "precision": "Precision (fidelity)",
                  "recall": "Recall (coverage)", "val_elbo": "Held-out ELBO"}
        ref = real_reference(snap) or {}
        for col, m in zip(st.columns(len(metrics)), metrics):
            col.plotly_chart(plots.sweep_summary_figure(
                frame[snap.param], frame[m], frame[f"{m}_std"], metric_title=titles[m], param_label=snap.param_label,
                reference=ref.get(m), y_range=(-0.02, 1.02) if m in ("precision", "recall") else None, height=260),
                key=f"exp_summary_{m}")
        lines = [quality.METRIC_HELP[m] for m in metrics if m in quality.METRIC_HELP]
        lines.append("Dashed lines: real test images scored against real training images with the same "
                     f"number of samples ({snap.base.metrics_samples:,}), the best a model can do."
                     + (" The held-out ELBO has no real-data line: it is the model's own bound on log p(x)."
                        if "val_elbo" in metrics else "") if ref else
                     "No real-data line: this dataset has no evaluator.")
        st.caption("  \n".join(lines))


def grids(snap) -> None:
    done = [it for it in snap.items if it.samples is not None]
    if not done:
        return
    st.markdown("#### Final samples per value")
    seed = snap.seeds[0]
    if len(snap.seeds) > 1:
        seed = st.segmented_control("Seed", list(snap.seeds), default=snap.seeds[0], required=True,
                                    key="exp_grid_seed") or snap.seeds[0]
    shown = [it for it in done if it.seed == seed]
    per_row = min(4, max(1, len(snap.values)))
    for start in range(0, len(shown), per_row):
        cols = st.columns(per_row)
        for col, it in zip(cols, shown[start:start + per_row]):
            with col:
                widgets.image_panel(it.samples, key=f"exp_grid_{it.index}", title=f"{snap.param_label} = {it.label}",
                                    caption=f"seed {it.seed}, epoch {it.epoch}, the same fixed z for every value",
                                    file_stem=f"sweep_{snap.sweep_id}_{snap.param}_{it.label}_seed{it.seed}",
                                    target_px=260)


def panel_body(sweep) -> None:
    snap = sweep.snapshot()
    st.subheader(snap.label)
    b = snap.base
    scoring = ("no quality scores" if not b.metrics_every else
               f"quality scored {'every epoch' if b.metrics_every == 1 else 'after the last epoch'} "
               f"on {b.metrics_samples:,} samples")
    images = "swept" if snap.param == "images_per_epoch" else f"{b.images_per_epoch or 'all'}"
    batch = "swept" if snap.param == "batch_size" else f"{b.batch_size}"
    st.caption(f"{get_model_spec(b.model).title} on {b.dataset} · {b.epochs} epoch{'s' if b.epochs != 1 else ''} × "
               f"{images} images · batch {batch} · {scoring} · runs one after another, everything but "
               f"{snap.param_label} and the seed identical")
    widgets.state_badge({"pending": "starting", "skipped": "stopped"}.get(snap.state, snap.state))
    cur = snap.current
    text = f"{snap.done} of {len(snap.items)} runs done"
    if cur is not None:
        text += (f" · now {snap.param_label} = {cur.label}, seed {cur.seed}: epoch "
                 f"{min(cur.epoch + 1, cur.epochs)} of {cur.epochs}, step {cur.step:,} / {cur.total_steps:,}")
    st.progress(min(max(snap.progress, 0.0), 1.0), text=text)
    if sweep.queue_position:
        st.info(f"Waiting for a free training slot: {ordinal(sweep.queue_position)} in line. A sweep is one job "
                "in the server's line; it trains its runs one after another once it has a slot.",
                icon=":material/hourglass_top:")
    c = st.columns([1, 1, 1, 1])
    c[0].metric("Runs", f"{snap.done} / {len(snap.items)}")
    c[1].metric("Elapsed", widgets.fmt_seconds(snap.elapsed))
    c[2].metric("Time left (ETA)", widgets.fmt_seconds(snap.eta_seconds) if snap.is_active else "—")
    with c[3]:
        st.write("")
        st.button("Stop sweep", icon=":material/stop:", key="exp_stop", on_click=sweeps.stop, args=(sweep.sweep_id,),
                  disabled=not snap.is_active or not may_control(identity.actor(), sweep.owner), width="stretch",
                  help="Ends the run in progress after its current step and skips the rest.")
    saved_controls(sweep, snap)
    if snap.error:
        st.error(f"The sweep stopped with an error: {snap.error}")
    for it in snap.items:
        if it.state == ex.FAILED and it.error:
            st.warning(f"{snap.param_label} = {it.label}, seed {it.seed} failed: {it.error}", icon=":material/error:")
    curves(snap)
    results(snap)
    grids(snap)


def saved_controls(sweep, snap) -> None:
    """A sweep that is over (or cut off by a restart): Resume the rest, or Delete it (owner or teacher)."""
    if sweep.is_active:
        return
    allowed = may_control(identity.actor(), sweep.owner)
    resumable = getattr(sweep, "resumable", False)
    if resumable:
        st.warning(f"Interrupted: the server stopped while this sweep trained. {snap.done} of {len(snap.items)} "
                   "runs had finished; Resume trains the rest (the finished ones are kept).",
                   icon=":material/pause_circle:")
    c = st.columns([1, 1, 3])
    if resumable:
        c[0].button("Resume sweep", icon=":material/play_arrow:", key="exp_resume", on_click=sweeps.resume,
                    args=(sweep.sweep_id,), disabled=not allowed or any_active, width="stretch",
                    help="Stop your running sweep first." if any_active else "Train the runs that had not finished.")
    c[1].button("Delete sweep", icon=":material/delete:", key="exp_delete", on_click=sweeps.delete,
                args=(sweep.sweep_id,), disabled=not allowed, width="stretch",
                help="Removes the sweep and its saved results from this server.")
    if not allowed:
        c[2].caption("Only the student who started this sweep, or the teacher, may resume or delete it.")


active_at_start = sweep.is_active


@st.fragment(run_every=1.0 if active_at_start else None)
def live_sweep() -> None:
    if store.get(sweep.sweep_id) is not sweep:  # resumed (a new Sweep under its id) or deleted meanwhile
        st.rerun()
    panel_body(sweep)
    if active_at_start and not sweep.is_active:
        st.rerun()  # the whole page once more: redefined without a timer, the Run button enabled again


live_sweep()
