"""Draw and encode: where does the encoder put your digit? q(z|x) as an ellipse over held-out data,
the reconstruction, and for 2-D latents the decoded neighbourhood (after VAE Explainer)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from gen_core.data.datasets import load_dataset
from gen_core.evaluation.drawing import DrawingError, encode_drawing, prepare_drawing
from gen_core.figures.drawing import drawing_in_latent_figure
from gen_core.models.sampling import encode_means
from ui import sources, state, widgets


st.title("Draw and encode")
st.caption("Draw a digit (or upload a photo of one): the VAE's encoder turns it into a distribution "
           "q(z|x) = N(μ, σ²) — the ellipse — among the codes of real held-out digits, and the decoder "
           "shows what it makes of it.")

try:  # a maintained drawing component, where it installs and works with this Streamlit
    from streamlit_drawable_canvas import st_canvas
except Exception:  # noqa: BLE001 — missing, or incompatible with this Streamlit version
    st_canvas = None

source = sources.picker("VAE", key="draw_source", family="vae",
                        default=f"run:{state.focus('vae')}" if state.focus("vae") else None)
view = sources.resolve_or_error(source)
if view is None:
    st.info("Pick or train a VAE first (the shipped 2-D MLP VAE is the clearest).", icon=":material/info:")
    st.page_link("app_pages/train_vae.py", label="Train a VAE", icon=":material/compress:")
    st.stop()
model, cfg = view.model, view.config
if model.image_shape[0] != 1:
    st.warning("This VAE works on colour images; drawing needs a grey-scale digit model.")
    st.stop()

left, right = st.columns([1, 2], gap="large")
with left:
    picture = None
    if st_canvas is not None:
        result = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000", height=280,
                           width=280, drawing_mode="freedraw", key="draw_canvas")
        picture = None if result is None or result.image_data is None else result.image_data
    else:
        st.caption("No drawing canvas here (streamlit-drawable-canvas is not installed or does not work with "
                   "this Streamlit): upload a picture of a digit instead — dark on white paper or white on "
                   "black both work — or use a held-out test digit.")
        upload = st.file_uploader("Picture of a digit", type=["png", "jpg", "jpeg"], key="draw_upload")
        if upload is not None:
            picture = upload.getvalue()
    use_test = picture is None
    if use_test:
        data = load_dataset(cfg.dataset, cfg.data_root)
        idx = st.number_input("…or a held-out test image", 0, len(data.test_images) - 1, 0, key="draw_test")
        picture = data.test_images[int(idx)].numpy()
    label = None
    if getattr(model, "conditional", False):
        label = st.selectbox("Label given to the conditional VAE", list(range(model.num_classes)), key="draw_label")
    try:
        x = prepare_drawing(picture, model.image_shape[-1])
        enc = encode_drawing(model, x, label=label)
    except DrawingError as e:
        st.info(str(e), icon=":material/draw:")
        st.stop()
    a, b = st.columns(2)
    a.image(np.kron(enc.input_image, np.ones((6, 6), np.uint8)), caption="what the encoder sees")
    b.image(np.kron(enc.reconstruction, np.ones((6, 6), np.uint8)), caption="decode(μ)")
    st.caption("μ = (" + ", ".join(f"{v:.2f}" for v in enc.mu[:6]) + (", …" if len(enc.mu) > 6 else "") +
               ")  ·  σ = (" + ", ".join(f"{v:.2f}" for v in enc.sigma[:6]) + (", …" if len(enc.sigma) > 6 else "") + ")")


@st.cache_data(max_entries=8, show_spinner="Encoding held-out images…")
def held_out_means(version: str, dataset: str, root, _model) -> tuple[np.ndarray, np.ndarray]:
    data = load_dataset(dataset, root)
    n = min(2000, len(data.test_images))
    x = data.test_images[:n].float()[:, None] / 255.0
    if x.shape[-1] != _model.image_shape[-1]:
        import torch.nn.functional as F
        x = F.interpolate(x, size=_model.image_shape[-2:], mode="bilinear", align_corners=False)
    kw = {}
    if getattr(_model, "conditional", False):
        import torch
        was = _model.training
        _model.eval()
        with torch.no_grad():
            mu = torch.cat([_model.encode(c, y)[0] for c, y in zip(x.split(500), data.test_labels[:n].split(500))])
        _model.train(was)
        return mu.numpy(), data.test_labels[:n].numpy()
    return encode_means(_model, x, **kw).numpy(), data.test_labels[:n].numpy()


with right:
    means, labels = held_out_means(view.version, cfg.dataset, cfg.data_root, model)
    from gen_core.data.datasets import DATASETS
    info = DATASETS.get(cfg.dataset)
    classes = info.classes if info else [str(i) for i in range(int(labels.max()) + 1)]
    dims = (0, 1)
    if model.latent_dim > 2:
        c = st.columns(2)
        d0 = c[0].selectbox("x axis", range(model.latent_dim), 0, format_func=lambda i: f"z{i + 1}", key="draw_d0")
        d1 = c[1].selectbox("y axis", [i for i in range(model.latent_dim) if i != d0], 0,
                            format_func=lambda i: f"z{i + 1}", key="draw_d1")
        dims = (d0, d1)
    if model.latent_dim >= 2:
        st.plotly_chart(drawing_in_latent_figure(means, labels, classes, enc.mu, enc.sigma, dims=dims),
                        key="draw_scatter")
    if enc.neighbourhood is not None:
        widgets.image_panel(enc.neighbourhood, key="draw_neigh", title="The neighbourhood of your drawing",
                            caption=f"decode(z) on a {enc.neighbourhood_n}×{enc.neighbourhood_n} grid over "
                                    "μ ± 2σ: what nearby codes look like", file_stem="drawing_neighbourhood",
                            target_px=360)
