"""Reading a conditional model: samples for chosen labels, the 'same z, every label' grid, and per-
class accuracy under the evaluator.
"""
from __future__ import annotations

import numpy as np
import torch

from gen_core.config.checks import ConfigError
from gen_core.data.imaging import make_grid, to_uint8


def _device(model) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def generate_for_labels(model, labels, *, seed: int = 0, z: torch.Tensor | None = None) -> torch.Tensor:
    """Images in [0, 1] (N, C, H, W) for the given labels; z ~ N(0, I) seeded unless given."""
    y = torch.as_tensor(labels, dtype=torch.int64)
    if z is None:
        z = torch.randn(len(y), model.latent_dim, generator=torch.Generator().manual_seed(seed))
    was = model.training
    model.eval()
    try:
        dev = _device(model)
        return model.decode_to_unit(z.to(dev, torch.float32), y.to(dev)).cpu()
    finally:
        model.train(was)


def same_z_images(model, n_z: int = 8, *, seed: int = 0) -> torch.Tensor:
    """(n_z · K, C, H, W): row r is z_r decoded under labels 0 … K-1."""
    k = model.num_classes
    z = torch.randn(n_z, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    z = z.repeat_interleave(k, dim=0)                       # z_0 ×K, z_1 ×K, …
    labels = torch.arange(k).repeat(n_z)                    # 0 … K-1, 0 … K-1, …
    return generate_for_labels(model, labels, z=z)


def same_z_grid(model, n_z: int = 8, *, seed: int = 0, padding: int = 2) -> np.ndarray:
    """The "same z, every label" picture: n_z rows × K columns, one uint8 image."""
    return make_grid(to_uint8(same_z_images(model, n_z, seed=seed)), nrow=model.num_classes, padding=padding)


def label_samples(model, label: int, n: int = 16, *, seed: int = 0) -> np.ndarray:
    """n samples of one label as a uint8 grid."""
    if not 0 <= int(label) < model.num_classes:
        raise ConfigError(f"label must be between 0 and {model.num_classes - 1}, got {label}.")
    return make_grid(to_uint8(generate_for_labels(model, [int(label)] * n, seed=seed)))


@torch.no_grad()
def class_accuracy(model, evaluator, n_per_class: int = 100, *, seed: int = 0) -> dict:
    """How often the evaluator reads a sample drawn for label c as c.

    Returns {"per_class": [acc_0, …], "overall": mean, "chance": 1/K, "confusion": K×K counts}
    (confusion[c][p]: samples asked for c that the evaluator read as p).
    """
    k = model.num_classes
    labels = torch.arange(k).repeat_interleave(n_per_class)
    images = generate_for_labels(model, labels, seed=seed)
    dev = next(evaluator.parameters()).device
    was = evaluator.training
    evaluator.eval()
    try:
        preds = torch.cat([evaluator(chunk.to(dev)).argmax(1).cpu() for chunk in images.split(500)])
    finally:
        evaluator.train(was)
    if int(preds.max()) >= k:
        raise ConfigError(f"the evaluator knows more classes than this model's {k}: it does not fit these labels.")
    confusion = torch.zeros(k, k, dtype=torch.int64)
    confusion.index_put_((labels, preds), torch.ones_like(labels), accumulate=True)
    per_class = (confusion.diagonal().float() / n_per_class).tolist()
    return {"per_class": per_class, "overall": float(np.mean(per_class)), "chance": 1.0 / k,
            "confusion": confusion.tolist(), "n_per_class": n_per_class}


def class_names(config) -> tuple[str, ...]:
    """The dataset's class names for a conditional model's labels ("0" … "K-1" when unknown)."""
    from gen_core.data.datasets import DATASETS
    k = config.model_config.num_classes
    info = DATASETS.get(config.dataset)
    names = tuple(info.classes) if info is not None else ()
    return names[:k] if len(names) >= k else tuple(str(i) for i in range(k))
