"""ConfigError and the small checks every config's validation is written with."""
from __future__ import annotations

import math
from typing import Any


class ConfigError(ValueError):
    """A config value is out of range. The message is meant for end users."""


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _short(value: Any, limit: int = 60) -> str:
    """repr() for messages, cut short (a value may be a 10,000-digit number or a long string)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_int(name: str, value: Any, lo: int, hi: int) -> None:
    _check(isinstance(value, int) and not isinstance(value, bool),
           f"{name} must be a whole number between {lo:,} and {hi:,}, got {_short(value)}.")
    _check(lo <= value <= hi, f"{name} must be between {lo:,} and {hi:,}, got {_short(value)}.")


def _check_bool(name: str, value: Any) -> None:
    _check(isinstance(value, bool), f"{name} must be true or false, got {_short(value)}.")


def _check_float(name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False) -> None:
    _check(isinstance(value, (int, float)) and not isinstance(value, bool),
           f"{name} must be a number, got {_short(value)}.")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int too large for a float
        finite = False
    _check(finite, f"{name} must be a finite number between {lo:g} and {hi:g}, got {_short(value)}.")
    low_ok = value > lo if lo_open else value >= lo
    bracket = "(" if lo_open else "["
    _check(low_ok and value <= hi, f"{name} must be in {bracket}{lo:g}, {hi:g}], got {value:g}.")


def _widths(name: str, widths: Any, *, allow_empty: bool = False) -> tuple[int, ...]:
    """Checked layer widths as a tuple (lists are accepted: JSON has no tuples)."""
    _check_widths(name, widths, allow_empty=allow_empty)
    return tuple(widths)


def _check_widths(name: str, widths: Any, *, allow_empty: bool = False) -> None:
    _check(isinstance(widths, (tuple, list)),
           f"{name} must be a list of layer widths (whole numbers from 1 to 8,192), got {_short(widths)}.")
    _check(allow_empty or len(widths) >= 1, f"{name} needs at least one hidden layer.")
    _check(len(widths) <= 8, f"{name} may have at most 8 hidden layers, got {len(widths)}.")
    for w in widths:
        _check_int(f"each width in {name}", w, 1, 8192)


def _check_choice(name: str, value: Any, choices) -> None:
    ok = isinstance(value, type(choices[0])) and not isinstance(value, bool) and value in choices
    _check(ok, f"{name} must be one of {', '.join(map(str, choices))}; got {_short(value)}.")
