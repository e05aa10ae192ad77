"""GAN vs VAE: two models side by side — the same noise, their losses, sizes and speeds, and the
same grid of z decoded by the generator and by the VAE decoder."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import streamlit as st

from gen_core import figures as plots
from gen_core.classroom.run_info import RunError
from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig
from gen_core.evaluation import explore
from gen_core.models.registry import get_model_spec
from ui import identity, live, quality, sources, state, widgets


st.title("GAN vs VAE")
st.caption("Two ways to learn p(x). A GAN learns to sample by fooling a critic; a VAE learns to encode and "
           "decode, with a prior on the codes. Here both get the same data and the same noise.")

PAIR = "compare_pair"
GANS = {"mlp-gan": "Linear GAN", "dcgan": "DCGAN 28×28"}
VAES = {"mlp-vae": "MLP VAE", "conv-vae": "Conv VAE"}


def pair_configs(gan_model: str, vae_model: str, latent: int, **shared) -> tuple[TrainConfig, TrainConfig]:
    gan_mc = dataclasses.replace(get_model_spec(gan_model).default_config(), latent_dim=latent)
    vae_mc = dataclasses.replace(get_model_spec(vae_model).default_config(), latent_dim=latent)
    return (TrainConfig(model=gan_model, model_config=gan_mc, **shared),
            TrainConfig(model=vae_model, model_config=vae_mc, **shared))


def start_pair(gan_cfg: TrainConfig, vae_cfg: TrainConfig) -> None:
    reg = state.registry()
    try:
        gid = reg.create(gan_cfg, actor=identity.actor())
        try:
            vid = reg.create(vae_cfg, actor=identity.actor())
        except (ConfigError, RunError):
            reg.delete(gid, identity.actor())   # half a pair is no pair: leave no folder behind
            raise
    except (ConfigError, RunError) as e:
        st.error(str(e))
        return
    st.session_state[PAIR] = (gid, vid)
    st.session_state["compare_left"] = f"run:{gid}"
    st.session_state["compare_right"] = f"run:{vid}"
    state.set_focus(vid)
    state.set_focus(gid)
    st.rerun()


with st.expander("Train a matched pair", expanded=not sources.has_any_model(), icon=":material/join:"):
    st.caption("One GAN and one VAE with the same data, epochs, images per epoch, batch size, seed and latent "
               "size. They train side by side when the class settings allow you two trainings at once, else one "
               "after the other.")
    c = st.columns(4)
    gan_model = c[0].selectbox("GAN", list(GANS), format_func=GANS.get, key="pair_gan")
    vae_model = c[1].selectbox("VAE", list(VAES), format_func=VAES.get, key="pair_vae")
    latent = c[2].number_input("Latent dim (both)", 1, 256, 2, key="pair_latent",
                               help="2 lets you compare the two latent maps cell by cell.")
    epochs = c[3].number_input("Epochs", 1, 200, 5, key="pair_epochs")
    c = st.columns(4)
    ipe = c[0].number_input("Images per epoch", 0, 10_000_000, 6400, 640, key="pair_ipe",
                            help="0 = all training images.")
    batch = c[1].number_input("Batch size", 1, 4096, 128, 16, key="pair_batch")
    seed = c[2].number_input("Seed", 0, 2**31 - 1, 0, key="pair_seed")
    pair_cfgs = None
    try:
        pair_cfgs = pair_configs(gan_model, vae_model, int(latent), dataset=state.dataset(), device=state.device(),
                                 epochs=int(epochs), images_per_epoch=int(ipe) or None, batch_size=int(batch),
                                 seed=int(seed))
    except ConfigError as e:
        st.error(str(e), icon=":material/error:")
    with c[3]:
        st.write("")
        if st.button("Train a matched pair", type="primary", icon=":material/play_arrow:", key="pair_start",
                     disabled=pair_cfgs is None, width="stretch"):
            start_pair(*pair_cfgs)

if not sources.has_any_model() and not st.session_state.get(PAIR):
    st.info("No trained model yet: train a matched pair above, or train each on its own page "
            "(or upload checkpoints below).", icon=":material/info:")
    c = st.columns(2)
    c[0].page_link("app_pages/train_gan.py", label="Train a GAN", icon=":material/sports_kabaddi:")
    c[1].page_link("app_pages/train_vae.py", label="Train a VAE", icon=":material/compress:")

# The shipped pairs: the best of each family first (the sharp-GAN / blurry-VAE trade-off of the seed
# reports), then the 2-D pair, whose latent maps can be decoded cell by cell through both models.
SHIPPED_PAIRS = {"best": ("dcgan", "conv-vae", "Best shipped: DCGAN vs conv VAE"),
                 "2d": ("mlp-gan", "mlp-vae", "2-D latents: linear GAN vs MLP VAE")}


def open_pair(which: str) -> None:
    gan, vae, _ = SHIPPED_PAIRS[which]
    left, right = sources.featured(gan), sources.featured(vae)
    if left and right:
        st.session_state["compare_left"], st.session_state["compare_right"] = left, right


pair = st.session_state.get(PAIR) or (None, None)
shipped_pairs = {k: v for k, v in SHIPPED_PAIRS.items() if sources.featured(v[0]) and sources.featured(v[1])}
if shipped_pairs:
    c = st.columns(len(shipped_pairs) + 1)
    for col, (which, (_, _, label)) in zip(c, shipped_pairs.items()):
        col.button(label, key=f"compare_open_{which}", on_click=open_pair, args=(which,), width="stretch",
                   icon=":material/compare:")
best = SHIPPED_PAIRS["best"] if "best" in shipped_pairs else SHIPPED_PAIRS["2d"]
pick_l, pick_r, pick_seed = st.columns([3, 3, 1])
with pick_l:
    left_key = sources.picker("Left model", key="compare_left", prefer_family="gan",
                              default=f"run:{pair[0]}" if pair[0] else sources.featured(best[0]))
with pick_r:
    right_key = sources.picker("Right model", key="compare_right", prefer_family="vae", avoid=left_key,
                               default=f"run:{pair[1]}" if pair[1] else sources.featured(best[1]))
with pick_seed:
    noise_seed = st.number_input("Noise seed", 0, 10_000, 0, key="compare_seed",
                                 help="Both models decode z drawn with this seed.")


@st.cache_data(max_entries=64, show_spinner=False)
def samples(version: str, seed: int, _model) -> np.ndarray:
    return explore.sample_grid(_model, 36, seed, nrow=6)


@st.cache_data(max_entries=32, show_spinner=False)
def zmap(version: str, dims: tuple[int, int], n: int, _model) -> np.ndarray:
    return explore.latent_map_grid(_model, n, dims)


def facts(view, snap) -> pd.DataFrame:
    params = view.num_parameters if view else (snap.num_parameters if snap else {})
    rows = {f"parameters ({k})": widgets.fmt_count(v) for k, v in params.items()}
    elapsed = view.elapsed if view else (snap.elapsed if snap else None)
    rate = (snap.samples_per_sec if snap else None) or (view.samples_per_sec if view else None)
    rows["training time"] = widgets.fmt_seconds(elapsed)
    rows["samples / s"] = f"{rate:,.0f}" if rate else "—"
    return pd.DataFrame({"": list(rows), "value": list(rows.values())})


def side(key: str | None, snap, col_key: str):
    if key is None:
        st.info("Choose a model above.")
        return None
    view = sources.resolve_or_error(key)
    if snap is not None:
        widgets.state_badge(snap.state)
        st.progress(min(snap.progress, 1.0), text=f"epoch {snap.epoch} of {snap.epochs}")
    if view is None:
        st.info("The model appears when its first epoch ends.", icon=":material/hourglass_empty:")
    else:
        st.markdown(f"**{view.model_title}**, latent {view.latent_dim}, "
                    f"{view.epoch} epoch{'s' if view.epoch != 1 else ''} on {view.config.dataset}")
        st.caption(view.label)
        grid = samples(view.version, int(noise_seed), view.model)
        widgets.image_panel(grid, key=f"{col_key}_samples", title="",
                            caption=f"36 samples, z ~ N(0, I) with seed {noise_seed}",
                            file_stem=f"{view.config.model}_samples_seed{noise_seed}", target_px=340)
    steps = snap.step_history if snap is not None else (view.step_history if view else ())
    family = view.family if view else (snap.config.family if snap else "gan")
    st.plotly_chart(plots.family_loss_figure(family, steps, height=280), key=f"{col_key}_loss")
    st.dataframe(facts(view, snap), hide_index=True)
    return view


def render(snaps_by_id: dict) -> None:
    views = []
    for col, key, col_key in zip(st.columns(2, gap="large"), (left_key, right_key), ("cmp_l", "cmp_r")):
        with col:
            snap = snaps_by_id.get(key[4:]) if key and key.startswith("run:") else None
            views.append(side(key, snap, col_key))
    st.subheader("The same z-grid through both decoders")
    lv, rv = views
    if lv is None or rv is None:
        st.caption("Appears when both models are ready.")
        return
    if lv.latent_dim != rv.latent_dim:
        st.info(f"The two latent spaces differ in size ({lv.latent_dim} vs {rv.latent_dim} dims), so the same z "
                "cannot be fed to both. Train a matched pair (same latent dim) to compare them cell by cell.",
                icon=":material/info:")
        return
    d = lv.latent_dim
    dims = (0, 1) if d >= 2 else (0, 0)
    if d > 2:
        st.caption(f"Grid over z₁ and z₂; the other {d - 2} dims are 0.")
    if d < 2:
        st.caption("1-D latents: no grid to draw.")
        return
    n = 12
    cols = st.columns(2, gap="large")
    for col, view, col_key in zip(cols, views, ("cmp_l", "cmp_r")):
        with col:
            grid = zmap(view.version, dims, n, view.model)
            widgets.image_panel(grid, key=f"{col_key}_map", title=view.model_title,
                                caption=f"{n}×{n} z-grid (normal quantiles), same z in both",
                                file_stem=f"{view.config.model}_zgrid", target_px=420)
    st.caption("A VAE's map is usually smooth and covers every class in order (its codes were pushed towards "
               "the prior); a GAN's can be sharper but may skip classes or fold (mode collapse).")


if left_key is not None and left_key == right_key:
    st.info("Both sides show the same model. Pick another one on the right, or train a matched pair above.",
            icon=":material/info:")

run_ids = [k[4:] for k in (left_key, right_key) if k and k.startswith("run:")]
if run_ids:
    live.live_panel(run_ids, lambda snaps, runners: render({s.run_id: s for s in snaps}))
else:
    render({})

quality.compare_quality((left_key, right_key))
