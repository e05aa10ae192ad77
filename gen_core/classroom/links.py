"""Deep links: a preset or settings in a URL query, e.g. `?preset=seed000-linear-gan` or
`?model=dcgan&lr_g=0.0004&epochs=20`, so an instructor can put a run's setup on a slide.

Query values are untrusted text. They are parsed by the type of the field they name and then
built into a `TrainConfig`, whose own validation (gen_core.config) is the only judge of what is
allowed; any problem is one `ConfigError` line for the page to show, and nothing is applied.
Fields that pick files or folders (`data_root`) cannot be set from a link.

No streamlit import.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from gen_core.classroom.describe import changed_settings
from gen_core.config.checks import ConfigError, _short
from gen_core.config.train import TrainConfig
from gen_core.models.registry import get_model_spec


# Query keys the app uses for other things (never settings).
APP_KEYS = ("run", "dataset", "present", "page", "embed", "embed_options")
LINK_ONLY = ("preset", "model")
NOT_FROM_LINKS = ("data_root", "model_config")
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
MAX_VALUE_CHARS = 200


def train_fields() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(TrainConfig) if f.name not in NOT_FROM_LINKS}


def _parse(name: str, text: str, default: Any) -> Any:
    """Text → the type of `default` (the field's current value). ConfigError when it does not parse."""
    if len(text) > MAX_VALUE_CHARS:
        raise ConfigError(f"the link's value for {name} is too long ({len(text)} characters).")
    t = text.strip()
    try:
        if isinstance(default, bool):
            if t.lower() in TRUE:
                return True
            if t.lower() in FALSE:
                return False
            raise ValueError
        if isinstance(default, int) or (default is None and name == "images_per_epoch"):
            if name == "images_per_epoch" and t.lower() in ("", "0", "all", "none"):
                return None
            return int(t)
        if isinstance(default, float):
            return float(t)
        if isinstance(default, tuple):
            return tuple(int(p) for p in t.replace(";", ",").split(",") if p.strip())
        return t
    except ValueError:
        kind = ("on/off" if isinstance(default, bool) else "a whole number" if isinstance(default, int)
                else "a number" if isinstance(default, float) else "whole numbers separated by commas")
        raise ConfigError(f"{name} in the link must be {kind}, got {_short(text)}.") from None


def settings_in(params: Mapping[str, Any]) -> dict[str, str]:
    """The query keys that are settings (preset, model, TrainConfig and model fields), as text."""
    out = {}
    for k, v in params.items():
        if k in APP_KEYS:
            continue
        if isinstance(v, (list, tuple)):
            v = v[-1] if v else ""
        out[str(k)] = str(v)
    return out


def config_from_link(params: Mapping[str, Any], *, base: TrainConfig | None = None,
                     family: str | None = None) -> TrainConfig | None:
    """The TrainConfig a link describes, starting from `base` (the page's defaults) or the preset
    it names. None when the link carries no settings. Raises ConfigError (one line) when a key is
    unknown, a value does not parse or the result is not a valid config; `family` ("gan"/"vae")
    rejects a model of the other family (the link was meant for the other page)."""
    from gen_core import presets  # late: presets import configs and the registry

    wanted = settings_in(params)
    if not wanted:
        return None
    if "preset" in wanted:
        try:
            preset = presets.get_preset(wanted["preset"])
        except (KeyError, ValueError, ConfigError):
            names = ", ".join(p.name for fam in ("gan", "vae") for p in presets.presets_for(fam))
            raise ConfigError(f"the link names an unknown preset {_short(wanted['preset'])}; "
                              f"the presets are {names}.") from None
        cfg = preset.to_config()
        if base is not None:  # keep the page's data choices (the presets name no images per epoch)
            keep = dict(images_per_epoch=base.images_per_epoch, device=base.device)
            if "dataset" not in preset.train_overrides:
                keep["dataset"] = base.dataset
            cfg = cfg.replace(**keep)
    else:
        cfg = base or TrainConfig()
    model = wanted.get("model", cfg.model)
    spec = get_model_spec(model)  # ConfigError for an unknown model
    if family is not None and spec.family != family:
        raise ConfigError(f"the link's model {model} is a {spec.family.upper()}; open it on the "
                          f"Train a {spec.family.upper()} page.")
    model_config = cfg.model_config if model == cfg.model else spec.default_config()
    fields = train_fields()
    model_names = {f.name for f in dataclasses.fields(model_config)}
    train_changes: dict[str, Any] = {}
    model_changes: dict[str, Any] = {}
    for key, text in wanted.items():
        if key in LINK_ONLY:
            continue
        if key in model_names:
            model_changes[key] = _parse(key, text, getattr(model_config, key))
        elif key in fields:
            train_changes[key] = _parse(key, text, getattr(cfg, key))
        else:
            raise ConfigError(f"the link has an unknown setting {_short(key, 40)}; settings are TrainConfig "
                              f"fields (e.g. lr_g, epochs) and the model's ({', '.join(sorted(model_names))}).")
    try:
        model_config = dataclasses.replace(model_config, **model_changes)
        return dataclasses.replace(cfg, model=model, model_config=model_config, **train_changes)
    except TypeError as e:  # a value of the wrong kind that the checks did not name
        raise ConfigError(f"the link's settings do not fit: {e}") from None


def link_query(cfg: TrainConfig, base: TrainConfig | None = None) -> dict[str, str]:
    """The query that re-creates `cfg` from `base` (the page's defaults): model + what differs."""
    out = {"model": cfg.model}
    for name, value, _ in changed_settings(cfg, base):
        if isinstance(value, tuple):
            out[name] = ",".join(str(v) for v in value)
        elif value is None:
            out[name] = "all"
        elif isinstance(value, bool):
            out[name] = "1" if value else "0"
        else:
            out[name] = f"{value:g}" if isinstance(value, float) else str(value)
    return out


__all__ = ["config_from_link", "link_query", "settings_in", "APP_KEYS"]
