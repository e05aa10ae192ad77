"""gen_core.experiments (ablation sweeps) and gen_core.evaluation.reading (metric tables and sentences)."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest

from conftest import tiny_config
from gen_core import experiments as ex
from gen_core.config.checks import ConfigError
from gen_core.evaluation import reading


JOIN_S = 60
pytestmark = pytest.mark.filterwarnings("ignore:Metric .* will save all extracted features:UserWarning")


def tiny_base(model: str = "mlp-gan", **kw):
    base = dict(epochs=1, images_per_epoch=64, batch_size=32)
    base.update(kw)
    return tiny_config(model, **base)


# ---------------------------------------------------------------------------- sweeps

def test_tiny_sweep_runs_values_in_order(mini_data):
    sweep = ex.Sweep(tiny_base(), "lr_g", [1e-4, 1e-3], seeds=[0], data=mini_data).start()
    assert sweep.join(JOIN_S)
    snap = sweep.snapshot()
    assert snap.state == ex.FINISHED and not snap.is_active and snap.progress == 1.0
    assert [(it.value, it.seed, it.state) for it in snap.items] == [(1e-4, 0, "finished"), (1e-3, 0, "finished")]
    assert [it.config.lr_g for it in snap.items] == [1e-4, 1e-3]
    for it in snap.items:
        assert it.step == it.total_steps == 2 and it.epoch == 1
        assert {"g_loss", "d_loss", "train_seconds"} <= set(it.final)
        assert it.samples is not None and it.samples.dtype == np.uint8 and it.samples.ndim == 2
        assert len(it.step_history) == 2 and len(it.epoch_history) == 1
    frame = ex.results_frame(snap)
    assert frame["lr_g"].tolist() == ["0.0001", "0.001"] and frame["runs"].tolist() == [1, 1]
    assert math.isnan(frame["g_loss_std"].iloc[0])  # one seed: no spread
    shown = ex.results_display(frame, "lr_g")
    assert "G loss" in shown.columns and "±" not in shown["G loss"].iloc[0]
    assert b"lr_g" in ex.results_csv(frame)
    assert len(ex.runs_frame(snap)) == 2


def test_sweep_with_quality_scores_reports_fid(mini_data):
    base = tiny_base("mlp-vae", metrics_every=1, metrics_samples=50)
    sweep = ex.Sweep(base, "latent_dim", [2, 3], data=mini_data).start()
    assert sweep.join(JOIN_S)
    snap = sweep.snapshot()
    assert snap.state == ex.FINISHED
    assert [it.config.model_config.latent_dim for it in snap.items] == [2, 3]
    for it in snap.items:
        assert {"fid", "precision", "recall", "val_elbo", "active_units"} <= set(it.final)
    frame = ex.results_frame(snap)
    text = ex.sweep_reading(frame, "latent dim", "vae")
    assert "latent dim = " in text and "FID" in text and "One seed per value" in text


def test_invalid_value_is_rejected_before_anything_runs():
    store = ex.SweepStore()
    with pytest.raises(ConfigError, match=r"learning rate = -1: lr must be in \(0, 1\]"):
        store.create(tiny_base("mlp-vae"), "lr", [1e-3, -1.0], [0])
    assert store.list() == []
    with pytest.raises(ConfigError, match="batch size = 512: images_per_epoch"):
        ex.sweep_configs(tiny_base(), "batch_size", [32, 512], [0])
    with pytest.raises(ConfigError, match="GAN loss = wasserstein: gan_loss must be one of"):
        ex.sweep_configs(tiny_base(), "gan_loss", ["wasserstein"], [0])
    with pytest.raises(ConfigError, match="setting of VAE models, not of mlp-gan"):
        ex.sweep_configs(tiny_base(), "beta", [1.0, 2.0], [0])
    with pytest.raises(ConfigError, match="cannot sweep"):
        ex.sweep_configs(tiny_base(), "nonsense", [1], [0])


def test_values_the_loaded_data_cannot_serve_are_rejected_up_front(mini_data):
    with pytest.raises(ConfigError, match="images per epoch = 20000: images_per_epoch"):
        ex.Sweep(tiny_base(), "images_per_epoch", [64, 20_000], data=mini_data)


@pytest.mark.parametrize("param, text, message", [
    ("lr_g", "", "at least one value"),
    ("lr_g", "0.001, fast", "takes numbers"),
    ("latent_dim", "2, 2.5", "whole numbers"),
    ("latent_dim", "2, 2", "appears twice"),
    ("batch_norm", "maybe", "true or false"),
    ("lr_g", ", ".join(str(i / 1000) for i in range(1, 11)), "at most 8 values"),
])
def test_parse_values_errors_are_user_facing(param, text, message):
    with pytest.raises(ConfigError, match=message):
        ex.parse_values(param, text)


def test_parse_values_and_seeds():
    assert ex.parse_values("lr_g", "1e-4; 0.0005, 2e-3") == [1e-4, 5e-4, 2e-3]
    assert ex.parse_values("latent_dim", "2, 8.0") == [2, 8]
    assert ex.parse_values("batch_norm", "off, True") == [False, True]
    assert ex.parse_values("gan_loss", "LSGAN, hinge") == ["lsgan", "hinge"]
    assert ex.parse_seeds("0, 1, 2") == [0, 1, 2]
    for bad in ("", "-1", "a", "1, 1", "0,1,2,3,4,5"):
        with pytest.raises(ConfigError, match="Seeds"):
            ex.parse_seeds(bad)
    assert ex.value_label(0.0005) == "0.0005" and ex.value_label(True) == "on"
    assert {p.name for p in ex.params_for("mlp-vae")} >= {"lr", "beta", "latent_dim"}
    assert "lr_g" not in {p.name for p in ex.params_for("conv-vae")}
    assert "dropout" in {p.name for p in ex.params_for("mlp-gan")}
    assert "dropout" not in {p.name for p in ex.params_for("dcgan")}
    # every suggested list parses and validates for every model it applies to
    for model in ("mlp-gan", "dcgan", "mlp-vae", "conv-vae"):
        for p in ex.params_for(model):
            ex.sweep_configs(tiny_config(model, images_per_epoch=6400, batch_size=32), p.name,
                             ex.parse_values(p.name, p.suggest), [0])


def test_stop_ends_the_current_run_and_skips_the_rest(mini_data):
    store = ex.SweepStore()
    slots = []

    class Slot:  # a scheduler's training slot, held while each run trains
        def __enter__(self):
            slots.append("in")

        def __exit__(self, *exc):
            slots.append("out")

    sid = store.create(tiny_base(epochs=500), "lr_g", [1e-4, 2e-4, 3e-4], [0], data=mini_data, slot=Slot)
    sweep = store.get(sid)
    end = time.monotonic() + JOIN_S
    while sweep.snapshot().items[0].step < 3 and time.monotonic() < end:
        time.sleep(0.02)
    with pytest.raises(ex.SweepError, match="already running"):
        store.create(tiny_base(), "lr_g", [1e-4], [0], data=mini_data)
    sweep.stop()
    assert sweep.join(JOIN_S)
    snap = sweep.snapshot()
    assert snap.state == ex.STOPPED and not store.any_active()
    assert [it.state for it in snap.items] == [ex.STOPPED, ex.SKIPPED, ex.SKIPPED]
    assert slots == ["in", "out"]  # only the run that trained took a slot, and gave it back
    assert 0 < snap.items[0].step < snap.items[0].total_steps
    assert ex.results_frame(snap)["runs"].tolist() == [0, 0, 0]
    store.clear()
    assert store.list() == []


def _item(i, value, seed, **final):
    return ex.SweepItem(i, value, seed, tiny_base(), state=ex.FINISHED, final=final)


def test_results_mean_and_std_over_seeds():
    items = (_item(0, 1e-4, 0, fid=10.0, precision=0.5), _item(1, 1e-4, 1, fid=14.0, precision=0.7),
             _item(2, 1e-3, 0, fid=30.0, precision=0.9), _item(3, 1e-3, 1, fid=30.0, precision=0.9))
    snap = ex.SweepSnapshot("s", "label", "lr_g", (1e-4, 1e-3), (0, 1), "gan", tiny_base(), ex.FINISHED, None,
                            items, 0.0, 1.0, None)
    frame = ex.results_frame(snap)
    assert frame["fid"].tolist() == [12.0, 30.0]
    assert frame["fid_std"].iloc[0] == pytest.approx(np.std([10, 14], ddof=1))
    assert ex.best_value(frame, "fid")[0] == "0.0001"
    assert ex.best_value(frame, "precision")[0] == "0.001"
    shown = ex.results_display(frame, "lr_g")
    assert shown["FID ↓"].tolist()[0].startswith("12.00 ± 2.8")
    text = ex.sweep_reading(frame, "learning rate G", "gan")
    assert "Closest to the real data: **learning rate G = 0.0001**" in text
    assert "most faithful: **learning rate G = 0.001**" in text and "sharpest" not in text
    # the best within 2 combined seed stds of the runner-up is said to be so
    noisy = frame.assign(fid_std=[2.0, 10.0])
    assert ex.within_seed_noise(noisy, "fid") == "0.001" and ex.within_seed_noise(frame, "fid") is None
    assert "within seed noise of learning rate G = 0.001" in ex.sweep_reading(noisy, "learning rate G", "gan")
    # sharpness: closest to real (1) wins, blur and grain both lose
    sharp = frame.assign(sharpness=[1.6, 0.9], sharpness_std=[0.01, 0.01])
    assert ex.best_value(sharp, "sharpness")[0] == "0.001"
    assert "closest to real sharpness: **learning rate G = 0.001** (sharpness 0.900 ± 0.010)" in \
        ex.sweep_reading(sharp, "learning rate G", "gan")
    # recall ≈ 0 everywhere: no claim about diversity, and the reading says why
    flat = frame.assign(recall=[0.002, 0.0], recall_std=[0.001, 0.0])
    text = ex.sweep_reading(flat, "learning rate G", "gan")
    assert "widest coverage" not in text and "says nothing about diversity" in text
    assert ex.sweep_reading(frame.drop(columns=["fid", "fid_std", "precision", "precision_std"]),
                            "x", "gan").startswith("No quality scores")


# ---------------------------------------------------------------------------- reading

GAN = dict(n=2000, fid=120.0, kid=5.0, inception_score=7.1, precision=0.90, recall=0.10, kl_to_uniform=0.40,
           missing_classes=3, class_histogram=[0.1] * 10, mode_collapse=True)
VAE = dict(n=2000, fid=60.0, kid=2.0, inception_score=8.0, precision=0.60, recall=0.70, kl_to_uniform=0.02,
           missing_classes=0, class_histogram=[0.1] * 10, mode_collapse=False)
REAL = dict(n=2000, fid=26.3, precision=0.87, recall=0.87, kl_to_uniform=0.005, missing_classes=0)
NOISE = {"fid": 5.0, "precision": 0.02, "recall": 0.02, "sharpness": 0.01}
# The shipped DCGAN and conv VAE as measured (n = 2,000, split-half noise): the seeds' trade-off.
DCGAN = dict(n=2000, fid=227.8, precision=0.489, recall=0.699, sharpness=1.05, kl_to_uniform=0.12,
             missing_classes=0, mode_collapse=False,
             noise={"fid": 7.0, "precision": 0.024, "recall": 0.011, "sharpness": 0.008})
CONV_VAE = dict(n=2000, fid=268.9, precision=0.868, recall=0.543, sharpness=0.50, kl_to_uniform=0.03,
                missing_classes=0, mode_collapse=False,
                noise={"fid": 5.6, "precision": 0.017, "recall": 0.027, "sharpness": 0.008})
REAL_REF = dict(n=2000, fid=26.3, precision=0.873, recall=0.869, sharpness=1.06, missing_classes=0,
                noise={"fid": 2.4, "precision": 0.008, "recall": 0.007, "sharpness": 0.013})


def _line(text: str, head: str) -> str:
    """The bullet of a reading that starts with **head:** (empty when there is none)."""
    return next((ln for ln in text.splitlines() if ln.startswith(f"- **{head}:**")), "")


def test_reading_shows_the_gan_sharper_and_the_vae_blurrier():
    text = reading.read_comparison(DCGAN, CONV_VAE, "the DCGAN", "the conv VAE", reference=REAL_REF)
    sharp = _line(text, "Sharpness")
    assert "the DCGAN's samples are sharper (1.05× vs 0.50× the edge energy of real images; real test " \
           "images 1.06×)" in sharp
    assert "the conv VAE's are blurrier than real images" in sharp
    # precision is fidelity, never called sharpness; here the blurry VAE is the more faithful one
    assert "more of the conv VAE's samples fall among real images" in _line(text, "Fidelity")
    assert "precision 0.87 vs 0.49" in _line(text, "Fidelity") and "sharp" not in _line(text, "Fidelity")
    assert "the DCGAN's samples cover more" in _line(text, "Coverage") and "recall 0.70 vs 0.54" in text
    assert "the DCGAN is closer to the real data (FID 227.8 vs 268.9; real data against itself scores 26.3), " \
           "though both are still far from it" in _line(text, "Overall")
    assert "No noise estimate" not in text and "Classes" not in text
    # sides swapped: the same verdicts, attached to the right names
    swapped = reading.read_comparison(CONV_VAE, DCGAN, "the conv VAE", "the DCGAN", reference=REAL_REF)
    assert "the DCGAN's samples are sharper" in swapped and "more of the conv VAE's samples" in swapped


def test_reading_says_within_noise_when_the_gap_is_smaller_than_the_noise():
    a = {**DCGAN, "sharpness": 1.00, "precision": 0.80, "recall": 0.60, "fid": 100.0}
    b = {**DCGAN, "sharpness": 1.02, "precision": 0.83, "recall": 0.62, "fid": 109.0}
    text = reading.read_comparison(a, b, "A", "B", reference=REAL_REF)
    for head in ("Sharpness", "Fidelity", "Coverage", "Overall"):
        assert "about equal" in _line(text, head) and "within the sampling noise (±" in _line(text, head), head
    assert "sharper" not in text and "closer" not in text
    # the same gaps with ten times less noise are real differences
    quiet = {k: v / 10 for k, v in DCGAN["noise"].items()}
    text = reading.read_comparison({**a, "noise": quiet}, {**b, "noise": quiet}, "A", "B")
    assert "B's samples are sharper" in text and "more of B's samples" in text and "A is closer" in text
    # the band is 2 combined standard errors
    assert reading.noise_band({"noise": {"fid": 3.0}}, {"noise": {"fid": 4.0}}, "fid") == pytest.approx(10.0)
    assert reading.compare({"fid": 10.0, "noise": {"fid": 3.0}}, {"fid": 20.1, "noise": {"fid": 4.0}}, "fid") == 1
    assert reading.compare({"fid": 10.0, "noise": {"fid": 3.0}}, {"fid": 19.9, "noise": {"fid": 4.0}}, "fid") is None


def test_reading_says_nothing_about_diversity_when_both_recalls_are_near_zero():
    a = {**GAN, "recall": 0.002, "sharpness": 3.5, "missing_classes": 2, "noise": NOISE}
    b = {**VAE, "recall": 0.030, "sharpness": 0.19, "missing_classes": 1, "mode_collapse": True, "noise": NOISE}
    text = reading.read_comparison(a, b, "the linear GAN", "the MLP VAE")
    cov = _line(text, "Coverage")
    assert "both recalls are near zero (0.002 and 0.030)" in cov and "cannot say which is more diverse" in cov
    assert "diverse" not in text.replace(cov, "") and "covers more" not in text
    assert reading.more_diverse(a, b) is None and reading.both_recalls_near_zero(a, b)
    # grain is not detail: the grainy GAN is named grainier, the VAE blurrier
    sharp = _line(text, "Sharpness")
    assert "the MLP VAE's are blurrier than real images" in sharp and "grainier" in sharp
    assert "both show signs of mode collapse" in _line(text, "Classes")


def test_reading_grain_against_a_sharp_model_is_not_called_sharper():
    text = reading.read_comparison({**GAN, "sharpness": 2.0, "noise": NOISE}, {**VAE, "sharpness": 1.0, "noise": NOISE},
                                   "the GAN", "the VAE", reference=REAL_REF)
    sharp = _line(text, "Sharpness")
    assert "more high-frequency energy" in sharp and "which is not better" in sharp and "sharper" not in sharp


def test_reading_without_noise_or_sharpness_falls_back_and_says_so():
    text = reading.read_comparison(GAN, VAE, "the GAN", "the VAE", reference=REAL)
    assert "Sharpness" not in text  # nothing measured, nothing claimed
    assert "more of the GAN's samples fall among real images in the evaluator's feature space " \
           "(precision 0.90 vs 0.60)" in text
    assert "the VAE's samples cover more of the real images' variety (recall 0.70 vs 0.10)" in text
    assert "the VAE is closer to the real data (FID 60.0 vs 120.0; real data against itself scores 26.3)." in text
    assert "the GAN shows signs of mode collapse" in _line(text, "Classes")
    assert "No noise estimate came with these scores" in text
    tie = reading.read_comparison({**GAN, "precision": 0.80, "recall": 0.5, "fid": 50.0},
                                  {**VAE, "precision": 0.81, "recall": 0.505, "fid": 51.0}, "A", "B")
    assert all("about equal" in _line(tie, h) for h in ("Fidelity", "Coverage", "Overall"))
    assert reading.read_comparison(None, VAE) == "Scores for both models are needed to compare them."
    diff = reading.read_comparison(GAN, VAE, "A", "B", same_data=False)
    assert "different datasets" in diff and "closer" not in diff


def test_metadata_scores_are_flattened_cleaned_and_tabled():
    shipped = {"samples": {**GAN, "class_histogram": [0.5, "x"]}, "vae": {"elbo": -140.2, "active_units": 2,
                                                                         "latent_dim": 2}}
    flat = reading.flat_scores(shipped)
    assert flat["fid"] == 120.0 and flat["elbo"] == -140.2 and "class_histogram" not in flat  # garbage dropped
    assert reading.flat_scores({"samples": None}) is None and reading.flat_scores("junk") is None
    assert reading.clean_scores({"fid": float("nan"), "precision": True}) is None
    table = reading.score_table({"GAN": GAN, "VAE": shipped, "real data": REAL})
    assert list(table.columns) == ["GAN", "VAE", "real data"]
    assert table.loc["FID ↓"].tolist() == ["120.0", "120.0", "26.3"]
    assert table.loc["active latent units (VAE)"].tolist() == ["—", "2 of 2", "—"]
    assert table.loc["missing classes ↓", "GAN"] == "3"
    assert "KID ↓" in table.index and "samples scored" in table.index
    assert "precision (fidelity) ↑" in table.index and "recall (coverage) ↑" in table.index
    assert not any("sharpness" in i for i in table.index)  # not measured: no row
    noisy = reading.score_table({"DCGAN": DCGAN, "conv VAE": CONV_VAE, "real data": REAL_REF})
    assert noisy.loc["sharpness (1 = as sharp as real)"].tolist() == ["1.05 ± 0.01", "0.50 ± 0.01", "1.06 ± 0.01"]
    assert noisy.loc["FID ↓", "DCGAN"] == "227.8 ± 7.0"
    assert reading.clean_scores({"fid": 1.0, "noise": {"fid": -1.0, "recall": "x"}}) == {"fid": 1.0}
    two_gans = reading.score_table({"a": GAN, "b": GAN})
    assert not any("VAE" in i for i in two_gans.index)  # rows nobody has are left out


def test_time_to_quality():
    epochs = [{"epoch": 1, "time": 2.0, "fid": 300.0}, {"epoch": 2, "time": 4.0, "fid": 50.0},
              {"epoch": 3, "time": 6.0, "fid": 45.0}, {"epoch": 4, "time": 8.0}]
    text = reading.time_to_quality(epochs, reference_fid=26.0)
    assert text.startswith("FID first came within 2× of real data (≤ 52.0) after 4.0 s of training (epoch 2)")
    assert "best FID so far 45.0 at epoch 3" in text
    assert reading.time_to_quality(epochs, reference_fid=10.0).startswith("Not yet within 2×")
    assert reading.time_to_quality([{"epoch": 1}]) is None
    assert reading.time_to_quality(epochs).startswith("Best FID so far 45.0")
