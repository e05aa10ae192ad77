"""Tests for gen_core.presets: every seed-report preset builds a valid config and model. CPU only."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig
from gen_core.models.registry import MODELS, build_model
from gen_core.presets.base import Preset
from gen_core.presets.registry import PRESETS, get_preset, presets_for


ALL = sorted(PRESETS)


@pytest.fixture(scope="module")
def built():
    """name → (TrainConfig, model); each model is built once for the whole module."""
    torch.manual_seed(0)
    out = {}
    for name in ALL:
        cfg = PRESETS[name].to_config(device="cpu")
        out[name] = (cfg, build_model(cfg.model, cfg.model_config))
    return out


@pytest.mark.parametrize("name", ALL)
def test_preset_builds_valid_config(name):
    preset = PRESETS[name]
    cfg = preset.to_config()
    assert isinstance(cfg, TrainConfig)
    assert cfg.model == preset.model
    assert cfg.family == preset.family == MODELS[preset.model].family
    for key, value in preset.model_overrides.items():
        got = getattr(cfg.model_config, key)
        assert got == (tuple(value) if isinstance(value, list) else value), key
    for key, value in preset.train_overrides.items():
        assert getattr(cfg, key) == value, key
    # Survives the JSON round trip used for checkpoints and query strings.
    assert TrainConfig.from_dict(cfg.to_dict()).to_dict() == cfg.to_dict()


@pytest.mark.parametrize("name", ALL)
def test_preset_model_generates_images(name, built):
    cfg, model = built[name]
    model.eval()
    side = cfg.model_config.image_size
    with torch.no_grad():
        images = model.decode_to_unit(torch.randn(2, model.latent_dim))
    assert images.shape == (2, 1, side, side)
    assert torch.isfinite(images).all()
    assert images.min() >= 0 and images.max() <= 1
    with torch.no_grad():
        if cfg.family == "gan":
            assert model.discriminator(images * 2 - 1).shape == (2,)
        else:
            out = model(images)
            assert out.recon_logits.shape == images.shape and out.mu.shape == (2, model.latent_dim)


@pytest.mark.parametrize("name", ALL)
def test_preset_metadata(name):
    preset = PRESETS[name]
    assert preset.name == name
    assert preset.title.strip() and preset.note.strip()
    if name.startswith("default-"):  # this project's recipes, not a report's
        assert "This project's default" in preset.source
        return
    seed = name[len("seed"):len("seed") + 3]
    assert name.startswith("seed") and seed.isdigit()
    assert preset.source.strip() and f"Seed report {seed}" in preset.source
    assert preset.title.strip() and preset.note.strip()
    assert preset.family in ("gan", "vae")


def test_presets_for_filters_by_family():
    gans, vaes = presets_for("gan"), presets_for("vae")
    assert gans and vaes
    assert all(p.family == "gan" for p in gans) and all(p.family == "vae" for p in vaes)
    assert {p.name for p in gans} | {p.name for p in vaes} == set(PRESETS)
    assert not {p.name for p in gans} & {p.name for p in vaes}
    with pytest.raises(ConfigError, match="family"):
        presets_for("flow")


def test_get_preset_unknown_name_lists_valid_ones():
    assert get_preset("seed000-vae") is PRESETS["seed000-vae"]
    with pytest.raises(ConfigError) as err:
        get_preset("seed999-nope")
    message = str(err.value)
    assert "seed999-nope" in message
    assert all(name in message for name in PRESETS)
    with pytest.raises(ConfigError):
        get_preset(None)


def test_seed000_linear_gan_numbers():
    cfg = get_preset("seed000-linear-gan").to_config()
    assert cfg.model == "mlp-gan"
    assert cfg.model_config.latent_dim == 2
    assert cfg.lr_g == cfg.lr_d == 5e-4
    assert cfg.epochs == 20
    assert cfg.model_config.g_hidden == (256, 512, 1024)
    assert cfg.model_config.d_hidden == (1024, 512, 256)
    assert cfg.model_config.dropout == 0.3


def test_seed000_dcgan_is_paper_sized():
    cfg = get_preset("seed000-dcgan").to_config()
    mc = cfg.model_config
    assert (cfg.model, mc.image_size, mc.g_width, mc.d_width, mc.latent_dim) == ("dcgan-64", 64, 128, 128, 100)
    assert (cfg.epochs, cfg.lr_g, cfg.lr_d) == (10, 2e-4, 2e-4)


def test_parameter_counts_match_reports(built):
    # Seed 001 Discussion: the MNIST VAE has 1,079,600 parameters (Listing 1); ours is identical.
    assert built["seed001-vae"][1].num_parameters()["total"] == 1_079_600
    # Seed 001 Listing 3 (64 → 256 → 784 / 784 → 128 → 1) has 318,737 parameters.
    assert built["seed001-gan"][1].num_parameters()["total"] == 318_737
    # Seed 003 runs pytorch/examples vae/main.py: 784 → 400 → 2×20, 20 → 400 → 784.
    assert built["seed003-vae"][1].num_parameters()["total"] == 652_824


def test_to_config_extra_overrides_and_rejects():
    preset = get_preset("seed000-linear-gan")
    cfg = preset.to_config(epochs=1, seed=7, device="cpu")
    assert (cfg.epochs, cfg.seed, cfg.lr_g) == (1, 7, 5e-4)
    assert preset.train_overrides["epochs"] == 20  # the preset itself is untouched
    with pytest.raises(ConfigError, match="unknown"):
        preset.to_config(epochz=1)
    with pytest.raises(ConfigError, match="fixed by preset"):
        preset.to_config(model="dcgan")
    with pytest.raises(ConfigError):
        preset.to_config(epochs=0)  # TrainConfig's own validation still applies
    assert get_preset("seed002-conv-vae-fashion").to_config().dataset == "fashion-mnist"


def test_preset_rejects_family_mismatch():
    with pytest.raises(ConfigError, match="is a vae"):
        Preset(name="bad-one", title="t", source="s", family="gan", model="mlp-vae")
    with pytest.raises(ConfigError):
        Preset(name="Bad Name", title="t", source="s", family="gan", model="mlp-gan")
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_preset("seed000-vae").epochs = 3  # type: ignore[attr-defined]
