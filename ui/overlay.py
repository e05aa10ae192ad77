"""Runs to overlay: the server's runs this browser may see (its own, the ones the teacher shows to the
class, and others' only when the teacher's policy allows) and the shipped checkpoints' histories, each
as one `OverlayItem` (name, settings, per-step and per-epoch records, final grid)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gen_core.classroom.describe import unique_name
from gen_core.config.train import TrainConfig

from . import identity, sources, state, widgets


@dataclass(frozen=True)
class OverlayItem:
    key: str                 # "run:<id>" or "file:<path>"
    name: str                # unique among the items shown together (the legend)
    config: TrainConfig
    steps: tuple
    epochs: tuple
    final_grid: np.ndarray | None
    final_epoch: int
    state: str


def options() -> dict[str, str]:
    """key → label: every run this browser may see (the teacher's policy), then every shipped checkpoint."""
    out = {}
    for info in state.registry().list(actor=identity.actor()):
        mine = " (yours)" if state.mine(info.run_id) else ""
        out[f"run:{info.run_id}"] = f"{info.label}{mine} — {info.status}"
    out.update(sources.file_options())
    return out


def load(keys: list[str]) -> tuple[list[OverlayItem], list[str]]:
    """The items behind `keys` (and a line for each one that cannot be shown)."""
    items, problems, names = [], [], []
    reg = state.registry()
    actor = identity.actor()
    files = set(sources.checkpoint_files())
    for key in keys:
        kind, _, ref = key.partition(":")
        if kind == "run":
            if not reg.may_view(ref, actor):   # a crafted key names a run this browser may not see
                problems.append(f"run {ref[:64]} is gone, or not shown to you.")
                continue
            snap = reg.snapshot(ref)
            info = reg.info(ref)
            if snap is None or info is None:
                problems.append(f"run {ref} is gone.")
                continue
            name, cfg, steps, epochs, snaps, run_state = (info.label, snap.config, snap.step_history,
                                                          snap.epoch_history, snap.epoch_snapshots, snap.state)
        else:
            # only the listed checkpoint files: a crafted "file:<path>" could name a hidden run's checkpoint.pt
            if kind != "file" or Path(ref) not in files:
                problems.append(f"{key[:80]} is not a checkpoint this page lists.")
                continue
            try:
                view = sources.resolve(key)
            except sources.CheckpointError as e:
                problems.append(str(e))
                continue
            if view is None:
                continue
            name = f"shipped {Path(ref).stem}"
            cfg, steps, epochs, snaps, run_state = (view.config, view.step_history, view.epoch_history,
                                                    view.snapshots, "checkpoint")
        name = unique_name(name, names)
        names.append(name)
        last = snaps[-1] if snaps else None
        items.append(OverlayItem(key, name, cfg, tuple(steps), tuple(epochs),
                                 widgets.samples_of(last) if last is not None else None,
                                 last.epoch if last is not None else 0, run_state))
    return items, problems
