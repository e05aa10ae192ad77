"""A preset: a named, sourced set of settings (model, its config, training) that pages, links and the
CLI open on.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig, model_config_from_dict


FAMILIES = ("gan", "vae")


_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Preset:
    """One reproducible setup from a seed report."""
    name: str      # slug used in URLs and the CLI, e.g. "seed000-linear-gan"
    title: str     # for menus
    source: str    # report and section the numbers come from
    family: str    # "gan" | "vae"
    model: str     # registry name (gen_core.models.registry.MODELS)
    # hash=False: dicts are unhashable, and name already identifies a preset.
    model_overrides: dict = field(default_factory=dict, hash=False)  # fields of the model's config
    train_overrides: dict = field(default_factory=dict, hash=False)  # fields of TrainConfig
    note: str = ""  # what the report did and how we deviate

    def __post_init__(self):
        from gen_core.models.registry import get_model_spec  # late import, as in config.py

        if not _SLUG.match(self.name):
            raise ConfigError(f"preset name {self.name!r} must be a lower-case slug like 'seed000-linear-gan'.")
        if self.family not in FAMILIES:
            raise ConfigError(f"preset {self.name}: family must be one of {', '.join(FAMILIES)}; got {self.family!r}.")
        spec = get_model_spec(self.model)  # ConfigError for unknown models
        if spec.family != self.family:
            raise ConfigError(f"preset {self.name}: model {self.model} is a {spec.family}, not a {self.family}.")
        for reserved in ("model", "model_config"):
            if reserved in self.train_overrides:
                raise ConfigError(f"preset {self.name}: set {reserved!r} through the preset, not train_overrides.")
        if not self.source.strip() or not self.title.strip():
            raise ConfigError(f"preset {self.name}: title and source must not be empty.")

    def model_config(self):
        """The model's config dataclass with this preset's overrides (validated)."""
        return model_config_from_dict(self.model, dict(self.model_overrides))

    def to_config(self, **extra) -> TrainConfig:
        """A validated `TrainConfig` for this preset.

        `extra` sets further TrainConfig fields (device, seed, data_root, …) and may
        override the preset's own training settings, e.g. `to_config(epochs=1)` for a
        quick look. The model and its layer sizes are the preset's and cannot be
        overridden here; edit the returned config with `TrainConfig.replace` instead.
        """
        for reserved in ("model", "model_config"):
            if reserved in extra:
                raise ConfigError(f"{reserved} is fixed by preset {self.name}; "
                                  f"use .to_config(...).replace({reserved}=...) to change it.")
        known = {f.name for f in dataclasses.fields(TrainConfig)}
        unknown = sorted(set(extra) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(unknown)}.")
        settings = {**self.train_overrides, **extra}
        return TrainConfig(model=self.model, model_config=self.model_config(), **settings)
