"""Training speed on the paths users run, against the engine's bare step (issue 13).

For each model it prints samples/s of:
  main      `Trainer.train_step()` in a loop on the main thread: the engine's own speed;
  runner    the dashboard's path: a `TrainingRunner` worker thread that builds and trains;
  +20 poll  the same while 20 threads call `runner.snapshot()` 5 times a second (20 pages);
  cli       `python -m gen_core train ... --quiet` (its own summary line: images / training time);
  old       the path the CLI had before: trainer built on the main thread, trained in a runner
            thread (two OpenMP pools; see gen_core/threads.py) — shown to make the cause visible;
  2 runs    two runners in one process, one CPU thread each (what the scheduler gives two runs
            on two cores), total samples/s, against two separate processes on the bare step.
and each path as a ratio of `main` (the target is >= 0.90).

Every figure is the best of a few short windows (on a shared machine a neighbour's burst stalls
whole windows; the best window is the code's speed), taken in a fresh process where thread-pool
state matters; --rounds N repeats everything N times, interleaved, keeping each path's best. Default: mlp-gan, dcgan, mlp-vae, conv-vae at batch 128, under 5 minutes;
--long adds dcgan-64 (the slow 64x64 paper model).

Usage:  python bench/train_speed.py [--models a,b] [--batch 128] [--seconds 3] [--rounds 1] [--long]
Data: full MNIST from --data-root (default: data/, ../shared/data), else mnist-mini.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GEN_CORE_OFFLINE", "1")

DEFAULT_MODELS = ("mlp-gan", "dcgan", "mlp-vae", "conv-vae")
LONG_MODELS = ("dcgan-64",)
WINDOWS = 3
POLLERS, POLL_HZ = 20, 5.0


# ---------------------------------------------------------------------------
# Measurements (each runs inside a worker process: `--worker MODE`)
# ---------------------------------------------------------------------------

def _config(args, load: bool = True):
    """(config, data); data None when `load` is off: loading runs torch ops on this thread."""
    from gen_core.config.train import TrainConfig
    from gen_core.data.datasets import load_dataset
    data = load_dataset("mnist", args.data_root) if load else None
    # No held-out scoring: every path does the same work per step (snapshots at epoch ends stay).
    cfg = TrainConfig(model=args.model, dataset="mnist", data_root=args.data_root, batch_size=args.batch,
                      epochs=10_000, val_images=0, device="cpu")
    return cfg, data


def _windows(step_count, samples_per_step: int, seconds: float) -> float:
    """Best samples/s over WINDOWS windows of seconds/WINDOWS, reading a step counter."""
    best = 0.0
    for _ in range(WINDOWS):
        s0, t0 = step_count(), time.perf_counter()
        time.sleep(seconds / WINDOWS)
        s1, t1 = step_count(), time.perf_counter()
        best = max(best, (s1 - s0) * samples_per_step / (t1 - t0))
    return best


def _main_loop(trainer, seconds: float) -> float:
    """Bare steps on this thread, the same windows as the threaded paths."""
    for _ in range(2):
        trainer.train_step()
    best = 0.0
    for _ in range(WINDOWS):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / WINDOWS:
            trainer.train_step()
            n += 1
        best = max(best, n * trainer.samples_per_step / (time.perf_counter() - t0))
    return best


def _runner_rate(runners, seconds: float, pollers: int = 0) -> float:
    """Total samples/s of running `runners` (started here), optionally with polling threads."""
    for r in runners:
        r.start()
    for r in runners:
        r.wait_built(120)
    while any(r.trainer is not None and r.trainer.step < 3 for r in runners):
        time.sleep(0.01)
    stop = threading.Event()

    def poll(runner):
        while not stop.is_set():
            snap = runner.snapshot()
            len(snap.step_history), snap.latest  # what a page reads
            stop.wait(1.0 / POLL_HZ)

    threads = [threading.Thread(target=poll, args=(runners[i % len(runners)],), daemon=True)
               for i in range(pollers)]
    for t in threads:
        t.start()
    per_step = runners[0].trainer.samples_per_step
    rate = _windows(lambda: sum(r.trainer.step for r in runners), per_step, seconds)
    stop.set()
    for r in runners:
        r.stop()
    for r in runners:
        r.join(60)
    return rate


def worker(mode: str, args) -> dict:
    import torch

    from gen_core.training.runner import TrainingRunner
    from gen_core.training.trainer import Trainer

    # The runner paths load the data on their worker (as the CLI and the dashboard's runs do):
    # even loading it here would give this main thread an OpenMP pool of its own.
    cfg, data = _config(args, load=mode != "threads")
    if mode == "main":  # then "old": the main thread's pool exists from here on, as in the old CLI
        torch.set_flush_denormal(True)  # what the worker threads do (gen_core.training.threads)
        trainer = Trainer(cfg, data)
        main = _main_loop(trainer, args.seconds)
        old_trainer = Trainer(cfg, data)
        old = _runner_rate([TrainingRunner(cfg, trainer=old_trainer)], args.seconds)
        return {"main": main, "old": old, "samples_per_step": trainer.samples_per_step,
                "train_images": len(data.train_images)}
    if mode == "bare1":  # one of two concurrent processes, one thread each
        torch.set_num_threads(1)
        torch.set_flush_denormal(True)
        return {"bare1": _main_loop(Trainer(cfg, data), args.seconds)}
    if mode == "threads":  # never a torch op on the main thread in this process
        runner = _runner_rate([TrainingRunner(cfg, data)], args.seconds)
        polled = _runner_rate([TrainingRunner(cfg, data)], args.seconds, pollers=POLLERS)
        pair = [TrainingRunner(cfg, data), TrainingRunner(cfg.replace(seed=1), data)]
        for r in pair:
            r.set_threads(1)
        two = _runner_rate(pair, args.seconds)
        return {"runner": runner, "polled": polled, "two_runs": two}
    raise SystemExit(f"unknown worker mode {mode}")


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def _spawn(mode: str, args, model: str) -> subprocess.Popen:
    cmd = [sys.executable, __file__, "--worker", mode, "--models", model, "--batch", str(args.batch),
           "--seconds", str(args.seconds)] + (["--data-root", args.data_root] if args.data_root else [])
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)


def _result(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"a measurement failed (exit {proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def _cli_rate(args, model: str, images: int) -> float:
    """The real CLI: one epoch of about `images` images; its own 'N samples/s' summary figure."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "gen_core", "train", "--model", model, "--dataset", "mnist",
               "--batch-size", str(args.batch), "--images-per-epoch", str(images), "--epochs", "1",
               "--val-images", "0", "--device", "cpu", "--quiet", "--out", out]
        if args.data_root:
            cmd += ["--data-root", args.data_root]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"the CLI failed: {done.stderr.strip()[-500:]}")
    # "... in 3.1 s of training, 4,012 samples/s on CPU ..."
    figure = done.stdout.split(" samples/s")[0].split("training, ")[-1]
    return float(figure.replace(",", "")) if figure else float("nan")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=None, help=f"comma-separated (default: {','.join(DEFAULT_MODELS)})")
    parser.add_argument("--long", action="store_true", help=f"also {', '.join(LONG_MODELS)} (several minutes more)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per path (3 windows)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every path this many times, interleaved, and keep each path's best "
                             "(a shared machine: 3 rounds take ~3x as long)")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        args.model = args.models
        print(json.dumps(worker(args.worker, args)), flush=True)
        return

    import torch

    from gen_core.data.datasets import load_dataset
    models = args.models.split(",") if args.models else list(DEFAULT_MODELS) + (list(LONG_MODELS) if args.long else [])
    data = load_dataset("mnist", args.data_root)
    print(f"CPU, {torch.get_num_threads()} threads, torch {torch.__version__}; data: {data.message}")
    print(f"batch {args.batch}; best of {WINDOWS} windows in {args.seconds:g} s per path; ratio = path / main\n")
    head = (f"{'model':<9} {'main/s':>8} {'runner/s':>9} {'+20 poll/s':>10} {'cli/s':>8} {'old/s':>8} "
            f"{'2 runs/s':>9} {'2 procs/s':>9} | {'runner':>6} {'+20poll':>7} {'cli':>5} {'old':>5} {'2 runs':>6}")
    print(head)
    print("-" * len(head))
    t_start = time.perf_counter()
    for model in models:
        best: dict[str, float] = {}
        # The 64x64 model takes ~1 s a step here: longer windows, so each holds several steps.
        margs = argparse.Namespace(**{**vars(args), "seconds": args.seconds * (5 if model in LONG_MODELS else 1)})
        for _ in range(max(1, args.rounds)):
            base = _result(_spawn("main", margs, model))
            threads = _result(_spawn("threads", margs, model))
            pair = [_spawn("bare1", margs, model) for _ in range(2)]
            procs = sum(_result(p)["bare1"] for p in pair)
            per_step = base["samples_per_step"]
            images = max(per_step * 4, int(base["main"] * margs.seconds * 1.5) // per_step * per_step)
            images = min(images, base["train_images"] // per_step * per_step)
            cli = _cli_rate(margs, model, images)
            for k, v in {**base, **threads, "procs": procs, "cli": cli}.items():
                best[k] = max(best.get(k, 0.0), v)
        base = threads = best
        procs, cli = best["procs"], best["cli"]
        m = base["main"]
        print(f"{model:<9} {m:>8.0f} {threads['runner']:>9.0f} {threads['polled']:>10.0f} {cli:>8.0f} "
              f"{base['old']:>8.0f} {threads['two_runs']:>9.0f} {procs:>9.0f} | "
              f"{threads['runner'] / m:>6.2f} {threads['polled'] / m:>7.2f} {cli / m:>5.2f} {base['old'] / m:>5.2f} "
              f"{threads['two_runs'] / procs:>6.2f}", flush=True)
    print(f"\n(cli includes its first step and epoch-end snapshot; '2 runs' is divided by '2 procs'.) "
          f"{time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
