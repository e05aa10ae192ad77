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
import dataclasses
import logging
import math
import sys
import time
import typing
from datetime import datetime
from pathlib import Path
from typing import Callable

from gen_core.cli.parser import (MAX_NPY_SAMPLES, MODEL_DEST, RESUME_OVERRIDES, UsageError, _flag, _parser_for,
                                 _presets, build_parser, train_fields)
from gen_core.cli.progress import RunWriter, _postfix, _summary
from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig
from gen_core.data.datasets import DATASETS, dataset_status, default_data_roots
from gen_core.data.imaging import save_png
from gen_core.models.registry import MODELS, get_model_spec
from gen_core.persistence.checkpoints import CheckpointError, sample_grid
from gen_core.persistence.loading import load_checkpoint
from gen_core.persistence.resume import resume_trainer
from gen_core.persistence.runstate import STATE_FILE, RunFiles, resolve_resume_path
from gen_core.training.device import device_description
from gen_core.training.runner import FAILED, FINAL_STATES, FINISHED, STOPPED, TrainingRunner
from gen_core.training.trainer import Trainer


POLL_SECONDS = 0.2


EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


_sleep = time.sleep  # the progress loop's wait; tests replace it to simulate Ctrl-C


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
    worker thread, so that no torch op of the run runs in the main thread: gen_core.training.threads)
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
    # (gen_core.training.threads: a second OpenMP pool would slow every training step down).
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


def _sample_npy(args, parser: argparse.ArgumentParser) -> int:
    """--out x.npy: the samples themselves, uint8 (N, C, H, W), for scoring with other tools."""
    import numpy as np

    from gen_core.persistence.checkpoints import sample_array
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

    from gen_core.models.registry import build_model
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
