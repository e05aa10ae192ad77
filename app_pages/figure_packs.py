"""Figure packs: every figure of a seed report from its presets, with the report's settings,
downloadable as one zip of PNGs (and GIFs) with a captions file."""
from __future__ import annotations

import streamlit as st

from gen_core.classroom.run_info import RunError
from gen_core.config.checks import ConfigError
from gen_core.figures import packs as fp
from gen_core.presets.registry import get_preset
from gen_core.training.runner import FINAL_STATES
from ui import state


st.title("Figure packs")
st.caption("Reproduce a seed report's figures in a few clicks: each pack trains the report's presets with "
           "its figure settings (how many fixed samples, the latent grid, which epochs in the montage) and "
           "bundles every figure as PNG in one zip, with a captions file naming presets and settings.")

RUNS = "figure_pack_runs"  # session key: {pack: {preset: run_id}}

name = st.selectbox("Pack", list(fp.PACKS), format_func=lambda n: fp.PACKS[n].title, key="pack_name")
pack = fp.PACKS[name]
c = st.columns(4)
n_fixed = c[0].number_input("Fixed samples", 1, 256, fp.REPORT_SAMPLES, key="pack_n_fixed",
                            help="Samples drawn from the same z after every epoch (seed 000: 25).")
grid = c[1].number_input("Latent grid size", 2, 40, fp.REPORT_GRID, key="pack_grid",
                         help="n for the n×n latent grid (seed 000 Fig. 8: 10).")
every = c[2].number_input("Montage: every k-th epoch", 0, 50, 0, key="pack_every",
                          help="0 = as in the report (seed 000 Fig. 7: every 2nd epoch; Figs 12, 14, 16: every one).")
ipe = c[3].number_input("Images per epoch", 0, 60_000, 6400, step=640, key="pack_ipe",
                        help="0 = the whole dataset, as the reports did; fewer makes each epoch quicker.")
settings = fp.FigureSettings(n_fixed=int(n_fixed), latent_grid=int(grid), every=int(every) or None)
runs = st.session_state.setdefault(RUNS, {}).setdefault(name, {})
reg = state.registry()


def config_for(preset: str):
    return fp.pack_config(preset, settings, dataset=get_preset(preset).train_overrides.get("dataset", state.dataset()),
                          device=state.device(), images_per_epoch=int(ipe) or None)


def start(preset: str) -> None:
    try:
        runs[preset] = reg.create(config_for(preset), label=f"{name} · {preset}")
    except (ConfigError, RunError) as e:
        st.error(f"{preset}: {e}")


missing = [p.preset for p in pack.parts if runs.get(p.preset) not in reg]
if missing and st.button(f"Train all {len(pack.parts)} presets", type="primary", key="pack_all",
                         icon=":material/play_arrow:"):
    for preset in missing:
        start(preset)
    st.rerun()

figures, configs, all_done = [], {}, True
for part in pack.parts:
    preset = get_preset(part.preset)
    rid = runs.get(part.preset)
    with st.container(border=True):
        a, b = st.columns([3, 1], vertical_alignment="center")
        a.markdown(f"**{preset.title}** · `{part.preset}` · {preset.train_overrides.get('epochs', 5)} epochs")
        if rid not in reg:
            all_done = False
            if b.button("Train", key=f"pack_train_{part.preset}", icon=":material/play_arrow:"):
                start(part.preset)
                st.rerun()
            continue
        info = reg.info(rid)
        state.touch(rid)
        b.caption(info.status)
        if info.state not in FINAL_STATES:
            all_done = False
            continue
        view = reg.view(rid)
        if view is None or not view.snapshots:
            all_done = False
            continue
        configs[part.preset] = view.config
        figures += fp.figures_for(part, view, settings)
figures += fp.extra_figures(pack, settings)

if any(reg.info(r) is not None and reg.info(r).is_active for r in runs.values() if r in reg):
    @st.fragment(run_every=3.0)
    def _wait() -> None:
        if not any(reg.info(r) is not None and reg.info(r).is_active for r in runs.values() if r in reg):
            st.rerun()
        st.caption(":material/hourglass_top: Training — the figures appear as each preset finishes.")
    _wait()

if figures:
    st.download_button(f"Download {len(figures)} figures (zip)", fp.pack_zip(pack, figures, configs, settings),
                       f"{name}_figures.zip", mime="application/zip", key="pack_zip", type="primary",
                       icon=":material/download:", disabled=not figures)
    if not all_done:
        st.caption("Some presets have not finished: the zip holds the figures drawn so far.")
    cols = st.columns(2)
    for i, f in enumerate(figures):
        with cols[i % 2]:
            if f.image is not None:
                st.image(f.image, caption=f"{f.name} — {f.caption}")
            else:
                st.image(f.gif, caption=f"{f.name} — {f.caption}")
