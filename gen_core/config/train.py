"""Typed, validated configuration: the one place user input is checked.

Every value that reaches the engine — from a slider, a URL query string, the
CLI or a checkpoint file — goes through these dataclasses. Each `__post_init__`
calls `_check`, so an invalid config can never be constructed and the message
always says what *is* allowed.

Layout (config → model → trainer, as in pythae):
  * one small dataclass per model family (`MLPGANConfig`, `DCGANConfig`,
    `MLPVAEConfig`, `ConvVAEConfig`), holding layer sizes only;
  * `TrainConfig`: the model's name and its config, the data, the objective and
    the optimiser settings.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from gen_core.config.checks import _check, _check_bool, _check_choice, _check_float, _check_int, _short


GAN_LOSS_NAMES = ("non-saturating", "minimax", "lsgan", "wgan-gp", "hinge")


RECON_LOSS_NAMES = ("bce", "mse")


DATASET_NAMES = ("mnist", "fashion-mnist", "kmnist", "mnist-mini")


VAL_POINTS = 50   # validation points a long run's curve gets with val_every = 0 (auto)


# Colour data (gen_core.data.shapes, gen_core.data.image_folders): not in the sidebar's grey-scale list.
# "folder:<path>" names a folder or .zip of your own images (or, for uploads, its name).
COLOUR_DATASET_NAMES = ("shapes",)


FOLDER_PREFIX = "folder:"


def is_folder_dataset(name) -> bool:
    return isinstance(name, str) and name.startswith(FOLDER_PREFIX) and len(name) > len(FOLDER_PREFIX)


@dataclass
class TrainConfig:
    """Everything one training run needs. Defaults give a quick, sensible run."""
    model: str = field(default="mlp-gan", metadata={"help": "model name (see `list-models`)"})
    model_config: Any = field(default=None, metadata={"help": "the model's own config dataclass"})
    dataset: str = field(default="mnist", metadata={"help": "dataset name"})
    data_root: str | None = field(default=None, metadata={"help": "folder with torchvision-layout data"})
    epochs: int = field(default=5, metadata={"help": "passes over the training images"})
    batch_size: int = field(default=128, metadata={"help": "images per optimiser step"})
    images_per_epoch: int | None = field(
        default=None, metadata={"help": "train on a fixed seeded subset of N images (None = all)"})
    seed: int = field(default=0, metadata={"help": "seeds weights, noise and shuffling"})
    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda or cuda:N"})
    # --- GAN objective -----------------------------------------------------
    gan_loss: str = field(default="non-saturating", metadata={"help": "GAN objective"})
    lr_g: float = field(default=2e-4, metadata={"help": "generator learning rate"})
    lr_d: float = field(default=2e-4, metadata={"help": "discriminator learning rate"})
    beta1: float = field(default=0.5, metadata={"help": "GAN Adam beta1 (0.5, Radford et al.); VAEs use Adam's defaults"})
    beta2: float = field(default=0.999, metadata={"help": "GAN Adam beta2"})
    d_steps: int = field(default=1, metadata={"help": "discriminator steps per generator step"})
    gp_weight: float = field(default=10.0, metadata={"help": "WGAN-GP gradient-penalty weight λ"})
    # --- GAN stabilisation tricks (gen_core.objectives.tricks cites each paper) ----------
    spectral_norm: bool = field(default=False, metadata={
        "help": "spectral normalisation of every D layer (Miyato et al. 2018)"})
    ema_decay: float = field(default=0.0, metadata={
        "help": "sample from an exponential moving average of G's weights with this decay, e.g. 0.999 "
                "(Yazici et al. 2019); 0 = off"})
    label_smoothing: float = field(default=0.0, metadata={
        "help": "one-sided label smoothing: D's target for real images is 1 - s (Salimans et al. 2016); 0 = off"})
    instance_noise: float = field(default=0.0, metadata={
        "help": "std of Gaussian noise added to D's inputs, annealed linearly to 0 (Sonderby et al. 2016); 0 = off"})
    # --- VAE objective -----------------------------------------------------
    lr: float = field(default=1e-3, metadata={"help": "VAE learning rate"})
    recon_loss: str = field(default="bce", metadata={"help": "VAE reconstruction loss"})
    beta: float = field(default=1.0, metadata={"help": "weight of the KL term (β-VAE)"})
    # --- Snapshots -----------------------------------------------------------
    n_fixed: int = field(default=64, metadata={"help": "fixed-noise samples per epoch grid"})
    n_recon: int = field(default=16, metadata={"help": "held-out images reconstructed per epoch (VAE)"})
    latent_map_size: int = field(default=20, metadata={"help": "n for the n×n latent map (2-D latents)"})
    val_images: int = field(default=2000, metadata={"help": "held-out images scored each epoch"})
    val_every: int = field(default=0, metadata={
        "help": "score the held-out images every k epochs (and after the first and the last); "
                "0 = auto: every epoch for runs of up to 50 epochs, about 50 times in longer ones"})
    # --- Quality metrics during training (gen_core.evaluation.metrics) ------------------
    metrics_every: int = field(default=0, metadata={"help": "score samples (FID, IS, precision/recall) every k epochs; 0 = off"})
    metrics_samples: int = field(default=1000, metadata={"help": "generated and real images per metrics evaluation"})

    def __post_init__(self):
        from gen_core.models.registry import get_model_spec  # late import: registry imports the model configs
        from gen_core.models.registry import MODELS
        _check(isinstance(self.model, str) and self.model in MODELS,
               f"unknown model {_short(self.model)}; choose one of {', '.join(MODELS)}.")
        spec = get_model_spec(self.model)
        if self.model_config is None:
            self.model_config = spec.default_config()
        elif isinstance(self.model_config, dict):
            self.model_config = model_config_from_dict(self.model, self.model_config)
        _check(isinstance(self.model_config, spec.config_cls),
               f"model_config for {self.model} must be a {spec.config_cls.__name__}.")
        if not (is_folder_dataset(self.dataset) and len(self.dataset) <= 4096 and "\x00" not in self.dataset):
            _check_choice("dataset", self.dataset, DATASET_NAMES + COLOUR_DATASET_NAMES)
        _check(self.data_root is None or (isinstance(self.data_root, str) and self.data_root.strip() != ""
                                          and "\x00" not in self.data_root and len(self.data_root) <= 4096),
               f"data_root must be a folder path or empty, got {_short(self.data_root)}.")
        _check_int("epochs", self.epochs, 1, 10_000)
        _check_int("batch_size", self.batch_size, 1, 8192)
        _check_int("d_steps", self.d_steps, 1, 20)
        gan = spec.family == "gan"
        per_step = self.batch_size * (self.d_steps if gan else 1)
        if self.images_per_epoch is not None:
            _check_int("images_per_epoch", self.images_per_epoch, 1, 10_000_000)
            _check(self.images_per_epoch >= per_step,
                   f"images_per_epoch ({self.images_per_epoch:,}) must be at least the batch size "
                   f"({self.batch_size:,}{f' × {self.d_steps} D steps' if gan and self.d_steps > 1 else ''}), "
                   "or an epoch would have no step.")
        if getattr(self.model_config, "batch_norm", False):
            _check(self.batch_size >= 2, "batch_size must be at least 2 with batch-norm (it normalises over "
                                         "the batch), got 1.")
        _check_int("seed", self.seed, 0, 2**31 - 1)
        _check(isinstance(self.device, str) and (self.device in ("auto", "cpu", "cuda", "mps")
                                                 or re.fullmatch(r"cuda:\d{1,2}", self.device) is not None),
               f"device must be auto, cpu, cuda, cuda:N or mps; got {_short(self.device)}.")
        _check_choice("gan_loss", self.gan_loss, GAN_LOSS_NAMES)
        for name in ("lr_g", "lr_d", "lr"):
            _check_float(name, getattr(self, name), 0.0, 1.0, lo_open=True)
        _check_float("beta1", self.beta1, 0.0, 0.999)
        _check_float("beta2", self.beta2, 0.0, 0.99999)
        _check_float("gp_weight", self.gp_weight, 0.0, 1000.0)
        _check_bool("spectral_norm", self.spectral_norm)
        _check_float("ema_decay", self.ema_decay, 0.0, 0.9999)
        _check_float("label_smoothing", self.label_smoothing, 0.0, 0.5)
        _check_float("instance_noise", self.instance_noise, 0.0, 2.0)
        if self.label_smoothing > 0 and gan:
            from gen_core.objectives.losses import GAN_LOSSES
            smoothable = [n for n, loss in GAN_LOSSES.items() if loss.smoothable]
            _check(GAN_LOSSES[self.gan_loss].smoothable,
                   f"label smoothing lowers D's target for real images, which the {self.gan_loss} loss does not "
                   f"have; use it with {', '.join(smoothable)}, or set label_smoothing to 0.")
        _check_choice("recon_loss", self.recon_loss, RECON_LOSS_NAMES)
        _check_float("beta", self.beta, 0.0, 1000.0)
        _check_int("n_fixed", self.n_fixed, 1, 256)
        _check_int("n_recon", self.n_recon, 1, 64)
        _check_int("latent_map_size", self.latent_map_size, 2, 40)
        _check_int("val_images", self.val_images, 0, 100_000)
        _check_int("val_every", self.val_every, 0, 10_000)
        _check_int("metrics_every", self.metrics_every, 0, 10_000)
        _check_int("metrics_samples", self.metrics_samples, 50, 20_000)

    @property
    def validation_interval(self) -> int:
        """Epochs between held-out scorings: val_every, or (0) 1 up to 50 epochs, else epochs / 50
        rounded up, so a long run's validation curve still has ~50 points at ~2% of the cost."""
        return self.val_every or max(1, -(-self.epochs // VAL_POINTS))

    def validation_due(self, epoch: int) -> bool:
        """Whether the epoch that just ended (1-based) scores the held-out images."""
        return epoch == 1 or epoch >= self.epochs or epoch % self.validation_interval == 0

    @property
    def family(self) -> str:
        from gen_core.models.registry import get_model_spec
        return get_model_spec(self.model).family

    def replace(self, **changes) -> "TrainConfig":
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON-ready dict (tuples become lists); inverse of `from_dict`."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model_config"}
        out["model_config"] = dataclasses.asdict(self.model_config)
        return _jsonable(out)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Build from untrusted data (a checkpoint, a query string): unknown keys are an error."""
        _check(isinstance(data, dict), "a config must be a mapping of field names to values.")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(_short(k, 40) if not isinstance(k, str) else k for k in data if k not in known)
        _check(not unknown, f"unknown config field(s): {', '.join(unknown)}; the fields are "
                            f"{', '.join(sorted(known))}.")
        return cls(**data)


def model_config_from_dict(model: str, data: dict):
    """Build `model`'s config dataclass from a dict, rejecting unknown keys."""
    from gen_core.models.registry import get_model_spec

    spec = get_model_spec(model)
    _check(isinstance(data, dict), f"the settings of {model} must be a mapping of names to values.")
    known = {f.name for f in dataclasses.fields(spec.config_cls)}
    unknown = sorted(_short(k, 40) if not isinstance(k, str) else k for k in data if k not in known)
    _check(not unknown, f"{model} has no setting(s) {', '.join(unknown)}; it has {', '.join(sorted(known))}.")
    return dataclasses.replace(spec.default_config(), **data)


def check_against_data(config: TrainConfig, n_train_images: int, *, image_channels: int = 1,
                       dataset: str | None = None) -> None:
    """Checks that need the loaded data (its size is known only then). Raises ConfigError.

    n_train_images: training images of the data actually loaded (mnist-mini after a fallback);
    image_channels: its channels (the bundled datasets are grey-scale: 1).
    """
    name = dataset or config.dataset
    mc = config.model_config
    _check(getattr(mc, "channels", image_channels) == image_channels,
           f"{name} has {image_channels}-channel images, so the model's channels must be {image_channels}, "
           f"got {getattr(mc, 'channels', None)}.")
    if config.images_per_epoch is not None:
        _check(config.images_per_epoch <= n_train_images,
               f"images_per_epoch ({config.images_per_epoch:,}) is more than the {n_train_images:,} training "
               f"images of {name}: use at most {n_train_images:,}, or leave it empty to use them all.")
    n = min(config.images_per_epoch or n_train_images, n_train_images)
    per_step = config.batch_size * (config.d_steps if config.family == "gan" else 1)
    if config.family == "gan" and config.d_steps > 1:
        what = f"batch_size × d_steps ({config.batch_size:,} × {config.d_steps} = {per_step:,})"
    else:
        what = f"batch_size ({config.batch_size:,})"
    _check(per_step <= n, f"{what} is larger than the {n:,} images per epoch of {name}: "
                          f"use a batch size of at most {max(n // max(per_step // config.batch_size, 1), 1):,}.")


def check_device_available(device: str) -> None:
    """A requested accelerator that this machine lacks is a user error (CUDA alone falls back to the CPU)."""
    import torch  # late: config.py is imported by tools that never train

    if device == "mps":
        mps = getattr(torch.backends, "mps", None)
        _check(mps is not None and mps.is_available(),
               "device mps (Apple GPU) is not available on this machine; use auto or cpu.")
    elif device.startswith("cuda:") and torch.cuda.is_available():
        index, count = int(device.split(":", 1)[1]), torch.cuda.device_count()
        _check(index < count, f"device {device} does not exist: this machine has {count} GPU(s), "
                              f"cuda:0 to cuda:{count - 1}.")


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
