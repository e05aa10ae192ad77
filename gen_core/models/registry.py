"""Model registry: name → (family, config class, builder). No `if name ==` chains."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from gen_core.config.checks import ConfigError
from gen_core.config.models import CGANConfig, ConvVAEConfig, CVAEConfig, DCGANConfig, MLPGANConfig, MLPVAEConfig
from gen_core.models.cgan import build_cgan
from gen_core.models.cvae import build_cvae
from gen_core.models.dcgan import build_dcgan
from gen_core.models.mlp_gan import build_mlp_gan
from gen_core.models.vae import build_conv_vae, build_mlp_vae


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str                # "gan" or "vae"
    title: str                 # for menus
    config_cls: type
    build: Callable
    defaults: dict = field(default_factory=dict)  # overrides of the config class defaults
    description: str = ""
    conditional: bool = False  # trained on (image, label) pairs; the label is an input of the model
    # Train in channels-last (NHWC) layout on the CPU. Why: oneDNN's convolutions run NHWC natively;
    # given NCHW tensors, a layer whose weight is ambiguous (1 channel: G's last, D's first) makes it
    # copy whole activations to NHWC and back (4 copies per DCGAN step) and take a slow 1-channel
    # path. Channels-last weights and activations: +20-35% DCGAN samples/s at the same FLOPs
    # (bench/step_flops.py). Only the layout changes: parameters, state dicts and files are the same.
    channels_last: bool = False

    def default_config(self):
        return self.config_cls(**self.defaults)


MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in [
    ModelSpec("mlp-gan", "gan", "Linear GAN (MLP)", MLPGANConfig, build_mlp_gan,
              description="Fully connected GAN of seed report 000; 2-D latent by default."),
    ModelSpec("dcgan", "gan", "DCGAN 28×28", DCGANConfig, build_dcgan, channels_last=True,
              description="Convolutional GAN sized to train on a CPU."),
    ModelSpec("dcgan-64", "gan", "DCGAN 64×64 (paper)", DCGANConfig, build_dcgan, channels_last=True,
              defaults=dict(image_size=64, g_width=128, d_width=128, latent_dim=100),
              description="Radford et al. sizes (ngf = ndf = 128, latent 100); images resized to 64. Slow on CPU."),
    ModelSpec("mlp-vae", "vae", "MLP VAE", MLPVAEConfig, build_mlp_vae,
              description="Fully connected VAE of seed report 000; 2-D latent by default."),
    ModelSpec("conv-vae", "vae", "Conv VAE", ConvVAEConfig, build_conv_vae,
              description="Convolutional VAE (32, 64 channels) of seed report 002."),
    ModelSpec("cgan", "gan", "Conditional DCGAN (cGAN)", CGANConfig, build_cgan, conditional=True,
              description="DCGAN with the label embedded into G and a projection discriminator "
                          "(Miyato & Koyama 2018): pick a digit and see it drawn (seed report 002)."),
    ModelSpec("cvae", "vae", "Conditional VAE (cVAE)", CVAEConfig, build_cvae, conditional=True,
              description="MLP VAE with one-hot labels into encoder and decoder (Sohn et al. 2015); "
                          "2-D latent: z holds the style, the label the class."),
]}


def get_model_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}.") from None


def build_model(name: str, model_config=None):
    """Build model `name` from its config (defaults when None)."""
    spec = get_model_spec(name)
    cfg = spec.default_config() if model_config is None else model_config
    if not isinstance(cfg, spec.config_cls):
        raise ConfigError(f"{name} needs a {spec.config_cls.__name__}, got {type(cfg).__name__}.")
    return spec.build(cfg)
