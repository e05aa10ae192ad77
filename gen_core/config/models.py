"""One typed config dataclass per model family (validated in `__post_init__`)."""
from __future__ import annotations

from dataclasses import dataclass, field

from gen_core.config.checks import _check, _check_bool, _check_choice, _check_float, _check_int, _widths


@dataclass
class MLPGANConfig:
    """Linear GAN of seed report 000 (Goodfellow et al. 2014, fully connected)."""
    latent_dim: int = field(default=2, metadata={"help": "size of the noise vector z"})
    g_hidden: tuple[int, ...] = field(default=(256, 512, 1024),
                                      metadata={"help": "generator hidden widths, z → … → 784"})
    d_hidden: tuple[int, ...] = field(default=(1024, 512, 256),
                                      metadata={"help": "discriminator hidden widths, 784 → … → 1"})
    dropout: float = field(default=0.3, metadata={"help": "dropout in the discriminator"})
    batch_norm: bool = field(default=False, metadata={"help": "batch-norm in the generator's hidden layers"})
    leaky_slope: float = field(default=0.2, metadata={"help": "LeakyReLU negative slope"})
    image_size: int = field(default=28, metadata={"help": "side of the square images"})
    channels: int = field(default=1, metadata={"help": "image channels"})

    def __post_init__(self):
        _check_int("latent_dim", self.latent_dim, 1, 1024)
        self.g_hidden = _widths("g_hidden", self.g_hidden)
        self.d_hidden = _widths("d_hidden", self.d_hidden)
        _check_float("dropout", self.dropout, 0.0, 0.9)
        _check_bool("batch_norm", self.batch_norm)
        _check_float("leaky_slope", self.leaky_slope, 0.0, 1.0)
        _check_int("image_size", self.image_size, 8, 128)
        _check_int("channels", self.channels, 1, 3)


DCGAN_UPSAMPLE = ("convtranspose", "nearest")


@dataclass
class DCGANConfig:
    """Deep convolutional GAN (Radford et al. 2016). 28×28 CPU-sized or 64×64 paper-sized."""
    latent_dim: int = field(default=64, metadata={"help": "size of the noise vector z"})
    g_width: int = field(default=32, metadata={"help": "generator feature maps in the last layer (ngf)"})
    d_width: int = field(default=32, metadata={"help": "discriminator feature maps in the first layer (ndf)"})
    image_size: int = field(default=28, metadata={"help": "28 (two up-samplings from 7×7) or 64 (paper, four from 4×4)"})
    channels: int = field(default=1, metadata={"help": "image channels"})
    leaky_slope: float = field(default=0.2, metadata={"help": "LeakyReLU negative slope in D"})
    upsample: str = field(default="convtranspose", metadata={
        "help": "how G doubles the side: convtranspose (the paper's 4×4 stride-2 transposed conv) or "
                "nearest (nearest-neighbour upsampling + 3×3 conv, Odena et al. 2016: no checkerboard "
                "artefacts; learns more per step, ~35% slower per step on a CPU)"})

    def __post_init__(self):
        _check_int("latent_dim", self.latent_dim, 1, 1024)
        _check_choice("upsample", self.upsample, DCGAN_UPSAMPLE)
        _check_int("g_width", self.g_width, 4, 512)
        _check_int("d_width", self.d_width, 4, 512)
        _check_choice("image_size", self.image_size, (28, 32, 64))
        _check_int("channels", self.channels, 1, 3)
        _check_float("leaky_slope", self.leaky_slope, 0.0, 1.0)


@dataclass
class MLPVAEConfig:
    """Fully connected VAE of seed report 000 (Kingma & Welling 2014)."""
    latent_dim: int = field(default=2, metadata={"help": "size of the latent code z"})
    hidden: tuple[int, ...] = field(default=(512, 256),
                                    metadata={"help": "encoder hidden widths; the decoder mirrors them"})
    image_size: int = field(default=28, metadata={"help": "side of the square images"})
    channels: int = field(default=1, metadata={"help": "image channels"})

    def __post_init__(self):
        _check_int("latent_dim", self.latent_dim, 1, 1024)
        self.hidden = _widths("hidden", self.hidden)
        _check_int("image_size", self.image_size, 8, 128)
        _check_int("channels", self.channels, 1, 3)


@dataclass
class ConvVAEConfig:
    """Convolutional VAE (seed report 002: 32 and 64 channels)."""
    latent_dim: int = field(default=16, metadata={"help": "size of the latent code z"})
    conv_channels: tuple[int, ...] = field(default=(32, 64),
                                           metadata={"help": "encoder conv channels, each halves the side"})
    hidden: int = field(default=256, metadata={"help": "width of the dense layer after the convolutions"})
    image_size: int = field(default=28, metadata={"help": "side of the square images"})
    channels: int = field(default=1, metadata={"help": "image channels"})

    def __post_init__(self):
        _check_int("latent_dim", self.latent_dim, 1, 1024)
        self.conv_channels = _widths("conv_channels", self.conv_channels)
        _check(len(self.conv_channels) <= 2, "conv_channels may have at most 2 layers for 28×28 images.")
        _check_int("hidden", self.hidden, 1, 8192)
        _check_int("image_size", self.image_size, 8, 128)
        _check_int("channels", self.channels, 1, 3)
        step = 2 ** len(self.conv_channels)  # each convolution halves the side
        _check(self.image_size % step == 0,
               f"conv-vae with {len(self.conv_channels)} convolution(s) needs an image_size divisible by {step}, "
               f"got {self.image_size}.")


@dataclass
class CGANConfig:
    """Class-conditional DCGAN: label embedding into G (Mirza & Osindero 2014), projection D
    (Miyato & Koyama 2018). Same layer plan as `DCGANConfig`; `num_classes` comes from the data."""
    latent_dim: int = field(default=64, metadata={"help": "size of the noise vector z"})
    g_width: int = field(default=32, metadata={"help": "generator feature maps in the last layer (ngf)"})
    d_width: int = field(default=32, metadata={"help": "discriminator feature maps in the first layer (ndf)"})
    embed_dim: int = field(default=16, metadata={"help": "size of the generator's label embedding"})
    num_classes: int = field(default=10, metadata={"help": "number of labels (the dataset's classes)"})
    image_size: int = field(default=28, metadata={"help": "28 (two up-samplings from 7×7) or 64 (four from 4×4)"})
    channels: int = field(default=1, metadata={"help": "image channels"})
    leaky_slope: float = field(default=0.2, metadata={"help": "LeakyReLU negative slope in D"})
    # nearest by default: with transposed convs a short CPU run (300 steps, seeds 0-2) drew labels the
    # evaluator read at 10-23% (chance 10%); nearest + 3×3 conv reached 37-48% (tests/test_conditional.py).
    upsample: str = field(default="nearest", metadata={
        "help": "how G doubles the side: nearest (nearest-neighbour upsampling + 3×3 conv, Odena et al. "
                "2016; learns labels far faster per step) or convtranspose (DCGAN's 4×4 stride-2 transposed conv)"})

    def __post_init__(self):
        _check_int("latent_dim", self.latent_dim, 1, 1024)
        _check_int("g_width", self.g_width, 4, 512)
        _check_int("d_width", self.d_width, 4, 512)
        _check_int("embed_dim", self.embed_dim, 1, 512)
        _check_choice("upsample", self.upsample, DCGAN_UPSAMPLE)
        _check_int("num_classes", self.num_classes, 2, 1000)
        _check_choice("image_size", self.image_size, (28, 32, 64))
        _check_int("channels", self.channels, 1, 3)
        _check_float("leaky_slope", self.leaky_slope, 0.0, 1.0)


@dataclass
class CVAEConfig:
    """Conditional VAE (Sohn et al. 2015): one-hot labels into the encoder and the decoder.
    MLP layout of seed report 000's VAE; with a 2-D latent, z holds style and y holds the class."""
    latent_dim: int = field(default=2, metadata={"help": "size of the latent code z"})
    hidden: tuple[int, ...] = field(default=(512, 256),
                                    metadata={"help": "encoder hidden widths; the decoder mirrors them"})
    num_classes: int = field(default=10, metadata={"help": "number of labels (the dataset's classes)"})
    image_size: int = field(default=28, metadata={"help": "side of the square images"})
    channels: int = field(default=1, metadata={"help": "image channels"})

    def __post_init__(self):
        _check_int("latent_dim", self.latent_dim, 1, 1024)
        self.hidden = _widths("hidden", self.hidden)
        _check_int("num_classes", self.num_classes, 2, 1000)
        _check_int("image_size", self.image_size, 8, 128)
        _check_int("channels", self.channels, 1, 3)
