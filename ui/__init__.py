"""Streamlit-side shared pieces of the dashboard (the engine, gen_core, never imports streamlit).

state     the process-wide run registry (st.cache_resource), run focus ⇄ URL, dataset, device
widgets   progress panel, run controls, epoch-scrubbed image grids, download buttons
live      the polling panel: an st.fragment that redraws from RunSnapshot while a run is active
settings  GAN / VAE settings widgets → a validated TrainConfig (presets included)
sources   pick a model to look at: a run in the registry, a checkpoint file or an upload
"""
