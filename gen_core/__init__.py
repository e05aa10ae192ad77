"""gen_core: a small engine that trains GANs and VAEs on MNIST-like data, live.

config → model → trainer (→ runner for background training). Never imports streamlit:
progress leaves the engine through `TrainingRunner.snapshot()` and epoch callbacks.
"""
from gen_core.config.checks import ConfigError
from gen_core.config.models import ConvVAEConfig, DCGANConfig, MLPGANConfig, MLPVAEConfig
from gen_core.config.train import TrainConfig
from gen_core.data.datasets import DATASETS, dataset_status, load_dataset
from gen_core.data.images import ImageData
from gen_core.models.registry import MODELS, build_model, get_model_spec
from gen_core.training.device import device_description, resolve_device
from gen_core.training.history import EpochSnapshot, TrainingDiverged
from gen_core.training.runner import RunSnapshot, TrainingRunner
from gen_core.training.trainer import Trainer


__all__ = [
    "ConfigError", "ConvVAEConfig", "DCGANConfig", "MLPGANConfig", "MLPVAEConfig", "TrainConfig",
    "DATASETS", "ImageData", "dataset_status", "load_dataset", "device_description", "resolve_device",
    "MODELS", "build_model", "get_model_spec", "RunSnapshot", "TrainingRunner",
    "EpochSnapshot", "Trainer", "TrainingDiverged",
]
