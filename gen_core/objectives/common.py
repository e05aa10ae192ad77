"""Shared by every objective: the Adam set-up and the finite-loss check."""
from __future__ import annotations

import torch

from gen_core.training.history import TrainingDiverged


def _adam(params, lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Optimizer:
    # The fused kernel updates all tensors in one pass: noticeably faster for the many
    # small parameter tensors of these models. Fall back where a build lacks it.
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=device.type in ("cpu", "cuda"))
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, betas=betas)


def _check_finite(loss: torch.Tensor, what: str) -> None:
    # Checked *before* the optimiser step, so the weights in memory stay usable.
    if not torch.isfinite(loss):
        raise TrainingDiverged(f"{what} became {loss.item()} — training diverged. "
                               "Try a lower learning rate or a different loss.")
