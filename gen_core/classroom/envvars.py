"""Numbers from environment variables, read one way everywhere: a bad value is logged and ignored."""
from __future__ import annotations

import logging
import os


log = logging.getLogger("gen_core")


def env_number(name: str, default, *, cast=float, minimum=None):
    """`cast(os.environ[name])`, or `default` when unset, not a number, or below `minimum` (logged)."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = cast(text)
    except ValueError:
        log.warning("ignoring %s=%r: not a %s", name, text, "whole number" if cast is int else "number")
        return default
    if minimum is not None and value < minimum:
        log.warning("ignoring %s=%r: must be at least %s", name, text, minimum)
        return default
    return value
