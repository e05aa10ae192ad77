"""Pick the training device: CUDA when available, else CPU; overridable."""
from __future__ import annotations

import torch


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """'auto' → cuda if available, else mps (Apple), else cpu. A missing GPU falls back to CPU."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device(name)


def device_description(device: torch.device | str = "auto") -> str:
    """Human-readable name, e.g. 'CPU (2 threads)' or 'GPU: NVIDIA H100 80GB HBM3'."""
    device = resolve_device(device)
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "GPU: Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
