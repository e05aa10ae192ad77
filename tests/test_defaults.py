"""The fast-learning defaults: one source (gen_core.presets) for the pages and the CLI, the
CLI's --max-seconds and .npy samples, and the new defaults beating the old ones on a budget."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from conftest import torch_threads
from gen_core import cli
from gen_core.config.train import TrainConfig
from gen_core.data.imaging import to_uint8
from gen_core.evaluation.evaluator import classifier_scores, load_evaluator
from gen_core.evaluation.metrics import generate
from gen_core.models.sampling import sample
from gen_core.persistence.loading import load_checkpoint
from gen_core.presets.defaults import MODEL_DEFAULTS, PAGE_DEFAULTS
from gen_core.presets.registry import default_preset, get_preset, model_default
from gen_core.training.trainer import Trainer


APP = Path(__file__).resolve().parents[1] / "app.py"


def test_every_page_default_and_model_default_is_a_valid_preset():
    assert set(PAGE_DEFAULTS) == {"gan", "vae"}
    assert default_preset("gan").model == "mlp-gan" and default_preset("vae").model == "mlp-vae"
    assert default_preset("gan").model_overrides["latent_dim"] == 100        # not the 2-D linear GAN
    assert MODEL_DEFAULTS["mlp-gan"] == "default-linear-gan" and MODEL_DEFAULTS["dcgan"] == "default-dcgan"
    lin = model_default("mlp-gan")
    assert lin is not None and lin.to_config().model_config.latent_dim == 2  # the latent-map GAN
    for model, name in MODEL_DEFAULTS.items():
        assert get_preset(name).model == model
    # the seed-000 teaching case of collapse is untouched
    seed = get_preset("seed000-linear-gan").to_config()
    assert seed.model_config.dropout == 0.3 and not seed.model_config.batch_norm and seed.lr_g == 5e-4


@pytest.mark.parametrize("family", ["gan", "vae"])
def test_the_train_pages_open_on_the_cli_preset(family):
    from streamlit.testing.v1 import AppTest

    from ui import settings
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["dataset"] = "mnist-mini"
    at.run()
    at.switch_page(f"app_pages/train_{family}.py")
    at.run()
    assert not at.exception
    expected = settings._values_from_config(default_preset(family).to_config())
    for name, value in expected.items():
        assert at.session_state[f"{family}_{name}"] == value, name
    assert at.session_state[f"{family}_preset"] == PAGE_DEFAULTS[family]


def test_cli_preset_default_gan_stops_at_max_seconds_and_saves(tmp_path, capsys):
    out = tmp_path / "run"
    rc = cli.main(["train", "--preset", "default-gan", "--dataset", "mnist-mini", "--max-seconds", "0.5",
                   "--out", str(out), "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "--max-seconds 0.5" in text and "Stopped" in text
    ck = load_checkpoint(out / "checkpoint.pt")
    expected = default_preset("gan").to_config(dataset="mnist-mini")
    assert ck.config.to_dict() == expected.to_dict()
    assert 0 < ck.step < expected.epochs * 100  # stopped early, after at least one step


def test_cli_rejects_a_bad_max_seconds(tmp_path, capsys):
    assert cli.main(["train", "--dataset", "mnist-mini", "--max-seconds", "-1", "--out", str(tmp_path)]) == 2
    assert "--max-seconds must be a positive" in capsys.readouterr().err


def test_cli_sample_writes_uint8_nchw_npy(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["train", "--dataset", "mnist-mini", "--epochs", "1", "--images-per-epoch", "128",
                     "--batch-size", "64", "--val-images", "0", "--out", str(run), "--quiet"]) == 0
    path = tmp_path / "x.npy"
    assert cli.main(["sample", str(run / "checkpoint.pt"), "--n", "1500", "--seed", "3", "--out", str(path)]) == 0
    images = np.load(path)
    assert images.dtype == np.uint8 and images.shape == (1500, 1, 28, 28)
    model = load_checkpoint(run / "checkpoint.pt").model
    assert np.array_equal(images[:64], to_uint8(sample(model, 64, seed=3)))  # same z as the PNG grid
    assert cli.main(["sample", str(run / "checkpoint.pt"), "--n", "200000", "--out", str(path)]) == 2


def _scores(cfg: TrainConfig, marks: tuple[int, ...]) -> dict[int, dict]:
    """Train on mnist-mini and score 500 samples at each mark. One torch thread: a GAN's path after a
    few thousand steps depends on the floating-point summation order, which changes with the thread
    count, so the numbers below (measured this way) hold on a machine with any number of cores."""
    with torch_threads(1):
        trainer = Trainer(cfg.replace(dataset="mnist-mini", val_images=0, seed=0), device="cpu")
        out = {}
        for mark in marks:
            while trainer.step < mark:
                trainer.train_step()
            out[mark] = classifier_scores(load_evaluator("mnist"), generate(trainer.model, 500, seed=1))
            trainer.model.train()
        return out


def _score(cfg: TrainConfig, steps: int) -> dict:
    return _scores(cfg, (steps,))[steps]


@functools.lru_cache(maxsize=None)
def _page_gan_score(steps: int = 2000) -> dict:
    return _score(default_preset("gan").to_config(), steps)


@functools.lru_cache(maxsize=None)
def _previous_gan_scores() -> dict[int, dict]:
    return _scores(TrainConfig(**_PREVIOUS["gan"]), (200, 400))


# The recipes these defaults replaced (issue 8's starting point), frozen here so the comparison stays
# meaningful after the presets move on.
_PREVIOUS = {
    "gan": dict(model="dcgan", model_config=dict(latent_dim=64, g_width=32, d_width=32, upsample="nearest"),
                epochs=20, batch_size=64, images_per_epoch=6400, lr_g=2e-4, lr_d=2e-4),
    "vae": dict(model="mlp-vae", model_config=dict(latent_dim=2, hidden=(512, 256)),
                epochs=20, batch_size=64, images_per_epoch=6400, lr=1e-3, recon_loss="bce"),
}


def test_new_gan_defaults_beat_the_previous_dcgan_recipe_on_a_tiny_budget():
    old = _previous_gan_scores()[200]
    # The DCGAN itself, faster rates (bench/recipe_search.py): more confident samples at equal steps.
    dcgan = _score(get_preset("default-dcgan").to_config(), 200)
    assert dcgan["confident"] > old["confident"] + 0.03 and dcgan["missing"] <= old["missing"]
    # The page's default, an MLP GAN, wins per second, not per step: its steps are 5-10x cheaper (88-170 vs
    # 10-18 steps/s measured on 2 cores), so it gets at least 5x the steps in the same time: 2,000 against the old
    # recipe's 400 (measured on mnist-mini: 54% confident, no class missing, vs 33-37%, none missing).
    old_400 = _previous_gan_scores()[400]
    page = _page_gan_score()
    assert page["confident"] > old_400["confident"] + 0.03 and page["missing"] <= old_400["missing"]


def test_new_vae_default_beats_the_previous_one_on_a_tiny_budget():
    # The 2-D latent draws a few classes only at first (full MNIST, 1,425 steps: entropy 0.54, 3 missing),
    # and those few read confidently; the 16-D latent at a higher rate spreads over the ten classes.
    # (Its confident share overtakes later: 49% vs 34% at 1,551 steps of full MNIST; on this budget
    # the old one leads on confidence only by drawing eights: measured 89% eights, 6 missing, entropy 0.22,
    # against entropy 0.71 and 1 missing for the new one; so confidence is not asserted here.)
    old = _score(TrainConfig(**_PREVIOUS["vae"]), 400)
    new = _score(default_preset("vae").to_config(), 400)
    assert new["entropy"] > old["entropy"] + 0.1
    assert new["missing"] < old["missing"]
