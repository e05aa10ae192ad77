"""Model builders. Use `gen_core.models.registry` to build a model by name."""
from gen_core.models.base import GAN, VAE, VAEOutput
from gen_core.models.dcgan import build_dcgan
from gen_core.models.mlp_gan import build_mlp_gan
from gen_core.models.vae import build_conv_vae, build_mlp_vae


__all__ = ["GAN", "VAE", "VAEOutput", "build_dcgan", "build_mlp_gan", "build_conv_vae", "build_mlp_vae"]
