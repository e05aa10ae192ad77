"""Training curves: losses, D(x)/D(G(z)), the ELBO terms, smoothed, on steps, epochs or seconds."""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go


MAX_POINTS = 2000


DEFAULT_SMOOTHING = 0.9


X_AXES = {
    "step": ("step", "Optimiser step"),
    "epoch": ("epoch", "Epoch"),
    "time": ("time", "Training time (s)"),
}


# One colour per quantity, the same on every page.
COLORS = {
    "g_loss": "#EF553B",      # generator: red-orange
    "d_loss": "#636EFA",      # discriminator: blue
    "total_loss": "#00A67E",  # total: green
    "d_real": "#636EFA",
    "d_fake": "#EF553B",
    "train": "#636EFA",
    "val": "#FF7F0E",
}


TITLES = {
    "g_loss": "Generator loss",
    "d_loss": "Discriminator loss",
    "total_loss": "Total loss (G + D)",
    "elbo": "ELBO",
    "recon": "Reconstruction loss",
    "kl": "KL divergence",
    "loss": "VAE loss (−ELBO with β)",
}


def ema(values: Sequence[float], smoothing: float = DEFAULT_SMOOTHING) -> np.ndarray:
    """Bias-corrected exponential moving average (TensorBoard's "smoothing").

    smoothing in [0, 1): 0 returns the values unchanged; 0.9 averages over roughly the
    last ten points. Non-finite values are carried over from the previous average.
    """
    x = np.asarray(values, dtype=float)
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    out = np.empty_like(x)
    last, weight = 0.0, 0.0
    for i, v in enumerate(x):
        if math.isfinite(v):
            last = smoothing * last + (1.0 - smoothing) * v
            weight = smoothing * weight + (1.0 - smoothing)
        out[i] = last / weight if weight > 0 else np.nan
    return out


def downsample_indices(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """At most `max_points` evenly spaced indices into a series of length n, first and last included."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max(2, max_points)).round().astype(int))


def _column(records: Sequence[dict], key: str) -> np.ndarray:
    return np.array([r.get(key, np.nan) if isinstance(r.get(key, np.nan), (int, float)) else np.nan
                     for r in records], dtype=float)


def _has(records: Sequence[dict], key: str) -> bool:
    return any(key in r for r in records)


def _x(records: Sequence[dict], x: str) -> tuple[np.ndarray, str]:
    if x not in X_AXES:
        raise ValueError(f"x must be one of {', '.join(X_AXES)}, got {x!r}")
    key, title = X_AXES[x]
    return _column(records, key), title


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, *, height: int = 320) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left"),
        xaxis_title=x_title, yaxis_title=y_title, height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.28, xanchor="left", x=0.0),
        hovermode="x unified",
        uirevision=title,  # live updates keep the user's zoom and hidden traces
    )
    return fig


def _empty(fig: go.Figure, text: str) -> go.Figure:
    fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                       font=dict(size=14, color="gray"))
    fig.update_xaxes(showgrid=False, zeroline=False)
    fig.update_yaxes(showgrid=False, zeroline=False)
    return fig


def _add_raw_and_smooth(fig: go.Figure, xs: np.ndarray, ys: np.ndarray, name: str, color: str,
                        smoothing: float, max_points: int, *, showlegend: bool = True) -> None:
    smooth = ema(ys, smoothing) if smoothing > 0 else ys
    idx = downsample_indices(len(ys), max_points)
    prefix = f"{name} " if name else ""
    if smoothing > 0:
        fig.add_trace(go.Scatter(x=xs[idx], y=ys[idx], mode="lines", name=f"{prefix}raw",
                                 line=dict(color=color, width=1), opacity=0.3,
                                 showlegend=showlegend, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=xs[idx], y=smooth[idx], mode="lines",
                             name=f"{prefix}EMA {smoothing:g}" if smoothing > 0 else (name or "value"),
                             line=dict(color=color, width=2), showlegend=showlegend))


def metric_figure(steps: Sequence[dict], metric: str, *, title: str | None = None, y_title: str = "loss",
                  x: str = "step", smoothing: float = DEFAULT_SMOOTHING, max_points: int = MAX_POINTS,
                  color: str | None = None, height: int = 320) -> go.Figure:
    """One per-step metric: raw (faint) + EMA, against step, epoch or seconds."""
    title = title or TITLES.get(metric, metric)
    xs, x_title = _x(steps, x)
    fig = go.Figure()
    _layout(fig, title, x_title, y_title, height=height)
    if not steps or not _has(steps, metric):
        return _empty(fig, "no steps yet")
    _add_raw_and_smooth(fig, xs, _column(steps, metric), "",
                        color or COLORS.get(metric, COLORS["train"]), smoothing, max_points)
    return fig


def gan_loss_figures(steps: Sequence[dict], *, x: str = "step", smoothing: float = DEFAULT_SMOOTHING,
                     max_points: int = MAX_POINTS, height: int = 300) -> dict[str, go.Figure]:
    """Generator, discriminator and total loss: seed report 000, figures 4–6."""
    return {m: metric_figure(steps, m, x=x, smoothing=smoothing, max_points=max_points, height=height,
                             y_title="loss (per batch)")
            for m in ("g_loss", "d_loss", "total_loss")}


# Loss names whose D readout is a probability (sigmoid of the logit); the others show raw scores.
PROBABILITY_READOUT = ("non-saturating", "minimax")


def d_output_figure(steps: Sequence[dict], epochs: Sequence[dict] = (), *, gan_loss: str = "non-saturating",
                    x: str = "step", smoothing: float = DEFAULT_SMOOTHING, max_points: int = MAX_POINTS,
                    height: int = 320) -> go.Figure:
    """D(x) on real images and D(G(z)) on generated ones, per step (+ validation per epoch).

    For the log-loss family the readout is a probability and 0.5 (D cannot tell) is marked.
    """
    prob = gan_loss in PROBABILITY_READOUT
    y_title = "D output (probability real)" if prob else "D score (raw critic output)"
    xs, x_title = _x(steps, x)
    fig = go.Figure()
    _layout(fig, "Discriminator outputs: D(x) vs D(G(z))", x_title, y_title, height=height)
    if not steps or not _has(steps, "d_real"):
        return _empty(fig, "no steps yet")
    _add_raw_and_smooth(fig, xs, _column(steps, "d_real"), "D(x) real", COLORS["d_real"], smoothing, max_points)
    _add_raw_and_smooth(fig, xs, _column(steps, "d_fake"), "D(G(z)) fake", COLORS["d_fake"], smoothing, max_points)
    if epochs and _has(epochs, "val_d_real"):
        ex = _epoch_x(epochs, x)
        fig.add_trace(go.Scatter(x=ex, y=_column(epochs, "val_d_real"), mode="markers", name="D(x) held-out",
                                 marker=dict(color=COLORS["d_real"], symbol="diamond", size=9)))
        fig.add_trace(go.Scatter(x=ex, y=_column(epochs, "val_d_fake"), mode="markers",
                                 name="D(G(z)) fresh z", marker=dict(color=COLORS["d_fake"], symbol="diamond", size=9)))
    if prob:
        fig.add_hline(y=0.5, line=dict(color="gray", dash="dot"), annotation_text="0.5: D cannot tell",
                      annotation_position="bottom right")
        fig.update_yaxes(range=[-0.02, 1.02])
    return fig


def _epoch_x(epochs: Sequence[dict], x: str) -> np.ndarray:
    key, _ = X_AXES[x]
    return _column(epochs, key)


VAE_METRICS = {
    # metric: (train key in steps/epochs, validation key in epochs, title)
    "elbo": ("elbo", "val_elbo", "ELBO (higher is better)"),
    "recon": ("recon", "val_recon", "Reconstruction loss −E_q[log p(x|z)]"),
    "kl": ("kl", "val_kl", "KL(q(z|x) ‖ p(z))"),
}


def vae_units(recon_loss: str = "bce") -> str:
    return "nats per image" if recon_loss == "bce" else "per image (summed over pixels)"


def vae_metric_figure(steps: Sequence[dict], epochs: Sequence[dict], metric: str, *, recon_loss: str = "bce",
                      smoothing: float = DEFAULT_SMOOTHING, max_points: int = MAX_POINTS,
                      height: int = 300, x: str = "epoch") -> go.Figure:
    """One VAE term: per-step training values (faint + EMA), per-epoch training mean and held-out
    validation (markers), against epochs (default: both scales line up), steps or seconds."""
    if metric not in VAE_METRICS:
        raise ValueError(f"metric must be one of {', '.join(VAE_METRICS)}, got {metric!r}")
    train_key, val_key, title = VAE_METRICS[metric]
    xs, x_title = _x(steps, x)
    fig = go.Figure()
    _layout(fig, title, x_title, vae_units(recon_loss), height=height)
    if not steps or not _has(steps, train_key):
        return _empty(fig, "no steps yet")
    _add_raw_and_smooth(fig, xs, _column(steps, train_key), "train", COLORS["train"], smoothing, max_points)
    if epochs:
        ex = _epoch_x(epochs, x)
        if _has(epochs, train_key):
            fig.add_trace(go.Scatter(x=ex, y=_column(epochs, train_key), mode="lines+markers",
                                     name="train (epoch mean)", line=dict(color=COLORS["train"], dash="dot"),
                                     marker=dict(size=8)))
        if _has(epochs, val_key):
            scored = [r for r in epochs if val_key in r]  # validation may run every k epochs (val_every)
            fig.add_trace(go.Scatter(x=_column(scored, "epoch"), y=_column(scored, val_key), mode="lines+markers",
                                     name="validation", line=dict(color=COLORS["val"], width=2),
                                     marker=dict(size=9, symbol="diamond")))
    return fig


def vae_figures(steps: Sequence[dict], epochs: Sequence[dict], *, recon_loss: str = "bce",
                smoothing: float = DEFAULT_SMOOTHING, max_points: int = MAX_POINTS,
                height: int = 300, x: str = "epoch") -> dict[str, go.Figure]:
    """ELBO, reconstruction and KL: train vs validation, against epochs, steps or seconds."""
    return {m: vae_metric_figure(steps, epochs, m, recon_loss=recon_loss, smoothing=smoothing,
                                 max_points=max_points, height=height, x=x) for m in VAE_METRICS}


def for_projector(fig: go.Figure, height: int, font_size: int = 17, *, legend: bool = True) -> go.Figure:
    """`fig` restyled for presenter mode: a fixed height, large type, a tight margin, the legend on top
    (below the plot it would push the chart past a 720-px screen)."""
    fig.update_layout(height=height, font=dict(size=font_size),
                      title=dict(font=dict(size=font_size + 3), y=1.0, yanchor="top", pad=dict(t=6)),
                      margin=dict(l=10, r=10, t=int(font_size * (4.6 if legend else 2.4)), b=10), showlegend=legend,
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0.0,
                                  font=dict(size=font_size - 2)))
    for trace in fig.data:  # the faint raw curves need no legend entry of their own on a projector
        if str(trace.name or "").endswith("raw"):
            trace.showlegend = False
    return fig


def family_loss_figure(family: str, steps: Sequence[dict], epochs: Sequence[dict] = (), *,
                       title: str | None = None, x: str = "step", smoothing: float = DEFAULT_SMOOTHING,
                       height: int = 300) -> go.Figure:
    """The headline loss chart of either family in one figure (GAN: G and D; VAE: −ELBO)."""
    xs, x_title = _x(steps, x)
    fig = go.Figure()
    if family == "gan":
        _layout(fig, title or "GAN losses", x_title, "loss (per batch)", height=height)
        if not steps:
            return _empty(fig, "no steps yet")
        for m in ("g_loss", "d_loss"):
            _add_raw_and_smooth(fig, xs, _column(steps, m), TITLES[m], COLORS[m], smoothing, MAX_POINTS)
    else:
        _layout(fig, title or "VAE loss", x_title, "−ELBO (nats per image)", height=height)
        if not steps:
            return _empty(fig, "no steps yet")
        _add_raw_and_smooth(fig, xs, -_column(steps, "elbo"), "−ELBO", COLORS["train"], smoothing, MAX_POINTS)
    return fig


def history_frame(records: Iterable[dict]) -> pd.DataFrame:
    """Metric records → DataFrame. List-valued fields (e.g. val_kl_per_dim) become z1.. columns."""
    rows = []
    for r in records:
        row = {}
        for k, v in r.items():
            if isinstance(v, (list, tuple)):
                for i, item in enumerate(v):
                    row[f"{k}_{i + 1}"] = item
            else:
                row[k] = v
        rows.append(row)
    return pd.DataFrame(rows)


def history_csv(records: Iterable[dict]) -> bytes:
    return history_frame(records).to_csv(index=False).encode("utf-8")
