"""Datasets: built-in MNIST-like sets, generated shapes, your own image folders."""
from gen_core.data.datasets import (ASSETS, DATASETS, DIGITS, DOWNLOAD_TIMEOUT_S, FALLBACK, LEGACY_FILES,
                                    MNIST_MINI_PATH, RAW_FILES, DatasetInfo, clear_cache, dataset_status,
                                    default_data_roots, load_dataset, resolve_data_root)
from gen_core.data.images import SCALES, Batcher, ImageData, scale_images, to_tanh, to_unit


__all__ = [
    "ASSETS",
    "Batcher",
    "DATASETS",
    "DIGITS",
    "DOWNLOAD_TIMEOUT_S",
    "DatasetInfo",
    "FALLBACK",
    "ImageData",
    "LEGACY_FILES",
    "MNIST_MINI_PATH",
    "RAW_FILES",
    "SCALES",
    "clear_cache",
    "dataset_status",
    "default_data_roots",
    "load_dataset",
    "resolve_data_root",
    "scale_images",
    "to_tanh",
    "to_unit",
]
