"""Each objective is finite and goes down when its player trains on a tiny fixed task."""
import pytest
import torch

from gen_core.config.models import MLPGANConfig, MLPVAEConfig
from gen_core.models.base import VAEOutput
from gen_core.models.registry import build_model
from gen_core.objectives.losses import GAN_LOSSES, gradient_penalty, kl_per_dim, vae_loss


def _tiny_gan():
    torch.manual_seed(0)
    return build_model("mlp-gan", MLPGANConfig(g_hidden=(32,), d_hidden=(32,), dropout=0.0))


@pytest.mark.parametrize("name", list(GAN_LOSSES))
def test_discriminator_loss_decreases(name):
    model, loss = _tiny_gan(), GAN_LOSSES[name]
    real = torch.rand(16, 1, 28, 28) * 2 - 1
    fake = torch.randn(16, 1, 28, 28).clamp(-1, 1)
    opt = torch.optim.Adam(model.discriminator.parameters(), lr=1e-3)
    values = []
    for _ in range(30):
        d_loss = loss.d_loss(model.discriminator(real), model.discriminator(fake))
        if loss.gradient_penalty:
            d_loss = d_loss + 10 * gradient_penalty(model.discriminator, real, fake)
        assert torch.isfinite(d_loss)
        opt.zero_grad(); d_loss.backward(); opt.step()
        values.append(d_loss.item())
    assert values[-1] < values[0]


@pytest.mark.parametrize("name", list(GAN_LOSSES))
def test_generator_loss_decreases(name):
    model, loss = _tiny_gan(), GAN_LOSSES[name]
    model.discriminator.requires_grad_(False)
    z = torch.randn(16, 2)
    opt = torch.optim.Adam(model.generator.parameters(), lr=1e-3)
    values = []
    for _ in range(30):
        g_loss = loss.g_loss(model.discriminator(model.generator(z)))
        assert torch.isfinite(g_loss)
        opt.zero_grad(); g_loss.backward(); opt.step()
        values.append(g_loss.item())
    assert values[-1] < values[0]


def test_minimax_and_non_saturating_differ_only_for_g():
    real, fake = torch.randn(8), torch.randn(8)
    mm, ns = GAN_LOSSES["minimax"], GAN_LOSSES["non-saturating"]
    assert torch.allclose(mm.d_loss(real, fake), ns.d_loss(real, fake))
    # D(G(z)) → 0: minimax's G gradient vanishes, the non-saturating one does not (Goodfellow et al. §3).
    f = torch.full((4,), -8.0, requires_grad=True)
    (g_mm,) = torch.autograd.grad(mm.g_loss(f), f)
    (g_ns,) = torch.autograd.grad(ns.g_loss(f), f)
    assert g_mm.abs().max() < 1e-3 < g_ns.abs().max()


def test_kl_closed_form():
    mu, logvar = torch.zeros(5, 3), torch.zeros(5, 3)
    assert torch.allclose(kl_per_dim(mu, logvar), torch.zeros(3))
    mu = torch.ones(5, 3)
    assert torch.allclose(kl_per_dim(mu, logvar), torch.full((3,), 0.5))


@pytest.mark.parametrize("recon", ["bce", "mse"])
def test_vae_loss_decreases_and_reports_parts(recon):
    torch.manual_seed(0)
    model = build_model("mlp-vae", MLPVAEConfig(hidden=(32,)))
    x = (torch.rand(16, 1, 28, 28) > 0.7).float()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    values = []
    for _ in range(40):
        terms = vae_loss(model(x), x, recon, beta=1.0)
        assert set(terms) == {"loss", "recon", "kl", "kl_per_dim"}
        assert torch.allclose(terms["loss"], terms["recon"] + terms["kl"])
        assert torch.allclose(terms["kl"], terms["kl_per_dim"].sum())
        opt.zero_grad(); terms["loss"].backward(); opt.step()
        values.append(terms["recon"].item())
    assert values[-1] < values[0]


def test_beta_weights_kl():
    out = VAEOutput(torch.zeros(2, 1, 28, 28), torch.ones(2, 2), torch.zeros(2, 2), torch.zeros(2, 2))
    x = torch.full((2, 1, 28, 28), 0.5)
    t1, t4 = vae_loss(out, x, "bce", 1.0), vae_loss(out, x, "bce", 4.0)
    assert torch.allclose(t4["loss"] - t1["loss"], 3 * t1["kl"])
