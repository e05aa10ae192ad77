"""Home: what GANs and VAEs are, their objectives, this machine, and where to go next."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from gen_core.config.train import DATASET_NAMES
from gen_core.data.datasets import DATASETS, dataset_status, load_dataset
from gen_core.data.imaging import make_grid, upscale
from gen_core.training.device import device_description
from ui import sidebar, state


# Each objective on two aligned lines: on one line the GAN's is ~480 px wide and was clipped in its
# half-page column even on a 1440 px screen (the column is ~460 px there).
GAN_OBJECTIVE = (r"\begin{aligned} \min_G \max_D \;& \mathbb{E}_{x \sim p_\text{data}}\big[\log D(x)\big] \\"
                 r" &+ \mathbb{E}_{z \sim p(z)}\big[\log\big(1 - D(G(z))\big)\big] \end{aligned}")
VAE_OBJECTIVE = (r"\begin{aligned} \mathcal{L}_\text{ELBO}(x) =\;& \mathbb{E}_{q(z \mid x)}\big[\log p(x \mid z)\big]"
                 r" \\ &- \mathrm{KL}\big(q(z \mid x) \,\|\, p(z)\big) \end{aligned}")

st.title("GANs and VAEs, trained live")
# Only name the datasets this server can really train on (the sidebar lists the rest with their status).
_OTHERS = {"fashion-mnist": "clothes", "kmnist": "cursive Japanese"}
_here = [what for name, what in _OTHERS.items() if dataset_status(name) == "full"]
st.write("Train small generative models on handwritten digits"
         + (f" (or {' or '.join(_here)})" if _here else "")
         + " and watch them learn, epoch by epoch. Everything runs on this machine, in front of you.")
_data = load_dataset(state.dataset())
st.image(upscale(make_grid(_data.train_images[:32].numpy(), nrow=32), 2),
         caption=f"What the models learn from: the first 32 training images of {_data.message.split(':')[0]}")

gan, vae = st.columns(2, gap="large")
with gan:
    st.subheader(":material/sports_kabaddi: Generative adversarial network")
    st.write("Two networks play a game. The **generator** G turns random noise z into an image; the "
             "**discriminator** D looks at an image and says how likely it is to be real. D learns to "
             "tell real from fake, G learns to fool D. When neither can improve, G's images look like "
             "the data (Goodfellow et al., 2014).")
    st.latex(GAN_OBJECTIVE)
    st.page_link("app_pages/train_gan.py", label="Train a GAN", icon=":material/arrow_forward:")
with vae:
    st.subheader(":material/compress: Variational autoencoder")
    st.write("An **encoder** squeezes an image into a few numbers: the mean and spread of a code z. A "
             "**decoder** turns a code back into an image. Training rewards good reconstructions while "
             "keeping the codes close to a standard normal, so any z drawn from N(0, I) decodes to a "
             "plausible image (Kingma & Welling, 2014).")
    st.latex(VAE_OBJECTIVE)
    st.page_link("app_pages/train_vae.py", label="Train a VAE", icon=":material/arrow_forward:")

st.divider()
where, data = st.columns(2, gap="large")
with where:
    st.subheader("Explore what they learned")
    st.page_link("app_pages/latent_explorer.py", label="Latent explorer: move through z and watch the image change",
                 icon=":material/explore:")
    st.page_link("app_pages/compare.py", label="GAN vs VAE: the same noise through both, side by side",
                 icon=":material/compare:")
    st.subheader("This machine")
    st.write(f"Training device: **{device_description(state.device())}**")
    runs = state.registry().list()
    if runs:
        st.write(f"Runs in memory: {len(runs)} "
                 f"({sum(r.is_active for r in runs)} training).")
with data:
    st.subheader("Datasets")
    rows = [{"dataset": DATASETS[n].title, "status": sidebar.STATUS_TEXT[dataset_status(n)]}
            for n in DATASET_NAMES]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption(f"Selected in the sidebar: **{DATASETS[state.dataset()].title}**.")
