"""Your own images: the built-in coloured shapes or a zip of PNG/JPEG files → a DCGAN or conv VAE
in colour at 32 or 64 px; and the β-VAE traversal demo on the shapes (Higgins et al. 2017)."""
from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from gen_core.classroom.run_info import RunError
from gen_core.config.checks import ConfigError
from gen_core.config.models import ConvVAEConfig, DCGANConfig
from gen_core.config.train import TrainConfig
from gen_core.data import shapes
from gen_core.data.image_folders import MAX_FILES, MAX_TOTAL_BYTES, ImageFolderError, load_images_report
from gen_core.data.imaging import make_grid
from ui import state, widgets


st.title("Your images")
st.caption("Train on colour pictures: the built-in coloured shapes (generated in code, no download) or a zip "
           "of your own PNG/JPEG files — one folder per class if you have classes. Every picture is "
           "centre-cropped to a square and resized.")

UPLOADS = "your_images_data"   # session key: {digest: (ImageData, LoadReport)}

source = st.radio("Images", ["shapes", "upload"], horizontal=True, key="img_source",
                  format_func={"shapes": "Coloured shapes (built in)", "upload": "Upload a zip"}.get)
data, report = None, None
if source == "shapes":
    data = st.cache_resource(show_spinner="Drawing 14,000 shapes…")(shapes.load_shapes)()
    side, channels = 32, 3
else:
    c = st.columns(3)
    side = c[0].selectbox("Image size", [32, 64], key="img_side", format_func=lambda s: f"{s}×{s} px")
    channels = c[1].radio("Colour", [3, 1], key="img_channels", horizontal=True,
                          format_func={3: "RGB", 1: "grey"}.get)
    upload = st.file_uploader(f"Zip of PNG/JPEG images (at most {MAX_FILES:,} images, "
                              f"{MAX_TOTAL_BYTES // 2**20} MB)", type=["zip"], key="img_zip")
    if upload is not None:
        raw = upload.getvalue()
        digest = f"{hashlib.sha1(raw).hexdigest()[:16]}-{side}-{channels}"
        cache = st.session_state.setdefault(UPLOADS, {})
        if digest not in cache:
            try:
                with st.spinner("Reading the images…"):
                    name = "".join(ch for ch in upload.name.rsplit(".", 1)[0] if ch.isalnum() or ch in "-_")[:40]
                    cache.clear()  # one upload per session: images take memory
                    cache[digest] = load_images_report(raw, image_size=side, channels=channels,
                                                       name=name or "upload")
            except ImageFolderError as e:
                st.error(str(e), icon=":material/error:")
        if digest in cache:
            data, report = cache[digest]

if data is None:
    st.info("Upload a zip to see your images here.", icon=":material/upload:")
    st.stop()

st.success(data.message, icon=":material/image:")
left, right = st.columns([2, 1])
with left:
    preview = data.train_images[:64].numpy()
    widgets.image_panel(make_grid(preview, nrow=8), key="img_preview", title="The first 64 training images",
                        file_stem="your_images_preview", target_px=420)
with right:
    counts = np.bincount(data.train_labels.numpy(), minlength=data.num_classes)
    st.markdown("**Images per class**")
    st.dataframe({"class": list(data.classes), "images": counts.tolist()}, hide_index=True)

st.subheader("Train on them")
c = st.columns(4)
model = c[0].selectbox("Model", ["conv-vae", "dcgan"], key="img_model",
                       format_func={"conv-vae": "Conv VAE", "dcgan": "DCGAN"}.get)
epochs = c[1].number_input("Epochs", 1, 200, 10, key="img_epochs")
latent = c[2].number_input("Latent dim", 2, 256, 6 if source == "shapes" else 32, key="img_latent")
beta = c[3].number_input("β (VAE)", 0.0, 100.0, 4.0 if source == "shapes" else 1.0, step=0.5, key="img_beta",
                         disabled=model != "conv-vae",
                         help="β > 1 (β-VAE, Higgins et al. 2017) trades reconstruction for a code whose "
                              "dimensions follow separate factors.")
n_train = len(data.train_images)
dataset = "shapes" if source == "shapes" else data.name
try:
    if model == "conv-vae":
        mc = ConvVAEConfig(latent_dim=int(latent), image_size=side, channels=channels)
    else:
        mc = DCGANConfig(latent_dim=int(latent), image_size=side, channels=channels)
    cfg = TrainConfig(model=model, model_config=mc, dataset=dataset, device=state.device(), epochs=int(epochs),
                      batch_size=min(64, n_train), images_per_epoch=min(n_train, 6400), beta=float(beta),
                      val_images=min(len(data.test_images), 1000))
except ConfigError as e:
    st.error(str(e))
    cfg = None
if st.button("Start training", type="primary", key="img_start", disabled=cfg is None,
             icon=":material/play_arrow:"):
    try:
        rid = state.registry().create(cfg, data=data)
        state.set_focus(rid)
        st.session_state["img_run"] = rid
    except (ConfigError, RunError) as e:
        st.error(str(e))
rid = st.session_state.get("img_run")
if rid and rid in state.registry():
    info = state.registry().info(rid)
    st.caption(f"Run `{rid}`: {info.status}.")
    target = "app_pages/train_vae.py" if info.family == "vae" else "app_pages/train_gan.py"
    st.page_link(target, label="Watch it train", icon=":material/monitoring:")

# ------------------------------------------------------------------ β-VAE traversal demo
if source == "shapes":
    st.subheader("β-VAE: one factor per dimension?")
    st.caption("Higgins et al. (2017): with β > 1 each latent dimension tends to follow one factor of "
               "variation. The shapes have five known factors — shape, colour, scale, x, y — so we can check. "
               "Train a Conv VAE above (the defaults: 6-D latent, β = 4), then look here.")
    view = state.registry().view(rid) if rid and rid in state.registry() else None
    if view is None or view.family != "vae" or view.config.dataset != "shapes":
        st.info("No finished epoch of a VAE on the shapes yet.", icon=":material/hourglass_empty:")
        st.stop()
    dims = [d for d, _ in shapes.active_dims(view.model, data)]
    values = [float(v) for v in np.linspace(-2.5, 2.5, 9)]
    i = st.number_input("Start from test image", 0, len(data.test_images) - 1, 0, key="img_base")
    grid = shapes.latent_traversal(view.model, data.test_images[int(i)], dims, values)
    a, b = st.columns([3, 2])
    with a:
        widgets.image_panel(grid, key="img_traversal", title="Latent traversals",
                            caption="Row k: one latent dimension swept from −2.5 to 2.5 (most used first), the "
                                    "others fixed at the encoding of the test image.",
                            file_stem="beta_vae_traversal", target_px=420)
    with b:
        corr = shapes.factor_correlations(view.model, data, shapes.test_factors())
        st.markdown("**|correlation| of each dimension with each factor**")
        st.dataframe({"dim": [f"z{d + 1}" for d in dims],
                      **{f: [round(float(corr[d, j]), 2) for d in dims] for j, f in enumerate(shapes.FACTORS)}},
                     hide_index=True)
        st.caption("A disentangled code has one large number per row. Shape and colour are categories, so a "
                   "linear correlation understates them; x, y and scale read directly.")
