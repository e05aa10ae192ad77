"""Presets: the pages' fast-learning defaults and the seed reports' setups, by name."""
from gen_core.presets.base import FAMILIES, Preset
from gen_core.presets.defaults import DEMO_IMAGES_PER_EPOCH, MODEL_DEFAULTS, PAGE_DEFAULTS
from gen_core.presets.registry import PRESETS, UNMAPPED, default_preset, get_preset, model_default, presets_for


__all__ = [
    "DEMO_IMAGES_PER_EPOCH",
    "FAMILIES",
    "MODEL_DEFAULTS",
    "PAGE_DEFAULTS",
    "PRESETS",
    "Preset",
    "UNMAPPED",
    "default_preset",
    "get_preset",
    "model_default",
    "presets_for",
]
