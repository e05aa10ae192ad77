"""The command line (`python -m gen_core`)."""
from gen_core.cli.commands import (COMMANDS, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, POLL_SECONDS,
                                   cmd_list_models, cmd_sample, cmd_train, main)
from gen_core.cli.parser import (CHOICES, MAX_NPY_SAMPLES, MODEL_DEST, PROG, RESUME_OVERRIDES, UsageError,
                                 build_parser, model_fields, train_fields)
from gen_core.cli.progress import RunWriter, write_csv


__all__ = [
    "CHOICES",
    "COMMANDS",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "MAX_NPY_SAMPLES",
    "MODEL_DEST",
    "POLL_SECONDS",
    "PROG",
    "RESUME_OVERRIDES",
    "RunWriter",
    "UsageError",
    "build_parser",
    "cmd_list_models",
    "cmd_sample",
    "cmd_train",
    "main",
    "model_fields",
    "train_fields",
    "write_csv",
]
