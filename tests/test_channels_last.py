"""DCGANs train channels-last on the CPU (ModelSpec.channels_last): same numbers, standard files."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import tiny_config
from gen_core.models.registry import get_model_spec
from gen_core.persistence.checkpoints import checkpoint_payload, save_checkpoint
from gen_core.persistence.loading import load_checkpoint
from gen_core.persistence.resume import resume_trainer
from gen_core.training.trainer import Trainer


CL = torch.channels_last
SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "dcgan-mnist.pt"


def _conv_weights(module):
    return [p for p in module.parameters() if p.dim() == 4 and p.shape[1] > 1]


def _train(trainer, steps):
    return [trainer.train_step() for _ in range(steps)]


def test_dcgan_trainer_is_channels_last(mini_data):
    assert get_model_spec("dcgan").channels_last and get_model_spec("dcgan-64").channels_last
    trainer = Trainer(tiny_config("dcgan"), mini_data)
    _train(trainer, 2)
    weights = _conv_weights(trainer.model)
    assert weights and all(p.is_contiguous(memory_format=CL) and not p.is_contiguous() for p in weights)
    opt = trainer.objective.optimizers["generator"]
    for p in opt.param_groups[0]["params"]:  # the moments follow their parameters' layout
        assert opt.state[p]["exp_avg"].stride() == p.stride()


def test_channels_last_matches_contiguous(mini_data):
    """Same seed, same batches: the NHWC run's losses and weights equal the NCHW run's within float noise."""
    cfg = tiny_config("dcgan")
    fast = Trainer(cfg, mini_data)
    plain = Trainer(cfg, mini_data)
    plain.model.to(memory_format=torch.contiguous_format)  # before any optimiser state exists
    assert all(p.is_contiguous() for p in plain.model.parameters())
    for a, b in zip(_train(fast, 3), _train(plain, 3)):
        for key in ("g_loss", "d_loss", "d_real", "d_fake"):
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), key
    for (name, p), q in zip(fast.model.state_dict().items(), plain.model.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5, msg=name)
    z = torch.randn(8, cfg.model_config.latent_dim, generator=torch.Generator().manual_seed(0))
    fast.model.eval(), plain.model.eval()
    with torch.no_grad():
        out = fast.model.generator(z)
        assert out.is_contiguous()  # callers may .view() the images
        torch.testing.assert_close(out, plain.model.generator(z), rtol=1e-4, atol=1e-5)


def test_files_hold_standard_layout_and_resume_restores_it(mini_data, tmp_path):
    trainer = Trainer(tiny_config("dcgan", epochs=2), mini_data)
    _train(trainer, 3)
    payload = checkpoint_payload(trainer)
    assert all(v.is_contiguous() for v in payload["model"].values())
    for opt_state in payload["optimizers"].values():
        for per_param in opt_state["state"].values():
            assert all(v.is_contiguous() for v in per_param.values() if isinstance(v, torch.Tensor))
    ck = load_checkpoint(save_checkpoint(trainer, tmp_path / "ck.pt"))  # the loader refuses odd strides
    resumed = resume_trainer(ck, data=mini_data)
    assert all(p.is_contiguous(memory_format=CL) for p in _conv_weights(resumed.model))
    for opt in resumed.objective.optimizers.values():
        for p, state in opt.state.items():  # fused Adam needs moments laid out like their parameter
            assert state["exp_avg"].stride() == p.stride() and state["exp_avg_sq"].stride() == p.stride()


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped DCGAN checkpoint")
def test_shipped_checkpoint_samples_the_same_in_either_layout():
    ck = load_checkpoint(SHIPPED)
    G = ck.model.sampler
    assert all(p.is_contiguous() for p in G.parameters())  # sampling a file: the layout it always had
    z = torch.randn(16, ck.model.latent_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = G(z)
        G.to(memory_format=CL)
        after = G(z)
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5)
