"""Training settings widgets → a validated `TrainConfig`.

Every widget stores its value in `st.session_state[f"{prefix}_{name}"]` and keeps it across
page switches (`persist_state="session"`). Choosing a model resets the model's own fields
to its defaults; choosing a preset (gen_core.presets, the seed reports' setups) fills in
every field it defines. Whatever the widgets hold, the config is built by
`TrainConfig(...)`, whose `ConfigError` message the page shows with `st.error`.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from gen_core.config.checks import ConfigError
from gen_core.config.models import DCGAN_UPSAMPLE
from gen_core.config.train import COLOUR_DATASET_NAMES, GAN_LOSS_NAMES, RECON_LOSS_NAMES, TrainConfig
from gen_core.models.registry import get_model_spec
from gen_core.objectives.losses import GAN_LOSSES
from gen_core.objectives.tricks import EXPLAIN as TRICKS


try:  # presets arrive with gen_core.presets; the page works without them
    from gen_core import presets as _presets
except ImportError:  # pragma: no cover - only before presets.py exists
    _presets = None

GAN_MODELS = {"mlp-gan": "Linear GAN", "dcgan": "DCGAN 28×28", "dcgan-64": "DCGAN 64×64"}
VAE_MODELS = {"mlp-vae": "MLP VAE", "conv-vae": "Conv VAE"}
CUSTOM = "custom"

# A live demo wants epochs of seconds, not minutes: a fixed subset of images per epoch
# (models without a default recipe in gen_core.presets use these).
DEMO_IMAGES_PER_EPOCH = 6400
DEMO_EPOCHS = 10

PERSIST = dict(persist_state="session")

# The generated colour datasets a Train page can pick instead of the sidebar's grey one, with the
# picture size their models must have (gen_core.data.shapes draws 32×32 RGB).
COLOUR_DATA_SHAPE = {"shapes": {"image_size": 32, "channels": 3}}
assert set(COLOUR_DATA_SHAPE) == set(COLOUR_DATASET_NAMES)


def data_shape(dataset: str) -> dict[str, int]:
    """Model-config overrides that fit `dataset`'s pictures (none for the grey 28×28 sets)."""
    return dict(COLOUR_DATA_SHAPE.get(dataset, {}))

# Quality scoring during training (gen_core.evaluation.metrics): off by default, a few seconds per score on a CPU.
QUALITY_SAMPLES = (200, 500, 1000, 2000)
DEFAULT_QUALITY_SAMPLES = 500

# The pictures each epoch draws: how many fixed-noise samples (seed 000 Fig. 7 shows 25) and the
# n of the n×n latent map (seed 000 Fig. 8 is 10×10). A preset's own value joins the choices.
N_FIXED_CHOICES = (16, 25, 36, 49, 64, 100)
LATENT_GRID_CHOICES = (5, 8, 10, 12, 15, 20, 25, 30)


def _k(prefix: str, name: str) -> str:
    return f"{prefix}_{name}"


def widths_text(widths) -> str:
    return ", ".join(str(w) for w in widths)


def parse_widths(text: str, label: str) -> tuple[int, ...]:
    """'256, 512, 1024' → (256, 512, 1024); ConfigError (user-facing) otherwise."""
    parts = [p.strip() for p in str(text).replace(";", ",").split(",") if p.strip()]
    try:
        widths = tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"{label}: write whole numbers separated by commas, e.g. 256, 512; "
                          f"got {text!r}.") from None
    if not widths:
        raise ConfigError(f"{label}: give at least one layer width, e.g. 256.")
    return widths


# ---------------------------------------------------------------------------
# Config ⇄ widget values
# ---------------------------------------------------------------------------

def _values_from_config(cfg: TrainConfig) -> dict[str, Any]:
    """The widget values that show `cfg` (for a preset or a model's defaults)."""
    mc = cfg.model_config
    v: dict[str, Any] = dict(model=cfg.model, latent=mc.latent_dim, epochs=cfg.epochs, batch=cfg.batch_size,
                             ipe=cfg.images_per_epoch or 0, seed=cfg.seed, n_fixed=int(cfg.n_fixed),
                             latent_map=int(cfg.latent_map_size))
    if cfg.family == "gan":
        v.update(loss=cfg.gan_loss, lr_g=cfg.lr_g, lr_d=cfg.lr_d, beta1=cfg.beta1, beta2=cfg.beta2,
                 d_steps=cfg.d_steps, gp_weight=cfg.gp_weight, spectral_norm=bool(cfg.spectral_norm),
                 ema_decay=float(cfg.ema_decay), label_smoothing=float(cfg.label_smoothing),
                 instance_noise=float(cfg.instance_noise))
    else:
        v.update(beta=cfg.beta, recon=cfg.recon_loss, lr=cfg.lr)
    v.update(_model_values(cfg.model, mc))
    return v


def _model_values(model: str, mc) -> dict[str, Any]:
    """Widget values of the model's own config (layer sizes)."""
    v: dict[str, Any] = {"latent": mc.latent_dim}
    if model == "mlp-gan":
        v.update(g_hidden=widths_text(mc.g_hidden), d_hidden=widths_text(mc.d_hidden), dropout=float(mc.dropout),
                 batch_norm=bool(mc.batch_norm), leaky=float(mc.leaky_slope))
    elif model in ("dcgan", "dcgan-64"):
        v.update(g_width=mc.g_width, d_width=mc.d_width, upsample=getattr(mc, "upsample", "convtranspose"))
    elif model == "mlp-vae":
        v.update(hidden=widths_text(mc.hidden))
    elif model == "conv-vae":
        v.update(conv_channels=widths_text(mc.conv_channels), dense=mc.hidden)
    return v


def _default_config(model: str) -> TrainConfig:
    """What choosing `model` fills in: its fast-learning default recipe (gen_core.presets) when it has
    one, otherwise its config defaults at the demo's epoch size."""
    recipe = _presets.model_default(model) if _presets is not None else None
    if recipe is not None:
        return recipe.to_config()
    return TrainConfig(model=model, epochs=DEMO_EPOCHS, images_per_epoch=DEMO_IMAGES_PER_EPOCH)


def _page_default_model(family: str) -> str:
    if _presets is not None:
        return _presets.default_preset(family).model
    return next(iter(GAN_MODELS if family == "gan" else VAE_MODELS))


def demo_defaults(model: str, dataset: str = "mnist", device: str = "auto") -> TrainConfig:
    """What the form shows for `model` before anyone touches it: the base of default run names and links."""
    return _default_config(model).replace(dataset=dataset, device=device)


def first_model(family: str) -> str:
    return _page_default_model(family)


def load_config(prefix: str, cfg: TrainConfig, *, preset: str = CUSTOM) -> None:
    """Put every setting of `cfg` into the form (a run's settings, a deep link). Call before the widgets
    are drawn in this script run."""
    _set_values(prefix, _values_from_config(cfg))
    n = cfg.metrics_samples if cfg.metrics_samples in QUALITY_SAMPLES else DEFAULT_QUALITY_SAMPLES
    _set_values(prefix, {"metrics_every": int(cfg.metrics_every), "metrics_n": n, "preset": preset})


def _set_values(prefix: str, values: dict[str, Any], *, only_missing: bool = False) -> None:
    for name, value in values.items():
        key = _k(prefix, name)
        if only_missing:
            st.session_state.setdefault(key, value)
        else:
            st.session_state[key] = value


def init(prefix: str, family: str) -> None:
    """First visit: every widget gets the page's default recipe (gen_core.presets.defaults.PAGE_DEFAULTS)."""
    first = _page_default_model(family)
    # The page's own recipe (PAGE_DEFAULTS), which may differ from what picking its model opens on:
    # the GAN page opens on a 100-D MLP GAN, while picking "mlp-gan" gives the 2-D one with its map.
    opening = _presets.default_preset(family).to_config() if _presets is not None else _default_config(first)
    _set_values(prefix, _values_from_config(opening), only_missing=True)
    for model in (GAN_MODELS if family == "gan" else VAE_MODELS):
        # values for fields only some models show (kept per model family of widgets)
        _set_values(prefix, _model_values(model, _default_config(model).model_config), only_missing=True)
    st.session_state.setdefault(_k(prefix, "preset"), _presets.PAGE_DEFAULTS[family] if _presets else CUSTOM)
    # Not part of _values_from_config: choosing a preset or a model keeps the scoring choice.
    st.session_state.setdefault(_k(prefix, "metrics_every"), 0)
    st.session_state.setdefault(_k(prefix, "metrics_n"), DEFAULT_QUALITY_SAMPLES)


def _on_model_change(prefix: str) -> None:
    model = st.session_state[_k(prefix, "model")]
    recipe = _presets.model_default(model) if _presets is not None else None
    if recipe is not None:  # the model's whole recipe: its learning rates and batch belong to it
        _set_values(prefix, _values_from_config(recipe.to_config()))
        st.session_state[_k(prefix, "preset")] = recipe.name
        return
    _set_values(prefix, _model_values(model, get_model_spec(model).default_config()))
    st.session_state[_k(prefix, "preset")] = CUSTOM


def presets_for(family: str) -> list:
    if _presets is None:
        return []
    try:
        return list(_presets.presets_for(family))
    except Exception:  # noqa: BLE001 — a broken preset table must not take the page down
        return []


def _preset(name: str):
    for p in presets_for("gan") + presets_for("vae"):
        if p.name == name:
            return p
    return None


def _on_preset_change(prefix: str) -> None:
    preset = _preset(st.session_state[_k(prefix, "preset")])
    if preset is None:
        return
    try:
        cfg = preset.to_config()
    except ConfigError:
        return
    values = _values_from_config(cfg)
    if "images_per_epoch" not in preset.train_overrides:
        values.pop("ipe", None)  # keep the demo's images per epoch (the reports used whole epochs)
    _set_values(prefix, values)
    if "dataset" in preset.train_overrides:
        st.session_state["dataset"] = preset.train_overrides["dataset"]


# ---------------------------------------------------------------------------
# Widgets
# ---------------------------------------------------------------------------

def _preset_picker(prefix: str, family: str) -> None:
    presets = presets_for(family)
    if not presets:
        return
    names = [CUSTOM] + [p.name for p in presets]
    titles = {p.name: p.title for p in presets}
    titles[CUSTOM] = "Custom settings"
    if st.session_state.get(_k(prefix, "preset")) not in names:
        st.session_state[_k(prefix, "preset")] = CUSTOM
    st.selectbox("Preset (this project's defaults and the seed reports)", names, format_func=titles.get, key=_k(prefix, "preset"),
                 on_change=_on_preset_change, args=(prefix,), **PERSIST,
                 help="Fills in every setting of a recipe: the fast-learning defaults, or what a course report "
                      "gives. For the reports, images per epoch stays at the "
                      "demo's value (0 = the whole dataset, as the reports trained).")
    preset = _preset(st.session_state[_k(prefix, "preset")])
    if preset is not None:
        with st.expander(f"About this preset — {preset.source}"):
            st.write(preset.note)


def _common_training(prefix: str, cols) -> None:
    ss = _k
    cols[0].number_input("Epochs", 1, 1000, step=1, key=ss(prefix, "epochs"), **PERSIST)
    cols[1].number_input("Images per epoch", 0, 10_000_000, step=640, key=ss(prefix, "ipe"), **PERSIST,
                         help="Train each epoch on a fixed random subset of this many images, so an epoch "
                              "takes seconds. 0 = all training images.")
    cols[2].number_input("Batch size", 1, 4096, step=16, key=ss(prefix, "batch"), **PERSIST)
    cols[3].number_input("Seed", 0, 2**31 - 1, step=1, key=ss(prefix, "seed"), **PERSIST,
                         help="Seeds the weights, the noise and the batch order: same seed, same run.")


def _quality_settings(prefix: str, cols) -> None:
    cols[0].number_input("Score quality every k epochs", 0, 1000, step=1, key=_k(prefix, "metrics_every"),
                         **PERSIST,
                         help="Measure FID, Inception Score, precision and recall of fresh samples with the "
                              "dataset's evaluator every k epochs (and after the last one); 0 = off. Each "
                              "score takes a few seconds on a CPU and is not counted as training time.")
    if st.session_state.get(_k(prefix, "metrics_n")) not in QUALITY_SAMPLES:
        st.session_state[_k(prefix, "metrics_n")] = DEFAULT_QUALITY_SAMPLES
    cols[1].select_slider("Samples per score", QUALITY_SAMPLES, key=_k(prefix, "metrics_n"), **PERSIST,
                          disabled=not st.session_state.get(_k(prefix, "metrics_every")),
                          help="Generated (and real) images per score: more gives steadier numbers, "
                               "and takes longer.")


def _with(choices: tuple[int, ...], value) -> list[int]:
    return sorted({*choices, int(value)}) if isinstance(value, int) else list(choices)


def _picture_settings(prefix: str, cols) -> None:
    """Fixed samples per epoch grid and the latent map's grid size (both shape every epoch's pictures)."""
    nf, grid = _k(prefix, "n_fixed"), _k(prefix, "latent_map")
    cols[0].selectbox("Fixed samples", _with(N_FIXED_CHOICES, st.session_state.get(nf)), key=nf, **PERSIST,
                      help="How many fixed z the sample grid shows after every epoch (the same z each "
                           "time, so you watch the same samples learn). Seed 000's Fig. 7 shows 25.")
    cols[1].selectbox("Latent map n×n", _with(LATENT_GRID_CHOICES, st.session_state.get(grid)), key=grid,
                      format_func=lambda n: f"{n}×{n}", **PERSIST,
                      help="For 2-D latents: the decoded grid over z (quantiles of N(0, 1)) drawn every "
                           "epoch. Seed 000's Fig. 8 is 10×10.")


def _picture_values(prefix: str) -> dict[str, int]:
    return dict(n_fixed=int(st.session_state.get(_k(prefix, "n_fixed"), 64)),
                latent_map_size=int(st.session_state.get(_k(prefix, "latent_map"), 20)))


def _quality_values(prefix: str) -> dict[str, int]:
    n = st.session_state.get(_k(prefix, "metrics_n"), DEFAULT_QUALITY_SAMPLES)
    return dict(metrics_every=int(st.session_state.get(_k(prefix, "metrics_every"), 0) or 0),
                metrics_samples=int(n if n in QUALITY_SAMPLES else DEFAULT_QUALITY_SAMPLES))


def gan_settings(prefix: str = "gan") -> None:
    """All GAN widgets. Read the result with `gan_config(prefix, ...)`."""
    init(prefix, "gan")
    _preset_picker(prefix, "gan")
    c = st.columns(4)
    c[0].selectbox("Model", list(GAN_MODELS), format_func=GAN_MODELS.get, key=_k(prefix, "model"),
                   on_change=_on_model_change, args=(prefix,), **PERSIST,
                   help="Linear GAN: fully connected (seed report 000). DCGAN: convolutional "
                        "(Radford et al. 2016); 64×64 is the paper's size and slow on a CPU.")
    c[1].number_input("Latent dim", 1, 1024, step=1, key=_k(prefix, "latent"), **PERSIST,
                      help="Size of the noise vector z. 2 lets you draw the whole latent space as a map.")
    c[2].selectbox("Loss", GAN_LOSS_NAMES, key=_k(prefix, "loss"), **PERSIST,
                   help=" · ".join(f"{n}: {GAN_LOSSES[n].description}" for n in GAN_LOSS_NAMES))
    c[3].number_input("D steps per G step", 1, 20, step=1, key=_k(prefix, "d_steps"), **PERSIST)
    _common_training(prefix, st.columns(4))
    c = st.columns(4)
    c[0].number_input("Learning rate G", 1e-6, 1.0, step=5e-5, format="%.5f", key=_k(prefix, "lr_g"), **PERSIST)
    c[1].number_input("Learning rate D", 1e-6, 1.0, step=5e-5, format="%.5f", key=_k(prefix, "lr_d"), **PERSIST)
    c[2].number_input("Adam β₁", 0.0, 0.999, step=0.05, format="%.3f", key=_k(prefix, "beta1"), **PERSIST,
                      help="0.5 as in Radford et al. (DCGAN); for both G and D.")
    c[3].number_input("Adam β₂", 0.0, 0.99999, step=0.001, format="%.4f", key=_k(prefix, "beta2"), **PERSIST)
    c = st.columns(4)
    _quality_settings(prefix, c[:2])
    _picture_settings(prefix, c[2:])
    _tricks(prefix)
    model = st.session_state[_k(prefix, "model")]
    with st.expander("Architecture", expanded=False):
        c = st.columns(4)
        if model == "mlp-gan":
            c[0].text_input("Generator widths", key=_k(prefix, "g_hidden"), **PERSIST,
                            help="Hidden layer widths z → … → image, comma separated.")
            c[1].text_input("Discriminator widths", key=_k(prefix, "d_hidden"), **PERSIST,
                            help="Hidden layer widths image → … → 1, comma separated.")
            c[2].slider("Dropout (D)", 0.0, 0.9, step=0.05, key=_k(prefix, "dropout"), **PERSIST)
            c[3].checkbox("Batch-norm in G", key=_k(prefix, "batch_norm"), **PERSIST)
        else:
            c[0].number_input("G feature maps (ngf)", 4, 512, step=8, key=_k(prefix, "g_width"), **PERSIST)
            c[1].number_input("D feature maps (ndf)", 4, 512, step=8, key=_k(prefix, "d_width"), **PERSIST)
            c[2].selectbox("G up-sampling", DCGAN_UPSAMPLE, key=_k(prefix, "upsample"), **PERSIST,
                           format_func={"convtranspose": "transposed conv (paper)",
                                        "nearest": "nearest + 3×3 conv"}.get,
                           help="How G doubles the image side: the paper's 4×4 stride-2 transposed convolution, "
                                "or nearest-neighbour upsampling then a 3×3 convolution (Odena et al. 2016: "
                                "no checkerboard artefacts).")
        c = st.columns(4)
        if model == "mlp-gan":
            c[0].number_input("LeakyReLU slope", 0.0, 1.0, step=0.01, format="%.2f", key=_k(prefix, "leaky"),
                              **PERSIST)
        if st.session_state[_k(prefix, "loss")] == "wgan-gp":
            c[1].number_input("Gradient penalty λ", 0.0, 1000.0, step=1.0, key=_k(prefix, "gp_weight"),
                              **PERSIST)


def _tricks(prefix: str) -> None:
    """The stabilisation tricks (gen_core.objectives.tricks), each with its one-line explanation."""
    with st.expander("Stabilisation tricks — switch one off and watch the run get worse", expanded=False):
        c = st.columns(2)
        c[0].checkbox("Spectral norm in D", key=_k(prefix, "spectral_norm"), **PERSIST)
        c[0].caption(TRICKS["spectral_norm"])
        c[1].number_input("EMA generator decay", 0.0, 0.9999, step=0.001, format="%.4f",
                          key=_k(prefix, "ema_decay"), **PERSIST)
        c[1].caption(TRICKS["ema_decay"])
        c = st.columns(2)
        c[0].slider("One-sided label smoothing s", 0.0, 0.5, step=0.05, key=_k(prefix, "label_smoothing"),
                    **PERSIST)
        c[0].caption(TRICKS["label_smoothing"])
        c[1].slider("Instance noise σ (start)", 0.0, 2.0, step=0.05, key=_k(prefix, "instance_noise"), **PERSIST)
        c[1].caption(TRICKS["instance_noise"])
        st.caption(TRICKS["d_steps"] + " (set above.)")


def vae_settings(prefix: str = "vae") -> None:
    """All VAE widgets. Read the result with `vae_config(prefix, ...)`."""
    init(prefix, "vae")
    _preset_picker(prefix, "vae")
    c = st.columns(4)
    c[0].selectbox("Model", list(VAE_MODELS), format_func=VAE_MODELS.get, key=_k(prefix, "model"),
                   on_change=_on_model_change, args=(prefix,), **PERSIST,
                   help="MLP VAE: fully connected (seed report 000). Conv VAE: convolutional (seed report 002).")
    c[1].number_input("Latent dim", 1, 1024, step=1, key=_k(prefix, "latent"), **PERSIST,
                      help="Size of the code z. 2 lets you draw the whole latent space as a map.")
    c[2].number_input("β (KL weight)", 0.0, 1000.0, step=0.1, format="%.2f", key=_k(prefix, "beta"), **PERSIST,
                      help="1 is the plain VAE; β > 1 (β-VAE) pushes the code towards the prior.")
    c[3].selectbox("Reconstruction loss", RECON_LOSS_NAMES, key=_k(prefix, "recon"), **PERSIST,
                   format_func={"bce": "Bernoulli (BCE)", "mse": "Gaussian (MSE)"}.get)
    _common_training(prefix, st.columns(4))
    model = st.session_state[_k(prefix, "model")]
    c = st.columns(4)
    c[0].number_input("Learning rate", 1e-6, 1.0, step=1e-4, format="%.5f", key=_k(prefix, "lr"), **PERSIST)
    if model == "mlp-vae":
        c[1].text_input("Encoder widths", key=_k(prefix, "hidden"), **PERSIST,
                        help="Hidden widths image → … → z; the decoder mirrors them.")
    else:
        c[1].text_input("Conv channels", key=_k(prefix, "conv_channels"), **PERSIST,
                        help="At most two convolutions, each halving the side.")
        c[2].number_input("Dense width", 1, 8192, step=32, key=_k(prefix, "dense"), **PERSIST)
    c = st.columns(4)
    _quality_settings(prefix, c[:2])
    _picture_settings(prefix, c[2:])


def _get(prefix: str, name: str):
    return st.session_state[_k(prefix, name)]


def gan_config(prefix: str = "gan", *, dataset: str, device: str = "auto") -> TrainConfig:
    """The TrainConfig the GAN widgets describe. Raises ConfigError with a user-facing message."""
    model = _get(prefix, "model")
    spec = get_model_spec(model)
    overrides: dict[str, Any] = {"latent_dim": int(_get(prefix, "latent"))}
    if model == "mlp-gan":
        overrides.update(g_hidden=parse_widths(_get(prefix, "g_hidden"), "Generator widths"),
                         d_hidden=parse_widths(_get(prefix, "d_hidden"), "Discriminator widths"),
                         dropout=float(_get(prefix, "dropout")), batch_norm=bool(_get(prefix, "batch_norm")),
                         leaky_slope=float(_get(prefix, "leaky")))
    else:
        overrides.update(g_width=int(_get(prefix, "g_width")), d_width=int(_get(prefix, "d_width")),
                         upsample=st.session_state.get(_k(prefix, "upsample"), "convtranspose"))
    shape = data_shape(dataset)
    if model == "dcgan-64":  # draws 64 px whatever the data (the trainer resizes): only the colour follows
        shape.pop("image_size", None)
    overrides.update(shape)
    model_config = dataclasses.replace(spec.default_config(), **overrides)
    ipe = int(_get(prefix, "ipe"))
    return TrainConfig(model=model, model_config=model_config, dataset=dataset, device=device,
                       epochs=int(_get(prefix, "epochs")), batch_size=int(_get(prefix, "batch")),
                       images_per_epoch=ipe or None, seed=int(_get(prefix, "seed")),
                       gan_loss=_get(prefix, "loss"), lr_g=float(_get(prefix, "lr_g")),
                       lr_d=float(_get(prefix, "lr_d")), beta1=float(_get(prefix, "beta1")),
                       beta2=float(_get(prefix, "beta2")), d_steps=int(_get(prefix, "d_steps")),
                       gp_weight=float(_get(prefix, "gp_weight")),
                       spectral_norm=bool(st.session_state.get(_k(prefix, "spectral_norm"), False)),
                       ema_decay=float(st.session_state.get(_k(prefix, "ema_decay"), 0.0)),
                       label_smoothing=float(st.session_state.get(_k(prefix, "label_smoothing"), 0.0)),
                       instance_noise=float(st.session_state.get(_k(prefix, "instance_noise"), 0.0)),
                       **_quality_values(prefix), **_picture_values(prefix))


def vae_config(prefix: str = "vae", *, dataset: str, device: str = "auto") -> TrainConfig:
    """The TrainConfig the VAE widgets describe. Raises ConfigError with a user-facing message."""
    model = _get(prefix, "model")
    spec = get_model_spec(model)
    overrides: dict[str, Any] = {"latent_dim": int(_get(prefix, "latent"))}
    if model == "mlp-vae":
        overrides["hidden"] = parse_widths(_get(prefix, "hidden"), "Encoder widths")
    else:
        overrides.update(conv_channels=parse_widths(_get(prefix, "conv_channels"), "Conv channels"),
                         hidden=int(_get(prefix, "dense")))
    overrides.update(data_shape(dataset))
    model_config = dataclasses.replace(spec.default_config(), **overrides)
    ipe = int(_get(prefix, "ipe"))
    return TrainConfig(model=model, model_config=model_config, dataset=dataset, device=device,
                       epochs=int(_get(prefix, "epochs")), batch_size=int(_get(prefix, "batch")),
                       images_per_epoch=ipe or None, seed=int(_get(prefix, "seed")),
                       lr=float(_get(prefix, "lr")), beta=float(_get(prefix, "beta")),
                       recon_loss=_get(prefix, "recon"), **_quality_values(prefix), **_picture_values(prefix))


def preset_status(prefix: str, cfg: TrainConfig) -> str | None:
    """'as in <preset>' / 'changed from <preset>' for the chosen preset, None for custom settings."""
    preset = _preset(st.session_state.get(_k(prefix, "preset"), CUSTOM))
    if preset is None:
        return None
    try:
        ref = preset.to_config().to_dict()
    except ConfigError:
        return None
    mine = cfg.to_dict()
    ignore = {"images_per_epoch", "dataset", "device", "data_root", "metrics_every", "metrics_samples"}
    same = all(mine[k] == ref[k] for k in mine if k not in ignore)
    return f"{'As in' if same else 'Changed from'} preset: {preset.title}."
