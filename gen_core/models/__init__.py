"""Model builders. Use `gen_core.registry` to build a model by name."""
from .base import GAN, VAE, VAEOutput
from .dcgan import build_dcgan
from .mlp_gan import build_mlp_gan
from .vae import build_conv_vae, build_mlp_vae

__all__ = ["GAN", "VAE", "VAEOutput", "build_dcgan", "build_mlp_gan", "build_conv_vae", "build_mlp_vae"]
