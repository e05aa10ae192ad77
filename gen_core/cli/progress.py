"""What `train` writes while it runs: the progress line, metrics.csv, the summary."""
from __future__ import annotations

import csv
import math
from pathlib import Path

from gen_core.cli.parser import PROG
from gen_core.data.imaging import make_grid, save_png
from gen_core.persistence.runstate import RunFiles
from gen_core.training.device import device_description
from gen_core.training.runner import FAILED, FINISHED, STOPPED, TrainingRunner
from gen_core.training.trainer import Trainer


class RunWriter:
    """Writes a run's files. `on_epoch_end` runs in the training thread, between steps.

    Per epoch: the grids and gen_core.persistence.runstate's slim files (state.pt, history.jsonl,
    snapshots/), whose cost does not grow with the run; at the end, the full checkpoint.pt.
    """

    def __init__(self, out: Path, scale: int = 2):
        self.out, self.scale = out, scale
        self.grids = out / "grids"
        self.files = RunFiles(out)
        self.checkpoint = self.files.checkpoint_path
        self.saved_step: int | None = None
        self.saved_epoch: int | None = None
        self.error: BaseException | None = None
        self.runner: TrainingRunner | None = None

    def on_epoch_end(self, trainer: Trainer) -> None:
        try:
            self.write_grids(trainer)
            self.files.write_epoch(trainer)
            self.saved_step, self.saved_epoch = trainer.step, trainer.epoch
        except Exception as e:  # noqa: BLE001 — e.g. a full disk: stop the run and report it in one line
            self.error = e
            if self.runner is not None:
                self.runner.stop()

    def write_grids(self, trainer: Trainer) -> None:
        if not trainer.snapshots:
            return
        snap = trainer.snapshots[-1]
        n = f"{snap.epoch:03d}"
        save_png(make_grid(snap.samples), self.grids / f"epoch_{n}.png", self.scale)
        if snap.reconstructions is not None and snap.originals is not None:
            # Row 1: held-out originals, row 2: their reconstructions.
            pairs = make_grid(_concat(snap.originals, snap.reconstructions), nrow=len(snap.originals))
            save_png(pairs, self.grids / f"recon_{n}.png", self.scale)
        if snap.latent_map is not None:
            save_png(make_grid(snap.latent_map, nrow=trainer.config.latent_map_size, padding=0),
                     self.grids / f"latent_map_{n}.png", self.scale)

    def finish(self, trainer: Trainer | None) -> None:
        """The full checkpoint.pt: of `trainer` as it is now, or (None) of the last saved epoch."""
        self.files.finish(trainer)
        if trainer is not None:
            self.saved_step, self.saved_epoch = trainer.step, trainer.epoch

    def write_history(self, trainer: Trainer) -> list[Path]:
        written = []
        for name, records in (("history_steps.csv", trainer.history.steps),
                              ("history_epochs.csv", trainer.history.epochs)):
            path = self.out / name
            write_csv(records, path)
            written.append(path)
        return written


def _concat(a, b):
    import numpy as np
    return np.concatenate([a, b])


def _flatten(record: dict) -> dict:
    """Lists (e.g. val_kl_per_dim) become one column per element: val_kl_per_dim_0, ..."""
    out = {}
    for k, v in record.items():
        if isinstance(v, (list, tuple)):
            out.update({f"{k}_{i}": x for i, x in enumerate(v)})
        else:
            out[k] = v
    return out


def write_csv(records: list[dict], path: Path) -> Path:
    rows = [_flatten(r) for r in records]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), restval="")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
    return path


def _fmt(value) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"
    return str(value)


def _postfix(snap, metrics: tuple[str, ...]) -> str:
    parts = [f"epoch {min(snap.epoch + 1, snap.epochs)}/{snap.epochs}"]
    if snap.step_history:
        last = snap.step_history[-1]
        parts += [f"{k} {last[k]:.3f}" for k in metrics if k in last and k not in ("total_loss", "elbo")]
    parts.append(f"{snap.samples_per_sec:,.0f} img/s")
    return ", ".join(parts)


def _size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


def _summary(trainer: Trainer, state: str, out: Path, writer: RunWriter, error: str | None) -> str:
    cfg = trainer.config
    images = trainer.step * trainer.samples_per_step
    rate = images / trainer.elapsed if trainer.elapsed > 0 else 0.0
    what = {FINISHED: "Finished", STOPPED: "Stopped", FAILED: "Failed"}.get(state, state.capitalize())
    text = (f"{what}: {cfg.model} on {trainer.data.name}, {trainer.epoch}/{cfg.epochs} epochs "
            f"({trainer.step:,} steps, {images:,} images) in {trainer.elapsed:.1f} s of training, "
            f"{rate:,.0f} samples/s on {device_description(trainer.device)}.")
    if error:
        text += f" Reason: {error}"
    record = trainer.history.epochs[-1] if trainer.history.epochs else (
        trainer.history.steps[-1] if trainer.history.steps else None)
    if record is not None:
        which = f"epoch {record['epoch']}" if trainer.history.epochs else f"step {record['step']}"
        train = [f"{k} {_fmt(record[k])}" for k in trainer.objective.step_metrics if k in record]
        val = [f"{k} {_fmt(v)}" for k, v in record.items() if k.startswith("val_") and isinstance(v, (int, float))]
        skip = {"epoch", "step", "time", "metrics_seconds", *trainer.objective.step_metrics}
        quality = [f"{k} {_fmt(v)}" for k, v in record.items() if k not in skip and not k.startswith("val_")
                   and isinstance(v, (int, float)) and not isinstance(v, bool)]
        text += f" Last {which}: {', '.join(train)}"
        text += f"; held-out {', '.join(val)}" if val else ""
        text += f"; quality {', '.join(quality)}." if quality else "."
    grids = sorted(writer.grids.glob("*.png")) if writer.grids.is_dir() else []
    files = []
    if writer.checkpoint.exists():
        files.append(f"checkpoint.pt ({_size(writer.checkpoint)}, epoch {writer.saved_epoch}, step {writer.saved_step})"
                     if writer.saved_step is not None else f"checkpoint.pt ({_size(writer.checkpoint)})")
    files += [p.name for p in (out / "history_steps.csv", out / "history_epochs.csv") if p.exists()]
    if grids:
        files.append(f"{len(grids)} PNG grids in grids/")
    text += f" Files in {out}: {', '.join(files) or 'none'}."
    if writer.checkpoint.exists():
        if state == FINISHED:
            text += f" Sample from it: {PROG} sample {writer.checkpoint} --out samples.png"
        else:
            text += f" Continue with: {PROG} train --resume {writer.checkpoint}"
    return text
