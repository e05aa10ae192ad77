"""Train a GAN: settings, estimated time, Start / Pause / Resume / Step / Stop, and the live run."""
from __future__ import annotations

import streamlit as st

from gen_core import figures as plots
from ui import present, quality, settings, widgets
from ui.trainpage import run_header, train_page


present.title("Train a GAN", "gan")


def body(snaps, runners) -> None:
    snap, runner = snaps[0], runners[0]
    cfg = snap.config
    run_header(snap)
    widgets.run_controls(runner, snap, key="gan_ctl")
    widgets.progress_panel(snap)

    x, smoothing = widgets.chart_options("gan_chart")
    figs = plots.gan_loss_figures(snap.step_history, x=x, smoothing=smoothing)
    for col, (name, fig) in zip(st.columns(3), figs.items()):
        col.plotly_chart(fig, key=f"gan_chart_{name}")

    charts, pictures = st.columns([3, 2], gap="large")
    with charts:
        st.plotly_chart(plots.d_output_figure(snap.step_history, snap.epoch_history, gan_loss=cfg.gan_loss,
                                              x=x, smoothing=smoothing, height=420), key="gan_dout")
        widgets.history_downloads(snap, key="gan_hist")
    with pictures:
        snaps_ = snap.epoch_snapshots
        if not snaps_:
            st.info("The fixed-noise samples appear when epoch 1 ends.", icon=":material/hourglass_empty:")
        else:
            i = widgets.epoch_slider("gan_epoch", [s.epoch for s in snaps_])
            shown = snaps_[i]
            widgets.image_panel(widgets.samples_of(shown), key="gan_samples", title="Samples from fixed noise",
                                caption=f"G(z) for the same {cfg.n_fixed} z after epoch {shown.epoch}",
                                file_stem=f"gan_{snap.run_id}_samples_epoch{shown.epoch}",
                                frames=widgets.epoch_frames(snaps_, widgets.samples_of))
    if cfg.model_config.latent_dim == 2 and snap.epoch_snapshots:
        st.markdown("#### The whole 2-D latent space")
        shown = snap.epoch_snapshots[i]
        n = cfg.latent_map_size
        left, right = st.columns([2, 3])
        with left:
            widgets.image_panel(widgets.latent_map_of(n)(shown), key="gan_map", title="",
                                caption=f"G(z) on a {n}×{n} grid of z (normal quantiles), epoch {shown.epoch}",
                                file_stem=f"gan_{snap.run_id}_latent_map_epoch{shown.epoch}",
                                frames=widgets.epoch_frames(snap.epoch_snapshots, widgets.latent_map_of(n)),
                                target_px=560)
        with right:
            st.write("Each cell decodes one z = (z₁, z₂): z₁ grows left to right, z₂ bottom to top, spaced so "
                     "that each step covers the same probability under the prior N(0, I). Neighbouring cells "
                     "look alike because G is a smooth function of z.")
            st.page_link("app_pages/latent_explorer.py", label="Move through it with sliders in the Latent explorer",
                         icon=":material/explore:")
    quality.train_quality(snap, key="gan_q")
    widgets.save_panel(snap.run_id, snap, key="gan_save")


train_page("gan", draw_settings=settings.gan_settings, build=settings.gan_config, body=body,
           empty_text="No GAN run yet. Choose settings above (the default, a small DCGAN, draws readable digits "
                      "within about a minute on a laptop CPU; pick *Linear GAN* for the 2-D latent map) and press "
                      "**Start training**.")
