"""Typed configs: one dataclass per model plus `TrainConfig`; all validation lives here."""
from gen_core.config.checks import ConfigError
from gen_core.config.models import (DCGAN_UPSAMPLE, CGANConfig, ConvVAEConfig, CVAEConfig, DCGANConfig,
                                    MLPGANConfig, MLPVAEConfig)
from gen_core.config.train import (COLOUR_DATASET_NAMES, DATASET_NAMES, FOLDER_PREFIX, GAN_LOSS_NAMES,
                                   RECON_LOSS_NAMES, VAL_POINTS, TrainConfig, check_against_data,
                                   check_device_available, is_folder_dataset, model_config_from_dict)


__all__ = [
    "CGANConfig",
    "COLOUR_DATASET_NAMES",
    "CVAEConfig",
    "ConfigError",
    "ConvVAEConfig",
    "DATASET_NAMES",
    "DCGANConfig",
    "DCGAN_UPSAMPLE",
    "FOLDER_PREFIX",
    "GAN_LOSS_NAMES",
    "MLPGANConfig",
    "MLPVAEConfig",
    "RECON_LOSS_NAMES",
    "TrainConfig",
    "VAL_POINTS",
    "check_against_data",
    "check_device_available",
    "is_folder_dataset",
    "model_config_from_dict",
]
