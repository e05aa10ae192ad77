"""Throughput of the bare training step of every model, against two yardsticks (per FLOP).

(The speed of the paths users run — CLI, dashboard runner — is bench/train_speed.py.)

For each model and batch size it prints:
  * engine samples/s — `gen_core.Trainer.train_step()` (uint8 data resident on the device,
    shuffled-index batches, fused Adam, one D forward over [real; fake] where allowed);
  * tutorial samples/s — the same network trained the way the tutorials do it
    (pytorch/examples dcgan / vae: torchvision dataset + ToTensor/Normalize transforms +
    DataLoader, separate real and fake D passes, plain Adam);
  * achieved GFLOP/s of the engine (FLOPs of one step counted by torch's FlopCounterMode:
    matmuls and convolutions, forward and backward) and that as a fraction of a large fp32
    matmul measured in the same run.

Usage:  python bench/step_flops.py [--models mlp-gan,...] [--batches 64,128,256] [--seconds 3]
Data: full MNIST from --data-root (default: the first of data/, ../shared/data), else mnist-mini.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GEN_CORE_OFFLINE", "1")

from gen_core.config.train import TrainConfig  # noqa: E402
from gen_core.data.datasets import load_dataset, resolve_data_root  # noqa: E402
from gen_core.models.registry import MODELS  # noqa: E402
from gen_core.training.device import resolve_device  # noqa: E402
from gen_core.training.trainer import Trainer  # noqa: E402


def matmul_gflops(device: torch.device, n: int = 2048, reps: int = 10) -> float:
    """Best-of-`reps` fp32 n×n matmul rate: the yardstick for 'how busy is the hardware'."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(reps):
        _sync(device)
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(step, samples_per_step: int, seconds: float, device: torch.device, windows: int = 3) -> float:
    """Samples/s: one warm-up step, then the best of `windows` windows of seconds/windows each.

    Best-of-N because on a shared 2-core machine a neighbour's burst can stall OpenMP threads
    for whole windows; the best window is the code's speed, the others measure the neighbour.
    """
    step()
    _sync(device)
    best = 0.0
    for _ in range(windows):
        n, t0 = 0, time.perf_counter()
        while n == 0 or time.perf_counter() - t0 < seconds / windows:
            step()
            n += 1
        _sync(device)
        best = max(best, n * samples_per_step / (time.perf_counter() - t0))
    return best


def engine_speed(cfg: TrainConfig, data, device, seconds: float) -> tuple[float, float]:
    """(samples/s, FLOPs per step) of the engine's own training step."""
    trainer = Trainer(cfg.replace(epochs=10_000, val_images=0), data, device=device)
    with FlopCounterMode(display=False) as counter:
        trainer.train_step()
    flops = counter.get_total_flops()
    return _timed(trainer.train_step, trainer.samples_per_step, seconds, device), flops


def tutorial_speed(cfg: TrainConfig, root: Path | None, device, seconds: float,
                   fast_dropout: bool = False) -> float:
    """The tutorial loop: DataLoader + per-sample transforms, pytorch/examples style updates.

    Same architecture as the engine's; with torch.nn.Dropout (as tutorials have it) unless
    `fast_dropout`, which isolates the data-pipeline and update-order gains.
    """
    import torchvision
    from torchvision import transforms

    from gen_core.models.registry import build_model

    family = MODELS[cfg.model].family
    side = cfg.model_config.image_size
    tf = [transforms.Resize(side)] if side != 28 else []
    tf.append(transforms.ToTensor())
    if family == "gan":
        tf.append(transforms.Normalize((0.5,), (0.5,)))
    dataset_cls = torchvision.datasets.MNIST
    if root is not None:
        dataset = dataset_cls(str(root), train=True, download=False, transform=transforms.Compose(tf))
    else:  # no MNIST files: tutorial loop over the embedded subset through a TensorDataset
        mini = load_dataset("mnist-mini")
        x = mini.train_images.float().div(255).unsqueeze(1)
        dataset = torch.utils.data.TensorDataset(x * 2 - 1 if family == "gan" else x, mini.train_labels)
    loader = torch.utils.data.DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, drop_last=True)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, cfg.model_config).to(device)
    if not fast_dropout:
        _use_torch_dropout(model)
    batches = iter(loader)

    def next_batch():
        nonlocal batches
        try:
            return next(batches)[0].to(device)
        except StopIteration:
            batches = iter(loader)
            return next(batches)[0].to(device)

    if family == "gan":
        G, D = model.generator, model.discriminator
        opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
        opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
        criterion = torch.nn.BCEWithLogitsLoss()

        def step():  # pytorch/examples dcgan/main.py, step (1) and (2)
            real = next_batch()
            b = real.shape[0]
            ones, zeros = torch.ones(b, device=device), torch.zeros(b, device=device)
            D.zero_grad()
            err_real = criterion(D(real), ones)
            err_real.backward()
            fake = G(torch.randn(b, model.latent_dim, device=device))
            err_fake = criterion(D(fake.detach()), zeros)
            err_fake.backward()
            opt_d.step()
            G.zero_grad()
            err_g = criterion(D(fake), ones)
            err_g.backward()
            opt_g.step()
    else:
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)

        def step():  # pytorch/examples vae/main.py
            x = next_batch()
            out = model(x)
            bce = F.binary_cross_entropy(torch.sigmoid(out.recon_logits), x, reduction="sum")
            kld = -0.5 * torch.sum(1 + out.logvar - out.mu.pow(2) - out.logvar.exp())
            opt.zero_grad()
            (bce + kld).backward()
            opt.step()

    return _timed(step, cfg.batch_size, seconds, device)


def _use_torch_dropout(model: torch.nn.Module) -> None:
    from gen_core.models.layers import FastDropout
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, FastDropout):
                setattr(parent, name, torch.nn.Dropout(child.p))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated model names")
    parser.add_argument("--batches", default="64,128,256", help="comma-separated batch sizes")
    parser.add_argument("--seconds", type=float, default=3.0, help="timing budget per measurement (3 windows)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--no-tutorial", action="store_true", help="skip the DataLoader baseline")
    parser.add_argument("--tutorial-fast-dropout", action="store_true",
                        help="give the baseline the engine's FastDropout (isolates the other gains)")
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    root = resolve_data_root("mnist", args.data_root)
    data = load_dataset("mnist", args.data_root)
    peak = matmul_gflops(device)
    print(f"device: {device} ({torch.get_num_threads()} threads), torch {torch.__version__}")
    print(f"data: {data.message}")
    print(f"fp32 matmul 2048³: {peak:.1f} GFLOP/s\n")
    header = f"{'model':<10} {'batch':>5} {'engine/s':>10} {'tutorial/s':>10} {'speed-up':>8} " \
             f"{'MFLOP/sample':>12} {'GFLOP/s':>8} {'% matmul':>8}"
    print(header)
    print("-" * len(header))
    for name in args.models.split(","):
        for batch in map(int, args.batches.split(",")):
            cfg = TrainConfig(model=name, dataset="mnist", data_root=args.data_root, batch_size=batch)
            rate, flops = engine_speed(cfg, data, device, args.seconds)
            tut = float("nan") if args.no_tutorial else tutorial_speed(cfg, root, device, args.seconds,
                                                                        args.tutorial_fast_dropout)
            samples_per_step = batch * cfg.d_steps if MODELS[name].family == "gan" else batch
            gflops = flops / samples_per_step * rate / 1e9
            print(f"{name:<10} {batch:>5} {rate:>10.0f} {tut:>10.0f} {rate / tut:>7.2f}x "
                  f"{flops / samples_per_step / 1e6:>12.1f} {gflops:>8.1f} {100 * gflops / peak:>7.1f}%",
                  flush=True)


if __name__ == "__main__":
    main()
