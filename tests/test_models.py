"""Every registered model builds, has the documented shapes and reports its size."""
import pytest
import torch

from gen_core.config.checks import ConfigError
from gen_core.config.models import MLPGANConfig
from gen_core.models.layers import FastDropout
from gen_core.models.registry import MODELS, build_model, get_model_spec


@pytest.mark.parametrize("name", list(MODELS))
def test_shapes(name):
    torch.manual_seed(0)
    model = build_model(name)
    side = model.image_shape[-1]
    z = torch.randn(3, model.latent_dim)
    if model.family == "gan":
        x = model.generator(z)
        assert x.shape == (3, 1, side, side)
        assert x.min() >= -1 and x.max() <= 1  # Tanh
        assert model.discriminator(x).shape == (3,)
    else:
        out = model(torch.rand(3, 1, side, side))
        assert out.recon_logits.shape == (3, 1, side, side)
        assert out.mu.shape == out.logvar.shape == out.z.shape == (3, model.latent_dim)
    images = model.decode_to_unit(z)
    assert images.shape == (3, 1, side, side) and 0 <= images.min() and images.max() <= 1
    counts = model.num_parameters()
    assert counts["total"] == sum(p.numel() for p in model.parameters()) > 0


def test_seed000_linear_gan_sizes():
    """Seed report 000: G z→256→512→1024→784, D 784→1024→512→256→1."""
    model = build_model("mlp-gan")
    g_linear = [m for m in model.generator.modules() if isinstance(m, torch.nn.Linear)]
    d_linear = [m for m in model.discriminator.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in g_linear] == [256, 512, 1024, 784]
    assert [m.out_features for m in d_linear] == [1024, 512, 256, 1]
    assert model.latent_dim == 2
    assert any(isinstance(m, FastDropout) and m.p == 0.3 for m in model.discriminator.modules())


def test_dcgan64_is_paper_size():
    spec = get_model_spec("dcgan-64")
    cfg = spec.default_config()
    assert (cfg.image_size, cfg.g_width, cfg.d_width, cfg.latent_dim) == (64, 128, 128, 100)


def test_unknown_model_and_bad_sizes_are_config_errors():
    with pytest.raises(ConfigError, match="unknown model"):
        get_model_spec("resnet-9000")
    with pytest.raises(ConfigError, match="latent_dim"):
        MLPGANConfig(latent_dim=0)
    with pytest.raises(ConfigError, match="width"):
        MLPGANConfig(g_hidden=(0,))


def test_fast_dropout_keeps_the_expected_fraction_and_mean():
    torch.manual_seed(0)
    drop = FastDropout(0.3)
    x = torch.ones(512, 1024)
    y = drop(x)
    kept = (y != 0).float().mean().item()
    assert abs(kept - 179 / 256) < 0.01
    assert abs(y.mean().item() - 1.0) < 0.01          # inverted dropout: E[y] = x
    assert torch.equal(drop.eval()(x), x)              # identity at eval time
    x.requires_grad_(True)
    drop.train()(x).sum().backward()
    grads = x.grad.unique()
    assert len(grads) == 2 and grads[0] == 0 and abs(grads[1].item() - 256 / 179) < 1e-6
