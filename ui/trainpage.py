"""What the two Train pages share: settings → estimate → Start, then the live panel of the run in focus.

The form follows the run on screen: when the page shows a run this session has not shown
before (a refresh, a second tab, a run picked in the sidebar), its settings fill the form, so
what the form says is what the run was trained with. In presenter mode (ui/present) the run's
live panel comes first, laid out for one 1280×720 screen.
"""
from __future__ import annotations

from typing import Callable

import streamlit as st

from gen_core import figures as plots
from gen_core.classroom.budget import check_budget
from gen_core.classroom.describe import hyper_summary
from gen_core.classroom.run_info import RunError
from gen_core.config.checks import ConfigError
from gen_core.config.train import COLOUR_DATASET_NAMES, TrainConfig
from gen_core.data.datasets import DATASETS
from gen_core.models.registry import get_model_spec

from . import deeplinks, identity, live, present, runcard, settings, state, timing, widgets


PAGE_PATH = {"gan": "train-gan", "vae": "train-vae"}


def _form_run_key(family: str) -> str:
    return f"{family}__form_run"   # session key: the run whose settings the form was last filled from


def start_run(cfg: TrainConfig, family: str | None = None) -> None:
    """Create and start a run (named from its settings), focus it (URL too) and redraw the page around it."""
    family = family or cfg.family
    try:
        run_id = state.registry().create(cfg, actor=identity.actor(), label=runcard.name_for_new_run(cfg))
    except (ConfigError, RunError) as e:
        st.error(str(e))
        return
    st.session_state[_form_run_key(family)] = run_id  # the form made it: nothing to fill in
    deeplinks.clear_notice()
    state.set_focus(run_id)
    st.rerun()


def follow_run(family: str, run_id: str | None, cfg: TrainConfig | None) -> None:
    """Fill the form with the settings of the run on screen, once per run (before the widgets are drawn)."""
    key = _form_run_key(family)
    if run_id is None or cfg is None or st.session_state.get(key) == run_id:
        return
    st.session_state[key] = run_id
    settings.load_config(family, cfg)
    st.session_state[_data_key(family)] = "shapes" if cfg.dataset in COLOUR_DATASET_NAMES else SIDEBAR


SIDEBAR = "sidebar"


def _data_key(family: str) -> str:
    return f"{family}_data"


def dataset_choice(family: str) -> str:
    """The sidebar's grey dataset or the generated colour shapes (32×32 RGB), for this page's next run.

    The colour set is chosen here, not in the sidebar, because the other pages (explorer, comparison,
    classroom) are built for the grey 28×28 sets."""
    sidebar_name = state.dataset()
    choice = st.radio("Train on", [SIDEBAR, "shapes"], key=_data_key(family), horizontal=True,
                      format_func={SIDEBAR: f"{DATASETS[sidebar_name].title} (sidebar)",
                                   "shapes": "Coloured shapes (32×32 RGB, generated)"}.get,
                      help="The coloured shapes have five known factors (shape, colour, scale, x, y); "
                           "the models are sized to 32×32 RGB for them.")
    if choice == "shapes":
        st.page_link("app_pages/your_images.py", icon=":material/view_week:",
                     label="β-VAE latent traversals on the shapes (one factor per dimension?) → Your images")
        return "shapes"
    return sidebar_name


def train_page(family: str, *, draw_settings: Callable[[], None], build: Callable[..., TrainConfig],
               body: Callable, empty_text: str) -> None:
    reg = state.registry()
    run_id = state.focus(family)
    state.show_in_url(run_id)
    snap = reg.snapshot(run_id) if run_id else None
    busy = snap is not None and snap.is_active and state.mine(run_id)   # (someone else's run: read-only)
    follow_run(family, run_id, snap.config if snap is not None else None)

    if present.is_on() and run_id is not None:
        # The projector's screen: the live panel first; the form and the full page below the fold.
        live.live_panel([run_id], presenter_body(family))
        _form_and_start(family, draw_settings, build, busy, expanded=False)
        return

    deeplinks.show_notice()
    _form_and_start(family, draw_settings, build, busy, expanded=not busy)
    if run_id is None:
        st.info(empty_text, icon=":material/info:")
        return
    runcard.run_details(run_id, snap.config, key=f"{family}_card", page=PAGE_PATH[family])
    live.live_panel([run_id], body)


def _form_and_start(family: str, draw_settings, build, busy: bool, *, expanded: bool) -> None:
    with st.expander("Settings", expanded=expanded, icon=":material/tune:"):
        draw_settings()
    dataset = dataset_choice(family)
    cfg = None
    try:
        cfg = build(dataset=dataset, device=state.device())
        # Sized on the meta device: a setting over the per-run memory budget never gets a Start button.
        check_budget(cfg, state.registry().max_run_mb)
    except ConfigError as e:
        st.error(str(e), icon=":material/error:")
        cfg = None

    left, right = st.columns([1, 4], vertical_alignment="center")
    with left:
        clicked = st.button("Start training", type="primary", icon=":material/play_arrow:", key=f"{family}_start",
                            disabled=cfg is None or busy, width="stretch",
                            help="Stop the current run first." if busy else "Train with these settings.")
    with right:
        if busy:
            st.caption("A run is in progress: pause or stop it below; the form shows its settings.")
        elif cfg is not None:
            timing.show(cfg)
            if cfg.metrics_every:
                from .quality import scoring_seconds
                st.caption(f":material/speed: Quality scoring adds ≈ {scoring_seconds(cfg.metrics_samples):.0f} s "
                           f"every {cfg.metrics_every} epoch{'s' if cfg.metrics_every != 1 else ''} on a CPU "
                           "(not counted as training time).")
            status = settings.preset_status(family, cfg)
            if status:
                st.caption(status)
    if clicked and cfg is not None:
        start_run(cfg, family)


def run_header(snap) -> None:
    """The run's name, what it is, and the settings that shape learning (rates, loss, betas)."""
    cfg = snap.config
    mc = cfg.model_config
    info = state.registry().info(snap.run_id)
    name = info.label if info is not None else snap.run_id
    st.subheader(name, anchor=False)
    dataset = info.dataset if info is not None else cfg.dataset   # a stored upload by its name, not its file
    st.caption(f"{get_model_spec(cfg.model).title} · latent {mc.latent_dim} · {dataset} · run `{snap.run_id}` "
               f"on {state.device_text(snap.device) if snap.device else 'the chosen device'} · batch {cfg.batch_size} · "
               f"{cfg.images_per_epoch or 'all'} images per epoch · seed {cfg.seed}")
    st.caption(f":material/tune: {hyper_summary(cfg)}")
    if info is not None and info.note:
        st.caption(f":material/sticky_note_2: {runcard.safe_md(info.note)}")


# ---------------------------------------------------------------------------
# Presenter mode: one 1280×720 screen
# ---------------------------------------------------------------------------

def compact_row(snap, runner, *, key: str) -> None:
    """Name, state and progress, and the four controls, in one row."""
    info = state.registry().info(snap.run_id)
    name = info.label if info is not None else snap.run_id
    name = name if len(name) <= 38 else name[:37] + "…"   # one line: the row must not push the charts down
    cols = st.columns([3.2, 3.3, 0.75, 0.75, 0.75, 0.75, 0.8], vertical_alignment="center")
    with cols[0]:
        st.markdown(f"**{runcard.safe_md(name)}**  \n{widgets.STATE_BADGES.get(snap.state, (snap.state,))[0]} · "
                    f"{widgets.fmt_seconds(snap.elapsed)}"
                    + (f" · {snap.samples_per_sec:,.0f} samples/s" if snap.samples_per_sec else ""))
    with cols[1]:
        st.progress(min(max(snap.progress, 0.0), 1.0), text=widgets.progress_text(snap))
    if state.mine(snap.run_id):
        widgets.control_buttons(runner, snap, key=key, cols=cols[2:6], labels=False)
    else:
        cols[2].caption(":material/visibility: read-only")
    with cols[6]:
        present.exit_button(key=f"{key}_exit")


def presenter_body(family: str) -> Callable:
    def body(snaps, runners) -> None:
        snap, runner = snaps[0], runners[0]
        cfg = snap.config
        compact_row(snap, runner, key=f"{family}_pctl")
        x = st.session_state.get(f"{family}_chart_x") or "step"
        smoothing = float(st.session_state.get(f"{family}_chart_smooth", plots.DEFAULT_SMOOTHING))
        h = present.CHART_HEIGHT
        left, middle, right = st.columns([1.05, 1.05, 0.9], gap="small")
        if family == "gan":
            with left:
                st.plotly_chart(plots.for_projector(plots.family_loss_figure(
                    "gan", snap.step_history, x=x, smoothing=smoothing, title="G and D losses"), h,
                    present.FONT_SIZE), key=f"{family}_p_loss")
            with middle:
                st.plotly_chart(plots.for_projector(plots.d_output_figure(
                    snap.step_history, snap.epoch_history, gan_loss=cfg.gan_loss, x=x, smoothing=smoothing),
                    h, present.FONT_SIZE), key=f"{family}_p_dout")
        else:
            with left:
                st.plotly_chart(plots.for_projector(plots.vae_metric_figure(
                    snap.step_history, snap.epoch_history, "elbo", recon_loss=cfg.recon_loss, x=x,
                    smoothing=smoothing), h, present.FONT_SIZE), key=f"{family}_p_elbo")
            with middle:
                for metric in ("recon", "kl"):
                    st.plotly_chart(plots.for_projector(plots.vae_metric_figure(
                        snap.step_history, snap.epoch_history, metric, recon_loss=cfg.recon_loss, x=x,
                        smoothing=smoothing), h // 2, present.FONT_SIZE - 2, legend=False),
                        key=f"{family}_p_{metric}")
        with right:
            latest = snap.latest
            if latest is None:
                st.info("The fixed-noise samples appear when epoch 1 ends.", icon=":material/hourglass_empty:")
            else:
                image = widgets.samples_of(latest)
                scale = widgets.display_scale(image.shape[1], present.GRID_PX)
                st.image(widgets.upscale(image, scale),
                         caption=f"Samples from the same fixed noise · epoch {latest.epoch}")
    return body
