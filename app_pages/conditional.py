"""Conditional models: pick a label and see it drawn; the same z under every label; per-class quality."""
from __future__ import annotations

import streamlit as st

from gen_core.config.checks import ConfigError
from gen_core.evaluation import conditional
from gen_core.evaluation.evaluator import load_evaluator
from gen_core.figures.conditional import class_accuracy_figure, confusion_figure
from gen_core.models.registry import MODELS
from gen_core.presets.registry import get_preset
from ui import sources, state, widgets
from ui.trainpage import start_run


st.title("Conditional models")
st.caption("A conditional GAN or VAE takes the class as an input next to z: ask for a 7 and it draws a 7. "
           "Train one here (about a minute per epoch on a CPU) or pick one you trained.")

CONDITIONAL = {name for name, spec in MODELS.items() if spec.conditional}
PRESETS = {"gan": "seed002-cgan", "vae": "seed000-cvae"}

c = st.columns(2)
for col, family, label in ((c[0], "gan", "Train a conditional GAN"), (c[1], "vae", "Train a conditional VAE")):
    preset = get_preset(PRESETS[family])
    if col.button(label, key=f"cond_train_{family}", icon=":material/play_arrow:", help=preset.note,
                  width="stretch"):
        try:
            start_run(preset.to_config(dataset=state.dataset(), device=state.device()))
        except ConfigError as e:
            st.error(str(e))

def _conditional_keys() -> dict[str, str]:
    out = {}
    for key, text in {**sources.run_options(), **sources.file_options()}.items():
        if key.startswith("run:"):
            info = state.registry().info(key[4:])
            if info is not None and info.model in CONDITIONAL:
                out[key] = text
        else:
            try:
                view = sources.resolve(key)
            except sources.CheckpointError:
                continue
            if view is not None and view.config.model in CONDITIONAL:
                out[key] = text
    return out


options = _conditional_keys()
if not options:
    st.info("No conditional model yet: press one of the buttons above.", icon=":material/info:")
    st.stop()
focus = state.focus()
keys = list(options)
if st.session_state.get("cond_source") not in keys:
    st.session_state["cond_source"] = f"run:{focus}" if f"run:{focus}" in keys else keys[0]
source = st.selectbox("Model", keys, format_func=options.get, key="cond_source")


def panel() -> None:
    view = sources.resolve_or_error(source)
    if view is None:
        st.info("This run has not finished an epoch yet: its model appears here when it has.",
                icon=":material/hourglass_empty:")
        return
    model, cfg = view.model, view.config
    classes = conditional.class_names(cfg)
    st.markdown(f"**{view.model_title}** · latent {view.latent_dim} · {len(classes)} classes · "
                f"trained {view.epoch} epoch{'s' if view.epoch != 1 else ''} on {cfg.dataset} "
                f"({view.state})")
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Pick a label**")
        a, b = st.columns([3, 1])
        label = a.segmented_control("Label", list(range(len(classes))), format_func=lambda i: classes[i],
                                    key="cond_label", default=0) or 0
        seed = b.number_input("Noise seed", 0, 10_000, 0, key="cond_seed")
        widgets.image_panel(conditional.label_samples(model, label, 16, seed=int(seed)), key="cond_label_img",
                            title="", caption=f"16 samples, each with its own z, all asked for “{classes[label]}”",
                            file_stem=f"cond_{cfg.model}_label_{label}", target_px=320)
    with right:
        st.markdown("**Same z, every label**")
        n_z = st.slider("Rows (one z each)", 2, 12, 6, key="cond_rows")
        widgets.image_panel(conditional.same_z_grid(model, n_z, seed=int(seed)), key="cond_grid", title="",
                            caption="Rows: one z each. Columns: labels "
                                    f"{classes[0]} … {classes[-1]}. Across a row only the label changes, so "
                                    "what stays the same (slant, thickness) is what z encodes.",
                            file_stem=f"cond_{cfg.model}_same_z", target_px=420)
    st.markdown("**Per-class quality**")
    evaluator = load_evaluator(cfg.dataset)
    if evaluator is None:
        st.caption(f"No evaluator CNN for {cfg.dataset}: per-class quality needs one.")
        return
    n = st.select_slider("Samples per class", [50, 100, 200, 500], value=100, key="cond_n")
    if st.button("Score every class", key="cond_score", icon=":material/fact_check:"):
        st.session_state["cond_scores"] = (view.version, n, conditional.class_accuracy(model, evaluator, n))
    scored = st.session_state.get("cond_scores")
    if scored and scored[0] == view.version:
        result = scored[2]
        st.markdown(f"The evaluator reads **{100 * result['overall']:.0f}%** of the samples as the class they "
                    f"were asked for (chance: {100 * result['chance']:.0f}%, {scored[1]} samples per class).")
        a, b = st.columns(2)
        a.plotly_chart(class_accuracy_figure(result["per_class"], classes, result["chance"]), key="cond_acc")
        b.plotly_chart(confusion_figure(result["confusion"], classes), key="cond_conf")
    else:
        st.caption("Draws samples for each label and asks the evaluator CNN (trained on the real dataset) "
                   "what it sees. Low bars: classes the model has not learnt to draw yet.")


if source.startswith("run:"):
    state.touch(source[4:])
    info = state.registry().info(source[4:])
    if info is not None and info.is_active:
        st.caption(f":material/model_training: {info.status} — the pictures follow the latest finished epoch.")

        @st.fragment(run_every=3.0)
        def live() -> None:
            state.touch(source[4:])
            now = state.registry().info(source[4:])
            if now is None or not now.is_active:
                st.rerun()  # finished: redraw once without the timer
            panel()
        live()
    else:
        panel()
else:
    panel()
