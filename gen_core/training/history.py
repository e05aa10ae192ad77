"""What a training run records: per-step metrics, per-epoch snapshots (bounded), and the error a
diverged run raises.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite. The model still holds the weights from before that step."""


@dataclass
class EpochSnapshot:
    """What one finished epoch looked like. Images are uint8 (N, C, H, W) numpy arrays."""
    epoch: int
    step: int
    samples: np.ndarray                          # G(fixed_z) or decode(fixed_z)
    originals: np.ndarray | None = None          # VAE: fixed real images …
    reconstructions: np.ndarray | None = None    # … and their reconstructions
    latent_map: np.ndarray | None = None         # (n*n, C, H, W) when latent_dim == 2
    latent_means: np.ndarray | None = None       # VAE: (M, latent) float32 means of held-out images
    latent_labels: np.ndarray | None = None      # (M,) int64 classes of those images


@dataclass
class History:
    """Metric records. `steps`: one dict per optimiser step (thinned when long); `epochs`: one per epoch.

    Epoch records are never dropped. Step records are capped by `thin_steps`: the newest half of
    the cap stays raw, older records are halved (every other one kept, the first always), so a
    very long run keeps its whole curve at a resolution that falls off with age.
    """
    steps: list[dict] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)

    def thin_steps(self, cap: int) -> bool:
        """Bring `steps` under `cap` records if it is over; True when it thinned."""
        if cap < 4 or len(self.steps) <= cap:
            return False
        keep_raw = cap // 2
        old, recent = self.steps[:-keep_raw], self.steps[-keep_raw:]
        while len(old) + len(recent) > (3 * cap) // 4 and len(old) > 1:
            old = old[::2]
        self.steps = old + recent
        return True


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, "").strip() or default)
    except ValueError:
        return default
    return value if value > 0 else default


# Per-run memory caps (a class may leave a run going for hours). Environment-overridable.
MAX_STEP_RECORDS = _env_int("GEN_CORE_MAX_STEP_RECORDS", 20_000)          # ~10 MB of step dicts


MAX_SNAPSHOT_BYTES = _env_int("GEN_CORE_MAX_SNAPSHOT_MB", 64) * 1024 * 1024


KEEP_LAST_SNAPSHOTS = 20


def snapshot_nbytes(snap: "EpochSnapshot") -> int:
    return sum(a.nbytes for a in (snap.samples, snap.originals, snap.reconstructions, snap.latent_map,
                                  snap.latent_means, snap.latent_labels) if a is not None)


def thin_snapshots(snapshots: list, max_bytes: int, keep_last: int = KEEP_LAST_SNAPSHOTS) -> list:
    """Drop every other epoch snapshot from the old part (never the first nor the last `keep_last`)
    until the total is under `max_bytes`. The epoch records and the PNG grids on disk stay complete."""
    total = sum(snapshot_nbytes(s) for s in snapshots)
    while total > max_bytes and len(snapshots) > keep_last + 2:
        head, middle, tail = snapshots[:1], snapshots[1:-keep_last], snapshots[-keep_last:]
        kept = middle[1::2]
        if len(kept) == len(middle):
            break
        snapshots = head + kept + tail
        total = sum(snapshot_nbytes(s) for s in snapshots)
    return snapshots
