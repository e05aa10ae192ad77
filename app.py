"""GAN & VAE, live: a teaching dashboard that trains small generative models while a class watches.

    streamlit run app.py

Pages are thin: they read session state, draw widgets, call gen_core and render. The engine
(gen_core) never imports streamlit; training runs in background threads owned by one
process-wide RunRegistry, and pages poll its snapshots.
"""
from __future__ import annotations

import streamlit as st

from ui import deeplinks, identity, present, sidebar, state


present.from_url()  # ?present=1: a projector link opens with the sidebar folded away
st.set_page_config(page_title="GAN & VAE, live", page_icon=":material/auto_awesome:", layout="wide",
                   initial_sidebar_state="collapsed" if present.is_on() else "auto")

PAGES = {
    "home": st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    "train-gan": st.Page("app_pages/train_gan.py", title="Train a GAN", icon=":material/sports_kabaddi:",
                         url_path="train-gan"),
    "train-vae": st.Page("app_pages/train_vae.py", title="Train a VAE", icon=":material/compress:",
                         url_path="train-vae"),
    "latent-explorer": st.Page("app_pages/latent_explorer.py", title="Latent explorer", icon=":material/explore:",
                               url_path="latent-explorer"),
    "compare": st.Page("app_pages/compare.py", title="GAN vs VAE", icon=":material/compare:", url_path="compare"),
    "conditional": st.Page("app_pages/conditional.py", title="Conditional models", icon=":material/label:",
                           url_path="conditional"),
    "your-images": st.Page("app_pages/your_images.py", title="Your images", icon=":material/photo_library:",
                           url_path="your-images"),
    "draw": st.Page("app_pages/draw_encode.py", title="Draw and encode", icon=":material/draw:", url_path="draw"),
    "figure-packs": st.Page("app_pages/figure_packs.py", title="Figure packs", icon=":material/collections:",
                            url_path="figure-packs"),
    "experiments": st.Page("app_pages/experiments.py", title="Experiments", icon=":material/science:",
                           url_path="experiments"),
    "runs": st.Page("app_pages/runs.py", title="Runs", icon=":material/stacked_line_chart:", url_path="runs"),
    "teacher": st.Page("app_pages/teacher.py", title="Teacher", icon=":material/school:", url_path="teacher"),
}
FAMILY_OF_PAGE = {"train-gan": "gan", "train-vae": "vae"}

page = st.navigation({"": [PAGES["home"]],
                      "Train": [PAGES["train-gan"], PAGES["train-vae"]],
                      "Explore": [PAGES["latent-explorer"], PAGES["compare"], PAGES["conditional"],
                                  PAGES["draw"]],
                      "Experiment": [PAGES["experiments"], PAGES["figure-packs"], PAGES["your-images"], PAGES["runs"]],
                      "Class": [PAGES["teacher"]]})
state.sync_from_url()
page_key = next((k for k, p in PAGES.items() if p.url_path == page.url_path), "home")
family = FAMILY_OF_PAGE.get(page_key)
filled = deeplinks.apply_from_url(family)  # ?preset= / ?model=&lr_g=…, before any widget is drawn
present.style()
sidebar.render(family)
with st.sidebar:
    identity.write_cookie()   # this browser's owner token (ui/identity.py)
present.keep_url()
state.show_url_notice()
if filled and family is None:  # a settings link to a page without a form: say where it went
    deeplinks.show_notice()
    st.page_link(PAGES[f"train-{filled}"], label=f"Open Train a {filled.upper()} with the link's settings",
                 icon=":material/arrow_forward:")
page.run()
