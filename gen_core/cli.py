"""Command line: `python -m gen_core train | sample | list-models`.

    python -m gen_core train --model mlp-gan --dataset mnist --epochs 5 --out runs/demo
    python -m gen_core train --resume runs/demo/checkpoint.pt --epochs 10
    python -m gen_core sample runs/demo/checkpoint.pt --n 64 --out grid.png
    python -m gen_core list-models

`train` has one flag per `TrainConfig` field and one per model-config field (the union
over all models; only the chosen model's apply), all generated from the dataclasses, so
new settings appear here without edits. Training runs in `TrainingRunner`, the same
background runner the dashboard uses; this module only polls it for a progress bar and
writes files from its epoch callback. Bad input gives one line on stderr and exit code 2,
a failed run exit code 1, Ctrl-C (after saving) 130 — never a traceback.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import logging
import math
import sys
import time
import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from .checkpoints import CheckpointError, load_checkpoint, resume_trainer, sample_grid
from .config import COLOUR_DATASET_NAMES, DATASET_NAMES, GAN_LOSS_NAMES, RECON_LOSS_NAMES, ConfigError, TrainConfig
from .data import DATASETS, dataset_status, default_data_roots
from .device import device_description
from .imaging import make_grid, save_png
from .registry import MODELS, get_model_spec
from .runstate import STATE_FILE, RunFiles, resolve_resume_path
from .runner import FAILED, FINAL_STATES, FINISHED, STOPPED, TrainingRunner
from .training import Trainer

PROG = "python -m gen_core"
POLL_SECONDS = 0.2
MAX_NPY_SAMPLES = 100_000  # 100k × 784 bytes ≈ 78 MB for 28×28 grey images
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
CHOICES = {"model": tuple(MODELS), "dataset": DATASET_NAMES + COLOUR_DATASET_NAMES, "gan_loss": GAN_LOSS_NAMES,
           "recon_loss": RECON_LOSS_NAMES}
# Settings that may change when a run is resumed; the rest would make it a different run.
RESUME_OVERRIDES = ("epochs", "device", "data_root")
MODEL_DEST = "model__"  # argparse dest prefix of model-config flags

_sleep = time.sleep  # the progress loop's wait; tests replace it to simulate Ctrl-C


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit code 2."""


# ---------------------------------------------------------------------------
# Value parsers generated from dataclass field types
# ---------------------------------------------------------------------------

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
    """gen_core.presets.PRESETS, or {} where that module is absent or broken."""
    try:
        from .presets import PRESETS
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


# ---------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------

def _model_config(model: str, given: dict[str, str]):
    """The chosen model's default config with the given (raw string) model flags applied."""
    spec = get_model_spec(model)
    hints = typing.get_type_hints(spec.config_cls)
    unknown = [name for name in given if name not in hints]
    if unknown:
        have = ", ".join(_flag(f.name) for f in dataclasses.fields(spec.config_cls))
        raise UsageError(f"{', '.join(map(_flag, unknown))} is not a setting of {model}; its settings are {have}.")
    values = {}
    for name, text in given.items():
        parse, _ = _parser_for(hints[name])
        try:
            values[name] = parse(text)
        except argparse.ArgumentTypeError as e:
            raise UsageError(f"argument {_flag(name)}: {e}") from None
    return dataclasses.replace(spec.default_config(), **values)


def _split_given(args) -> tuple[dict, dict]:
    train = {f.name: getattr(args, f.name) for f in train_fields() if hasattr(args, f.name)}
    model = {k[len(MODEL_DEST):]: v for k, v in vars(args).items() if k.startswith(MODEL_DEST)}
    return train, model


def _prepare_run(args) -> tuple[TrainConfig | None, Callable[[], Trainer], Path, dict]:
    """(config, build, output folder, info) for a fresh or resumed run.

    Only plain-Python checks happen here, in the main thread; `build` (called on the runner's
    worker thread, so that no torch op of the run runs in the main thread: gen_core.threads)
    loads the checkpoint and makes the trainer. config is None when resuming (it is in the
    checkpoint); build fills info["resumed"] with a "Resuming …" line. Both raise UsageError /
    ConfigError / CheckpointError.
    """
    train_given, model_given = _split_given(args)
    info: dict[str, str] = {"resumed": ""}
    if args.resume:
        fixed = [n for n in train_given if n not in RESUME_OVERRIDES]
        if getattr(args, "preset", None):
            fixed.insert(0, "preset")
        if fixed or model_given:
            names = ", ".join(_flag(n) for n in fixed + list(model_given))
            raise UsageError(f"{names} cannot change when resuming (the run would no longer be the same); "
                             f"only {', '.join(map(_flag, RESUME_OVERRIDES))} may be given with --resume.")
        out = Path(args.out) if args.out else Path(args.resume).resolve().parent
        return None, lambda: _resume_trainer(args, train_given, info), out, info

    preset_name = getattr(args, "preset", None)
    if preset_name:
        preset = _presets()[preset_name]
        if train_given.get("model", preset.model) != preset.model:
            raise UsageError(f"--preset {preset_name} trains {preset.model}; leave out --model "
                             f"{train_given['model']} or the preset.")
        train_given.pop("model", None)
        config = preset.to_config(**train_given)
        if model_given:
            changed = _model_config(preset.model, model_given)
            overrides = {k: getattr(changed, k) for k in model_given}
            config = config.replace(model_config=dataclasses.replace(config.model_config, **overrides))
    else:
        model = train_given.get("model", TrainConfig.__dataclass_fields__["model"].default)
        config = TrainConfig(**{**train_given, "model_config": _model_config(model, model_given)})
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else Path("runs") / f"{config.model}-{config.dataset}-{stamp}"
    if ((out / "checkpoint.pt").exists() or (out / STATE_FILE).exists()) and not args.force:
        raise UsageError(f"{out} already holds a run (checkpoint.pt); continue it with --resume "
                         f"{out / 'checkpoint.pt'}, pick another --out, or pass --force to overwrite.")
    return config, lambda: Trainer(config), out, info


def _resume_trainer(args, train_given: dict, info: dict) -> Trainer:
    """The trainer that continues --resume (on the worker thread)."""
    path = resolve_resume_path(args.resume)
    ck = RunFiles(path.parent).load() if path.name == STATE_FILE else load_checkpoint(path)
    if not ck.resumable:
        raise UsageError(f"{args.resume} is a weights-only checkpoint (no optimizer state or half precision): "
                         "it cannot be resumed.")
    epochs = train_given.get("epochs")
    if epochs is None and ck.done:
        raise UsageError(f"{args.resume} has already trained all {ck.epoch} epochs; pass --epochs N "
                         f"(the new total, more than {ck.epoch}) to continue.")
    if epochs is not None and epochs <= ck.epoch:
        raise UsageError(f"--epochs is the new total and must be more than the {ck.epoch} epochs "
                         f"already trained, got {epochs}.")
    changes = {k: v for k, v in train_given.items() if k in ("device", "data_root")}
    if changes:
        ck.config = ck.config.replace(**changes)
    info["resumed"] = f"Resuming {ck.summary()}."
    return resume_trainer(ck, epochs=epochs)


class RunWriter:
    """Writes a run's files. `on_epoch_end` runs in the training thread, between steps.

    Per epoch: the grids and gen_core.runstate's slim files (state.pt, history.jsonl,
    snapshots/), whose cost does not grow with the run; at the end, the full checkpoint.pt.
    """

    def __init__(self, out: Path, scale: int = 2):
        self.out, self.scale = out, scale
        self.grids = out / "grids"
        self.files = RunFiles(out)
        self.checkpoint = self.files.checkpoint_path
        self.saved_step: int | None = None
        self.saved_epoch: int | None = None
        self.error: BaseException | None = None
        self.runner: TrainingRunner | None = None

    def on_epoch_end(self, trainer: Trainer) -> None:
        try:
            self.write_grids(trainer)
            self.files.write_epoch(trainer)
            self.saved_step, self.saved_epoch = trainer.step, trainer.epoch
        except Exception as e:  # noqa: BLE001 — e.g. a full disk: stop the run and report it in one line
            self.error = e
            if self.runner is not None:
                self.runner.stop()

    def write_grids(self, trainer: Trainer) -> None:
        if not trainer.snapshots:
            return
        snap = trainer.snapshots[-1]
        n = f"{snap.epoch:03d}"
        save_png(make_grid(snap.samples), self.grids / f"epoch_{n}.png", self.scale)
        if snap.reconstructions is not None and snap.originals is not None:
            # Row 1: held-out originals, row 2: their reconstructions.
            pairs = make_grid(_concat(snap.originals, snap.reconstructions), nrow=len(snap.originals))
            save_png(pairs, self.grids / f"recon_{n}.png", self.scale)
        if snap.latent_map is not None:
            save_png(make_grid(snap.latent_map, nrow=trainer.config.latent_map_size, padding=0),
                     self.grids / f"latent_map_{n}.png", self.scale)

    def finish(self, trainer: Trainer | None) -> None:
        """The full checkpoint.pt: of `trainer` as it is now, or (None) of the last saved epoch."""
        self.files.finish(trainer)
        if trainer is not None:
            self.saved_step, self.saved_epoch = trainer.step, trainer.epoch

    def write_history(self, trainer: Trainer) -> list[Path]:
        written = []
        for name, records in (("history_steps.csv", trainer.history.steps),
                              ("history_epochs.csv", trainer.history.epochs)):
            path = self.out / name
            write_csv(records, path)
            written.append(path)
        return written


def _concat(a, b):
    import numpy as np
    return np.concatenate([a, b])


def _flatten(record: dict) -> dict:
    """Lists (e.g. val_kl_per_dim) become one column per element: val_kl_per_dim_0, ..."""
    out = {}
    for k, v in record.items():
        if isinstance(v, (list, tuple)):
            out.update({f"{k}_{i}": x for i, x in enumerate(v)})
        else:
            out[k] = v
    return out


def write_csv(records: list[dict], path: Path) -> Path:
    rows = [_flatten(r) for r in records]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), restval="")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
    return path


def _fmt(value) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"
    return str(value)


def _postfix(snap, metrics: tuple[str, ...]) -> str:
    parts = [f"epoch {min(snap.epoch + 1, snap.epochs)}/{snap.epochs}"]
    if snap.step_history:
        last = snap.step_history[-1]
        parts += [f"{k} {last[k]:.3f}" for k in metrics if k in last and k not in ("total_loss", "elbo")]
    parts.append(f"{snap.samples_per_sec:,.0f} img/s")
    return ", ".join(parts)


def _run_with_progress(runner: TrainingRunner, trainer: Trainer, quiet: bool,
                       max_seconds: float | None = None) -> bool:
    """Poll the runner until it ends, drawing a tqdm bar. Returns True when Ctrl-C stopped it.

    With `max_seconds`, asks the runner to stop once that much wall-clock time has passed since
    the start; it stops after the step in progress and the caller saves as for any stop.
    """
    from tqdm import tqdm

    metrics = trainer.objective.step_metrics
    bar = tqdm(total=trainer.total_steps, initial=trainer.step, unit="step", disable=quiet,
               file=sys.stderr, dynamic_ncols=True, mininterval=POLL_SECONDS)
    interrupted = False
    started = time.monotonic()
    time_up = False
    try:
        while True:
            if max_seconds is not None and not time_up and time.monotonic() - started >= max_seconds:
                time_up = True
                runner.stop()
            snap = runner.snapshot()
            if snap.step > bar.n:
                bar.set_postfix_str(_postfix(snap, metrics), refresh=False)
                bar.update(snap.step - bar.n)
            if snap.state in FINAL_STATES:
                break
            _sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        interrupted = True
        bar.close()
        print("\nCtrl-C: stopping after the current step and saving… (Ctrl-C again to quit without saving)",
              file=sys.stderr)
        runner.stop()
        runner.join()
    finally:
        bar.close()
    return interrupted


def _size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


def _summary(trainer: Trainer, state: str, out: Path, writer: RunWriter, error: str | None) -> str:
    cfg = trainer.config
    images = trainer.step * trainer.samples_per_step
    rate = images / trainer.elapsed if trainer.elapsed > 0 else 0.0
    what = {FINISHED: "Finished", STOPPED: "Stopped", FAILED: "Failed"}.get(state, state.capitalize())
    text = (f"{what}: {cfg.model} on {trainer.data.name}, {trainer.epoch}/{cfg.epochs} epochs "
            f"({trainer.step:,} steps, {images:,} images) in {trainer.elapsed:.1f} s of training, "
            f"{rate:,.0f} samples/s on {device_description(trainer.device)}.")
    if error:
        text += f" Reason: {error}"
    record = trainer.history.epochs[-1] if trainer.history.epochs else (
        trainer.history.steps[-1] if trainer.history.steps else None)
    if record is not None:
        which = f"epoch {record['epoch']}" if trainer.history.epochs else f"step {record['step']}"
        train = [f"{k} {_fmt(record[k])}" for k in trainer.objective.step_metrics if k in record]
        val = [f"{k} {_fmt(v)}" for k, v in record.items() if k.startswith("val_") and isinstance(v, (int, float))]
        skip = {"epoch", "step", "time", "metrics_seconds", *trainer.objective.step_metrics}
        quality = [f"{k} {_fmt(v)}" for k, v in record.items() if k not in skip and not k.startswith("val_")
                   and isinstance(v, (int, float)) and not isinstance(v, bool)]
        text += f" Last {which}: {', '.join(train)}"
        text += f"; held-out {', '.join(val)}" if val else ""
        text += f"; quality {', '.join(quality)}." if quality else "."
    grids = sorted(writer.grids.glob("*.png")) if writer.grids.is_dir() else []
    files = []
    if writer.checkpoint.exists():
        files.append(f"checkpoint.pt ({_size(writer.checkpoint)}, epoch {writer.saved_epoch}, step {writer.saved_step})"
                     if writer.saved_step is not None else f"checkpoint.pt ({_size(writer.checkpoint)})")
    files += [p.name for p in (out / "history_steps.csv", out / "history_epochs.csv") if p.exists()]
    if grids:
        files.append(f"{len(grids)} PNG grids in grids/")
    text += f" Files in {out}: {', '.join(files) or 'none'}."
    if writer.checkpoint.exists():
        if state == FINISHED:
            text += f" Sample from it: {PROG} sample {writer.checkpoint} --out samples.png"
        else:
            text += f" Continue with: {PROG} train --resume {writer.checkpoint}"
    return text


def cmd_train(args, parser: argparse.ArgumentParser) -> int:
    if args.scale < 1 or args.scale > 16:
        return _error("--scale must be between 1 and 16.", parser)
    if args.max_seconds is not None and not (math.isfinite(args.max_seconds) and args.max_seconds > 0):
        return _error(f"--max-seconds must be a positive number of seconds, got {args.max_seconds:g}.", parser)
    try:
        config, build, out, info = _prepare_run(args)
    except (UsageError, ConfigError, CheckpointError) as e:
        return _error(str(e), parser)
    refused: list[BaseException] = []

    def build_checked() -> Trainer:
        try:
            return build()
        except (UsageError, ConfigError, CheckpointError) as e:
            refused.append(e)
            raise ConfigError(str(e)) from None  # the runner fails quietly; we report it as bad input

    # The trainer is built on the runner's worker thread, so this thread never runs a torch op
    # (gen_core.threads: a second OpenMP pool would slow every training step down).
    writer = RunWriter(out, args.scale)
    runner = TrainingRunner(config, build=build_checked, on_epoch_end=[writer.on_epoch_end])
    writer.runner = runner
    runner.start()
    trainer = runner.wait_built()
    if trainer is None:
        runner.join()
        if refused:
            return _error(str(refused[0]), parser)
        error = runner.snapshot().error
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    cfg = trainer.config
    params = trainer.model.num_parameters()["total"]
    subset = f", {trainer.batcher.num_images:,} images per epoch" if cfg.images_per_epoch else ""
    plan = (f"{cfg.epochs} epoch{'s' if cfg.epochs != 1 else ''} of {trainer.steps_per_epoch:,} steps "
            f"(batch {cfg.batch_size}{subset})")
    device = device_description(trainer.device)
    if info["resumed"]:
        head = f"{info['resumed']} Continuing on {device} to {plan}."
    else:
        head = f"Training {cfg.model} ({params / 1e6:.2f}M parameters) on {device}: {plan}."
    print(f"{head} Data: {trainer.data.message.rstrip('.')}. Output: {out}", flush=True)

    try:
        interrupted = _run_with_progress(runner, trainer, args.quiet, args.max_seconds)
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        print("Interrupted again: quitting without saving; the last epoch's checkpoint is kept.", file=sys.stderr)
        return EXIT_INTERRUPTED

    runner.join()
    state, error = runner.state, runner.snapshot().error
    if writer.error is not None:
        state, error = FAILED, f"could not write the run's files: {type(writer.error).__name__}: {writer.error}"
    try:
        writer.write_history(trainer)
        # A failed (diverged) step may have half-updated a GAN: keep the last epoch's state then.
        writer.finish(trainer if state in (FINISHED, STOPPED) else None)
    except OSError as e:
        print(f"error: could not write the run's files: {e}", file=sys.stderr)
        return EXIT_FAILED
    if state == STOPPED and not interrupted and args.max_seconds is not None:
        print(f"Time is up (--max-seconds {args.max_seconds:g}): stopped and saved.", flush=True)
    print(_summary(trainer, state, out, writer, error), flush=True)
    if state == FAILED:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


# ---------------------------------------------------------------------------
# sample, list-models
# ---------------------------------------------------------------------------

def _sample_npy(args, parser: argparse.ArgumentParser) -> int:
    """--out x.npy: the samples themselves, uint8 (N, C, H, W), for scoring with other tools."""
    import numpy as np
    from .checkpoints import sample_array
    if not 1 <= args.n <= MAX_NPY_SAMPLES:
        return _error(f"--n must be between 1 and {MAX_NPY_SAMPLES:,} for a .npy file, got {args.n:,}.", parser)
    try:
        ck = load_checkpoint(args.checkpoint)
        images = sample_array(ck, n=args.n, seed=args.seed)
    except (CheckpointError, ConfigError) as e:
        return _error(str(e), parser)
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        with open(tmp, "wb") as f:
            np.save(f, images)
        tmp.replace(out)
    except OSError as e:
        print(f"error: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Wrote {out}: {images.shape[0]} samples as uint8 {tuple(images.shape)} (seed {args.seed}) "
          f"from {ck.summary()}.")
    return EXIT_OK


def cmd_sample(args, parser: argparse.ArgumentParser) -> int:
    if str(args.out).lower().endswith(".npy"):
        return _sample_npy(args, parser)
    if not 1 <= args.scale <= 16:
        return _error("--scale must be between 1 and 16.", parser)
    if args.nrow is not None and not 1 <= args.nrow <= 1024:
        return _error("--nrow must be between 1 and 1,024.", parser)
    try:
        ck = load_checkpoint(args.checkpoint)
        grid = sample_grid(ck, n=args.n, seed=args.seed, nrow=args.nrow)
    except (CheckpointError, ConfigError) as e:
        return _error(str(e), parser)
    try:
        path = save_png(grid, args.out, args.scale)
    except OSError as e:
        print(f"error: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Wrote {path}: {args.n} samples (seed {args.seed}) from {ck.summary()}.")
    return EXIT_OK


def _default_param_count(name: str) -> int:
    import torch
    from .registry import build_model
    with torch.device("meta"):  # shapes only: no memory, no random init
        return build_model(name).num_parameters()["total"]


def cmd_list_models(args, parser: argparse.ArgumentParser) -> int:
    rows = [(name, spec.family, f"{_default_param_count(name) / 1e6:.2f}M", spec.description)
            for name, spec in MODELS.items()]
    print("Models (parameters of the default config):")
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print(f"  {r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:>{w[2]}}  {r[3]}")
    where = args.data_root or ", ".join(str(p) for p in default_data_roots())
    print(f"\nDatasets (looked for in {where}):")
    wn = max(map(len, DATASETS))
    wt = max(len(d.title) for d in DATASETS.values())
    for name, info in DATASETS.items():
        status = dataset_status(name, args.data_root)
        note = {"full": "on disk", "embedded": "ships with gen_core",
                "missing": "not on disk: downloaded when used (unless GEN_CORE_OFFLINE=1), else mnist-mini stands in"}[status]
        print(f"  {name:<{wn}}  {info.title:<{wt}}  {status:<8}  {note}")
    presets = _presets()
    if presets:
        print("\nPresets (train --preset NAME):")
        wp = max(map(len, presets))
        for name, preset in presets.items():
            print(f"  {name:<{wp}}  {preset.model:<{w[0]}}  {preset.title}")
    return EXIT_OK


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------

def _error(message: str, parser: argparse.ArgumentParser) -> int:
    print(f"{parser.prog}: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_USAGE


class _StderrHandler(logging.Handler):
    """Engine warnings as one 'warning: …' line on the current stderr."""
    gen_core_cli = True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(f"{record.levelname.lower()}: {record.getMessage()}", file=sys.stderr)
        except Exception:  # noqa: BLE001
            self.handleError(record)


def _setup_logging() -> None:
    logger = logging.getLogger("gen_core")
    if not any(getattr(h, "gen_core_cli", False) for h in logger.handlers):
        handler = _StderrHandler(logging.WARNING)
        logger.addHandler(handler)


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "list-models": cmd_list_models}


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (argparse errors and --help included)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2, message already printed)
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    _setup_logging()
    sub = parser.commands[args.command]  # its prog names the command in error messages
    return COMMANDS[args.command](args, sub)


__all__ = ["main", "build_parser", "RunWriter", "write_csv", "train_fields", "model_fields"]
