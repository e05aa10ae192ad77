"""The command line: one flag per config field, parsed with the configs' own checks."""
from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Callable

from gen_core.config.train import (COLOUR_DATASET_NAMES, DATASET_NAMES, GAN_LOSS_NAMES, RECON_LOSS_NAMES,
                                   TrainConfig)
from gen_core.models.registry import MODELS


PROG = "python -m gen_core"


MAX_NPY_SAMPLES = 100_000  # 100k × 784 bytes ≈ 78 MB for 28×28 grey images


CHOICES = {"model": tuple(MODELS), "dataset": DATASET_NAMES + COLOUR_DATASET_NAMES, "gan_loss": GAN_LOSS_NAMES,
           "recon_loss": RECON_LOSS_NAMES}


# Settings that may change when a run is resumed; the rest would make it a different run.
RESUME_OVERRIDES = ("epochs", "device", "data_root")


MODEL_DEST = "model__"  # argparse dest prefix of model-config flags


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit code 2."""


def _parse_int(text: str) -> int:
    try:
        return int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _parse_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _parse_int_tuple(text: str) -> tuple[int, ...]:
    parts = [p for p in text.replace(" ", "").split(",") if p]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated whole numbers like 256,512,1024, got {text!r}") from None


def _parser_for(tp) -> tuple[Callable[[str], Any], str]:
    """(string → value, metavar) for a dataclass field type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        inner, metavar = _parser_for(next(a for a in args if a is not type(None)))

        def optional(text: str):
            return None if text.strip().lower() in ("none", "all") else inner(text)
        return optional, metavar
    if tp is bool:
        return _parse_bool, "true|false"
    if tp is int:
        return _parse_int, "N"
    if tp is float:
        return _parse_float, "X"
    if origin is tuple:
        return _parse_int_tuple, "N,N,..."
    return str, "TEXT"


def _dataset_arg(text: str) -> str:
    """A dataset name, or a path to a folder / .zip of images → "folder:<absolute path>"."""
    if text in CHOICES["dataset"]:
        return text
    path = Path(text).expanduser()
    if path.is_dir() or (path.is_file() and path.suffix.lower() == ".zip"):
        return "folder:" + str(path.resolve())
    raise argparse.ArgumentTypeError(f"{text!r} is neither a dataset ({', '.join(CHOICES['dataset'])}) nor a "
                                     "folder or .zip of images")


def _presets() -> dict:
    """gen_core.presets.registry.PRESETS, or {} where that module is absent or broken."""
    try:
        from gen_core.presets.registry import PRESETS
    except Exception:  # noqa: BLE001 — presets are optional for the CLI
        return {}
    return dict(PRESETS)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _show_default(value) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def train_fields() -> list[dataclasses.Field]:
    """TrainConfig's fields that are flags (all but model_config, which the model flags build)."""
    return [f for f in dataclasses.fields(TrainConfig) if f.name != "model_config"]


def model_fields() -> dict[str, dict[str, tuple[Any, Any, str]]]:
    """Union of every model config's fields: name → {model: (type, default, help)}, in first-seen order."""
    out: dict[str, dict[str, tuple[Any, Any, str]]] = {}
    for name, spec in MODELS.items():
        hints = typing.get_type_hints(spec.config_cls)
        default = spec.default_config()
        for f in dataclasses.fields(spec.config_cls):
            out.setdefault(f.name, {})[name] = (hints[f.name], getattr(default, f.name), f.metadata.get("help", ""))
    return out


def _add_train_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train", usage=f"{PROG} train [options]", allow_abbrev=False,
        help="train a model; writes grids, CSV histories and a checkpoint every epoch",
        description="Train a GAN or VAE. Every setting is optional; unset ones keep their defaults. "
                    "Each epoch writes DIR/grids/*.png and the resumable DIR/state.pt (+ history.jsonl, "
                    "snapshots/); the end writes DIR/checkpoint.pt, DIR/history_steps.csv and DIR/history_epochs.csv. Ctrl-C stops after the current "
                    "step and still saves (resume with --resume DIR/checkpoint.pt).")
    hints = typing.get_type_hints(TrainConfig)
    defaults = TrainConfig()
    g = p.add_argument_group("training settings (TrainConfig)")
    presets = _presets()
    if presets:
        g.add_argument("--preset", choices=tuple(presets), metavar="NAME", default=None,
                       help="start from a seed report's setup (see `list-models`); other flags then "
                            f"override its settings. One of: {', '.join(presets)}")
    for f in train_fields():
        parse, metavar = _parser_for(hints[f.name])
        default = getattr(defaults, f.name)
        if typing.get_origin(hints[f.name]) in (typing.Union, types.UnionType):
            shown = "all; 'all' resets" if f.name == "images_per_epoch" else "none; 'none' resets"
        else:
            shown = str(default)
        help_text = f"{f.metadata.get('help', f.name)} (default: {shown})"
        kwargs: dict[str, Any] = dict(dest=f.name, default=argparse.SUPPRESS, help=help_text)
        if f.name == "dataset":  # a known name, or a folder / .zip of your own images
            kwargs.update(type=_dataset_arg, metavar="{" + ",".join(CHOICES[f.name]) + "}|PATH")
        elif f.name in CHOICES:
            kwargs.update(choices=CHOICES[f.name], metavar="{" + ",".join(CHOICES[f.name]) + "}")
        else:
            kwargs.update(type=parse, metavar=metavar)
        g.add_argument(_flag(f.name), **kwargs)

    m = p.add_argument_group("model settings (the chosen model's config; a flag its config lacks is an error)")
    for name, per_model in model_fields().items():
        types_ = {tp for tp, _, _ in per_model.values()}
        helps = {h for _, _, h in per_model.values()}
        _, metavar = _parser_for(next(iter(types_))) if len(types_) == 1 else (None, "VALUE")
        if len(helps) == 1:
            what = helps.pop()
        else:  # group the models that describe it alike: "size of z (mlp-gan, dcgan); ..."
            by_help: dict[str, list[str]] = {}
            for model, (_, _, h) in per_model.items():
                by_help.setdefault(h, []).append(model)
            what = "; ".join(f"{h} ({', '.join(models)})" for h, models in by_help.items())
        defaults_text = ", ".join(f"{model} {_show_default(d)}" for model, (_, d, _) in per_model.items())
        m.add_argument(_flag(name), dest=MODEL_DEST + name, default=argparse.SUPPRESS, metavar=metavar,
                       help=f"{what} (defaults: {defaults_text})")

    o = p.add_argument_group("output and control")
    o.add_argument("--out", metavar="DIR", default=None,
                   help="folder for grids, CSVs and checkpoint.pt (default: runs/<model>-<dataset>-<timestamp>; "
                        "with --resume, the checkpoint's folder)")
    o.add_argument("--resume", metavar="CHECKPOINT", default=None,
                   help="continue a saved run exactly where it stopped (its checkpoint.pt, state.pt or folder: the "
                        "newest of the folder is used); only --epochs (the new total), "
                        "--device, --data-root and the output options may be given with it")
    o.add_argument("--force", action="store_true",
                   help="write into --out even if it already holds a checkpoint.pt (files are overwritten)")
    o.add_argument("--scale", type=_parse_int, default=2, metavar="N",
                   help="enlarge the PNG grids N times, nearest neighbour (default: 2)")
    o.add_argument("--max-seconds", type=_parse_float, default=None, metavar="S", dest="max_seconds",
                   help="stop after S seconds of wall-clock training and save (e.g. 60: 'train for one "
                        "minute' in class); the run can be continued with --resume")
    o.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, allow_abbrev=False,
        description="Train small GANs and VAEs on MNIST-like data, sample from checkpoints, list models.",
        epilog=f"Run '{PROG} COMMAND --help' for a command's options.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    train = _add_train_parser(sub)

    s = sub.add_parser("sample", help="write samples from a checkpoint as a PNG grid or a .npy array",
                       usage=f"{PROG} sample CHECKPOINT [options]", allow_abbrev=False,
                       description="Decode n latent vectors z ~ N(0, I) with a saved model and write them as "
                                   "one PNG grid, or, when --out ends in .npy, as a uint8 array of shape "
                                   "(N, C, H, W) that any tool can score. The same seed always gives the "
                                   "same images.")
    s.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint.pt written by 'train'")
    s.add_argument("--n", type=_parse_int, default=64, metavar="N",
                   help=f"number of samples: 1-1,024 for a PNG, 1-{MAX_NPY_SAMPLES:,} for .npy (default: 64)")
    s.add_argument("--seed", type=_parse_int, default=0, metavar="N", help="noise seed (default: 0)")
    s.add_argument("--out", default="grid.png", metavar="PNG|NPY",
                   help="output file: .png for a grid, .npy for the raw uint8 samples (default: grid.png)")
    s.add_argument("--scale", type=_parse_int, default=2, metavar="N",
                   help="enlarge N times, nearest neighbour (default: 2)")
    s.add_argument("--nrow", type=_parse_int, default=None, metavar="N",
                   help="images per row (default: as square as possible)")

    lm = sub.add_parser("list-models", help="list models (with parameter counts) and datasets (with status)",
                        usage=f"{PROG} list-models [--data-root DIR]", allow_abbrev=False,
                        description="Print the model registry and whether each dataset is on disk.")
    lm.add_argument("--data-root", default=None, metavar="DIR",
                    help="folder to look for datasets in (default: data/ and ../shared/data, "
                         "or GEN_CORE_DATA_ROOT)")
    parser.commands = {"train": train, "sample": s, "list-models": lm}
    return parser
