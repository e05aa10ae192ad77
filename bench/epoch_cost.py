"""What saving one epoch costs early and late in a run: the full checkpoint vs the slim files.

Trains the seed-report linear GAN (mlp-gan, 2-D latent: a latent map every epoch) for 200 short
epochs (one step each, so it runs in about a minute) and, at epochs 2 and 200, times
  full   `save_checkpoint` (what every epoch wrote before: all snapshots, whole history, optimiser)
  slim   `RunFiles.write_epoch` (gen_core.persistence.runstate: state.pt + one journal line + one snapshot
         file — what the CLI and the dashboard write per epoch now)
and prints seconds per save and the bytes written. Each timing is the median of 3 saves.

Usage:  python bench/epoch_cost.py [--epochs 200] [--model mlp-gan] [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GEN_CORE_OFFLINE", "1")

from gen_core.config.train import TrainConfig  # noqa: E402
from gen_core.data.datasets import load_dataset  # noqa: E402
from gen_core.persistence.checkpoints import save_checkpoint  # noqa: E402
from gen_core.persistence.runstate import RunFiles  # noqa: E402
from gen_core.presets.registry import PRESETS  # noqa: E402
from gen_core.training.trainer import Trainer  # noqa: E402


def _median_seconds(fn, reps: int = 3) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _bytes_in(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--model", default="mlp-gan")
    parser.add_argument("--out", default=None, help="folder to write into (default: a temporary one)")
    args = parser.parse_args(argv)

    preset = PRESETS.get("seed000-linear-gan")
    if args.model == "mlp-gan" and preset is not None:
        cfg = preset.to_config(dataset="mnist-mini")
    else:
        cfg = TrainConfig(model=args.model, dataset="mnist-mini")
    cfg = cfg.replace(epochs=args.epochs, images_per_epoch=cfg.batch_size, val_images=0, device="cpu")
    trainer = Trainer(cfg, load_dataset("mnist-mini"))
    print(f"{cfg.model} ({trainer.model.num_parameters()['total'] / 1e6:.2f}M parameters, latent "
          f"{cfg.model_config.latent_dim}), {cfg.epochs} epochs of one step (batch {cfg.batch_size})\n")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out or tmp)
        files = RunFiles(root / "slim")
        full_path = root / "full" / "checkpoint.pt"
        rows = []
        t_run = time.perf_counter()
        while not trainer.done:
            trainer.train_step()
            if trainer.epoch in (2, cfg.epochs):
                before = _bytes_in(files.folder) if files.folder.exists() else 0
                slim_s = _median_seconds(lambda: files.write_epoch(trainer))
                # Bytes one epoch adds: the new journal line and snapshot (written once; the
                # repeats above rewrite state.pt and append the line again) plus state.pt.
                slim_bytes = files.state_path.stat().st_size + files.snapshot_path(trainer.epoch).stat().st_size \
                    + len(files.journal_path.read_bytes().splitlines()[-1])
                full_s = _median_seconds(lambda: save_checkpoint(trainer, full_path))
                rows.append((trainer.epoch, full_s, full_path.stat().st_size, slim_s, slim_bytes,
                             _bytes_in(files.folder) - before))
            else:
                files.write_epoch(trainer)
        run_s = time.perf_counter() - t_run
    print(f"{'epoch':>5} {'full save s':>11} {'full MB':>8} {'slim save s':>11} {'slim MB/epoch':>13}")
    for epoch, full_s, full_b, slim_s, slim_b, _ in rows:
        print(f"{epoch:>5} {full_s:>11.3f} {full_b / 1e6:>8.1f} {slim_s:>11.3f} {slim_b / 1e6:>13.2f}")
    (e0, f0, fb0, s0, sb0, _), (e1, f1, fb1, s1, sb1, _) = rows[0], rows[-1]
    print(f"\nepoch {e1} vs {e0}: full save x{f1 / f0:.2f} time, x{fb1 / fb0:.2f} size; "
          f"slim save x{s1 / s0:.2f} time, x{sb1 / sb0:.2f} size.  ({run_s:.0f} s)")


if __name__ == "__main__":
    main()
