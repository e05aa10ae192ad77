"""gen_core: a small engine that trains GANs and VAEs on MNIST-like data, live.

config → model → trainer (→ runner for background training). Never imports streamlit:
progress leaves the engine through `TrainingRunner.snapshot()` and epoch callbacks.
"""
from .config import (ConfigError, ConvVAEConfig, DCGANConfig, MLPGANConfig, MLPVAEConfig,
                     TrainConfig)
from .data import DATASETS, ImageData, dataset_status, load_dataset
from .device import device_description, resolve_device
from .registry import MODELS, build_model, get_model_spec
from .runner import RunSnapshot, TrainingRunner
from .training import EpochSnapshot, Trainer, TrainingDiverged

__all__ = [
    "ConfigError", "ConvVAEConfig", "DCGANConfig", "MLPGANConfig", "MLPVAEConfig", "TrainConfig",
    "DATASETS", "ImageData", "dataset_status", "load_dataset", "device_description", "resolve_device",
    "MODELS", "build_model", "get_model_spec", "RunSnapshot", "TrainingRunner",
    "EpochSnapshot", "Trainer", "TrainingDiverged",
]
