"""Measured quality in the dashboard (gen_core.evaluation.metrics / gen_core.evaluation.reading), shared by the pages.

reference(...)        real test vs real train scores, computed once per (dataset, n) for the server
train_quality(...)    the Train pages: FID / IS / precision & recall over epochs or training seconds
compare_quality(...)  GAN vs VAE: metric table, class histograms and a sentence that reads them
"""
from __future__ import annotations

import streamlit as st

from gen_core import figures as plots
from gen_core.data.datasets import DATASETS, load_dataset
from gen_core.evaluation import reading
from gen_core.evaluation.metrics import METRIC_HELP
from gen_core.training.runner import FINAL_STATES

from . import sources


COMPARE_N = 2000            # samples per model on the GAN vs VAE page (as the shipped checkpoints)
SECONDS_PER_1000 = 3.0      # rough CPU cost of scoring 1,000 samples (captions only; varies with load)
MEASURED = "compare_measured"  # session key: model versions the user asked to score
SIDE_COLORS = ("#EF553B", "#636EFA")


def _title(dataset: str) -> str:
    info = DATASETS.get(dataset)
    return info.title if info else dataset


def data_name(dataset: str, data_root: str | None = None) -> str:
    """The dataset a run actually trains on (mnist may fall back to mnist-mini)."""
    return load_dataset(dataset, data_root).name


@st.cache_resource(max_entries=16, show_spinner=False)
def _reference(dataset: str, n: int) -> dict | None:
    return reading.reference_scores(load_dataset(dataset), n)


def reference(dataset: str, n: int) -> dict | None:
    """Real held-out images scored against real training images with the same n (cached per server)."""
    if not reading.evaluator_available(dataset):
        return None
    with st.spinner(f"Scoring {n:,} real images once, for the real-data reference…"):
        try:
            return _reference(dataset, int(n))
        except Exception as e:  # noqa: BLE001 — a reference line is a help, never a reason to fail a page
            st.caption(f"No real-data reference: {e}")
            return None


@st.cache_data(max_entries=32, show_spinner=False)
def _measured(version: str, dataset: str, n: int, family: str, recon_loss: str, _model) -> dict | None:
    """Scores of one model version (a run id + epoch, or a checkpoint file + mtime)."""
    return reading.measure(_model, load_dataset(dataset), n, family=family, recon_loss=recon_loss)


@st.cache_data(max_entries=32, show_spinner=False)
def _model_sharpness(version: str, dataset: str, n: int, _model) -> dict:
    from gen_core.evaluation.metrics import model_sharpness
    return model_sharpness(_model, load_dataset(dataset), n)


@st.cache_resource(max_entries=16, show_spinner=False)
def _real_sharpness(dataset: str, n: int) -> dict:
    from gen_core.evaluation.metrics import real_sharpness
    return real_sharpness(load_dataset(dataset), n)


def scoring_seconds(n: int) -> float:
    """Rough CPU seconds to score n samples (for captions; a GPU is much faster)."""
    return SECONDS_PER_1000 * n / 1000


def _help(keys) -> None:
    st.caption("  \n".join(METRIC_HELP.get(k, reading.HELP.get(k, "")) for k in keys))


# ---------------------------------------------------------------------------
# Train pages
# ---------------------------------------------------------------------------

def train_quality(snap, *, key: str) -> None:
    """Quality charts of a run that scores itself (`metrics_every` > 0); nothing when it does not."""
    cfg = snap.config
    if not cfg.metrics_every:
        return
    st.markdown("#### Measured quality")
    name = data_name(cfg.dataset, cfg.data_root)
    if not reading.evaluator_available(name):
        st.info(f"No evaluator was trained for {_title(name)}, so this run cannot score its samples. "
                "MNIST and Fashion-MNIST have one.", icon=":material/info:")
        return
    epochs = snap.epoch_history
    if not plots.has_quality(epochs):
        first = min(cfg.metrics_every, cfg.epochs)
        st.caption(f":material/hourglass_empty: FID, Inception Score, precision and recall appear after epoch "
                   f"{first} ({cfg.metrics_samples:,} samples scored every {cfg.metrics_every} "
                   f"epoch{'s' if cfg.metrics_every != 1 else ''}).")
        return
    ref = reference(name, cfg.metrics_samples)
    x = st.segmented_control("Quality against", ["epoch", "time"], default="epoch", required=True,
                             key=f"{key}_x", format_func={"epoch": "epochs", "time": "training seconds"}.get,
                             help="Training seconds answer 'how long until the digits are good?' "
                                  "(scoring time is not counted).") or "epoch"
    cols = st.columns(3)
    with cols[0]:
        st.plotly_chart(plots.quality_figure(epochs, "fid", x=x, reference=ref, height=280), key=f"{key}_fid")
        _help(["fid"])
    with cols[1]:
        st.plotly_chart(plots.quality_figure(epochs, "inception_score", x=x, reference=ref, height=280),
                        key=f"{key}_is")
        _help(["inception_score"])
    with cols[2]:
        st.plotly_chart(plots.precision_recall_figure(epochs, x=x, reference=ref, height=280), key=f"{key}_pr")
        _help(["precision", "recall", "sharpness"])
    scored = [e for e in epochs if "fid" in e]
    last = scored[-1]
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.plotly_chart(plots.class_histogram_figure(
            last.get("class_histogram"), dataset=name, reference=(ref or {}).get("class_histogram"),
            title=f"Which classes does it generate? (epoch {last['epoch']})", height=280), key=f"{key}_hist")
    with right:
        sentence = reading.time_to_quality(epochs, (ref or {}).get("fid"))
        if sentence:
            st.markdown(sentence)
        missing = int(last.get("missing_classes", 0) or 0)
        st.markdown(f"At epoch {last['epoch']}: **{missing}** missing class{'es' if missing != 1 else ''}, "
                    f"KL to uniform **{last.get('kl_to_uniform', float('nan')):.3f}**"
                    + (f", **{last['active_units']}** of {cfg.model_config.latent_dim} latent units active"
                       if "active_units" in last else "") + ".")
        _help(["kl_to_uniform", "missing_classes"] + (["active_units"] if "active_units" in last else []))
        st.caption(f"{cfg.metrics_samples:,} samples per score; scoring took "
                   f"{last.get('metrics_seconds', 0):.1f} s at epoch {last['epoch']} (not counted as training "
                   "time). The dashed lines score real test images against real training images. "
                   + reading.EVALUATOR_CAPTION)


# ---------------------------------------------------------------------------
# GAN vs VAE
# ---------------------------------------------------------------------------

def _names(views) -> list[str]:
    titles = [v.model_title for v in views]
    if titles[0] == titles[1]:
        return [f"{titles[0]}, left", f"{titles[1]}, right"]
    return titles


def compare_quality(keys: tuple[str | None, str | None], *, key: str = "cmp_q") -> None:
    """Metric table (rows = metrics; columns = both models and real data), class histograms, a reading."""
    st.subheader("Measured quality")
    views = []
    for k in keys:
        try:
            views.append(sources.resolve(k))
        except sources.CheckpointError:
            views.append(None)
    if any(v is None for v in views) or keys[0] == keys[1]:
        st.caption("Appears when two different models are ready.")
        return
    datasets = [data_name(v.config.dataset, v.config.data_root) for v in views]
    lacking = sorted({d for d in datasets if not reading.evaluator_available(d)})
    if lacking:
        st.info(f"No evaluator was trained for {', '.join(_title(d) for d in lacking)}, so these samples "
                "cannot be scored. MNIST and Fashion-MNIST have one.", icon=":material/info:")
        return
    names = _names(views)
    shipped = [sources.shipped_scores(k) for k in keys]
    scores = [reading.flat_scores(m) for m, _ in shipped]
    missing = [i for i in (0, 1) if scores[i] is None]
    if missing:
        asked = st.session_state.setdefault(MEASURED, set())
        versions = [views[i].version for i in missing]
        if not all(v in asked for v in versions):
            training = [names[i] for i in missing if views[i].state not in FINAL_STATES + ("checkpoint",)]
            cost = scoring_seconds(COMPARE_N) * len(missing)
            who = "both models" if len(missing) == 2 else names[missing[0]]
            st.button("Measure quality", icon=":material/speed:", type="primary", key=f"{key}_measure",
                      on_click=asked.update, args=(versions,),
                      help="FID, KID, Inception Score, precision & recall and the class histogram.")
            st.caption(f"Scores {COMPARE_N:,} samples of {who} against real images with the evaluator "
                       f"(about {cost:.0f} s on a CPU). Shipped checkpoints carry their scores already."
                       + (f" {', '.join(training)} is still training: you get the scores of its latest epoch."
                          if training else ""))
            return
        with st.spinner(f"Measuring {who_list(names, missing)} on {COMPARE_N:,} samples…"):
            for i in missing:
                v = views[i]
                try:
                    scores[i] = reading.flat_scores(_measured(v.version, datasets[i], COMPARE_N, v.family,
                                                              v.config.recon_loss, v.model))
                except Exception as e:  # noqa: BLE001 — a model that cannot be scored must not break the page
                    st.error(f"Could not score {names[i]}: {type(e).__name__}: {e}")
                    return
    if any(s is None for s in scores):
        st.info("These models cannot be scored (no evaluator for their data).", icon=":material/info:")
        return

    # One real-data column per dataset, at the models' sample size.
    n = int(scores[0].get("n") or COMPARE_N)
    refs: dict[str, dict | None] = {}
    for i, ds in enumerate(datasets):
        if ds in refs:
            continue
        ship_ref = reading.clean_scores(shipped[i][1]) if shipped[i][1] else None
        refs[ds] = ship_ref if ship_ref and int(ship_ref.get("n", -1)) == n else reference(ds, n)
    # Checkpoints saved before sharpness was measured: add it (pixels only, about a second each).
    if any("sharpness" not in s for s in scores) or any(r and "sharpness" not in r for r in refs.values()):
        with st.spinner("Measuring sharpness…"):
            for i, v in enumerate(views):
                if "sharpness" not in scores[i]:
                    scores[i] = reading.add_sharpness(scores[i], _model_sharpness(v.version, datasets[i], n, v.model))
            for ds, ref in refs.items():
                if ref and "sharpness" not in ref:
                    refs[ds] = reading.add_sharpness(ref, _real_sharpness(ds, n))
    same = len(refs) == 1
    columns = {names[0]: scores[0], names[1]: scores[1]}
    for ds, ref in refs.items():
        columns["real data" if same else f"real data ({_title(ds)})"] = ref
    table, text = st.columns([3, 2], gap="large")
    with table:
        st.dataframe(reading.score_table(columns), width="stretch")
    with text:
        st.markdown("**Reading the numbers**")
        st.markdown(reading.read_comparison(scores[0], scores[1], f"the {names[0]}", f"the {names[1]}",
                                            reference=refs[datasets[0]] if same else None, same_data=same))
    sharp_col, sharp_text = st.columns([2, 3], gap="large")
    with sharp_col:
        ref_sharp = (refs.get(datasets[0]) or {}).get("sharpness") if same else None
        st.plotly_chart(plots.sharpness_figure(
            names, [s.get("sharpness") for s in scores], [(s.get("noise") or {}).get("sharpness") for s in scores],
            reference=ref_sharp, colors=SIDE_COLORS), key=f"{key}_sharp")
    with sharp_text:
        st.markdown("**What blur looks like in numbers**")
        st.caption(METRIC_HELP["sharpness"] + " A VAE is trained to reconstruct each image on average, so its "
                   "samples come out soft (below 1); a GAN's critic punishes blur, so its samples keep sharp "
                   "edges (≈ 1) — and a grainy, noisy GAN scores above 1. Bars show ± 2 standard errors; the "
                   "dashed line is real test images.")
    cols = st.columns(2, gap="large")
    for i, col in enumerate(cols):
        with col:
            ref = refs.get(datasets[i]) or {}
            st.plotly_chart(plots.class_histogram_figure(
                scores[i].get("class_histogram"), dataset=datasets[i], reference=ref.get("class_histogram"),
                title=f"{names[i]}: which classes it generates", color=SIDE_COLORS[i], height=300),
                key=f"{key}_hist_{i}")
    with st.expander("What the numbers mean", icon=":material/help:"):
        st.markdown("\n".join(f"- {line}" for line in reading.help_lines()))
        st.caption("↓ lower is better, ↑ higher is better. The real-data column scores real test images "
                   "against real training images with the same number of samples: the best a model can do.")
    st.caption(f"{n:,} samples per model. {reading.EVALUATOR_CAPTION}")


def who_list(names, idx) -> str:
    return " and ".join(names[i] for i in idx)
