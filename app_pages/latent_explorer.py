"""Latent explorer: slide through z, watch the decoded image and where it sits on the latent map;
interpolate between two points (or, for a VAE, between two encoded test images)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from gen_core import figures as plots
from gen_core.data.datasets import load_dataset
from gen_core.data.imaging import gif_bytes, upscale
from gen_core.evaluation import explore
from ui import sources, state, widgets


st.title("Latent explorer")
st.caption("Every point z of the latent space decodes to an image. Move z with the sliders; "
           "the red ring shows where you are on the map of the whole plane.")

if not sources.has_any_model():
    st.info("No trained model yet: train one first (a **2-D linear GAN** or a **2-D MLP VAE** are the best to "
            "explore), or upload a checkpoint below.", icon=":material/info:")
    c = st.columns(2)
    c[0].page_link("app_pages/train_gan.py", label="Train a GAN", icon=":material/sports_kabaddi:")
    c[1].page_link("app_pages/train_vae.py", label="Train a VAE", icon=":material/compress:")

source = sources.picker("Model", key="explore_source", default=f"run:{state.focus()}" if state.focus() else None)
view = sources.resolve_or_error(source)
if view is None:
    if source and source.startswith("run:"):
        st.info("This run has not finished an epoch yet: its model appears here when it has.",
                icon=":material/hourglass_empty:")
    st.stop()

d = view.latent_dim
st.markdown(f"**{view.model_title}** · latent dim **{d}** · "
            f"trained {view.epoch} epoch{'s' if view.epoch != 1 else ''} on {view.config.dataset}")
if source.startswith("run:"):
    state.show_in_url(source[4:])

# ---------------------------------------------------------------- which two dims
if d >= 3:
    c = st.columns(3)
    a = c[0].selectbox("Slider 1 moves", range(d), index=0, format_func=lambda i: f"z{i + 1}", key="explore_dim_a")
    b_opts = [i for i in range(d) if i != a]
    b = c[1].selectbox("Slider 2 moves", b_opts, index=0, format_func=lambda i: f"z{i + 1}", key="explore_dim_b")
    c[2].caption(f"The other {d - 2} dimensions stay at 0 (the prior's mean).")
    dims = (a, b)
elif d == 2:
    dims = (0, 1)
else:
    dims = (0, 0)

MAP_N = 15


@st.cache_data(max_entries=32, show_spinner="Decoding the latent map…")
def latent_map(version: str, dims: tuple[int, int], n: int, _model) -> np.ndarray:
    return explore.latent_map_grid(_model, n, dims)


@st.fragment
def slider_panel() -> None:
    left, right = st.columns([2, 3], gap="large")
    with left:
        za = st.slider(f"z{dims[0] + 1}", -3.0, 3.0, 0.0, 0.05, key="explore_za")
        zb = st.slider(f"z{dims[1] + 1}", -3.0, 3.0, 0.0, 0.05, key="explore_zb", disabled=d < 2)
        image = explore.decode_point(view.model, dims, (za, zb if d >= 2 else za))
        scale = widgets.display_scale(image.shape[1], 300)
        st.image(upscale(image, scale), caption=f"decoded at z{dims[0] + 1} = {za:+.2f}"
                 + (f", z{dims[1] + 1} = {zb:+.2f}" if d >= 2 else ""))
        widgets.download_png("PNG", image, f"decoded_{za:+.2f}_{zb:+.2f}.png", key="explore_png", scale=scale)
    with right:
        if d < 2:
            st.info("A 1-D latent space has no map: the slider is all there is.")
            return
        n = st.select_slider("Map size", [9, 11, 15, 20, 25], value=MAP_N, key="explore_n")
        grid = latent_map(view.version, dims, n, view.model)
        st.plotly_chart(plots.latent_map_figure(grid, n, marker=(za, zb), dims=dims, height=520),
                        key="explore_map")
        st.caption("The map spans the middle 90% of the prior N(0, 1) on each axis (|z| ≤ 1.64), spaced by "
                   "its quantiles; beyond that the ring waits at the edge.")
        widgets.download_png("Latent map PNG", grid, f"latent_map_z{dims[0] + 1}_z{dims[1] + 1}.png",
                             key="explore_map_png", scale=2)


slider_panel()

# ---------------------------------------------------------------- interpolation
st.divider()
st.subheader("Interpolation")
modes = ["points"] + (["images"] if view.family == "vae" else [])
mode = st.radio("Between", modes, horizontal=True, key="explore_mode",
                format_func={"points": "two points in the latent plane",
                             "images": "two encoded test images (VAE)"}.get)
steps = st.slider("Steps", 2, 24, 10, key="explore_steps")

if mode == "points":
    c = st.columns(4)
    a1 = c[0].number_input(f"start z{dims[0] + 1}", -4.0, 4.0, -2.0, 0.1, key="explore_a1")
    a2 = c[1].number_input(f"start z{dims[1] + 1}", -4.0, 4.0, -2.0, 0.1, key="explore_a2", disabled=d < 2)
    b1 = c[2].number_input(f"end z{dims[0] + 1}", -4.0, 4.0, 2.0, 0.1, key="explore_b1")
    b2 = c[3].number_input(f"end z{dims[1] + 1}", -4.0, 4.0, 2.0, 0.1, key="explore_b2", disabled=d < 2)
    z_start = explore.latent_point(d, dims, (a1, a2 if d >= 2 else a1))
    z_end = explore.latent_point(d, dims, (b1, b2 if d >= 2 else b1))
else:
    data = load_dataset(state.dataset())
    n_test = len(data.test_images)
    c = st.columns([1, 1, 2])
    i1 = c[0].number_input("Test image A (index)", 0, n_test - 1, 0, key="explore_i1")
    i2 = c[1].number_input("Test image B (index)", 0, n_test - 1, 1, key="explore_i2")
    originals = explore.test_images(data, [i1, i2])
    c[2].image([upscale(originals[0], 3), upscale(originals[1], 3)], caption=["A", "B"])
    means = explore.encode_test_images(view.model, data, [i1, i2])
    z_start, z_end = means[0], means[1]
    st.caption(f"A and B are encoded to their posterior means μ(x) (all {d} dims), then the line between them is "
               f"decoded. Images from {data.message.split(':')[0]}.")

frames = explore.interpolation_frames(view.model, z_start, z_end, steps)
strip_img = explore.strip(frames)
scale = widgets.display_scale(strip_img.shape[1], 1100, max_scale=4)
st.image(upscale(strip_img, scale), caption=f"{steps} steps from start to end")
gif_scale = widgets.display_scale(frames[0].shape[1], 196)
left, right = st.columns([1, 3])
with left:
    loop = frames + frames[-2:0:-1]  # there and back again
    st.image(gif_bytes(loop, duration_ms=150, scale=gif_scale), caption="animated")
with right:
    widgets.download_png("Strip PNG", strip_img, "interpolation.png", key="explore_strip_png", scale=scale)
    widgets.download_gif("Animated GIF", loop, "interpolation.gif", key="explore_gif", scale=gif_scale,
                         duration_ms=150)
