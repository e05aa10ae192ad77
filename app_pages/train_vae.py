"""Train a VAE: settings, estimated time, controls, and the live run (curves, samples, reconstructions, latents)."""
from __future__ import annotations

import streamlit as st

from gen_core import figures as plots
from ui import present, quality, settings, widgets
from ui.trainpage import run_header, train_page


present.title("Train a VAE", "vae")


def body(snaps, runners) -> None:
    snap, runner = snaps[0], runners[0]
    cfg = snap.config
    latent = cfg.model_config.latent_dim
    run_header(snap)
    widgets.run_controls(runner, snap, key="vae_ctl")
    widgets.progress_panel(snap)

    x, smoothing = widgets.chart_options("vae_chart", default_x="epoch")
    figs = plots.vae_figures(snap.step_history, snap.epoch_history, recon_loss=cfg.recon_loss, smoothing=smoothing,
                             x=x)
    for col, (name, fig) in zip(st.columns(3), figs.items()):
        col.plotly_chart(fig, key=f"vae_chart_{name}")
    widgets.history_downloads(snap, key="vae_hist")

    snaps_ = snap.epoch_snapshots
    if not snaps_:
        st.info("Samples, reconstructions and the latent space appear when epoch 1 ends.",
                icon=":material/hourglass_empty:")
        widgets.save_panel(snap.run_id, snap, key="vae_save")
        return
    i = widgets.epoch_slider("vae_epoch", [s.epoch for s in snaps_], label="Show epoch")
    shown = snaps_[i]
    stem = f"vae_{snap.run_id}"
    a, b, c = st.columns(3, gap="medium")
    with a:
        widgets.image_panel(widgets.samples_of(shown), key="vae_samples", title="Samples from fixed noise",
                            caption=f"decode(z) for the same {cfg.n_fixed} z ~ N(0, I), epoch {shown.epoch}",
                            file_stem=f"{stem}_samples_epoch{shown.epoch}", target_px=360,
                            frames=widgets.epoch_frames(snaps_, widgets.samples_of))
    with b:
        if widgets.has_recon(shown):
            widgets.image_panel(widgets.recon_of(shown), key="vae_recon", title="Originals vs reconstructions",
                                caption="odd rows: held-out images · even rows: their reconstructions",
                                file_stem=f"{stem}_recon_epoch{shown.epoch}", target_px=360,
                                frames=widgets.epoch_frames([s for s in snaps_ if widgets.has_recon(s)],
                                                            widgets.recon_of))
    with c:
        if latent == 2 and shown.latent_map is not None:
            n = cfg.latent_map_size
            widgets.image_panel(widgets.latent_map_of(n)(shown), key="vae_map", title="Latent map",
                                caption=f"decode(z) on a {n}×{n} grid over z₁ (→) and z₂ (↑)",
                                file_stem=f"{stem}_latent_map_epoch{shown.epoch}", target_px=360,
                                frames=widgets.epoch_frames(snaps_, widgets.latent_map_of(n)))
        else:
            st.markdown("**Latent map**")
            st.caption(f"Drawn for 2-D latents; this model has {latent}. The explorer can map any two dims.")
            st.page_link("app_pages/latent_explorer.py", label="Latent explorer", icon=":material/explore:")

    if shown.latent_means is not None and shown.latent_labels is not None:
        left, right = st.columns([3, 1])
        with right:
            st.markdown("**Where held-out images land**")
            projection = "first-two"
            if latent > 2:
                projection = st.radio("Show", ["first-two", "pca"], key="vae_proj",
                                      format_func={"first-two": "first two dims (z₁, z₂)",
                                                   "pca": "PCA of all dims"}.get)
            st.caption("Each dot is the encoder's mean μ(x) for one held-out image, coloured by its class. "
                       "Classes that overlap are the ones the model confuses.")
        with left:
            st.plotly_chart(plots.latent_scatter_figure(
                shown.latent_means, shown.latent_labels, dataset=cfg.dataset, projection=projection,
                title=f"Latent means of {len(shown.latent_labels):,} held-out images, epoch {shown.epoch}"),
                key="vae_scatter")
    quality.train_quality(snap, key="vae_q")
    widgets.save_panel(snap.run_id, snap, key="vae_save")


train_page("vae", draw_settings=settings.vae_settings, build=settings.vae_config, body=body,
           empty_text="No VAE run yet. Choose settings above (the defaults train a 2-D MLP VAE in seconds "
                      "per epoch) and press **Start training**.")
