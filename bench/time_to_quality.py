"""Time to quality: how good are the defaults' samples after 15, 30, 60, 120 s of training?

    python bench/time_to_quality.py --data-root ../shared/data                  # every default
    python bench/time_to_quality.py --only default-gan --marks 15,30,60
    python bench/time_to_quality.py --device cuda                               # on a GPU

Each recipe of gen_core.presets (default-gan, default-vae, default-linear-gan, default-dcgan) trains on the
full dataset exactly as `python -m gen_core train --preset NAME` would (validation and
per-epoch snapshots included in the clock); whenever its training clock passes a mark, 2,000
samples are scored by the dataset's evaluator (not counted as training time):

  confident  fraction read with max softmax ≥ 0.9 (real test digits: printed as the reference)
  entropy    entropy of the predicted-class histogram / log 10 (1 = all classes equally often)
  missing    classes under 1% of the samples

Targets (issue 8, 2 CPU cores, MNIST): default-gan ≥ 80% and entropy ≥ 0.95 by 60 s;
default-vae ≥ 70% and ≥ 0.95 by 30 s; default-linear-gan: no missing class by 120 s.
This is a benchmark, not a test: run it alone (it is timing-sensitive).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gen_core.data.datasets import load_dataset  # noqa: E402
from gen_core.evaluation.evaluator import classifier_scores, load_evaluator  # noqa: E402
from gen_core.evaluation.metrics import generate, images_from_u8  # noqa: E402
from gen_core.presets.registry import get_preset  # noqa: E402
from gen_core.training.device import device_description, resolve_device  # noqa: E402
from gen_core.training.threads import prepare_worker_thread  # noqa: E402
from gen_core.training.trainer import Trainer  # noqa: E402


RECIPES = ("default-gan", "default-vae", "default-linear-gan", "default-dcgan")
TARGETS = {"default-gan": "≥ 80% & H ≥ 0.95 by 60 s", "default-vae": "≥ 70% & H ≥ 0.95 by 30 s",
           "default-linear-gan": "no missing class by 120 s"}


def _scores(model, evaluator, n: int, device) -> dict:
    images = generate(model, n, seed=1234)
    return classifier_scores(evaluator, images.to(device))


def run_recipe(name: str, data, evaluator, marks: list[float], n: int, device: str, seed: int) -> list[dict]:
    cfg = get_preset(name).to_config(dataset=data.name, device=device, seed=seed, epochs=10_000)
    trainer = Trainer(cfg, data)
    rows = []
    pending = list(marks)
    while pending:
        trainer.train_step()
        if trainer.elapsed >= pending[0]:
            mark = pending.pop(0)
            s = _scores(trainer.model, evaluator, n, trainer.device)
            trainer.model.train()
            rows.append({"mark": mark, "seconds": trainer.elapsed, "steps": trainer.step,
                         "images": trainer.step * trainer.samples_per_step, **s})
            print(f"  {name} {mark:>5.0f} s: {s['confident']:6.1%} confident, entropy {s['entropy']:.3f}, "
                  f"{s['missing']} missing ({trainer.step:,} steps, {rows[-1]['images']:,} images)", flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", default=None, help="folder with the torchvision-layout data (default: search)")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    p.add_argument("--only", default=",".join(RECIPES), help=f"comma-separated recipes (default: {','.join(RECIPES)})")
    p.add_argument("--marks", default="15,30,60,120", help="training seconds to score at (default: 15,30,60,120)")
    p.add_argument("--n", type=int, default=2000, help="samples per score (default: 2000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = p.parse_args()
    # What the app's and the CLI's training threads do first (thread count, subnormal flush): this
    # script trains on its main thread, and without the flush the VAE slows ~2x once its
    # activations go subnormal (gen_core/training/threads.py).
    prepare_worker_thread(args.threads or None)
    marks = sorted(float(m) for m in args.marks.split(","))
    data = load_dataset(args.dataset, args.data_root)
    if data.name != args.dataset:
        sys.exit(f"{args.dataset} is not available here ({data.message}); pass --data-root.")
    evaluator = load_evaluator(data.name, resolve_device(args.device))
    if evaluator is None:
        sys.exit(f"no evaluator for {data.name} (scripts/train_evaluator.py).")
    device = resolve_device(args.device)
    real = classifier_scores(evaluator, images_from_u8(data.test_images[: args.n]).to(device))
    print(f"Time to quality on {device_description(device)}, {data.name} ({len(data.train_images):,} train images), "
          f"{args.n:,} samples per score. Real test images: {real['confident']:.1%} confident, "
          f"entropy {real['entropy']:.3f}.", flush=True)
    table = {}
    for name in args.only.split(","):
        t0 = time.perf_counter()
        table[name] = run_recipe(name, data, evaluator, marks, args.n, args.device, args.seed)
        print(f"  ({name}: {time.perf_counter() - t0:.0f} s wall clock with scoring)", flush=True)
    head = " | ".join(f"{m:g} s" for m in marks)
    print(f"\n| recipe | {head} | target |\n|---|{'---|' * len(marks)}---|")
    for name, rows in table.items():
        cells = " | ".join(f"{r['confident']:.0%}, H {r['entropy']:.2f}, {r['missing']} missing ({r['steps']:,} st)"
                           for r in rows)
        print(f"| {name} | {cells} | {TARGETS.get(name, '')} |")
    print(f"| real MNIST test | {real['confident']:.0%}, H {real['entropy']:.2f} | | | | |")


if __name__ == "__main__":
    main()
