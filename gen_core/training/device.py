"""Pick the training device: CUDA when available, else CPU; overridable."""
from __future__ import annotations

import os

import torch


def cpu_cores() -> int:
    """CPU cores this process may use (the affinity mask, e.g. a container's cpuset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


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
    """Human-readable name, e.g. 'CPU (2 cores)' or 'GPU: NVIDIA H100 80GB HBM3'.

    The machine's cores, not torch's thread count: a page's or a worker's thread share differs from
    place to place, and every page must name the machine the same way."""
    device = resolve_device(device)
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "GPU: Apple MPS"
    n = cpu_cores()
    return f"CPU ({n} core{'s' if n != 1 else ''})"
