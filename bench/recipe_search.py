"""Recipe search at a fixed step budget: which default recipe learns most in 60 s (GAN) / 30 s (VAE)?

On a shared machine wall-clock scores are noise, so the search is split in two:

    # 1. steps/s of each candidate, briefly, with the whole machine (validation and per-epoch
    #    snapshots included: the Trainer's own training clock, as bench/time_to_quality.py uses)
    /work/wt/bin/bench python bench/recipe_search.py speed --seconds 8 --out /tmp/recipes/speed.json
    # 2. train each for the steps it would manage in S quiet seconds (seeded, full MNIST, the
    #    Trainer path the CLI uses), scoring 2,000 samples at 1/4, 1/2 and 1 of the budget
    /work/wt/bin/heavy python bench/recipe_search.py train --only gan-ttur --speeds /tmp/recipes/speed.json

Scores are the evaluator's, as in bench/time_to_quality.py: `confident` = fraction of 2,000 samples
read with max softmax ≥ 0.9, `entropy` = class-histogram entropy / log 10, `missing` = classes under 1%.
Candidates are data (CANDIDATES below): a base preset plus model / training overrides.
This is a benchmark, not a test.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gen_core.data.datasets import load_dataset  # noqa: E402
from gen_core.evaluation.evaluator import classifier_scores, load_evaluator  # noqa: E402
from gen_core.evaluation.metrics import generate  # noqa: E402
from gen_core.presets.base import Preset
from gen_core.presets.registry import get_preset  # noqa: E402
from gen_core.training.threads import prepare_worker_thread  # noqa: E402
from gen_core.training.trainer import Trainer  # noqa: E402


_GANPY = dict(latent_dim=100, g_hidden=(128, 256, 512, 1024), d_hidden=(512, 256), dropout=0.0,
              batch_norm=True, leaky_slope=0.2)

# name: base (a key of BASES, the pre-search defaults, or a preset name), overrides of its model config ("model") and of its TrainConfig ("train"),
# and the quiet-machine seconds it is judged at ("budget": 60 for GANs, 30 for VAEs, 120 for the 2-D GAN);
# "speed_of": a candidate whose per-step cost is another's (only a rate or a decay differs).
CANDIDATES: dict[str, dict] = {
    # --- GAN: the current default and one change at a time -----------------------------------
    "gan-default": dict(base="default-gan", budget=60),
    "gan-ema99": dict(base="default-gan", budget=60, train=dict(ema_decay=0.99)),        # Yazıcı et al. 2019
    "gan-ema995": dict(speed_of="gan-ema99", base="default-gan", budget=60, train=dict(ema_decay=0.995)),
    "gan-ttur": dict(speed_of="gan-default", base="default-gan", budget=60, train=dict(lr_d=4e-4, lr_g=1e-4)),   # Heusel et al. 2017
    "gan-lr5e4": dict(speed_of="gan-default", base="default-gan", budget=60, train=dict(lr_d=5e-4, lr_g=5e-4)),
    "gan-hinge-sn": dict(base="default-gan", budget=60,                                  # Miyato et al. 2018
                         train=dict(gan_loss="hinge", spectral_norm=True, lr_d=4e-4, lr_g=1e-4, beta1=0.0,
                                    beta2=0.9)),
    "gan-b32": dict(base="default-gan", budget=60, train=dict(batch_size=32)),
    "gan-b128": dict(base="default-gan", budget=60, train=dict(batch_size=128)),
    "gan-w48": dict(base="default-gan", budget=60, model=dict(g_width=48, d_width=48)),
    "gan-z100": dict(base="default-gan", budget=60, model=dict(latent_dim=100)),
    # --- GAN: PyTorch-GAN gan.py's layers in mlp-gan (the best per second) -------------
    "mlp-ganpy": dict(base="default-linear-gan", budget=60, model=_GANPY),
    "mlp-ganpy-ema99": dict(base="default-linear-gan", budget=60, model=_GANPY, train=dict(ema_decay=0.99)),
    "mlp-ganpy-lr5e4": dict(speed_of="mlp-ganpy", base="default-linear-gan", budget=60, model=_GANPY, train=dict(lr_d=5e-4, lr_g=5e-4)),
    # second round: the single changes that paid, combined
    "gan-lr5e4-b32": dict(speed_of="gan-b32", base="default-gan", budget=60,
                          train=dict(lr_d=5e-4, lr_g=5e-4, batch_size=32)),
    "gan-lr8e4": dict(speed_of="gan-default", base="default-gan", budget=60, train=dict(lr_d=8e-4, lr_g=8e-4)),
    "mlp-ganpy-lr5e4-ema99": dict(speed_of="mlp-ganpy-ema99", base="default-linear-gan", budget=60, model=_GANPY,
                                  train=dict(lr_d=5e-4, lr_g=5e-4, ema_decay=0.99)),
    "mlp-ganpy-lr1e3": dict(speed_of="mlp-ganpy", base="default-linear-gan", budget=60, model=_GANPY,
                            train=dict(lr_d=1e-3, lr_g=1e-3)),
    # third round (session 17): the averaging window, a higher rate under the average, label smoothing
    "mlp-ganpy-lr5e4-ema995": dict(speed_of="mlp-ganpy-ema99", base="default-linear-gan", budget=60, model=_GANPY,
                                   train=dict(lr_d=5e-4, lr_g=5e-4, ema_decay=0.995)),
    "mlp-ganpy-lr5e4-ema999": dict(speed_of="mlp-ganpy-ema99", base="default-linear-gan", budget=60, model=_GANPY,
                                   train=dict(lr_d=5e-4, lr_g=5e-4, ema_decay=0.999)),
    "mlp-ganpy-lr1e3-ema99": dict(speed_of="mlp-ganpy-ema99", base="default-linear-gan", budget=60, model=_GANPY,
                                  train=dict(lr_d=1e-3, lr_g=1e-3, ema_decay=0.99)),
    "mlp-ganpy-lr5e4-ema99-ls": dict(speed_of="mlp-ganpy-ema99", base="default-linear-gan", budget=60, model=_GANPY,
                                     train=dict(lr_d=5e-4, lr_g=5e-4, ema_decay=0.99, label_smoothing=0.1)),
    "mlp-ganpy-lr5e4-ema9995": dict(speed_of="mlp-ganpy-ema99", base="default-linear-gan", budget=60, model=_GANPY,
                                    train=dict(lr_d=5e-4, lr_g=5e-4, ema_decay=0.9995)),
    "mlp-ganpy-b128-lr1e3-ema99": dict(base="default-linear-gan", budget=60, model=_GANPY,
                                       train=dict(batch_size=128, lr_d=1e-3, lr_g=1e-3, ema_decay=0.99)),
    # fourth round (session 18): two time-scale rates under the average (Heusel et al. 2017), both ways round
    "mlp-ganpy-g1e3-d5e4-ema999": dict(speed_of="mlp-ganpy-ema99", base="default-linear-gan", budget=60, model=_GANPY,
                                       train=dict(lr_d=5e-4, lr_g=1e-3, ema_decay=0.999)),
    "mlp-ganpy-d1e3-g5e4-ema999": dict(speed_of="mlp-ganpy-ema99", base="default-linear-gan", budget=60, model=_GANPY,
                                       train=dict(lr_d=1e-3, lr_g=5e-4, ema_decay=0.999)),
    "mlp-ganpy-g512-g1e3-d5e4-ema999": dict(base="default-linear-gan", budget=60,                # gan.py's G less 1024
                                            model={**_GANPY, "g_hidden": (128, 256, 512)},
                                            train=dict(lr_d=5e-4, lr_g=1e-3, ema_decay=0.999)),
    # --- VAE ----------------------------------------------------------------------------------
    "vae-default": dict(base="default-vae", budget=30),
    "vae-z8": dict(speed_of="vae-z16", base="default-vae", budget=30, model=dict(latent_dim=8)),
    "vae-z16": dict(base="default-vae", budget=30, model=dict(latent_dim=16)),
    "vae-z20": dict(speed_of="vae-z16", base="default-vae", budget=30, model=dict(latent_dim=20)),
    "vae-lr2e3": dict(speed_of="vae-default", base="default-vae", budget=30, train=dict(lr=2e-3)),
    "vae-b32": dict(base="default-vae", budget=30, train=dict(batch_size=32)),
    "vae-b128": dict(base="default-vae", budget=30, train=dict(batch_size=128)),
    "vae-conv16": dict(base="seed004-cnnvae", budget=30, model=dict(latent_dim=16),
                       train=dict(epochs=20, batch_size=64, images_per_epoch=6400, lr=1e-3)),
    # second round: the single changes that paid, combined
    "vae-z16-b128": dict(speed_of="vae-b128", base="default-vae", budget=30, model=dict(latent_dim=16),
                         train=dict(batch_size=128)),
    "vae-z16-b128-lr2e3": dict(speed_of="vae-b128", base="default-vae", budget=30, model=dict(latent_dim=16),
                               train=dict(batch_size=128, lr=2e-3)),
    "vae-z16-b128-lr3e3": dict(speed_of="vae-b128", base="default-vae", budget=30, model=dict(latent_dim=16),
                               train=dict(batch_size=128, lr=3e-3)),
    "vae-z16-lr3e3": dict(speed_of="vae-z16", base="default-vae", budget=30, model=dict(latent_dim=16),
                          train=dict(lr=3e-3)),
    "vae-z8-lr3e3": dict(speed_of="vae-z16", base="default-vae", budget=30, model=dict(latent_dim=8),
                         train=dict(lr=3e-3)),
    "vae-z16-lr5e3": dict(speed_of="vae-z16", base="default-vae", budget=30, model=dict(latent_dim=16),
                          train=dict(lr=5e-3)),
    "vae-z8-lr2e3": dict(speed_of="vae-z16", base="default-vae", budget=30, model=dict(latent_dim=8),
                         train=dict(lr=2e-3)),
    "vae-z16-lr2e3": dict(speed_of="vae-z16", base="default-vae", budget=30, model=dict(latent_dim=16),
                          train=dict(lr=2e-3)),
    # third round (session 17): the KL weight (Higgins et al. 2017) and wider layers
    "vae-z16-lr3e3-beta2": dict(speed_of="vae-z16", base="default-vae", budget=30, model=dict(latent_dim=16),
                                train=dict(lr=3e-3, beta=2.0)),
    "vae-z16-lr3e3-beta1.5": dict(speed_of="vae-z16", base="default-vae", budget=30, model=dict(latent_dim=16),
                                  train=dict(lr=3e-3, beta=1.5)),
    "vae-z16-lr3e3-beta0.7": dict(speed_of="vae-z16", base="default-vae", budget=30, model=dict(latent_dim=16),
                                  train=dict(lr=3e-3, beta=0.7)),
    "vae-z16-lr3e3-wide": dict(base="default-vae", budget=30, model=dict(latent_dim=16, hidden=(1024, 512)),
                               train=dict(lr=3e-3)),
    # --- 2-D linear GAN (latent map) ----------------------------------------------------------
    "lin-default": dict(base="default-linear-gan", budget=120),
    "lin-ema99": dict(base="default-linear-gan", budget=120, train=dict(ema_decay=0.99)),
    "lin-lr5e4": dict(speed_of="lin-default", base="default-linear-gan", budget=120, train=dict(lr_g=5e-4, lr_d=5e-4)),
    "lin-ema999": dict(speed_of="lin-ema99", base="default-linear-gan", budget=120, train=dict(ema_decay=0.999)),
    "lin-lr5e4-ema999": dict(speed_of="lin-ema99", base="default-linear-gan", budget=120,
                             train=dict(lr_g=5e-4, lr_d=5e-4, ema_decay=0.999)),
}


# The defaults as they were before this search (issue 8's starting point), frozen so that the
# candidates keep meaning the same thing after gen_core/presets.py adopts the winners.
BASES: dict[str, Preset] = {
    "default-gan": Preset(
        name="prev-default-gan", title="previous default GAN", source="gen_core.presets before the search",
        family="gan", model="dcgan",
        model_overrides=dict(latent_dim=64, g_width=32, d_width=32, upsample="nearest"),
        train_overrides=dict(epochs=20, batch_size=64, images_per_epoch=6400, lr_g=2e-4, lr_d=2e-4,
                             beta1=0.5, beta2=0.999, gan_loss="non-saturating")),
    "default-linear-gan": Preset(
        name="prev-default-linear-gan", title="previous default linear GAN",
        source="gen_core.presets before the search", family="gan", model="mlp-gan",
        model_overrides=dict(latent_dim=2, g_hidden=(128, 256, 512, 1024), d_hidden=(512, 256),
                             dropout=0.0, batch_norm=True, leaky_slope=0.2),
        train_overrides=dict(epochs=20, batch_size=64, images_per_epoch=6400, lr_g=2e-4, lr_d=2e-4,
                             beta1=0.5, beta2=0.999)),
    "default-vae": Preset(
        name="prev-default-vae", title="previous default VAE", source="gen_core.presets before the search",
        family="vae", model="mlp-vae", model_overrides=dict(latent_dim=2, hidden=(512, 256)),
        train_overrides=dict(epochs=20, batch_size=64, images_per_epoch=6400, lr=1e-3, recon_loss="bce")),
}


def config_for(name: str, **extra):
    """The candidate's TrainConfig (validated), with `extra` TrainConfig fields on top."""
    c = CANDIDATES[name]
    base = BASES.get(c["base"]) or get_preset(c["base"])  # other bases: live presets (seed recipes)
    model_config = dataclasses.replace(base.model_config(), **c.get("model", {}))
    return base.to_config(**{**c.get("train", {}), **extra}).replace(model_config=model_config)


def measure_speed(name: str, data, seconds: float, seed: int) -> dict:
    """Steps per second of training clock (the Trainer's, epoch ends included), after 5 warm-up steps."""
    trainer = Trainer(config_for(name, dataset=data.name, device="cpu", seed=seed, epochs=10_000), data)
    for _ in range(5):
        trainer.train_step()
    s0, t0 = trainer.step, trainer.elapsed
    while trainer.elapsed - t0 < seconds:
        trainer.train_step()
    rate = (trainer.step - s0) / (trainer.elapsed - t0)
    return {"steps_per_s": rate, "batch_size": trainer.config.batch_size}


def train_and_score(name: str, data, evaluator, steps: int, n: int, seed: int) -> list[dict]:
    trainer = Trainer(config_for(name, dataset=data.name, device="cpu", seed=seed, epochs=10_000), data)
    marks = sorted({max(1, steps // 4), max(1, steps // 2), steps})
    rows = []
    t0 = time.perf_counter()
    for mark in marks:
        while trainer.step < mark:
            trainer.train_step()
        s = classifier_scores(evaluator, generate(trainer.model, n, seed=1234))
        trainer.model.train()
        rows.append({"step": trainer.step, **{k: s[k] for k in ("confident", "entropy", "missing")}})
        print(f"  {name} step {trainer.step:>6,}: {s['confident']:6.1%} confident, entropy {s['entropy']:.3f}, "
              f"{s['missing']} missing ({time.perf_counter() - t0:.0f} s wall)", flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("speed", "train", "list"))
    p.add_argument("--only", default=",".join(CANDIDATES), help="comma-separated candidates (default: all)")
    p.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    p.add_argument("--seconds", type=float, default=8.0, help="speed: training-clock seconds per candidate")
    p.add_argument("--speeds", default=None, help="train: the JSON written by `speed --out`")
    p.add_argument("--steps", type=int, default=None, help="train: fixed steps (instead of budget × steps/s)")
    p.add_argument("--n", type=int, default=2000, help="samples per score")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads (train under heavy: 1)")
    p.add_argument("--out", default=None, help="append/merge results into this JSON file")
    args = p.parse_args()
    names = [s for s in args.only.split(",") if s]
    unknown = [s for s in names if s not in CANDIDATES]
    if unknown:
        sys.exit(f"unknown candidate(s) {', '.join(unknown)}; choose from {', '.join(CANDIDATES)}")
    if args.mode == "list":
        for name in names:
            print(name, CANDIDATES[name])
        return
    # What the app's and the CLI's training threads do first (thread count, subnormal flush): this
    # script trains on its main thread, and without the flush the VAE slows ~2x once its
    # activations go subnormal (gen_core/training/threads.py).
    prepare_worker_thread(args.threads or None)
    data = load_dataset("mnist", args.data_root)
    if data.name != "mnist":
        sys.exit(f"full MNIST not found under {args.data_root} ({data.message})")
    out = {}
    if args.mode == "speed":
        for name in names:
            r = measure_speed(name, data, args.seconds, args.seed)
            out[name] = r
            print(f"{name}: {r['steps_per_s']:.1f} steps/s", flush=True)
    else:
        evaluator = load_evaluator("mnist")
        speeds = json.loads(Path(args.speeds).read_text()) if args.speeds else {}
        for name in names:
            budget = CANDIDATES[name]["budget"]
            if args.steps:
                steps = args.steps
            elif name in speeds or CANDIDATES[name].get("speed_of") in speeds:
                # A candidate that changes only rates or decays runs at its sibling's speed (speed_of).
                rate = speeds.get(name, speeds.get(CANDIDATES[name].get("speed_of"), {})).get("steps_per_s")
                steps = int(round(rate * budget))
            else:
                sys.exit(f"no speed for {name}: pass --speeds or --steps")
            rows = train_and_score(name, data, evaluator, steps, args.n, args.seed)
            out[f"{name}@seed{args.seed}"] = {"budget_s": budget, "steps": steps, "rows": rows}
            _save(args.out, out)
    _save(args.out, out)


def _save(path: str | None, out: dict) -> None:
    """Merge `out` into the JSON at `path` (several train jobs may share one file)."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        current = json.loads(Path(path).read_text()) if Path(path).exists() else {}
        current.update(out)
        Path(path).write_text(json.dumps(current, indent=1))


if __name__ == "__main__":
    main()
