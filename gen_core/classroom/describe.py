"""Runs in words: which settings a run changed, a default name from them, its full settings table.

A class ends a lesson with a dozen runs; "mlp-gan · mnist · 20:48:05 · 6fc1" tells none of them
apart. A run's default name is its model plus the settings that differ from the defaults it was
started from ("Linear GAN · lr G 0.0005, 20 epochs"), the way TensorBoard and W&B users name runs
by their hyper-parameters. The same field list drives the run header, the settings table and
deep links (gen_core.classroom.links), so a setting shown in one place is shown in all of them.

No streamlit import.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from gen_core.config.train import TrainConfig
from gen_core.models.registry import get_model_spec


# Short display names of TrainConfig and model-config fields (the header, names and tables use them).
LABELS = {
    "gan_loss": "loss", "lr_g": "lr G", "lr_d": "lr D", "beta1": "β₁", "beta2": "β₂", "d_steps": "D steps",
    "gp_weight": "GP λ", "lr": "lr", "recon_loss": "recon", "beta": "β", "epochs": "epochs",
    "batch_size": "batch", "images_per_epoch": "images/epoch", "seed": "seed", "dataset": "dataset",
    "device": "device", "metrics_every": "score every", "metrics_samples": "score samples",
    "n_fixed": "fixed z", "latent_map_size": "map size", "val_images": "val images",
    "latent_dim": "latent", "g_hidden": "G widths", "d_hidden": "D widths", "dropout": "dropout",
    "batch_norm": "batch-norm", "leaky_slope": "leaky", "g_width": "ngf", "d_width": "ndf",
    "hidden": "hidden", "conv_channels": "conv", "image_size": "size", "channels": "channels",
}
# Training fields by family, in the order people read them (objective first).
GAN_FIELDS = ("gan_loss", "lr_g", "lr_d", "beta1", "beta2", "d_steps", "gp_weight")
VAE_FIELDS = ("lr", "beta", "recon_loss")
COMMON_FIELDS = ("epochs", "batch_size", "images_per_epoch", "seed", "metrics_every", "metrics_samples",
                 "n_fixed", "latent_map_size", "val_images")
# Not settings of the experiment: where it ran and from which files.
IGNORED = ("device", "data_root", "dataset")
SHORT_TITLES = {"mlp-gan": "Linear GAN", "dcgan": "DCGAN", "dcgan-64": "DCGAN-64", "mlp-vae": "MLP VAE",
                "conv-vae": "Conv VAE"}
NAME_CHANGES = 3      # at most this many changed settings in a default name (then "+k more")
MAX_NAME = 80
MAX_NOTE = 2000


def fmt_value(value: Any) -> str:
    """0.0005 → '0.0005', (256, 512) → '256, 512', None → 'all', True → 'on'."""
    if value is None:
        return "all"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return ", ".join(fmt_value(v) for v in value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return str(value)


def relevant_fields(cfg: TrainConfig) -> tuple[str, ...]:
    """The TrainConfig fields that matter for this run (GP λ only with WGAN-GP, …)."""
    fam = GAN_FIELDS if cfg.family == "gan" else VAE_FIELDS
    fam = tuple(f for f in fam if f != "gp_weight" or cfg.gan_loss == "wgan-gp")
    common = tuple(f for f in COMMON_FIELDS if f != "metrics_samples" or cfg.metrics_every)
    return fam + common


def model_fields(cfg: TrainConfig) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cfg.model_config))


def default_base(cfg: TrainConfig) -> TrainConfig:
    """The engine's defaults for cfg's model (and its dataset and device)."""
    return TrainConfig(model=cfg.model, dataset=cfg.dataset, device=cfg.device, data_root=cfg.data_root)


def changed_settings(cfg: TrainConfig, base: TrainConfig | None = None) -> list[tuple[str, Any, Any]]:
    """(field, value, default) for every setting of `cfg` that differs from `base` (its model's
    defaults when None), model sizes first (latent, widths), then the objective, then training."""
    if base is None or base.model != cfg.model:
        base = default_base(cfg) if base is None else base.replace(model=cfg.model, model_config=None)
    out = []
    for name in model_fields(cfg):
        a, b = getattr(cfg.model_config, name), getattr(base.model_config, name)
        if a != b:
            out.append((name, a, b))
    for name in relevant_fields(cfg):
        a, b = getattr(cfg, name), getattr(base, name)
        if a != b:
            out.append((name, a, b))
    return out


def default_run_name(cfg: TrainConfig, base: TrainConfig | None = None) -> str:
    """'Linear GAN · lr G 0.0005, 20 epochs' (what differs from the defaults), or 'Linear GAN · defaults'."""
    title = SHORT_TITLES.get(cfg.model, cfg.model)
    changes = changed_settings(cfg, base)
    if not changes:
        return f"{title} · defaults"
    parts = [f"{fmt_value(v)} epochs" if f == "epochs" else f"{LABELS.get(f, f)} {fmt_value(v)}"
             for f, v, _ in changes[:NAME_CHANGES]]
    more = len(changes) - NAME_CHANGES
    name = f"{title} · {', '.join(parts)}" + (f" +{more} more" if more > 0 else "")
    return name[:MAX_NAME]


def unique_name(name: str, taken) -> str:
    """`name`, or 'name #2', 'name #3', … when another run already has it."""
    taken = set(taken)
    if name not in taken:
        return name
    i = 2
    while f"{name} #{i}" in taken:
        i += 1
    return f"{name} #{i}"


def hyper_summary(cfg: TrainConfig) -> str:
    """One line of the settings that shape learning: 'non-saturating loss · lr G 0.0005 · lr D 0.0002 ·
    Adam β₁ 0.5, β₂ 0.999 · 1 D step' (GAN) or 'lr 0.001 · β 1 · BCE reconstruction' (VAE)."""
    if cfg.family == "gan":
        parts = [f"{cfg.gan_loss} loss", f"lr G {cfg.lr_g:g}", f"lr D {cfg.lr_d:g}",
                 f"Adam β₁ {cfg.beta1:g}, β₂ {cfg.beta2:g}", f"{cfg.d_steps} D step{'s' if cfg.d_steps != 1 else ''}"]
        if cfg.gan_loss == "wgan-gp":
            parts.append(f"GP λ {cfg.gp_weight:g}")
    else:
        parts = [f"lr {cfg.lr:g}", f"β {cfg.beta:g}", f"{cfg.recon_loss.upper()} reconstruction"]
    return " · ".join(parts)


def settings_rows(cfg: TrainConfig, base: TrainConfig | None = None) -> list[dict]:
    """The full settings table of a run: one row per setting with its value, the default, and
    whether it was changed. Model sizes, then the objective, then training, then data."""
    if base is None or base.model != cfg.model:
        base = default_base(cfg) if base is None else base.replace(model=cfg.model, model_config=None)
    rows = []
    spec = get_model_spec(cfg.model)
    rows.append({"group": "model", "setting": "model", "value": spec.title, "default": spec.title, "changed": False})
    for name in model_fields(cfg):
        a, b = getattr(cfg.model_config, name), getattr(base.model_config, name)
        rows.append({"group": "model", "setting": LABELS.get(name, name), "value": fmt_value(a),
                     "default": fmt_value(b), "changed": a != b})
    for name in relevant_fields(cfg):
        a, b = getattr(cfg, name), getattr(base, name)
        group = "objective" if name in GAN_FIELDS + VAE_FIELDS else "training"
        rows.append({"group": group, "setting": LABELS.get(name, name), "value": fmt_value(a),
                     "default": fmt_value(b), "changed": a != b})
    rows.append({"group": "data", "setting": "dataset", "value": cfg.dataset, "default": base.dataset,
                 "changed": False})
    return rows


def settings_compare(configs: dict[str, TrainConfig]) -> list[dict]:
    """Settings side by side: one row per setting, one column per run (name → config), and
    "differs" when the runs do not all agree. Settings a run's model or family lacks show '—'."""
    order: list[tuple[str, str]] = []   # (where, field), first-seen order
    for cfg in configs.values():
        for name in ("model",):
            order.append(("train", name))
        order += [("model", n) for n in model_fields(cfg)]
        order += [("train", n) for n in relevant_fields(cfg)]
        order.append(("train", "dataset"))
    order = list(dict.fromkeys(order))
    rows = []
    for where, name in order:
        row: dict[str, Any] = {"setting": LABELS.get(name, name)}
        values = []
        for run, cfg in configs.items():
            if where == "model":
                has = name in model_fields(cfg)
                value = getattr(cfg.model_config, name) if has else None
            else:
                has = name in ("model", "dataset") or name in relevant_fields(cfg)
                value = getattr(cfg, name) if has else None
            row[run] = fmt_value(value) if has else "—"
            values.append(row[run])
        row["differs"] = len(set(values)) > 1
        rows.append(row)
    return rows


def clean_name(text: Any) -> str:
    """A user's run name: one line, no control characters, at most MAX_NAME characters.
    Raises ValueError (user-facing message) when nothing is left."""
    if not isinstance(text, str):
        raise ValueError("a run name must be text.")
    name = "".join(ch for ch in " ".join(text.split()) if ch.isprintable())
    if not name:
        raise ValueError("a run name cannot be empty.")
    if len(name) > MAX_NAME:
        raise ValueError(f"a run name may have at most {MAX_NAME} characters, this one has {len(name)}.")
    return name


def clean_note(text: Any) -> str:
    """A user's note on a run: any lines, no control characters but newlines, at most MAX_NOTE characters."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise ValueError("a run note must be text.")
    note = "".join(ch for ch in text if ch == "\n" or ch.isprintable()).strip()
    if len(note) > MAX_NOTE:
        raise ValueError(f"a note may have at most {MAX_NOTE:,} characters, this one has {len(note):,}.")
    return note


__all__ = ["settings_compare", "changed_settings", "default_run_name", "unique_name", "hyper_summary", "settings_rows", "fmt_value",
           "clean_name", "clean_note", "LABELS", "MAX_NAME", "MAX_NOTE"]
