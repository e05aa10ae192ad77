"""Conditional GAN and VAE: labels reach both nets, the pages' pictures have the right shapes,
and a short seeded run draws classes the evaluator recognises well above chance."""
import numpy as np
import pytest
import torch

from conftest import tiny_config, torch_threads
from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig
from gen_core.evaluation import conditional
from gen_core.figures.conditional import class_accuracy_figure, confusion_figure
from gen_core.models.registry import build_model, get_model_spec
from gen_core.presets.registry import get_preset
from gen_core.training.trainer import Trainer


SMALL = {"cgan": dict(g_width=8, d_width=8, latent_dim=8, embed_dim=4), "cvae": dict(hidden=(64, 32))}


def _tiny(model, **kw):
    return tiny_config(model, model_overrides=SMALL[model], **kw)


@pytest.mark.parametrize("name", ["cgan", "cvae"])
def test_registered_as_conditional(name):
    spec = get_model_spec(name)
    assert spec.conditional and spec.family == ("gan" if name == "cgan" else "vae")


@pytest.mark.parametrize("size", [28, 32, 64])
def test_cgan_shapes_and_label_changes_output(size):
    torch.manual_seed(0)
    model = build_model("cgan", get_model_spec("cgan").config_cls(image_size=size, channels=3, g_width=8,
                                                                   d_width=8)).eval()
    z = torch.randn(4, model.latent_dim)
    x0 = model.generator(z, torch.zeros(4, dtype=torch.long))
    x1 = model.generator(z, torch.ones(4, dtype=torch.long))
    assert x0.shape == (4, 3, size, size)
    assert not torch.allclose(x0, x1)                      # the label is an input of G
    y = torch.tensor([0, 1, 2, 3])
    assert model.discriminator(x0, y).shape == (4,)
    # the projection term depends on y; without y only the unconditional part ψ scores
    assert not torch.allclose(model.discriminator(x0, y), model.discriminator(x0, y + 1))
    assert model.discriminator(x0).shape == (4,)
    assert model.decode_to_unit(z).shape == (4, 3, size, size)  # default labels cycle 0, 1, 2, …


def test_cvae_labels_in_encoder_and_decoder():
    torch.manual_seed(0)
    model = build_model("cvae").eval()
    x = torch.rand(3, 1, 28, 28)
    mu_a, _ = model.encode(x, torch.tensor([0, 0, 0]))
    mu_b, _ = model.encode(x, torch.tensor([5, 5, 5]))
    assert not torch.allclose(mu_a, mu_b)
    z = torch.zeros(2, 2)
    assert not torch.allclose(model.decode(z, torch.tensor([1, 1])), model.decode(z, torch.tensor([7, 7])))
    out = model(x, y=torch.tensor([1, 2, 3]))
    assert out.recon_logits.shape == x.shape and out.mu.shape == (3, 2)
    assert model.encode(x)[0].shape == (3, 2)  # no label: the uniform label vector


@pytest.mark.parametrize("name", ["cgan", "cvae"])
def test_same_z_grid_shape(name):
    model = build_model(name, _tiny(name).model_config)
    images = conditional.same_z_images(model, n_z=3, seed=1)
    assert images.shape == (3 * 10, 1, 28, 28)
    grid = conditional.same_z_grid(model, n_z=3, padding=2)
    assert grid.shape == (3 * 30 + 2, 10 * 30 + 2) and grid.dtype == np.uint8
    # row r is one z: the same z under each label (here: the first two rows hold different z)
    z_rows = torch.randn(3, model.latent_dim, generator=torch.Generator().manual_seed(1))
    again = conditional.generate_for_labels(model, torch.arange(10), z=z_rows[1].expand(10, -1))
    assert torch.allclose(again, images[10:20], atol=1e-6)
    with pytest.raises(ConfigError, match="label must be between 0 and 9"):
        conditional.label_samples(model, 10)


@pytest.mark.parametrize("name", ["cgan", "cvae"])
def test_trains_with_labels_and_snapshots(name, mini_data):
    trainer = Trainer(_tiny(name), data=mini_data)
    while not trainer.done:
        trainer.train_step()
    last = trainer.history.epochs[-1]
    assert np.isfinite(last["val_d_loss" if name == "cgan" else "val_loss"])
    snap = trainer.snapshots[-1]
    assert snap.samples.shape == (16, 1, 28, 28)
    if name == "cvae":
        assert snap.reconstructions.shape == snap.originals.shape
        assert snap.latent_means.shape == (64, 2)


def test_cgan_with_gan_tricks(mini_data):
    cfg = _tiny("cgan", ema_decay=0.9, spectral_norm=True, label_smoothing=0.1, instance_noise=0.1, epochs=1)
    trainer = Trainer(cfg, data=mini_data)
    while not trainer.done:
        trainer.train_step()
    model = trainer.model
    assert model.ema_generator is not None
    assert conditional.same_z_images(model, 2).shape == (20, 1, 28, 28)


def test_num_classes_must_match_the_data(mini_data):
    cfg = _tiny("cvae").replace(model_config=get_model_spec("cvae").config_cls(hidden=(16,), num_classes=5))
    with pytest.raises(ConfigError, match="has 10"):
        Trainer(cfg, data=mini_data)


def test_presets_build():
    assert get_preset("seed002-cgan").to_config().model == "cgan"
    assert get_preset("seed000-cvae").to_config().model == "cvae"


def test_short_seeded_cvae_run_is_read_well_above_chance(mini_data):
    """The issue's test: after a short seeded run the evaluator reads the generated labels well above chance."""
    from gen_core.evaluation.evaluator import load_evaluator
    evaluator = load_evaluator("mnist-mini")
    assert evaluator is not None
    cfg = TrainConfig(model="cvae", model_config=get_model_spec("cvae").config_cls(hidden=(512, 256)),
                      dataset="mnist-mini", epochs=2, images_per_epoch=6400, batch_size=64, lr=2e-3,
                      val_images=100, n_fixed=10, seed=0, device="cpu")
    trainer = Trainer(cfg, data=mini_data)
    before = conditional.class_accuracy(trainer.model, evaluator, 30, seed=3)["overall"]
    while not trainer.done:
        trainer.train_step()
    result = conditional.class_accuracy(trainer.model, evaluator, 50, seed=3)
    assert result["chance"] == pytest.approx(0.1)
    assert result["overall"] >= 0.3 > before + 0.1  # chance is 0.1
    assert np.array(result["confusion"]).sum() == 500


def test_short_seeded_cgan_run_is_read_well_above_chance(mini_data):
    """The same for the cGAN: 400 seeded steps (batch 64) and the evaluator reads most labels as asked.
    Measured (seed 0): overall 0.46 with 6 of 10 labels read ≥ 0.3 on one torch thread (0.45 and 6 on
    two; chance 0.1). At 300 steps one thread gave 4 labels, two gave 5: too close to the line.
    The thread count is pinned because a GAN's path depends on the summation order, and a run trained
    earlier in this process (e.g. by an app test) may have left MKL's process-wide count at 1."""
    from gen_core.evaluation.evaluator import load_evaluator
    evaluator = load_evaluator("mnist-mini")
    assert evaluator is not None
    mc = get_model_spec("cgan").config_cls(g_width=16, d_width=16, latent_dim=32, embed_dim=16)
    cfg = TrainConfig(model="cgan", model_config=mc, dataset="mnist-mini", epochs=4, images_per_epoch=6400,
                      batch_size=64, lr_g=1e-3, lr_d=1e-3, val_images=100, n_fixed=10, seed=0, device="cpu")
    with torch_threads(1):
        trainer = Trainer(cfg, data=mini_data)
        before = conditional.class_accuracy(trainer.model, evaluator, 30, seed=3)["overall"]
        while not trainer.done:
            trainer.train_step()
        result = conditional.class_accuracy(trainer.model, evaluator, 50, seed=3)
    assert result["overall"] >= 0.3 > before + 0.1
    assert sum(acc >= 0.3 for acc in result["per_class"]) >= 5  # most labels drawn as asked, not one
    grid = conditional.same_z_grid(trainer.model, n_z=4, padding=2)
    assert grid.shape == (4 * 30 + 2, 10 * 30 + 2)


def test_accuracy_figures():
    fig = class_accuracy_figure([0.5, 1.0], ["0", "1"], 0.5)
    assert list(fig.data[0].y) == [50.0, 100.0]
    heat = confusion_figure([[3, 1], [0, 4]], ["a", "b"])
    assert heat.data[0].z[0][0] == 3
