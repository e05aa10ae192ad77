"""Training: the Trainer, the background runner, devices and CPU threads."""
from gen_core.objectives.gan import GANObjective
from gen_core.objectives.vae import VAEObjective
from gen_core.training.history import (KEEP_LAST_SNAPSHOTS, MAX_SNAPSHOT_BYTES, MAX_STEP_RECORDS, EpochSnapshot,
                                       History, TrainingDiverged, snapshot_nbytes, thin_snapshots)
from gen_core.training.trainer import OBJECTIVES, Trainer


__all__ = [
    "EpochSnapshot",
    "GANObjective",
    "History",
    "KEEP_LAST_SNAPSHOTS",
    "MAX_SNAPSHOT_BYTES",
    "MAX_STEP_RECORDS",
    "OBJECTIVES",
    "Trainer",
    "TrainingDiverged",
    "VAEObjective",
    "snapshot_nbytes",
    "thin_snapshots",
]
