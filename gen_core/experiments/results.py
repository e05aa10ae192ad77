"""A sweep's results as tables and a reading that respects seed noise."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

from gen_core.experiments.params import value_label
from gen_core.experiments.sweep import FINISHED, SweepSnapshot


METRIC_LABELS = {
    "fid": "FID ↓", "kid": "KID ↓", "inception_score": "IS ↑", "sharpness": "sharpness (1 = real)",
    "precision": "precision (fidelity) ↑", "recall": "recall (coverage) ↑", "kl_to_uniform": "KL to uniform ↓", "missing_classes": "missing classes ↓",
    "active_units": "active units", "val_elbo": "val ELBO ↑", "val_recon": "val recon ↓", "val_kl": "val KL",
    "elbo": "train ELBO ↑", "g_loss": "G loss", "d_loss": "D loss", "val_d_real": "D(x) held-out",
    "val_d_fake": "D(G(z))", "train_seconds": "train s", "samples_per_sec": "samples/s",
}


# Table order: quality first, then the family's losses, then speed.
RESULT_ORDER = ("fid", "kid", "inception_score", "sharpness", "precision", "recall", "kl_to_uniform", "missing_classes",
                "active_units", "val_elbo", "val_recon", "val_kl", "elbo", "g_loss", "d_loss", "val_d_real",
                "val_d_fake", "train_seconds", "samples_per_sec")


SHORT_NAMES = {"fid": "FID", "sharpness": "sharpness", "precision": "precision", "recall": "recall",
               "val_elbo": "ELBO"}


# Sharpness is best near real images' value (1): below is blur, above is grain.
CLOSEST_TO_ONE = {"sharpness"}


LOWER_IS_BETTER = {"fid", "kid", "kl_to_uniform", "missing_classes", "val_recon"}


HIGHER_IS_BETTER = {"inception_score", "precision", "recall", "val_elbo", "elbo"}


def runs_frame(snap: SweepSnapshot) -> pd.DataFrame:
    """One row per run: value, seed, state and its final metrics."""
    rows = []
    for it in snap.items:
        rows.append({snap.param: it.label, "seed": it.seed, "state": it.state, **it.final})
    frame = pd.DataFrame(rows)
    cols = [snap.param, "seed", "state"] + [k for k in RESULT_ORDER if k in frame.columns]
    return frame[cols]


def results_frame(snap: SweepSnapshot) -> pd.DataFrame:
    """One row per value, in sweep order: finished runs, then mean and std of each final metric.

    Columns: <param>, runs, then `<metric>` (mean) and `<metric>_std` (sample std; NaN with one run).
    """
    keys = [k for k in RESULT_ORDER if any(k in it.final for it in snap.items)]
    rows = []
    for value in snap.values:
        done = [it for it in snap.items if it.value == value and it.state == FINISHED]
        row: dict[str, Any] = {snap.param: value_label(value), "runs": len(done)}
        for k in keys:
            xs = np.array([it.final[k] for it in done if k in it.final], dtype=float)
            row[k] = float(xs.mean()) if len(xs) else np.nan
            row[f"{k}_std"] = float(xs.std(ddof=1)) if len(xs) > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=[snap.param, "runs"] + [c for k in keys for c in (k, f"{k}_std")])


def _decimals(v: float, key: str) -> int:
    if key in ("missing_classes", "active_units"):
        return 0 if float(v).is_integer() else 1
    if key == "samples_per_sec":
        return 0
    return 1 if abs(v) >= 100 else 2 if abs(v) >= 1 else 3


def _fmt(v: float, key: str, decimals: int | None = None) -> str:
    """A mean (or, with the mean's `decimals`, its std) as text."""
    if not np.isfinite(v):
        return "—"
    d = _decimals(v, key) if decimals is None else decimals
    return f"{v:,.{d}f}"


def _fmt_mean_std(mean: float, std: float, key: str) -> str:
    if not np.isfinite(mean):
        return "—"
    d = _decimals(mean, key)
    if key in ("missing_classes", "active_units"):
        d = max(d, 1) if np.isfinite(std) and std > 0 else d
    return _fmt(mean, key, d) + (f" ± {_fmt(std, key, d)}" if np.isfinite(std) else "")


# Shown on screen (the CSV has every column): what a student compares.
DISPLAY = ("fid", "inception_score", "sharpness", "precision", "recall", "kl_to_uniform", "missing_classes", "active_units",
           "val_elbo", "val_kl", "g_loss", "d_loss", "train_seconds")


def results_display(frame: pd.DataFrame, param: str, columns: Sequence[str] = DISPLAY) -> pd.DataFrame:
    """`results_frame` as readable text: 'mean ± std' per metric, friendly column names."""
    out = pd.DataFrame({param: frame[param], "runs": frame["runs"]})
    for col in columns:
        if col not in frame.columns:
            continue
        means, stds = frame[col].to_numpy(float), frame[f"{col}_std"].to_numpy(float)
        out[METRIC_LABELS.get(col, col)] = [_fmt_mean_std(m, s, col) for m, s in zip(means, stds)]
    return out


def results_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def _ranked(frame: pd.DataFrame, metric: str) -> list[int]:
    """Row positions with a finite mean, best first."""
    means = frame[metric].to_numpy(float)
    rows = [i for i in range(len(means)) if np.isfinite(means[i])]
    if metric in CLOSEST_TO_ONE:
        key = lambda i: abs(means[i] - 1.0)  # noqa: E731
    elif metric in LOWER_IS_BETTER:
        key = lambda i: means[i]  # noqa: E731
    else:
        key = lambda i: -means[i]  # noqa: E731
    return sorted(rows, key=key)


def best_value(frame: pd.DataFrame, metric: str) -> tuple[str, float, float] | None:
    """(value label, mean, std) of the best value for `metric`, or None when nothing was measured."""
    if metric not in frame.columns:
        return None
    means = frame[metric].to_numpy(float)
    finite = means[np.isfinite(means)]
    if len(finite) == 0 or (len(frame) > 1 and np.ptp(finite) <= 1e-9 * max(1.0, np.abs(finite).max())):
        return None  # nothing measured, or no difference to name
    pick = _ranked(frame, metric)[0]
    return str(frame.iloc[pick][frame.columns[0]]), float(means[pick]), float(frame[f"{metric}_std"].iloc[pick])


def within_seed_noise(frame: pd.DataFrame, metric: str) -> str | None:
    """The runner-up's label when it is within 2 combined seed stds of the best (None: separated, or unknown)."""
    ranked = _ranked(frame, metric)
    if len(ranked) < 2:
        return None
    a, b = ranked[0], ranked[1]
    means, stds = frame[metric].to_numpy(float), frame[f"{metric}_std"].to_numpy(float)
    if not (np.isfinite(stds[a]) and np.isfinite(stds[b])):
        return None
    if abs(means[a] - means[b]) <= 2 * math.hypot(stds[a], stds[b]):
        return str(frame.iloc[b][frame.columns[0]])
    return None


RECALL_FLOOR = 0.05  # as gen_core.evaluation.reading: recalls below this say nothing about diversity


def sweep_reading(frame: pd.DataFrame, param_label: str, family: str) -> str:
    """A few sentences naming the best value per score, with the evidence numbers — and saying when
    the best is within seed noise of the runner-up, or when recall carries no evidence at all."""
    notes: list[str] = []

    def says(metric: str, what: str) -> str | None:
        best = best_value(frame, metric)
        if best is None:
            return None
        if metric == "recall" and np.nanmax(frame["recall"].to_numpy(float)) < RECALL_FLOOR:
            notes.append(f"Recall is near zero for every value (at most {np.nanmax(frame['recall']):.3f}): "
                         "no run covers the real data yet, so the sweep says nothing about diversity.")
            return None
        value, mean, std = best
        text = f"{what}: **{param_label} = {value}** ({SHORT_NAMES[metric]} {_fmt_mean_std(mean, std, metric)})"
        tied = within_seed_noise(frame, metric)
        if tied is not None:
            text += f", within seed noise of {param_label} = {tied}"
        return text

    parts = [s for s in (says("fid", "Closest to the real data"), says("sharpness", "closest to real sharpness"),
                         says("precision", "most faithful"), says("recall", "widest coverage")) if s]
    if family == "vae":
        elbo = says("val_elbo", "best held-out ELBO")
        if elbo:
            parts.append(elbo)
    if not parts and not notes:
        if family == "gan":
            return ("No quality scores in this sweep: GAN losses do not say which samples are better, so "
                    "turn on quality scoring to rank the values.")
        return "No finished runs yet."
    text = ""
    if parts:
        text = "; ".join(parts) + "."
        text = text[0].upper() + text[1:]
    text = " ".join([t for t in [text] + notes if t])
    if (frame["runs"] < 2).any():
        text += " One seed per value: differences smaller than the run-to-run noise are not evidence."
    return text
