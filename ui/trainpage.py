"""What the two Train pages share: settings → estimate → Start, then the live panel of the run in focus."""
from __future__ import annotations

from typing import Callable

import streamlit as st

from gen_core.budget import check_budget
from gen_core.config import ConfigError, TrainConfig
from gen_core.registry import get_model_spec
from gen_core.runs import RunError

from . import identity, live, settings, state, timing


def start_run(cfg: TrainConfig) -> None:
    """Create and start a run, focus it (URL too) and redraw the page around it."""
    try:
        run_id = state.registry().create(cfg, actor=identity.actor())
    except (ConfigError, RunError) as e:
        st.error(str(e))
        return
    state.set_focus(run_id)
    st.rerun()


def train_page(family: str, *, draw_settings: Callable[[], None], build: Callable[..., TrainConfig],
               body: Callable, empty_text: str) -> None:
    reg = state.registry()
    run_id = state.focus(family)
    state.show_in_url(run_id)
    snap = reg.snapshot(run_id) if run_id else None
    busy = snap is not None and snap.is_active and state.mine(run_id)   # (someone else's run: read-only)

    with st.expander("Settings", expanded=not busy, icon=":material/tune:"):
        draw_settings()
    cfg = None
    try:
        cfg = build(dataset=state.dataset(), device=state.device())
        # Sized on the meta device: a setting over the per-run memory budget never gets a Start button.
        check_budget(cfg, reg.max_run_mb)
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
            st.caption("A run is in progress: pause or stop it below; its settings are shown in the panel.")
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
        start_run(cfg)

    if run_id is None:
        st.info(empty_text, icon=":material/info:")
        return
    live.live_panel([run_id], body)


def run_header(snap) -> None:
    cfg = snap.config
    mc = cfg.model_config
    st.subheader(f"{get_model_spec(cfg.model).title} · latent {mc.latent_dim} · {cfg.dataset}")
    st.caption(f"Run `{snap.run_id}` on {snap.device or 'the chosen device'} · batch {cfg.batch_size} · "
               f"{cfg.images_per_epoch or 'all'} images per epoch · seed {cfg.seed}")
