"""What a run will cost before anything is built: memory (bytes) and time (a FLOP model).

A classroom server must refuse `mlp-gan` with eight 8192-wide layers (14 GiB) *before* it
allocates a byte, and a page must not build and time a model on every rerun to say how long an
epoch takes. So both figures come from the model's config alone:

* The model is built on PyTorch's **meta device** (shapes, no storage: instant even for a
  billion parameters) and one training forward pass runs on meta tensors of the batch size, with
  hooks that record every module's output size and FLOPs.
* **Memory** = parameters + gradients + Adam's two moments (4 × fp32 per parameter) + the
  registry's eval copy of the model for the pages + a checkpoint's copy of weights and moments
  while it is written + activations kept for backward at the batch size (module outputs, ×2 for
  their gradients; ×2 again for WGAN-GP's double backward) + the per-epoch snapshot images (capped
  by GEN_CORE_MAX_SNAPSHOT_MB). The dataset is shared by all runs and not counted.
* **Time** per step = FLOPs / achieved FLOP/s + a per-layer overhead, both *calibrated once per
  process* on two small training steps (~0.1 s), so the estimate follows the machine (CPU or GPU)
  without timing the user's model. Training FLOPs ≈ 3 × forward (backward costs two forwards;
  Kaplan et al. 2020): a GAN step is d_steps × (G forward + D on real and fake, forward and
  backward) + the generator step (G and D forward and backward).

`GEN_CORE_MAX_RUN_MB` sets the budget per run; by default it is 60 % of the machine's memory
(or of the cgroup limit) divided by the number of training slots. No streamlit import.
"""
from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass

import torch
from torch import nn

from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig
from gen_core.models.registry import build_model, get_model_spec


MB = 1024 * 1024
_CALIBRATION: tuple[float, float] | None = None   # (FLOP/s, seconds per layer-pass) for this process
_CAL_LOCK = threading.Lock()


@dataclass(frozen=True)
class MemoryEstimate:
    parameters: int
    parameter_bytes: int      # weights + gradients + Adam moments + eval copy + checkpoint copy
    activation_bytes: int     # kept for backward at the batch size
    snapshot_bytes: int       # epoch images kept in memory
    flops_per_step: float     # training FLOPs of one optimiser step (all its passes)
    layer_passes: int         # module calls per step (for the per-call overhead)

    @property
    def total_bytes(self) -> int:
        return self.parameter_bytes + self.activation_bytes + self.snapshot_bytes

    @property
    def total_mb(self) -> float:
        return self.total_bytes / MB

    def describe(self) -> str:
        return (f"≈ {fmt_mb(self.total_bytes)} ({self.parameters:,} parameters: {fmt_mb(self.parameter_bytes)} for "
                f"weights, gradients, Adam and copies; {fmt_mb(self.activation_bytes)} of activations; "
                f"{fmt_mb(self.snapshot_bytes)} of epoch images)")


def fmt_mb(n_bytes: float) -> str:
    mb = n_bytes / MB
    return f"{mb / 1024:,.1f} GB" if mb >= 1024 else f"{mb:,.0f} MB" if mb >= 10 else f"{mb:,.1f} MB"


class OverBudget(ConfigError):
    """The config would need more memory than a run may have. The message gives both figures."""


# ---------------------------------------------------------------------------- the budget

def machine_memory_bytes() -> int:
    """Physical memory, or the cgroup's limit when lower (a container)."""
    total = 0
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(path).read().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < (total or float("inf")):
            total = int(text)
    return total or 4 * 1024 * MB


def run_budget_mb(slots: int | None = None) -> float:
    """GEN_CORE_MAX_RUN_MB, else 60 % of the machine's memory shared by the training slots."""
    text = os.environ.get("GEN_CORE_MAX_RUN_MB", "").strip()
    if text:
        try:
            value = float(text)
            if value > 0:
                return value
        except ValueError:
            pass
    if slots is None:
        from gen_core.classroom.scheduler import default_max_running
        slots = default_max_running()
    return 0.6 * machine_memory_bytes() / MB / max(1, slots)


def check_budget(config: TrainConfig, budget_mb: float | None = None, *, slots: int | None = None) -> MemoryEstimate:
    """The estimate, or OverBudget (a ConfigError) when it exceeds the per-run budget."""
    est = estimate_memory(config)
    budget = run_budget_mb(slots) if budget_mb is None else budget_mb
    if est.total_mb > budget:
        raise OverBudget(f"This setting needs {est.describe()} to train, more than the {fmt_mb(budget * MB)} "
                         "one run may use on this server (GEN_CORE_MAX_RUN_MB). Try narrower layers, a smaller "
                         "batch size or a smaller image size.")
    return est


# ---------------------------------------------------------------------------- counting on meta

def _module_flops(module: nn.Module, inputs, output) -> float:
    x = inputs[0] if inputs else None
    if not isinstance(x, torch.Tensor) or not isinstance(output, torch.Tensor):
        return 0.0
    if isinstance(module, nn.Linear):
        return 2.0 * x.numel() / max(1, module.in_features) * module.in_features * module.out_features
    if isinstance(module, nn.Conv2d):
        k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels / module.groups
        return 2.0 * output.numel() * k
    if isinstance(module, nn.ConvTranspose2d):
        k = module.kernel_size[0] * module.kernel_size[1] * module.out_channels / module.groups
        return 2.0 * x.numel() * k
    return float(output.numel())  # activations, norms: about one op per element


class _Counter:
    def __init__(self, model: nn.Module):
        self.flops = 0.0
        self.out_elems = 0
        self.calls = 0
        self.handles = [m.register_forward_hook(self._hook) for m in model.modules()
                        if not list(m.children())]

    def _hook(self, module, inputs, output):
        self.calls += 1
        self.flops += _module_flops(module, inputs, output)
        outs = output if isinstance(output, (tuple, list)) else (output,)
        self.out_elems += sum(o.numel() for o in outs if isinstance(o, torch.Tensor))

    def take(self) -> tuple[float, int, int]:
        out = (self.flops, self.out_elems, self.calls)
        self.flops, self.out_elems, self.calls = 0.0, 0, 0
        return out

    def close(self):
        for h in self.handles:
            h.remove()


def _forward_costs(config: TrainConfig):
    """Build on meta and run one forward at the batch size: per-part (flops, output elements, calls)."""
    spec = get_model_spec(config.model)
    with torch.device("meta"):
        model = build_model(config.model, config.model_config)
    model.train()
    params = sum(p.numel() for p in model.parameters())
    b = config.batch_size
    counter = _Counter(model)
    try:
        with torch.no_grad():
            if spec.family == "gan":
                z = torch.empty(b, model.latent_dim, device="meta")
                fake = model.generator(z)
                g = counter.take()
                model.discriminator(fake)
                d = counter.take()
                return spec.family, params, {"g": g, "d": d}, tuple(fake.shape[1:])
            x = torch.empty(b, *model.image_shape, device="meta")
            model(x)
            v = counter.take()
            return spec.family, params, {"vae": v}, tuple(model.image_shape)
    finally:
        counter.close()


def estimate_memory(config: TrainConfig) -> MemoryEstimate:
    """Memory and FLOPs of training `config`, from shapes alone (nothing is allocated)."""
    from gen_core.training.history import MAX_SNAPSHOT_BYTES
    try:
        family, params, parts, image_shape = _forward_costs(config)
    except ConfigError:
        raise
    except (RuntimeError, NotImplementedError, ValueError, TypeError) as e:  # a layer meta cannot run
        raise ConfigError(f"cannot size this model: {e}") from None
    four = 4
    parameter_bytes = params * four * (1 + 1 + 2 + 1 + 3)  # weights, grads, Adam m+v, eval copy, checkpoint copy
    if family == "gan":
        (g_f, g_e, g_c), (d_f, d_e, d_c) = parts["g"], parts["d"]
        d_steps = max(1, int(getattr(config, "d_steps", 1) or 1))
        gp = 2 if getattr(config, "gan_loss", "") == "wgan-gp" else 1
        # Activations at the peak: the generator step keeps G's and D's outputs; a D step keeps D's on
        # real and fake (and, for WGAN-GP, on interpolates with a graph for the double backward).
        act_elems = max(g_e + d_e, 2 * d_e * gp + (d_e if gp > 1 else 0))
        flops = d_steps * (g_f + 3 * 2 * d_f * gp) + 3 * (g_f + d_f)
        calls = d_steps * (g_c + 2 * d_c * gp) + g_c + d_c
    else:
        v_f, v_e, v_c = parts["vae"]
        act_elems, flops, calls = v_e, 3 * v_f, v_c
    activation_bytes = int(act_elems * four * 2)  # outputs and their gradients
    pixels = int(math.prod(image_shape))
    per_epoch = pixels * (config.n_fixed + config.latent_map_size ** 2 + (16 if family == "vae" else 0))
    snapshot_bytes = int(min(per_epoch * config.epochs, MAX_SNAPSHOT_BYTES))
    return MemoryEstimate(parameters=int(params), parameter_bytes=int(parameter_bytes),
                          activation_bytes=activation_bytes, snapshot_bytes=snapshot_bytes,
                          flops_per_step=float(flops), layer_passes=int(calls) * 3)


# ---------------------------------------------------------------------------- the time model

def _time_train_steps(width: int, depth: int, batch: int, steps: int) -> float:
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    net = nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    x = torch.randn(batch, width)
    for i in range(steps + 1):
        if i == 1:
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        net(x).square().mean().backward()
        opt.step()
    return (time.perf_counter() - t0) / steps


def calibrate() -> tuple[float, float]:
    """(achieved FLOP/s, seconds per layer call) of this process's CPU, measured once (~0.05 s on an idle 2-core CPU)."""
    global _CALIBRATION
    with _CAL_LOCK:
        if _CALIBRATION is None:
            # A tiny net is all overhead; a 512-wide one mostly arithmetic. Two equations, two unknowns.
            tiny = _time_train_steps(8, 4, 8, 10)
            big_w, big_d, big_b = 384, 4, 128
            big = _time_train_steps(big_w, big_d, big_b, 3)
            calls = 2 * big_d * 3
            per_call = max(tiny / calls, 1e-6)
            big_flops = 3 * 2.0 * big_b * big_w * big_w * big_d
            rate = big_flops / max(big - per_call * calls, 1e-4)
            _CALIBRATION = (rate, per_call)
        return _CALIBRATION


@dataclass(frozen=True)
class TimeEstimate:
    seconds_per_step: float
    steps_per_epoch: int
    device: str

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds_per_step * self.steps_per_epoch

    def seconds_for(self, epochs: int) -> float:
        return self.seconds_per_epoch * epochs


def estimate_time(config: TrainConfig, n_train: int | None = None, *, threads: int | None = None) -> TimeEstimate:
    """Seconds per step and per epoch of `config` on this process's CPU from the FLOP model.

    On a GPU the calibration is only an upper bound (it measures the CPU): the text says so."""
    from gen_core.training.device import device_description, resolve_device
    est = estimate_memory(config)
    rate, per_call = calibrate()
    if threads is not None and threads < torch.get_num_threads():  # a share of the CPU when slots are busy
        rate *= threads / max(1, torch.get_num_threads())
    per_step = est.flops_per_step / rate + est.layer_passes * per_call
    images = config.images_per_epoch or n_train or 60_000
    steps = max(1, images // config.batch_size)
    device = device_description(resolve_device(config.device))
    return TimeEstimate(per_step, steps, device)


__all__ = ["MemoryEstimate", "TimeEstimate", "OverBudget", "estimate_memory", "estimate_time", "check_budget",
           "run_budget_mb", "machine_memory_bytes", "calibrate", "fmt_mb"]
