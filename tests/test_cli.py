"""Tests for `python -m gen_core`: train / sample / list-models, in-process through `main([...])`."""
from __future__ import annotations

import csv
import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from gen_core.cli import commands as cli
from gen_core.cli.parser import model_fields
from gen_core.config.train import TrainConfig
from gen_core.objectives.gan import GANObjective
from gen_core.persistence.loading import load_checkpoint
from gen_core.training.history import TrainingDiverged


ROOT = Path(__file__).resolve().parents[1]
TINY_GAN = ["--model", "mlp-gan", "--dataset", "mnist-mini", "--images-per-epoch", "256", "--batch-size", "64",
            "--g-hidden", "32,64", "--d-hidden", "64,32", "--val-images", "64", "--n-fixed", "16",
            "--latent-map-size", "4", "--seed", "1", "--device", "cpu", "--quiet"]
TINY_VAE = ["--model", "mlp-vae", "--dataset", "mnist-mini", "--images-per-epoch", "256", "--batch-size", "64",
            "--hidden", "48,24", "--val-images", "64", "--n-fixed", "16", "--latent-map-size", "4",
            "--device", "cpu", "--quiet"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("GEN_CORE_OFFLINE", "1")
    monkeypatch.delenv("GEN_CORE_DATA_ROOT", raising=False)


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def assert_clean_error(capsys, code: int, expected_code: int, *fragments: str) -> str:
    err = capsys.readouterr().err
    assert code == expected_code, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    return err


# ---------------------------------------------------------------------------
# train

def test_train_writes_checkpoint_grids_and_csvs(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", *TINY_GAN, "--epochs", "2", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "Finished: mlp-gan" in stdout and "samples/s" in stdout and str(out) in stdout
    for name in ("epoch_001.png", "epoch_002.png", "latent_map_001.png", "latent_map_002.png"):
        assert (out / "grids" / name).is_file(), name
    assert not list((out / "grids").glob("recon_*"))  # GANs have no reconstructions
    # 16 fixed samples → 4×4 grid of 28 px with 2 px padding, upscaled ×2.
    assert Image.open(out / "grids" / "epoch_001.png").size == (2 * (4 * 30 + 2),) * 2
    assert Image.open(out / "grids" / "latent_map_001.png").size == (2 * 4 * 28,) * 2
    steps, epochs = rows(out / "history_steps.csv"), rows(out / "history_epochs.csv")
    assert len(steps) == 8 and len(epochs) == 2
    assert {"step", "epoch", "time", "g_loss", "d_loss"} <= set(steps[0])
    assert {"val_d_loss", "val_g_loss"} <= set(epochs[0])
    ck = load_checkpoint(out / "checkpoint.pt")
    assert (ck.epoch, ck.step, ck.config.epochs) == (2, 8, 2)
    assert ck.config.model_config.g_hidden == (32, 64) and ck.config.seed == 1


def test_train_vae_writes_reconstructions(tmp_path, capsys):
    out = tmp_path / "vae"
    assert cli.main(["train", *TINY_VAE, "--epochs", "1", "--out", str(out)]) == 0
    assert (out / "grids" / "recon_001.png").is_file() and (out / "grids" / "latent_map_001.png").is_file()
    header = rows(out / "history_epochs.csv")[0]
    assert {"val_kl_per_dim_0", "val_kl_per_dim_1", "val_elbo"} <= set(header)


def test_resume_continues_in_the_same_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", *TINY_GAN, "--epochs", "1", "--out", str(out)]) == 0
    ck = str(out / "checkpoint.pt")
    # Nothing left to do without a larger --epochs.
    assert_clean_error(capsys, cli.main(["train", "--resume", ck, "--quiet"]), 2, "--epochs")
    # Settings that would change the run are refused.
    assert_clean_error(capsys, cli.main(["train", "--resume", ck, "--epochs", "2", "--lr-g", "0.1"]), 2,
                       "--lr-g cannot change when resuming")
    assert_clean_error(capsys, cli.main(["train", "--resume", ck, "--epochs", "2", "--latent-dim", "3"]), 2,
                       "--latent-dim cannot change")
    assert cli.main(["train", "--resume", ck, "--epochs", "2", "--quiet"]) == 0
    assert "Resuming mlp-gan" in capsys.readouterr().out
    assert (out / "grids" / "epoch_002.png").is_file()
    assert len(rows(out / "history_epochs.csv")) == 2 and len(rows(out / "history_steps.csv")) == 8
    assert load_checkpoint(ck).epoch == 2


def test_ctrl_c_stops_saves_and_resumes(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    calls = []

    def interrupt(seconds):  # Ctrl-C once the first epoch's files are there (or after ~20 s)
        calls.append(seconds)
        if (out / "grids" / "epoch_001.png").exists() or len(calls) > 400:
            monkeypatch.setattr(cli, "_sleep", lambda s: None)
            raise KeyboardInterrupt
        time.sleep(0.05)

    monkeypatch.setattr(cli, "_sleep", interrupt)
    code = cli.main(["train", *TINY_GAN, "--epochs", "200", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 130 and "Traceback" not in captured.err
    assert "Stopped: mlp-gan" in captured.out and "--resume" in captured.out
    ck = load_checkpoint(out / "checkpoint.pt")
    assert 4 <= ck.step < 800 and ck.resumable
    assert len(rows(out / "history_steps.csv")) == ck.step
    assert cli.main(["train", "--resume", str(out / "checkpoint.pt"), "--epochs", str(ck.epoch + 1),
                     "--quiet"]) == 0
    assert load_checkpoint(out / "checkpoint.pt").epoch == ck.epoch + 1


def test_diverged_run_reports_and_keeps_what_it_has(tmp_path, capsys, monkeypatch):
    real_step, count = GANObjective.train_step, []

    def failing_step(self, batches):
        count.append(1)
        if len(count) == 6:  # in the second epoch (4 steps per epoch)
            raise TrainingDiverged("G loss became nan — training diverged. Try a lower learning rate.")
        return real_step(self, batches)

    monkeypatch.setattr(GANObjective, "train_step", failing_step)
    out = tmp_path / "run"
    code = cli.main(["train", *TINY_GAN, "--epochs", "3", "--out", str(out)])
    err = assert_clean_error(capsys, code, 1, "diverged")
    assert err.count("\n") <= 2
    assert load_checkpoint(out / "checkpoint.pt").epoch == 1  # the last good epoch
    assert len(rows(out / "history_steps.csv")) == 5 and len(rows(out / "history_epochs.csv")) == 1


def test_existing_run_needs_force(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", *TINY_GAN, "--epochs", "1", "--out", str(out)]) == 0
    assert_clean_error(capsys, cli.main(["train", *TINY_GAN, "--epochs", "1", "--out", str(out)]), 2,
                       "already holds a run", "--force")
    assert cli.main(["train", *TINY_GAN, "--epochs", "1", "--out", str(out), "--force"]) == 0


@pytest.mark.parametrize("argv,fragments", [
    (["--model", "no-such-model"], ["invalid choice: 'no-such-model'"]),
    (["--lr-g", "5"], ["lr_g must be in (0, 1], got 5"]),
    (["--lr-g", "fast"], ["--lr-g", "expected a number"]),
    (["--epochs", "0"], ["epochs must be between"]),
    (["--g-width", "16"], ["--g-width is not a setting of mlp-gan", "--latent-dim"]),
    (["--model", "mlp-vae", "--g-hidden", "32"], ["--g-hidden is not a setting of mlp-vae"]),
    (["--g-hidden", "32,abc"], ["--g-hidden", "comma-separated whole numbers"]),
    (["--g-hidden", "0"], ["each width in g_hidden must be between 1"]),
    (["--batch-norm", "maybe"], ["--batch-norm", "true or false"]),
    (["--model", "conv-vae", "--hidden", "1,2"], ["--hidden", "whole number"]),
    (["--images-per-epoch", "10", "--batch-size", "64"], ["images_per_epoch (10) must be at least"]),
    (["--resume", "missing.pt"], ["checkpoint file not found: missing.pt"]),
    (["--no-such-flag"], ["unrecognized arguments: --no-such-flag"]),
])
def test_train_bad_input_exits_2_without_traceback(argv, fragments, capsys, tmp_path):
    code = cli.main(["train", *argv, "--out", str(tmp_path / "x"), "--quiet"])
    assert_clean_error(capsys, code, 2, *fragments)
    assert not (tmp_path / "x" / "checkpoint.pt").exists()


def test_model_flags_are_typed_per_model(tmp_path, capsys):
    """--hidden is a list for mlp-vae and a number for conv-vae; --batch-norm parses booleans."""
    assert cli._model_config("conv-vae", {"hidden": "64"}).hidden == 64
    assert cli._model_config("mlp-vae", {"hidden": "64,32"}).hidden == (64, 32)
    cfg = cli._model_config("mlp-gan", {"batch_norm": "yes", "dropout": "0.1", "latent_dim": "8"})
    assert (cfg.batch_norm, cfg.dropout, cfg.latent_dim) == (True, 0.1, 8)
    assert cli._model_config("dcgan-64", {}).g_width == 128  # registry defaults apply


# ---------------------------------------------------------------------------
# sample, list-models, help

def test_sample_writes_png(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", *TINY_GAN, "--epochs", "1", "--out", str(out)]) == 0
    png = tmp_path / "samples" / "grid.png"
    code = cli.main(["sample", str(out / "checkpoint.pt"), "--n", "9", "--seed", "3", "--out", str(png),
                     "--scale", "1"])
    assert code == 0, capsys.readouterr().err
    assert Image.open(png).size == (3 * 30 + 2, 3 * 30 + 2)
    first = png.read_bytes()
    assert cli.main(["sample", str(out / "checkpoint.pt"), "--n", "9", "--seed", "3", "--out", str(png),
                     "--scale", "1"]) == 0
    assert png.read_bytes() == first  # same seed, same images
    assert "Wrote" in capsys.readouterr().out


def test_sample_bad_input(tmp_path, capsys):
    assert_clean_error(capsys, cli.main(["sample", str(tmp_path / "none.pt")]), 2, "not found")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    assert_clean_error(capsys, cli.main(["sample", str(bad)]), 2, "not a PyTorch zip archive")
    assert_clean_error(capsys, cli.main(["sample"]), 2, "CHECKPOINT")


def test_list_models(capsys):
    assert cli.main(["list-models"]) == 0
    out = capsys.readouterr().out
    for name in ("mlp-gan", "dcgan", "dcgan-64", "mlp-vae", "conv-vae", "mnist-mini", "fashion-mnist"):
        assert name in out
    assert "2.92M" in out and "embedded" in out


def test_help_documents_every_setting(capsys):
    assert cli.main(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for f in dataclasses.fields(TrainConfig):
        if f.name != "model_config":
            assert f"--{f.name.replace('_', '-')}" in text, f.name
            assert " ".join(f.metadata["help"].split()) in text, f.name
    for name in model_fields():
        assert f"--{name.replace('_', '-')}" in text, name
    for flag in ("--out", "--resume", "--force", "--scale", "--quiet"):
        assert flag in text
    for command, flags in (("sample", ("--n", "--seed", "--out", "--scale", "--nrow")), ("list-models", ("--data-root",))):
        assert cli.main([command, "--help"]) == 0
        text = capsys.readouterr().out
        assert all(flag in text for flag in flags)


def test_no_arguments_prints_help(capsys):
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert "train" in out and "sample" in out and "list-models" in out


def test_python_m_gen_core_help():
    env = {**os.environ, "GEN_CORE_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "gen_core", "--help"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "train" in result.stdout and "list-models" in result.stdout


def test_preset_with_overrides(tmp_path, capsys):
    presets = pytest.importorskip("gen_core.presets")
    preset = presets.get_preset("seed000-vae")
    out = tmp_path / "preset"
    argv = ["train", "--preset", "seed000-vae", "--dataset", "mnist-mini", "--epochs", "1",
            "--images-per-epoch", "256", "--batch-size", "64", "--hidden", "48,24", "--val-images", "64",
            "--n-fixed", "16", "--latent-map-size", "4", "--device", "cpu", "--quiet", "--out", str(out)]
    assert cli.main(argv) == 0, capsys.readouterr().err
    cfg = load_checkpoint(out / "checkpoint.pt").config
    expected = preset.to_config()
    assert cfg.model == preset.model and cfg.lr == expected.lr and cfg.epochs == 1
    assert cfg.model_config.hidden == (48, 24) and cfg.model_config.latent_dim == expected.model_config.latent_dim
    assert_clean_error(capsys, cli.main(["train", "--preset", "seed000-vae", "--model", "mlp-gan"]), 2,
                       "trains mlp-vae")
    assert_clean_error(capsys, cli.main(["train", "--preset", "nope"]), 2, "invalid choice")
