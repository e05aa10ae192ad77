"""What a sweep may vary, parsed and validated: parameters, values, seeds, and the planned configs."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

from gen_core.config.checks import ConfigError
from gen_core.config.train import GAN_LOSS_NAMES, RECON_LOSS_NAMES, TrainConfig, check_against_data
from gen_core.data.datasets import load_dataset
from gen_core.data.images import ImageData
from gen_core.models.registry import get_model_spec
from gen_core.objectives.tricks import EXPLAIN as TRICKS


MAX_VALUES = 8


MAX_SEEDS = 5


MAX_RUNS = 24


class SweepError(ValueError):
    """A sweep request cannot be met (one already running, unknown id). The message is user-facing."""


@dataclass(frozen=True)
class SweepParam:
    """One setting a sweep may vary."""
    name: str                 # field of TrainConfig (target "train") or of the model's config ("model")
    label: str                # for menus and tables
    kind: type                # float, int, str or bool
    target: str               # "train" | "model"
    families: tuple[str, ...] = ("gan", "vae")
    models: tuple[str, ...] | None = None   # None: every model of those families
    suggest: str = ""         # a sensible list of values to start from
    help: str = ""

    def applies_to(self, model: str) -> bool:
        spec = get_model_spec(model)
        return spec.family in self.families and (self.models is None or model in self.models)


SWEEP_PARAMS: dict[str, SweepParam] = {p.name: p for p in [
    SweepParam("lr_g", "learning rate G", float, "train", ("gan",), suggest="0.0001, 0.0005, 0.002",
               help="Adam step size of the generator."),
    SweepParam("lr_d", "learning rate D", float, "train", ("gan",), suggest="0.0001, 0.0005, 0.002",
               help="Adam step size of the discriminator."),
    SweepParam("gan_loss", "GAN loss", str, "train", ("gan",), suggest="non-saturating, lsgan, hinge",
               help=f"One of {', '.join(GAN_LOSS_NAMES)}."),
    SweepParam("d_steps", "D steps per G step", int, "train", ("gan",), suggest="1, 2, 5",
               help=TRICKS["d_steps"]),
    SweepParam("spectral_norm", "spectral norm in D", bool, "train", ("gan",), suggest="false, true",
               help=TRICKS["spectral_norm"]),
    SweepParam("ema_decay", "EMA generator decay", float, "train", ("gan",), suggest="0, 0.999",
               help=TRICKS["ema_decay"]),
    SweepParam("label_smoothing", "label smoothing", float, "train", ("gan",), suggest="0, 0.1, 0.2",
               help=TRICKS["label_smoothing"]),
    SweepParam("instance_noise", "instance noise σ", float, "train", ("gan",), suggest="0, 0.1, 0.3",
               help=TRICKS["instance_noise"]),
    SweepParam("beta1", "Adam β₁", float, "train", ("gan",), suggest="0, 0.5, 0.9",
               help="Momentum of the GAN optimisers (0.5 in DCGAN)."),
    SweepParam("lr", "learning rate", float, "train", ("vae",), suggest="0.0001, 0.001, 0.01",
               help="Adam step size of the VAE."),
    SweepParam("beta", "β (KL weight)", float, "train", ("vae",), suggest="0.5, 1, 4",
               help="1 is the plain VAE; larger β pushes the codes towards the prior."),
    SweepParam("recon_loss", "reconstruction loss", str, "train", ("vae",), suggest="bce, mse",
               help=f"One of {', '.join(RECON_LOSS_NAMES)}."),
    SweepParam("latent_dim", "latent dim", int, "model", suggest="2, 8, 32",
               help="Size of z."),
    SweepParam("batch_size", "batch size", int, "train", suggest="32, 128, 512",
               help="Images per optimiser step (at most the images per epoch)."),
    SweepParam("images_per_epoch", "images per epoch", int, "train", suggest="1600, 3200, 6400",
               help="How much data each epoch sees."),
    SweepParam("dropout", "dropout (D)", float, "model", ("gan",), ("mlp-gan",), suggest="0, 0.3, 0.6",
               help="Dropout in the linear GAN's discriminator."),
    SweepParam("batch_norm", "batch-norm in G", bool, "model", ("gan",), ("mlp-gan",), suggest="false, true",
               help="Batch normalisation in the linear GAN's generator."),
    SweepParam("leaky_slope", "LeakyReLU slope", float, "model", ("gan",), ("mlp-gan", "dcgan", "dcgan-64"),
               suggest="0, 0.2", help="Negative slope of the LeakyReLUs."),
    SweepParam("g_width", "G feature maps", int, "model", ("gan",), ("dcgan", "dcgan-64"), suggest="8, 16, 32",
               help="DCGAN generator width (ngf)."),
    SweepParam("d_width", "D feature maps", int, "model", ("gan",), ("dcgan", "dcgan-64"), suggest="8, 16, 32",
               help="DCGAN discriminator width (ndf)."),
]}


def params_for(model: str) -> list[SweepParam]:
    """The settings a sweep of `model` can vary, in menu order."""
    get_model_spec(model)  # ConfigError for unknown names
    return [p for p in SWEEP_PARAMS.values() if p.applies_to(model)]


def get_param(name: str) -> SweepParam:
    try:
        return SWEEP_PARAMS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"cannot sweep {name!r}; choose one of {', '.join(SWEEP_PARAMS)}.") from None


_TRUE = {"true", "yes", "on", "1"}


_FALSE = {"false", "no", "off", "0"}


def _split(text: Any) -> list[str]:
    if isinstance(text, (list, tuple)):
        return [str(t).strip() for t in text if str(t).strip()]
    return [p.strip() for p in str(text).replace(";", ",").split(",") if p.strip()]


def parse_values(param: str, text: str | Sequence) -> list:
    """'0.0001, 0.0005' → [0.0001, 0.0005] typed for `param`. ConfigError (user-facing) otherwise.

    Only the type is checked here; ranges are TrainConfig's job (`sweep_configs`).
    """
    p = get_param(param)
    parts = _split(text)
    if not parts:
        raise ConfigError(f"Values: give at least one value for {p.label}, e.g. {p.suggest}.")
    out: list = []
    for part in parts:
        low = part.lower()
        try:
            if p.kind is bool:
                if low not in _TRUE | _FALSE:
                    raise ValueError
                value: Any = low in _TRUE
            elif p.kind is int:
                f = float(part)
                if not f.is_integer():
                    raise ValueError
                value = int(f)
            elif p.kind is float:
                value = float(part)
            else:
                value = low
        except (ValueError, OverflowError):
            kind = {bool: "true or false", int: "whole numbers", float: "numbers"}.get(p.kind, "names")
            raise ConfigError(f"Values: {p.label} takes {kind} separated by commas, e.g. {p.suggest}; "
                              f"got {part!r}.") from None
        if value in out:
            raise ConfigError(f"Values: {value_label(value)} appears twice; give each value once.")
        out.append(value)
    if len(out) > MAX_VALUES:
        raise ConfigError(f"Values: at most {MAX_VALUES} values per sweep, got {len(out)}.")
    return out


def parse_seeds(text: str | Sequence) -> list[int]:
    """'0, 1, 2' → [0, 1, 2]. ConfigError (user-facing) otherwise."""
    parts = _split(text)
    if not parts:
        raise ConfigError("Seeds: give at least one seed, e.g. 0.")
    seeds: list[int] = []
    for part in parts:
        try:
            f = float(part)
            if not f.is_integer() or not 0 <= f <= 2**31 - 1:
                raise ValueError
        except (ValueError, OverflowError):
            raise ConfigError(f"Seeds: write whole numbers from 0 to 2,147,483,647 separated by commas; "
                              f"got {part!r}.") from None
        if int(f) in seeds:
            raise ConfigError(f"Seeds: {int(f)} appears twice; give each seed once.")
        seeds.append(int(f))
    if len(seeds) > MAX_SEEDS:
        raise ConfigError(f"Seeds: at most {MAX_SEEDS} seeds per sweep, got {len(seeds)}.")
    return seeds


def value_label(value: Any) -> str:
    """How a swept value is written in legends and tables."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _check_applies(p: SweepParam, model: str) -> None:
    if not p.applies_to(model):
        where = (f"the {', '.join(p.models)} model{'s' if len(p.models) > 1 else ''}" if p.models
                 else f"{' and '.join(f.upper() for f in p.families)} models")
        raise ConfigError(f"{p.label} is a setting of {where}, not of {model}.")


def apply_value(base: TrainConfig, param: str, value: Any, seed: int | None = None) -> TrainConfig:
    """`base` with `param` set to `value` (and the seed), validated by TrainConfig."""
    p = get_param(param)
    _check_applies(p, base.model)
    changes: dict[str, Any] = {} if seed is None else {"seed": seed}
    if p.target == "model":
        changes["model_config"] = dataclasses.replace(base.model_config, **{p.name: value})
    else:
        changes[p.name] = value
    return base.replace(**changes)


def sweep_configs(base: TrainConfig, param: str, values: Sequence, seeds: Sequence[int]
                  ) -> list[tuple[Any, int, TrainConfig]]:
    """Every (value, seed, config) of a sweep, value-major, each validated. ConfigError names the value."""
    if not isinstance(base, TrainConfig):
        raise ConfigError("a sweep needs a TrainConfig to start from.")
    p = get_param(param)
    values, seeds = list(values), list(seeds)
    if not values:
        raise ConfigError(f"Values: give at least one value for {p.label}.")
    if not seeds:
        raise ConfigError("Seeds: give at least one seed, e.g. 0.")
    if len(values) * len(seeds) > MAX_RUNS:
        raise ConfigError(f"{len(values)} values × {len(seeds)} seeds = {len(values) * len(seeds)} runs; "
                          f"a sweep may have at most {MAX_RUNS}.")
    _check_applies(p, base.model)  # once, not once per value
    out = []
    for value in values:
        for seed in seeds:
            try:
                cfg = apply_value(base, param, value, seed)
            except ConfigError as e:
                raise ConfigError(f"{p.label} = {value_label(value)}: {e}") from None
            except TypeError as e:  # a value of the wrong type for dataclasses.replace
                raise ConfigError(f"{p.label} = {value_label(value)}: {e}") from None
            out.append((value, seed, cfg))
    return out


def check_plan_against_data(plan: Sequence[tuple[Any, int, TrainConfig]], param: str, data: ImageData) -> None:
    """The checks only the loaded data allows (e.g. images per epoch ≤ training images), per value."""
    label = get_param(param).label
    for value, _, cfg in plan:
        try:
            check_against_data(cfg, len(data.train_images), dataset=data.name)
        except ConfigError as e:
            raise ConfigError(f"{label} = {value_label(value)}: {e}") from None


def plan_sweep(base: TrainConfig, param: str, values: Sequence, seeds: Sequence[int],
               data: ImageData | None = None) -> list[tuple[Any, int, TrainConfig]]:
    """`sweep_configs` plus the checks against the loaded data (loaded here when not given; cached)."""
    plan = sweep_configs(base, param, values, seeds)
    if data is None:
        data = load_dataset(base.dataset, base.data_root)
    if data is not None:
        check_plan_against_data(plan, param, data)
    return plan
