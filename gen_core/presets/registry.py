"""Presets: the setups of the five seed course reports, as ready-made `TrainConfig`s.

Each `Preset` names one model from `gen_core.models.registry`, the layer sizes to give its
config dataclass (`model_overrides`) and the training settings (`train_overrides`),
and says in `note` what the report did and where this engine departs from it.

Conventions
  * Every number in an override comes from the report section cited in `source`
    (or, for seed 003, from the script the report cites and ran unchanged).
  * A value the report does not give is left out of the overrides, so the config
    default applies, and the note says so ("silent on …: default …").
  * Engine-wide differences are not repeated in every note: discriminators return
    logits (the reports' final Sigmoid is folded into the loss) and VAE decoders
    return logits (the Sigmoid is applied in `VAE.decode`).

Seed reports (under shared/seeds/):
  000  UCLA STATS M231A / CS M276A, Fall 2021, homework "GAN and VAE" (Yaxuan Zhu)
  001  VU Amsterdam Deep Learning, Assignment 5 (S. Tiwari)
  002  Project progress reports on GANs and VAEs, Feb 2023 (Keras)
  003  UF COP 6610 Machine Learning, Fall 2019 project report (Yefan Tao)
  004  "GAN and VAE for MNIST", UF CAP6610 (Ninad K. Gaikwad, TensorFlow)

Setups that cannot be mapped (no such dataset or model here) are listed at the end
of this module in `UNMAPPED`.

Usage:
    from gen_core.presets.registry import get_preset
    cfg = get_preset("seed000-linear-gan").to_config(device="cpu")
"""
from __future__ import annotations

from gen_core.config.checks import ConfigError
from gen_core.presets.base import FAMILIES, Preset
from gen_core.presets.defaults import _DEFAULTS, MODEL_DEFAULTS, PAGE_DEFAULTS
from gen_core.presets.seeds import _SEED000, _SEED001, _SEED002, _SEED002_CONDITIONAL, _SEED003, _SEED004


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------
PRESETS: dict[str, Preset] = {}


for _preset in [*_DEFAULTS, *_SEED000, *_SEED001, *_SEED002, *_SEED002_CONDITIONAL, *_SEED003, *_SEED004]:
    if _preset.name in PRESETS:
        raise ConfigError(f"duplicate preset name {_preset.name!r}.")
    PRESETS[_preset.name] = _preset


del _preset


def presets_for(family: str) -> list[Preset]:
    """All presets of one family ("gan" or "vae"), in registry order."""
    if family not in FAMILIES:
        raise ConfigError(f"family must be one of {', '.join(FAMILIES)}; got {family!r}.")
    return [p for p in PRESETS.values() if p.family == family]


def default_preset(family: str) -> Preset:
    """The recipe the family's Train page opens on (and `--preset default-gan|default-vae`)."""
    if family not in FAMILIES:
        raise ConfigError(f"family must be one of {', '.join(FAMILIES)}; got {family!r}.")
    return PRESETS[PAGE_DEFAULTS[family]]


def model_default(model: str) -> Preset | None:
    """The default recipe of `model`, or None when it has none (then its config defaults apply)."""
    name = MODEL_DEFAULTS.get(model)
    return PRESETS[name] if name else None


def get_preset(name: str) -> Preset:
    """The preset called `name`; ConfigError listing the valid names otherwise."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}.") from None


# Report setups with no preset, and why (kept here so the dashboard can say so).
UNMAPPED: tuple[str, ...] = (
    "Seed 001 — VAE and GAN on Imagenette (3-channel colour, conv VAE 3 → 32 → 64 → 128 → 256, latent 32, "
    "batch 32, 50 epochs): no colour dataset in this engine.",
    "Seed 002 — Vanilla GAN ('4 layers deep', 5000 Keras 'epochs' of batch 128) and DCGAN with dropout "
    "(10000 'epochs'): layer widths not given, and the 'epochs' are single batches; Fashion-MNIST GAN "
    "(noise 8): its size table is a lost figure.",
    "Seed 003 — DCGAN and DFC-VAE on VGGFace2 faces and cat faces (64×64×3): no such datasets here.",
)
