"""GAN stabilisation tricks, each a switch in `TrainConfig` (validated in config.py).

  spectral_norm    Miyato et al. 2018, "Spectral Normalization for GANs": every weight of D is
                   divided by its largest singular value (one power iteration per step), so each
                   layer is 1-Lipschitz and D cannot become arbitrarily steep.
  ema_decay        Yazıcı et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training":
                   samples come from an exponential moving average of G's weights, which smooths
                   out the oscillation of the raw generator. 0 = off; 0.999 is typical.
  label_smoothing  Salimans et al. 2016, "Improved Techniques for Training GANs", §3.4: D's target
                   for real images is 1 − s instead of 1 (one-sided: fakes keep target 0).
  instance_noise   Sønderby et al. 2016 (§5), Arjovsky & Bottou 2017: Gaussian noise of std σ is
                   added to every image D sees, real or fake, and σ is annealed linearly to 0 over
                   the run; early on the two distributions overlap, so D's gradients stay useful.
  d_steps          Goodfellow et al. 2014, Algorithm 1: k discriminator updates per G update.

`build_model_for(config)` builds a config's model with its tricks, the one way the trainer
and the checkpoint loader build GANs, so trained weights always fit the rebuilt model.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from gen_core.models.registry import build_model


_SN_LAYERS = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)

# One line each, for the Train-a-GAN page and the Experiments menu: what switching it on does.
EXPLAIN: dict[str, str] = {
    "spectral_norm": "Spectral norm (Miyato et al. 2018): caps how steep D can get, so its gradients "
                     "to G stay informative instead of exploding or vanishing.",
    "ema_decay": "EMA generator (Yazıcı et al. 2019): samples come from a running average of G's weights, "
                 "which smooths out the back-and-forth of the game; 0 = off, 0.999 typical.",
    "label_smoothing": "One-sided label smoothing (Salimans et al. 2016): D aims at 1 − s for real images, "
                       "not 1, so it cannot become over-confident; 0 = off.",
    "instance_noise": "Instance noise (Sønderby et al. 2016): blurs what D sees with noise that fades to 0 "
                      "over the run, so real and fake overlap early and D cannot win outright; 0 = off.",
    "d_steps": "D steps per G step (Goodfellow et al. 2014): train D k times per G update; k > 1 is what "
               "WGAN-GP needs, and slows everything else down.",
}


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectrally normalise every Linear / Conv weight inside `module` (in place)."""
    from torch.nn.utils.parametrizations import spectral_norm
    for layer in list(module.modules()):
        if isinstance(layer, _SN_LAYERS):
            # ConvTranspose stores (in, out, kH, kW): its output dimension is dim 1.
            spectral_norm(layer, dim=1 if isinstance(layer, nn.ConvTranspose2d) else 0)
    return module


def attach_ema(model) -> None:
    """Give a GAN an EMA copy of its generator (`model.ema_generator`), used for every sample."""
    ema = copy.deepcopy(model.generator)
    ema.requires_grad_(False)
    model.ema_generator = ema


def ema_decay_at(decay: float, step: int) -> float:
    """The decay used at G step `step` (0-based): min(decay, (1 + step) / (10 + step)).

    Why the warm-up: with a fixed 0.999 the average would still be mostly the random initial
    weights after a thousand steps; the ramp (as in TensorFlow's ExponentialMovingAverage with
    num_updates) lets it follow G closely early on and average over ~1/(1 − decay) steps later.
    """
    return min(decay, (1.0 + step) / (10.0 + step))


@torch.no_grad()
def update_ema(model, decay: float, step: int = 10**9) -> None:
    """ema ← d·ema + (1 − d)·G, d = ema_decay_at(decay, step), for weights and for float buffers.

    Why the BatchNorm statistics are averaged too rather than copied: the live G's running means
    describe the live G's activations; paired with averaged weights they mis-normalise, and the
    EMA generator drew a few classes only (measured: entropy 0.18 vs 0.37 at step 500).
    """
    decay = ema_decay_at(decay, step)
    ema, live = model.ema_generator, model.generator
    ema_params, live_params = list(ema.parameters()), list(live.parameters())
    torch._foreach_lerp_(ema_params, [p.detach() for p in live_params], 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), live.buffers()):
        if b.is_floating_point():
            b_ema.lerp_(b, 1.0 - decay)
        else:
            b_ema.copy_(b)  # e.g. BatchNorm's num_batches_tracked


def build_model_for(config) -> nn.Module:
    """config's model with its GAN tricks applied (spectral norm on D, an EMA generator)."""
    model = build_model(config.model, config.model_config)
    if config.family != "gan":
        return model
    if config.spectral_norm:
        apply_spectral_norm(model.discriminator)
    if config.ema_decay > 0:
        attach_ema(model)
    return model


def instance_noise_std(config, progress: float) -> float:
    """σ of the instance noise at `progress` ∈ [0, 1] of the run: linear anneal to 0."""
    return config.instance_noise * max(0.0, 1.0 - progress)


@torch.no_grad()
def largest_singular_values(module: nn.Module) -> list[float]:
    """σ_max of each Linear/Conv layer's *effective* weight (what the forward pass uses).

    Conv weights are read as (out, in·kH·kW) matrices, the bound Miyato et al. normalise.
    """
    out = []
    for layer in module.modules():
        if isinstance(layer, _SN_LAYERS):
            w = layer.weight
            if isinstance(layer, nn.ConvTranspose2d):
                w = w.transpose(0, 1)
            out.append(float(torch.linalg.matrix_norm(w.reshape(w.shape[0], -1).float(), ord=2)))
    return out


__all__ = ["apply_spectral_norm", "attach_ema", "update_ema", "ema_decay_at", "build_model_for", "instance_noise_std",
           "largest_singular_values"]
