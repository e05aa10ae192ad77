"""Issue 10 in the engine: run names from settings, deep-link parsing, honest samples/s, the
progress label after Stop, names/notes/delete on disk, labelled GIFs, a plain zip's message,
the measured epoch time and the presenter-mode figure style."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from conftest import tiny_config, wait_for
from gen_core.classroom.describe import (changed_settings, clean_name, default_run_name, hyper_summary,
                                         settings_compare, settings_rows, unique_name)
from gen_core.classroom.links import config_from_link, link_query
from gen_core.classroom.run_info import RunError
from gen_core.classroom.runs import RunRegistry
from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig
from gen_core.training.runner import FINISHED, PAUSED, RUNNING, STOPPED, RunSnapshot, TrainingRunner


DEMO = TrainConfig(model="mlp-gan", epochs=10, images_per_epoch=6400, dataset="mnist-mini")


# ---------------------------------------------------------------------------- names from settings

def test_default_name_lists_the_settings_that_differ():
    cfg = DEMO.replace(lr_g=5e-4, epochs=20)
    assert changed_settings(cfg, DEMO) == [("lr_g", 5e-4, 2e-4), ("epochs", 20, 10)]
    assert default_run_name(cfg, DEMO) == "Linear GAN · lr G 0.0005, 20 epochs"
    assert default_run_name(DEMO, DEMO) == "Linear GAN · defaults"
    many = DEMO.replace(lr_g=5e-4, lr_d=1e-4, beta1=0.9, seed=3)
    assert default_run_name(many, DEMO).endswith("+1 more")
    # model sizes count too, and a VAE's own objective fields
    vae = TrainConfig(model="mlp-vae", beta=4.0)
    assert "β 4" in default_run_name(vae)
    assert unique_name("a", ["a", "a #2"]) == "a #3" and unique_name("b", ["a"]) == "b"


def test_header_summary_shows_rates_loss_and_betas():
    text = hyper_summary(DEMO.replace(lr_g=5e-4, gan_loss="hinge", beta1=0.0, beta2=0.9))
    assert "hinge loss" in text and "lr G 0.0005" in text and "lr D 0.0002" in text and "β₁ 0, β₂ 0.9" in text
    assert "GP λ" in hyper_summary(DEMO.replace(gan_loss="wgan-gp"))
    assert hyper_summary(TrainConfig(model="mlp-vae", lr=3e-3)).startswith("lr 0.003 · β 1 · BCE")


def test_settings_table_and_side_by_side():
    rows = settings_rows(DEMO.replace(lr_g=5e-4), DEMO)
    by = {r["setting"]: r for r in rows}
    assert by["lr G"]["value"] == "0.0005" and by["lr G"]["default"] == "0.0002" and by["lr G"]["changed"]
    assert not by["lr D"]["changed"] and by["G widths"]["value"] == "256, 512, 1024"
    assert "GP λ" not in by  # only with WGAN-GP
    both = settings_compare({"a": DEMO, "b": DEMO.replace(lr_g=5e-4), "v": TrainConfig(model="mlp-vae")})
    lr = next(r for r in both if r["setting"] == "lr G")
    assert (lr["a"], lr["b"], lr["v"], lr["differs"]) == ("0.0002", "0.0005", "—", True)
    assert not next(r for r in both if r["setting"] == "batch")["differs"]


def test_names_are_cleaned():
    assert clean_name("  my\trun\n one ") == "my run one"
    for bad in ("", "   ", "x" * 81, 3):
        with pytest.raises(ValueError):
            clean_name(bad)


# ---------------------------------------------------------------------------- deep links

def test_link_with_settings_is_validated_like_every_input():
    cfg = config_from_link({"model": "dcgan", "lr_g": "0.0004"}, base=DEMO, family="gan")
    assert cfg.model == "dcgan" and cfg.lr_g == 4e-4 and cfg.epochs == 10 and cfg.images_per_epoch == 6400
    assert link_query(cfg, DEMO.replace(model="dcgan", model_config=None)) == {"model": "dcgan", "lr_g": "0.0004"}
    # round trip: the link of a config re-creates it
    mine = DEMO.replace(lr_g=5e-4, d_steps=2).replace(model_config=DEMO.model_config.__class__(g_hidden=(64, 128)))
    assert config_from_link(link_query(mine, DEMO), base=DEMO) == mine
    assert config_from_link({"run": "abc", "dataset": "mnist"}, base=DEMO) is None  # not settings


def test_link_with_a_preset():
    cfg = config_from_link({"preset": "seed000-linear-gan"}, base=DEMO, family="gan")
    from gen_core.presets.registry import get_preset
    ref = get_preset("seed000-linear-gan").to_config()
    assert cfg.model == ref.model and cfg.lr_g == ref.lr_g and cfg.epochs == ref.epochs
    assert cfg.images_per_epoch == DEMO.images_per_epoch  # the page's data choices stay


@pytest.mark.parametrize("params, words", [
    ({"lr_g": "fast"}, "lr_g in the link must be a number"),
    ({"lr_g": "5"}, "lr_g must be in (0, 1]"),
    ({"epochs": "1.5"}, "epochs in the link must be a whole number"),
    ({"preset": "nope"}, "unknown preset"),
    ({"model": "gpt"}, "unknown model"),
    ({"model": "mlp-vae"}, "Train a VAE page"),
    ({"data_root": "/etc"}, "unknown setting"),
    ({"g_hidden": "1,x"}, "whole numbers separated by commas"),
    ({"lr_g": "1" * 500}, "too long"),
])
def test_bad_links_raise_one_line(params, words):
    with pytest.raises(ConfigError) as e:
        config_from_link(params, base=DEMO, family="gan")
    assert words in str(e.value) and "\n" not in str(e.value)


# ---------------------------------------------------------------------------- samples/s and the label

def _settle(runner, quiet_s=0.5):
    import time
    last, since = runner.snapshot().step, time.monotonic()
    while time.monotonic() - since < quiet_s:
        time.sleep(0.05)
        if runner.snapshot().step != last:
            last, since = runner.snapshot().step, time.monotonic()
    return last


def test_samples_per_sec_of_a_finished_run_is_its_average(mini_data):
    cfg = tiny_config("mlp-gan", epochs=2)
    runner = TrainingRunner(cfg, mini_data).start()
    assert runner.join(60) and runner.state == FINISHED
    snap = runner.snapshot()
    average = snap.step * cfg.batch_size / snap.elapsed
    assert snap.samples_per_sec == pytest.approx(average, rel=1e-6)
    assert snap.eta_seconds is None


def test_samples_per_sec_and_eta_while_paused_ignore_the_pause(mini_data):
    cfg = tiny_config("mlp-gan", epochs=500)
    runner = TrainingRunner(cfg, mini_data).start()
    try:
        assert wait_for(lambda: runner.state == RUNNING and runner.snapshot().step >= 3)
        runner.pause()
        _settle(runner)
        snap = runner.snapshot()
        assert snap.state == PAUSED
        average = snap.step * cfg.batch_size / snap.elapsed   # elapsed excludes the pause
        assert snap.samples_per_sec == pytest.approx(average, rel=1e-6)
        remaining = (snap.total_steps - snap.step) * cfg.batch_size
        assert snap.eta_seconds == pytest.approx(remaining / average, rel=1e-6)
    finally:
        runner.stop()
        runner.join(30)


def _snap(**kw) -> RunSnapshot:
    base = dict(run_id="r", config=tiny_config(epochs=3), state=STOPPED, error=None, step=56, total_steps=75,
                epoch=2, epochs=3, progress=56 / 75, samples_per_sec=0.0, eta_seconds=None, elapsed=1.0,
                step_history=(), epoch_history=(), epoch_snapshots=(), num_parameters={}, device="cpu")
    base.update(kw)
    return RunSnapshot(**base)


def test_progress_label_never_goes_backwards_after_stop():
    from ui.widgets import progress_text
    assert progress_text(_snap(state=RUNNING)) == "Epoch 3 of 3 · step 56 / 75"
    assert progress_text(_snap(state=PAUSED)) == "Epoch 3 of 3 · step 56 / 75"
    assert progress_text(_snap()) == "Stopped in epoch 3 of 3 · step 56 / 75"
    assert progress_text(_snap(step=50, epoch=2)) == "Epoch 2 of 3 · step 50 / 75"   # stopped at an epoch's end
    assert progress_text(_snap(state=FINISHED, step=75, epoch=3)) == "Epoch 3 of 3 · step 75 / 75"


# ---------------------------------------------------------------------------- names, notes, delete

def test_name_and_note_are_saved_and_survive_a_restart(tmp_path, mini_data):
    reg = RunRegistry(runs_dir=tmp_path)
    rid = reg.create(tiny_config(epochs=1), label="first", data=mini_data, note="a note")
    assert reg.get(rid).join(60)
    assert reg.info(rid).note == "a note"
    assert reg.rename(rid, "  lr too high ") == "lr too high"
    reg.set_note(rid, "D wins by epoch 2\nG collapses")
    reg.close()
    again = RunRegistry(runs_dir=tmp_path)
    info = again.info(rid)
    assert info.label == "lr too high" and info.note == "D wins by epoch 2\nG collapses" and not info.in_memory
    again.rename(rid, "renamed on disk")          # a run that is only on disk
    assert RunRegistry(runs_dir=tmp_path).info(rid).label == "renamed on disk"
    with pytest.raises(RunError, match="empty"):
        again.rename(rid, " ")
    with pytest.raises(RunError, match="no run"):
        again.set_note("nope", "x")
    again.close()


def test_delete_stops_forgets_and_removes_the_folder(tmp_path, mini_data):
    reg = RunRegistry(runs_dir=tmp_path)
    rid = reg.create(tiny_config(epochs=500), data=mini_data)
    assert wait_for(lambda: reg.get(rid).state == RUNNING)
    assert (tmp_path / rid / "run.json").is_file()
    runner = reg.get(rid)
    reg.delete(rid, None)
    assert runner.state == STOPPED and rid not in reg and not (tmp_path / rid).exists()
    assert RunRegistry(runs_dir=tmp_path).info(rid) is None   # gone after a restart too
    with pytest.raises(RunError, match="no run"):
        reg.delete(rid, None)
    reg.close()


# ---------------------------------------------------------------------------- files

def test_gif_of_all_epochs_is_named_for_all_epochs_and_labels_its_frames():
    from PIL import Image

    from ui.widgets import gif_name, labelled_gif
    assert gif_name("gan_ab12_samples_epoch1") == "gan_ab12_samples_all_epochs.gif"
    assert gif_name("vae_x_latent_map_epoch12") == "vae_x_latent_map_all_epochs.gif"
    frames = [("epoch 1", np.zeros((30, 60), np.uint8)), ("epoch 2", np.zeros((30, 60), np.uint8))]
    gif = Image.open(io.BytesIO(labelled_gif(frames, scale=2)))
    assert gif.n_frames == 2 and gif.size == (120, 60 + 16)   # a caption strip above each frame
    gif.seek(0)
    strip = np.asarray(gif.convert("L"))[:16]
    assert strip.max() > 0  # text was drawn on the black strip


def test_a_plain_zip_gets_a_plain_message():
    from gen_core.persistence.checkpoints import CheckpointError
    from gen_core.persistence.loading import load_checkpoint
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("photos/cat.txt", "meow")
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(buf.getvalue())
    assert "not one saved by PyTorch" in str(e.value) and "enforce" not in str(e.value)


def test_one_device_wording_everywhere():
    from gen_core.training.device import cpu_cores, device_description
    assert device_description("cpu") == f"CPU ({cpu_cores()} core{'s' if cpu_cores() != 1 else ''})"


# ---------------------------------------------------------------------------- estimates

def test_measured_epoch_seconds_skips_the_first_epochs_start_up():
    from gen_core.training.estimate import measured_epoch_seconds
    assert measured_epoch_seconds([]) is None
    assert measured_epoch_seconds([{"epoch": 1, "time": 5.0}]) == 5.0
    assert measured_epoch_seconds([{"time": 5.0}, {"time": 9.0}, {"time": 13.0}]) == 4.0


def test_estimate_counts_the_epoch_end(mini_data):
    from gen_core.training.estimate import estimate_epoch
    est = estimate_epoch(tiny_config("mlp-vae", val_images=256), mini_data)
    assert est.epoch_end_seconds > 0
    assert est.seconds_per_epoch == pytest.approx(est.seconds_per_step * est.steps_per_epoch + est.epoch_end_seconds)


# ---------------------------------------------------------------------------- figures

def test_projector_style_and_overlay_figures():
    from gen_core import figures as plots
    steps = [{"step": i, "epoch": i / 4, "time": i * 0.1, "g_loss": 1.0 / i, "d_loss": 0.5} for i in range(1, 9)]
    fig = plots.for_projector(plots.family_loss_figure("gan", steps), 440, 17)
    assert fig.layout.height == 440 and fig.layout.font.size == 17
    assert all(t.showlegend is False for t in fig.data if t.name.endswith("raw"))
    over = plots.runs_overlay_figure([("a", steps), ("b", steps[:4]), ("none", [])], "g_loss", x="step")
    names = [t.name for t in over.data]
    assert names == ["a", "b"]  # one curve per run that logged the metric, on one figure
    vae = plots.vae_metric_figure([{"step": 1, "epoch": 0.5, "time": 0.2, "elbo": -200.0}], [], "elbo", x="time")
    assert vae.layout.xaxis.title.text == "Training time (s)"
