"""GAN stabilisation tricks: each switch changes what it claims to, and survives a checkpoint."""
from __future__ import annotations

import pytest
import torch

from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig
from gen_core.experiments.params import SWEEP_PARAMS, apply_value
from gen_core.objectives.losses import get_gan_loss
from gen_core.objectives.tricks import EXPLAIN, build_model_for, instance_noise_std, largest_singular_values
from gen_core.persistence.checkpoints import save_checkpoint
from gen_core.persistence.loading import load_checkpoint
from gen_core.persistence.resume import resume_trainer
from gen_core.training.trainer import Trainer


def _cfg(**changes) -> TrainConfig:
    base = dict(model="mlp-gan", dataset="mnist-mini", epochs=1, images_per_epoch=256, batch_size=32,
                val_images=64, n_fixed=4, seed=0)
    return TrainConfig(**{**base, **changes})


def _train(cfg: TrainConfig, steps: int) -> Trainer:
    trainer = Trainer(cfg, device="cpu")
    for _ in range(steps):
        trainer.train_step()
    return trainer


@pytest.mark.parametrize("model", ["mlp-gan", "dcgan"])
def test_spectral_norm_bounds_every_discriminator_layer(model):
    plain = _train(_cfg(model=model, lr_d=5e-3), 6)
    normed = _train(_cfg(model=model, lr_d=5e-3, spectral_norm=True), 6)
    sn = largest_singular_values(normed.model.discriminator)
    assert sn and all(0.9 < s < 1.1 for s in sn), sn  # one power iteration per step: ≈ 1
    assert any(abs(s - 1) > 0.2 for s in largest_singular_values(plain.model.discriminator))  # unconstrained


def test_ema_weights_differ_from_raw_and_draw_the_samples():
    trainer = _train(_cfg(ema_decay=0.9), 5)
    model = trainer.model
    raw = torch.cat([p.flatten() for p in model.generator.parameters()])
    ema = torch.cat([p.flatten() for p in model.ema_generator.parameters()])
    assert not torch.allclose(raw, ema)
    assert not any(p.requires_grad for p in model.ema_generator.parameters())
    z = torch.randn(3, model.latent_dim)
    model.eval()
    with torch.no_grad():
        assert torch.allclose(model.decode_to_unit(z), (model.ema_generator(z) + 1) / 2)
        assert not torch.allclose(model.decode_to_unit(z), (model.generator(z) + 1) / 2)
    # the optimiser trains the live generator only
    assert {id(p) for g in trainer.objective.optimizers["generator"].param_groups for p in g["params"]} == \
        {id(p) for p in model.generator.parameters()}


def test_without_ema_there_is_no_copy():
    assert build_model_for(_cfg()).ema_generator is None


def test_label_smoothing_lowers_the_real_target():
    loss = get_gan_loss("non-saturating")
    real, fake = torch.full((8,), 4.0), torch.full((8,), -4.0)
    # a confident D (σ(4) ≈ 0.98) is penalised once the target is 0.9
    assert loss.d_loss(real, fake, 0.9) > loss.d_loss(real, fake) + 0.2
    # the smoothed optimum: D(x) = 0.9, i.e. logit log(9)
    best = torch.tensor(9.0).log().repeat(8).requires_grad_(True)
    (grad,) = torch.autograd.grad(loss.d_loss(best, fake, 0.9), best)
    assert grad.abs().max() < 1e-5
    lsgan = get_gan_loss("lsgan")
    assert lsgan.d_loss(torch.full((4,), 0.8), torch.zeros(4), 0.8) == 0


def test_label_smoothing_reaches_the_trainer_and_is_refused_where_meaningless():
    assert Trainer(_cfg(label_smoothing=0.1), device="cpu").objective.real_target == pytest.approx(0.9)
    with pytest.raises(ConfigError, match="label smoothing"):
        _cfg(gan_loss="hinge", label_smoothing=0.1)
    with pytest.raises(ConfigError, match="label_smoothing"):
        _cfg(label_smoothing=0.7)


def test_instance_noise_anneals_to_zero_and_changes_training():
    cfg = _cfg(instance_noise=0.5)
    assert instance_noise_std(cfg, 0.0) == 0.5
    assert instance_noise_std(cfg, 0.5) == pytest.approx(0.25)
    assert instance_noise_std(cfg, 1.0) == 0.0
    noisy = _train(cfg, 3).history.steps[-1]
    plain = _train(_cfg(), 3).history.steps[-1]
    assert noisy["d_loss"] != plain["d_loss"]


def test_d_steps_update_d_more_often():
    trainer = _train(_cfg(d_steps=3, images_per_epoch=512), 2)
    opt = trainer.objective.optimizers
    d_state = next(iter(opt["discriminator"].state.values()))["step"]
    g_state = next(iter(opt["generator"].state.values()))["step"]
    assert int(d_state) == 3 * int(g_state) == 6


def test_tricks_survive_a_checkpoint_and_resume_exactly(tmp_path):
    cfg = _cfg(spectral_norm=True, ema_decay=0.8, label_smoothing=0.1, instance_noise=0.2, images_per_epoch=256,
               epochs=2)
    straight = _train(cfg, 12)
    first = _train(cfg, 5)
    save_checkpoint(first, tmp_path / "c.pt")
    ck = load_checkpoint(tmp_path / "c.pt")
    assert ck.config.spectral_norm and ck.config.ema_decay == 0.8
    assert ck.model.ema_generator is not None
    resumed = resume_trainer(ck)
    for _ in range(7):
        resumed.train_step()
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", ["spectral_norm", "ema_decay", "label_smoothing", "instance_noise", "d_steps"])
def test_every_trick_is_sweepable_and_explained(name):
    assert name in SWEEP_PARAMS and EXPLAIN[name]
    value = {"spectral_norm": True, "ema_decay": 0.99, "label_smoothing": 0.1, "instance_noise": 0.1,
             "d_steps": 2}[name]
    assert getattr(apply_value(_cfg(), name, value), name) == value


def test_ema_warms_up_before_averaging_slowly():
    from gen_core.objectives.tricks import ema_decay_at
    assert ema_decay_at(0.999, 0) == pytest.approx(0.1)      # follows G closely at first …
    assert ema_decay_at(0.999, 90) == pytest.approx(0.91)
    assert ema_decay_at(0.999, 100_000) == 0.999              # … then averages over ~1,000 steps
