"""Property tests: whatever a user, a URL query string, a CLI flag or a JSON file throws at the
configs, the outcome is a valid run or a ConfigError (with a message) — never another exception.

Random TrainConfig and model-config fields get random types and values (in and out of range,
NaN, huge ints, text, lists, None, bools); valid configs then train their first 1–2 steps on
tiny data. Sizes that only make an example slow (layer widths, batch, images per epoch, quality
metrics) are drawn small, so the whole file runs in well under a minute. Seeded (derandomized).
"""
from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gen_core.config.checks import ConfigError
from gen_core.config.train import (DATASET_NAMES, GAN_LOSS_NAMES, RECON_LOSS_NAMES, TrainConfig,
                                   model_config_from_dict)
from gen_core.models.registry import MODELS
from gen_core.training.history import TrainingDiverged
from gen_core.training.trainer import Trainer


SETTINGS = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])

JUNK = st.one_of(
    st.none(), st.booleans(), st.text(max_size=12), st.binary(max_size=4),
    st.integers(min_value=-10**6, max_value=10**6), st.just(10**400), st.just(-(10**30)),
    st.floats(allow_nan=True, allow_infinity=True), st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def maybe(valid):
    """Mostly a valid value, sometimes junk of any type (for the free-form tests below)."""
    return st.one_of(valid, valid, valid, valid, JUNK)


WIDTHS = st.lists(st.integers(min_value=1, max_value=24), min_size=1, max_size=3)
# Valid values, drawn small so that an example trains in milliseconds.
VALID_MODEL = {
    "latent_dim": st.integers(min_value=1, max_value=6),
    "g_hidden": WIDTHS, "d_hidden": WIDTHS, "hidden": WIDTHS,
    "conv_channels": st.lists(st.integers(min_value=1, max_value=8), min_size=1, max_size=2),
    "g_width": st.integers(min_value=4, max_value=8), "d_width": st.integers(min_value=4, max_value=8),
    "dropout": st.floats(min_value=0.0, max_value=0.9), "batch_norm": st.booleans(),
    "leaky_slope": st.floats(min_value=0.0, max_value=1.0),
    "image_size": st.sampled_from([8, 16, 28, 32]), "channels": st.just(1),
    "upsample": st.sampled_from(["convtranspose", "nearest"]),
    "embed_dim": st.integers(min_value=1, max_value=8), "num_classes": st.sampled_from([10, 10, 3]),
}
VALID_CONV_HIDDEN = st.integers(min_value=1, max_value=24)
IMAGE_SIZES = {"dcgan": st.just(28), "dcgan-64": st.just(64), "conv-vae": st.sampled_from([8, 16, 28]),
               "cgan": st.sampled_from([28, 32])}
# Out of range, or of the wrong type.
INVALID_MODEL = {
    "latent_dim": st.sampled_from([0, -1, 1025, 2.5, "2", None, True]),
    "g_hidden": st.sampled_from([[], [0], [9000], "256", 5, None, [1.5], [True]]),
    "d_hidden": st.sampled_from([[], [-3], list(range(1, 11)), {"a": 1}]),
    "hidden": st.sampled_from([[], [0], 0, -1, 9000, "x", None]),
    "conv_channels": st.sampled_from([[], [0], [8, 8, 8], "32,64", None]),
    "g_width": st.sampled_from([0, 3, 513, 4.0, "8"]), "d_width": st.sampled_from([-1, 1000, None]),
    "dropout": st.sampled_from([-0.1, 0.95, math.nan, math.inf, "0.3", 10**400]),
    "batch_norm": st.sampled_from(["yes", 1, None, "false"]),
    "leaky_slope": st.sampled_from([-1.0, 2.0, math.nan, None]),
    "image_size": st.sampled_from([0, 7, 129, 30, 63, "28", 28.0]),
    "channels": st.sampled_from([0, 2, 3, 4, "1", None]),
    "upsample": st.sampled_from(["bilinear", "", None, 1, "NEAREST"]),
    "embed_dim": st.sampled_from([0, 513, "4", None]), "num_classes": st.sampled_from([0, 1, 1001, 2.0]),
    "unknown_knob": st.integers(),
}
VALID_TRAIN = {
    "dataset": st.sampled_from(DATASET_NAMES), "data_root": st.none(),
    "epochs": st.integers(min_value=1, max_value=3), "batch_size": st.integers(min_value=1, max_value=32),
    "images_per_epoch": st.sampled_from([None, 64, 96, 128]),
    "seed": st.integers(min_value=0, max_value=2**31 - 1), "device": st.sampled_from(["auto", "cpu", "cuda"]),
    "gan_loss": st.sampled_from(GAN_LOSS_NAMES),
    "lr_g": st.floats(min_value=1e-6, max_value=1.0), "lr_d": st.floats(min_value=1e-6, max_value=1.0),
    "lr": st.floats(min_value=1e-6, max_value=1.0),
    "beta1": st.floats(min_value=0.0, max_value=0.999), "beta2": st.floats(min_value=0.0, max_value=0.99999),
    "d_steps": st.integers(min_value=1, max_value=2), "gp_weight": st.floats(min_value=0.0, max_value=20.0),
    "recon_loss": st.sampled_from(RECON_LOSS_NAMES), "beta": st.floats(min_value=0.0, max_value=5.0),
    "n_fixed": st.integers(min_value=1, max_value=9), "latent_map_size": st.integers(min_value=2, max_value=5),
    "val_images": st.integers(min_value=0, max_value=64), "metrics_every": st.just(0),
    "metrics_samples": st.integers(min_value=50, max_value=60),
    "spectral_norm": st.booleans(), "ema_decay": st.sampled_from([0.0, 0.5, 0.999]),
    "label_smoothing": st.just(0.0), "instance_noise": st.floats(min_value=0.0, max_value=2.0),
}
INVALID_TRAIN = {
    "dataset": st.sampled_from(["imagenet", "MNIST", "", None, 3]),
    "data_root": st.sampled_from(["", 5, ["data"], "a\x00b"]),
    "epochs": st.sampled_from([0, -1, 10_001, 2.0, "3", None, True]),
    "batch_size": st.sampled_from([0, -5, 8193, 32.5, "64", None]),
    "images_per_epoch": st.sampled_from([0, -1, 20_000, 10**8, 1.5, "64"]),
    "seed": st.sampled_from([-1, 2**31, 1.0, "0", None]),
    "device": st.sampled_from(["gpu", "cuda:x", "cuda:100", "", None, "mps", "cuda:9"]),
    "gan_loss": st.sampled_from(["wgan", "NON-SATURATING", "", None, 1]),
    "lr_g": st.sampled_from([0.0, -1e-3, 2.0, 1e9, math.nan, math.inf, 10**400, "1e-3", None]),
    "lr_d": st.sampled_from([0.0, -1.0, math.nan]), "lr": st.sampled_from([0.0, 1e9, -math.inf, True]),
    "beta1": st.sampled_from([-0.1, 1.0, math.nan]), "beta2": st.sampled_from([1.0, -1.0, "x"]),
    "d_steps": st.sampled_from([0, 21, 1.5, None]), "gp_weight": st.sampled_from([-1.0, 1e6, math.nan]),
    "recon_loss": st.sampled_from(["l1", "BCE", None]), "beta": st.sampled_from([-1.0, 1e9, math.inf]),
    "n_fixed": st.sampled_from([0, 257, None]), "latent_map_size": st.sampled_from([0, 1, 41, 2.0]),
    "val_images": st.sampled_from([-1, 100_001, "all"]), "metrics_every": st.sampled_from([-1, 1.0, "2"]),
    "metrics_samples": st.sampled_from([0, 49, 20_001]),
    "spectral_norm": st.sampled_from(["yes", 1, None]), "ema_decay": st.sampled_from([-0.1, 1.0, math.nan]),
    "label_smoothing": st.sampled_from([-0.1, 0.6, math.nan, "0.1"]),
    "instance_noise": st.sampled_from([-1.0, 3.0, math.inf]),
}
JUNK_MODELS = st.sampled_from(["dcgan-128", "MLP-GAN", "", "vae", "mlp gan"]) | JUNK


@st.composite
def config_kwargs(draw):
    """TrainConfig(**kwargs) inputs: clean (all valid), one field corrupted, or many corrupted."""
    from gen_core.models.registry import get_model_spec
    model = draw(st.sampled_from(list(MODELS)))
    mode = draw(st.sampled_from(["clean"] * 4 + ["one"] * 4 + ["wild"] * 2))
    kwargs = {n: draw(v) for n, v in VALID_TRAIN.items() if draw(st.booleans())}
    if kwargs.get("images_per_epoch", 64) is None and draw(st.booleans()):
        kwargs["images_per_epoch"] = 64
    kwargs.setdefault("images_per_epoch", 64)  # the default (all 10,000) only makes epochs long
    kwargs.setdefault("batch_size", draw(st.integers(min_value=1, max_value=32)))  # (default 128 > 64)
    names = [f for f in get_model_spec(model).config_cls.__dataclass_fields__]
    mc = {}
    for n in names:
        if draw(st.booleans()):
            if n == "image_size" and model in IMAGE_SIZES:
                mc[n] = draw(IMAGE_SIZES[model])
            elif n == "hidden" and model == "conv-vae":
                mc[n] = draw(VALID_CONV_HIDDEN)
            else:
                mc[n] = draw(VALID_MODEL[n])
    if model in ("dcgan", "dcgan-64", "cgan"):
        mc.setdefault("g_width", 4), mc.setdefault("d_width", 4)
    kwargs["model"], kwargs["model_config"] = model, mc
    corrupt = {"clean": 0, "one": 1, "wild": draw(st.integers(min_value=2, max_value=6))}[mode]
    for _ in range(corrupt):
        where = draw(st.sampled_from(["train"] * 6 + ["model"] * 4 + ["name", "config"]))
        if where == "train":
            n = draw(st.sampled_from(sorted(INVALID_TRAIN)))
            kwargs[n] = draw(INVALID_TRAIN[n])
        elif where == "model" and isinstance(kwargs["model_config"], dict):
            n = draw(st.sampled_from(names + ["unknown_knob"]))  # mostly a setting this model has
            kwargs["model_config"][n] = draw(INVALID_MODEL[n])
        elif where == "name":
            kwargs["model"] = draw(JUNK_MODELS)
        else:
            kwargs["model_config"] = draw(JUNK)
    return kwargs


MODEL_FIELDS = {**{k: maybe(v) for k, v in VALID_MODEL.items()}, "unknown_knob": st.integers()}
TRAIN_FIELDS = {k: maybe(v) for k, v in VALID_TRAIN.items()}
MODEL_NAMES = st.sampled_from(list(MODELS)) | JUNK_MODELS


def check_outcome(kwargs, data) -> str:
    """'invalid' (ConfigError), 'diverged' (a run that failed with its reason) or 'trained'."""
    try:
        cfg = TrainConfig(**kwargs)
    except ConfigError as e:
        assert str(e) and "\n" not in str(e)
        return "invalid"
    try:
        trainer = Trainer(cfg, data, device="cpu")
    except ConfigError as e:  # the checks that need the data (its size, its channels)
        assert str(e)
        return "invalid"
    try:
        for _ in range(min(2, trainer.total_steps)):
            record = trainer.train_step()
            assert record["step"] == trainer.step
    except TrainingDiverged:
        return "diverged"
    return "trained"


@SETTINGS
@given(config_kwargs())
def test_any_config_is_a_valid_run_or_a_config_error(mini_data, kwargs):
    check_outcome(kwargs, mini_data)


@SETTINGS
@given(st.dictionaries(st.one_of(st.sampled_from(sorted(TRAIN_FIELDS) + ["model", "model_config"]),
                                 st.text(max_size=6), st.integers()),
                       st.one_of(JUNK, *TRAIN_FIELDS.values()), max_size=6))
def test_from_dict_on_untrusted_json_never_raises_anything_else(data):
    """TrainConfig.from_dict is what reads checkpoints, run folders and shared links."""
    try:
        TrainConfig.from_dict(data)
    except ConfigError as e:
        assert str(e)


@SETTINGS
@given(st.one_of(MODEL_NAMES, st.sampled_from(list(MODELS))),
       st.one_of(JUNK, st.dictionaries(st.one_of(st.sampled_from(sorted(MODEL_FIELDS)), JUNK.filter(
           lambda v: isinstance(v, (str, int))), st.integers()), st.one_of(*MODEL_FIELDS.values()), max_size=4)))
def test_model_settings_from_a_query_string_or_cli(model, data):
    try:
        model_config_from_dict(model, data)
    except ConfigError as e:
        assert str(e)


def test_messages_say_what_is_allowed():
    for kwargs, text in [(dict(lr=0.0, model="mlp-vae"), "lr must be in (0, 1]"),
                         (dict(lr_g=1e9), "lr_g must be in (0, 1]"),
                         (dict(lr=math.nan), "finite"),
                         (dict(epochs=0), "epochs must be between 1 and 10,000"),
                         (dict(model="gan-9000"), "choose one of mlp-gan, dcgan"),
                         (dict(gan_loss="wgan"), "gan_loss must be one of non-saturating"),
                         (dict(model_config={"latent_dim": 0}), "latent_dim must be between 1 and 1,024"),
                         (dict(batch_size=64, images_per_epoch=32), "at least the batch size"),
                         (dict(model="conv-vae", model_config={"image_size": 30}), "divisible by 4"),
                         (dict(device="gpu"), "device must be auto, cpu")]:
        with pytest.raises(ConfigError, match=_escape(text)):
            TrainConfig(**kwargs)


def test_data_size_checks_say_what_is_allowed(mini_data):
    cases = [(dict(images_per_epoch=20_000), "more than the 10,000 training images of mnist-mini"),
             (dict(images_per_epoch=None, batch_size=8192, d_steps=2), "batch_size × d_steps"),
             (dict(model_config={"channels": 3}), "channels must be 1")]
    for kwargs, text in cases:
        cfg = TrainConfig(dataset="mnist-mini", **kwargs)
        with pytest.raises(ConfigError, match=_escape(text)):
            Trainer(cfg, mini_data)


def _escape(text: str) -> str:
    import re
    return re.escape(text)
