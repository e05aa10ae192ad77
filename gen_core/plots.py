"""Plotly figure builders for the dashboard: plain functions, data in, `go.Figure` out.

No streamlit here (the pages call these and hand the figures to `st.plotly_chart`), so
every chart can be tested, and re-used from a notebook or the CLI.

Inputs are the engine's own records: `History.steps` / `RunSnapshot.step_history` (one
dict per optimiser step: step, epoch (fractional), time, and the family's metrics) and
`History.epochs` / `RunSnapshot.epoch_history` (one dict per epoch, with `val_*` keys).

Conventions
  * Loss curves show the raw values faintly and an exponential moving average (EMA,
    bias-corrected as in TensorBoard) on top, so the trend is readable in noisy GAN
    training.
  * Long histories are down-sampled to at most `max_points` points per trace (the EMA is
    computed on the full series first, so smoothing does not depend on the sampling).
  * x can be the optimiser step, the (fractional) epoch or the training time in seconds;
    axis titles say which, with units.
"""
from __future__ import annotations

import base64
import io
import math
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .data import DATASETS

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


# ---------------------------------------------------------------------------
# Series helpers
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Loss curves
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Latent space
# ---------------------------------------------------------------------------

def class_names(dataset: str | None, n: int = 10) -> list[str]:
    """Label → name for a dataset in gen_core.data.DATASETS (digits as a fallback)."""
    info = DATASETS.get(dataset or "")
    names = list(info.classes) if info is not None else []
    return names + [str(i) for i in range(len(names), n)]


def project_2d(means: np.ndarray, projection: str = "first-two") -> tuple[np.ndarray, tuple[str, str], str]:
    """(M, d) latent means → (M, 2) points, axis titles and a note saying what was shown.

    projection: "first-two" (z1, z2) or "pca" (the two principal components).
    """
    means = np.asarray(means, dtype=float)
    if means.ndim != 2 or means.shape[1] < 1:
        raise ValueError(f"means must be (M, d), got {means.shape}")
    d = means.shape[1]
    if d == 1:
        pts = np.column_stack([means[:, 0], np.zeros(len(means))])
        return pts, ("z₁", "(1-D latent)"), "1-D latent: points spread along z₁ only."
    if d == 2:
        return means, ("z₁", "z₂"), "2-D latent: the means themselves."
    if projection == "pca":
        centred = means - means.mean(axis=0)
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        var = s ** 2
        share = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
        pts = centred @ vt[:2].T
        return pts, ("PC 1", "PC 2"), (f"{d}-D latent: first two principal components "
                                       f"({share[0]:.0%} + {share[1]:.0%} of the variance).")
    if projection != "first-two":
        raise ValueError(f"projection must be 'first-two' or 'pca', got {projection!r}")
    return means[:, :2], ("z₁", "z₂"), f"{d}-D latent: first two of {d} dimensions."


def latent_scatter_figure(means: np.ndarray, labels: np.ndarray, *, dataset: str | None = None,
                          projection: str = "first-two", title: str | None = None,
                          max_points: int = MAX_POINTS, height: int = 420) -> go.Figure:
    """Held-out images' posterior means, one colour per class (Kingma & Welling 2014, Fig. 4 style)."""
    pts, (xt, yt), note = project_2d(means, projection)
    labels = np.asarray(labels).astype(int)
    idx = downsample_indices(len(pts), max_points)
    pts, labels = pts[idx], labels[idx]
    names = class_names(dataset, int(labels.max()) + 1 if len(labels) else 10)
    fig = go.Figure()
    palette = _PALETTE
    for c in sorted(set(labels.tolist())):
        m = labels == c
        fig.add_trace(go.Scattergl(x=pts[m, 0], y=pts[m, 1], mode="markers", name=names[c],
                                   marker=dict(size=5, color=palette[c % len(palette)], opacity=0.75)))
    _layout(fig, title or "Latent means of held-out images", xt, yt, height=height)
    fig.update_layout(hovermode="closest", legend=dict(orientation="v", x=1.02, xanchor="left", y=1.0,
                                                       yanchor="top", title="class"))
    fig.add_annotation(text=note, showarrow=False, xref="paper", yref="paper", x=0, y=-0.0,
                       yanchor="top", yshift=-40, font=dict(size=11, color="gray"), xanchor="left")
    fig.update_layout(margin=dict(l=10, r=10, t=50, b=60))
    return fig


# Ten distinguishable colours (Plotly's "D3" qualitative palette).
_PALETTE = ["#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD",
            "#8C564B", "#E377C2", "#7F7F7F", "#BCBD22", "#17BECF"]


def normal_quantiles(n: int, lo: float = 0.05, hi: float = 0.95) -> np.ndarray:
    """The z values of gen_core.sampling.normal_quantile_grid, as numpy (no torch needed)."""
    from statistics import NormalDist
    nd = NormalDist()
    return np.array([nd.inv_cdf(p) for p in np.linspace(lo, hi, n)])


def latent_map_pixel(z: float, n: int, cell: int, padding: int = 2, *, axis: str = "x") -> float:
    """Pixel coordinate of latent value z in an n×n latent-map grid (gen_core.imaging.make_grid layout).

    Columns follow z along x (low → high, left → right); rows follow z along y with the
    highest value at the top (gen_core.sampling.latent_grid_points). Values beyond the
    outermost quantiles stay at the edge cells.
    """
    q = normal_quantiles(n)
    frac = float(np.interp(z, q, np.arange(n)))
    if axis == "y":
        frac = (n - 1) - frac
    return padding + frac * (cell + padding) + cell / 2.0


def png_data_uri(image: np.ndarray) -> str:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def latent_map_figure(grid: np.ndarray, n: int, *, marker: tuple[float, float] | None = None,
                      dims: tuple[int, int] = (0, 1), padding: int = 2, title: str | None = None,
                      height: int = 520, ticks: int = 5) -> go.Figure:
    """The n×n latent map (a uint8 grid image from make_grid) with z-value ticks and an optional
    marker at (z_a, z_b). The image travels as one PNG, not as a pixel array, so it stays small."""
    grid = np.asarray(grid)
    h, w = grid.shape[:2]
    cell = (w - padding) // n - padding
    q = normal_quantiles(n)
    pick = np.unique(np.linspace(0, n - 1, min(ticks, n)).round().astype(int))
    xs = [padding + j * (cell + padding) + cell / 2 for j in pick]
    ys = [padding + ((n - 1) - j) * (cell + padding) + cell / 2 for j in pick]
    fig = go.Figure(go.Image(source=png_data_uri(grid), hoverinfo="skip"))
    a, b = dims
    labels = [_tick(q[j]) for j in pick]
    fig.update_xaxes(tickvals=xs, ticktext=labels, title=f"z{_sub(a + 1)}",
                     showgrid=False, range=[0, w])
    fig.update_yaxes(tickvals=ys, ticktext=labels, title=f"z{_sub(b + 1)}",
                     showgrid=False, range=[h, 0], scaleanchor="x")
    if marker is not None:
        mx = latent_map_pixel(marker[0], n, cell, padding, axis="x")
        my = latent_map_pixel(marker[1], n, cell, padding, axis="y")
        fig.add_trace(go.Scatter(x=[mx], y=[my], mode="markers", name="slider position",
                                 marker=dict(size=22, color="rgba(0,0,0,0)",
                                             line=dict(color="#FF2B2B", width=3), symbol="circle"),
                                 hovertemplate=f"z{_sub(a + 1)}={marker[0]:+.2f}, "
                                               f"z{_sub(b + 1)}={marker[1]:+.2f}<extra></extra>"))
    fig.update_layout(title=dict(text=title or f"Latent map: {n}×{n} decodes over z{_sub(a + 1)}, z{_sub(b + 1)}",
                                 x=0.0, xanchor="left"),
                      height=height, margin=dict(l=10, r=10, t=50, b=10), showlegend=False)
    return fig


def _tick(v: float) -> str:
    v = round(float(v), 1)
    return "0" if v == 0 else f"{v:+.1f}"


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _sub(i: int) -> str:
    return str(i).translate(_SUBSCRIPTS)


# ---------------------------------------------------------------------------
# Tables for CSV download and comparison
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Measured quality (gen_core.metrics scores in epoch records / checkpoint metadata)
# ---------------------------------------------------------------------------

QUALITY_METRICS = {
    # key: (title, y-axis title)
    "fid": ("FID (lower is better)", "FID"),
    "kid": ("KID (lower is better)", "KID"),
    "inception_score": ("Inception Score (higher is better)", "IS"),
    "kl_to_uniform": ("Class imbalance: KL to uniform (lower is better)", "KL (nats)"),
    "missing_classes": ("Missing classes (mode collapse)", "classes"),
    "active_units": ("Active latent units (VAE)", "units"),
}
REFERENCE_COLOR = "#7F7F7F"
QUALITY_COLORS = {"fid": "#D62728", "kid": "#D62728", "inception_score": "#9467BD", "precision": "#1F77B4",
                  "recall": "#FF7F0E", "sharpness": "#2CA02C", "kl_to_uniform": "#8C564B", "missing_classes": "#8C564B",
                  "active_units": "#2CA02C"}


def has_quality(epochs: Sequence[dict]) -> bool:
    """Do any of these epoch records carry quality scores?"""
    return any(isinstance(r.get("fid"), (int, float)) for r in epochs)


def _scored(epochs: Sequence[dict], key: str) -> list[dict]:
    return [r for r in epochs if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]


def _reference_line(fig: go.Figure, value: float | None, text: str, color: str = REFERENCE_COLOR,
                    position: str = "top right") -> None:
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return
    fig.add_hline(y=float(value), line=dict(color=color, dash="dash", width=1.5),
                  annotation_text=text, annotation_position=position,
                  annotation_font=dict(size=11, color=color))


def quality_figure(epochs: Sequence[dict], metric: str = "fid", *, x: str = "epoch",
                   reference: dict | None = None, height: int = 300) -> go.Figure:
    """One quality score per scored epoch, against epochs or training seconds, with the real-data
    value (real test vs real train images, same sample size) as a dashed line."""
    if metric not in QUALITY_METRICS:
        raise ValueError(f"metric must be one of {', '.join(QUALITY_METRICS)}, got {metric!r}")
    title, y_title = QUALITY_METRICS[metric]
    _, x_title = _x((), x)
    fig = go.Figure()
    _layout(fig, title, x_title, y_title, height=height)
    rows = _scored(epochs, metric)
    if not rows:
        return _empty(fig, "no scores yet")
    xs = _column(rows, X_AXES[x][0])
    ys = _column(rows, metric)
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name="model",
                             line=dict(color=QUALITY_COLORS.get(metric, COLORS["train"]), width=2),
                             marker=dict(size=8),
                             hovertemplate=f"{y_title} %{{y:.3g}}<extra>epoch %{{customdata}}</extra>",
                             customdata=_column(rows, "epoch")))
    ref = (reference or {}).get(metric)
    _reference_line(fig, ref, f"real data: {ref:.3g}" if isinstance(ref, (int, float)) else "")
    if metric == "inception_score":
        fig.update_yaxes(rangemode="tozero")
    fig.update_layout(showlegend=False)
    return fig


PR_TITLE = "Fidelity, coverage & sharpness"


def precision_recall_figure(epochs: Sequence[dict], *, x: str = "epoch", reference: dict | None = None,
                            height: int = 300) -> go.Figure:
    """Precision (fidelity), recall (coverage) and, when measured, sharpness (edge energy relative to
    real images, 1 = as sharp) per scored epoch, each with its real-data line."""
    _, x_title = _x((), x)
    fig = go.Figure()
    _layout(fig, PR_TITLE, x_title, "share (0–1); sharpness ×real", height=height)
    rows = _scored(epochs, "precision")
    if not rows:
        return _empty(fig, "no scores yet")
    xs = _column(rows, X_AXES[x][0])
    keys = [("precision", "precision (fidelity)"), ("recall", "recall (coverage)")]
    if any(isinstance(r.get("sharpness"), (int, float)) for r in rows):
        keys.append(("sharpness", "sharpness (1 = real)"))
    top = 1.02
    for key, name in keys:
        ys = _column(rows, key)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=name,
                                 line=dict(color=QUALITY_COLORS[key], width=2), marker=dict(size=8)))
        if np.isfinite(ys).any():
            top = max(top, float(np.nanmax(ys)) * 1.05)
    ref = reference or {}
    for (key, _), pos in zip(keys, ("top right", "bottom right", "top left")):
        v = ref.get(key)
        if isinstance(v, (int, float)):
            _reference_line(fig, v, f"real {key}: {v:.2f}", QUALITY_COLORS[key], pos)
    fig.update_yaxes(range=[-0.02, top])
    fig.update_layout(legend=dict(orientation="h", y=-0.3))
    return fig


def sharpness_figure(names: Sequence[str], values: Sequence[float | None], errors: Sequence[float | None] = (),
                     *, reference: float | None = None, colors: Sequence[str] = (),
                     height: int = 260) -> go.Figure:
    """Sharpness of several models as bars (± 2 standard errors), with real images' value dashed and
    the words a student reads off it: below ≈ 0.8 blurrier than real, above ≈ 1.3 grainier."""
    fig = go.Figure()
    _layout(fig, "Sharpness: edge energy relative to real images", "", "× real (1 = as sharp)", height=height)
    rows = [(n, float(v), e, colors[i] if i < len(colors) else _PALETTE[i % len(_PALETTE)])
            for i, (n, v, e) in enumerate(zip(names, values, list(errors) + [None] * len(names)))
            if isinstance(v, (int, float)) and math.isfinite(v)]
    if not rows:
        return _empty(fig, "not measured")
    errs = [2 * e if isinstance(e, (int, float)) and math.isfinite(e) else 0.0 for _, _, e, _ in rows]
    fig.add_trace(go.Bar(x=[r[0] for r in rows], y=[r[1] for r in rows], marker_color=[r[3] for r in rows],
                         error_y=dict(type="data", array=errs, visible=any(errs)),
                         text=[f"{r[1]:.2f}×" for r in rows], textposition="inside",
                         hovertemplate="%{x}: %{y:.2f}× real<extra></extra>"))
    fig.add_hline(y=1.0, line=dict(color=REFERENCE_COLOR, dash="dot", width=1))
    _reference_line(fig, reference, f"real test images: {reference:.2f}×" if isinstance(reference, (int, float))
                    else "")
    fig.update_xaxes(type="category")
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(showlegend=False, hovermode="closest", bargap=0.4)
    return fig


def class_histogram_figure(histogram: Sequence[float] | None, *, dataset: str | None = None,
                           reference: Sequence[float] | None = None, title: str | None = None,
                           color: str = "#636EFA", height: int = 300) -> go.Figure:
    """Share of generated samples per predicted class (bars), the real data's share (markers) and
    the uniform share (dotted). Empty or missing bars are the signature of mode collapse."""
    fig = go.Figure()
    _layout(fig, title or "Which classes does it generate?", "class (as the evaluator reads it)",
            "share of samples", height=height)
    if histogram is None or len(histogram) == 0:
        return _empty(fig, "no scores yet")
    hist = np.asarray(histogram, dtype=float)
    names = class_names(dataset, len(hist))[: len(hist)]
    fig.add_trace(go.Bar(x=names, y=hist, name="samples", marker_color=color,
                         hovertemplate="%{x}: %{y:.1%}<extra>samples</extra>"))
    if reference is not None and len(reference) == len(hist):
        fig.add_trace(go.Scatter(x=names, y=np.asarray(reference, dtype=float), mode="markers", name="real data",
                                 marker=dict(symbol="line-ew-open", size=26, color=REFERENCE_COLOR,
                                             line=dict(width=3)),
                                 hovertemplate="%{x}: %{y:.1%}<extra>real data</extra>"))
    fig.add_trace(go.Scatter(x=names, y=[1.0 / len(hist)] * len(hist), mode="lines", name="uniform",
                             line=dict(color=REFERENCE_COLOR, dash="dot", width=1, shape="hvh"), hoverinfo="skip"))
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(type="category")
    fig.update_layout(hovermode="closest", bargap=0.25)
    return fig


# ---------------------------------------------------------------------------
# Sweeps (gen_core.experiments): one colour per value, one dash per seed
# ---------------------------------------------------------------------------

_DASHES = ["solid", "dash", "dot", "dashdot", "longdash"]


def _hex_rgba(color: str, alpha: float) -> str:
    c = color.lstrip("#")
    r, g, b = int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    return f"rgba({r},{g},{b},{alpha})"


def sweep_curves_figure(series: Sequence[tuple[str, int, Sequence[dict]]], metric: str, *,
                        x: str = "epoch", smoothing: float = DEFAULT_SMOOTHING, seeds: str = "lines",
                        title: str | None = None, y_title: str = "", legend_title: str = "",
                        reference: float | None = None, negate: bool = False, markers: bool = False,
                        x_range: tuple[float, float] | None = None, max_points: int = 600,
                        height: int = 320) -> go.Figure:
    """Curves of one metric for every run of a sweep, overlaid.

    series: (value label, seed, records) per run, in sweep order (step or epoch records).
    seeds:  "lines" — one line per run, seeds told apart by dash; "band" — per value, the mean
            over seeds with a ±1 std band (runs aligned by record index).
    """
    if seeds not in ("lines", "band"):
        raise ValueError(f"seeds must be 'lines' or 'band', got {seeds!r}")
    _, x_title = _x((), x)
    fig = go.Figure()
    _layout(fig, title or TITLES.get(metric, metric), x_title, y_title, height=height)
    fig.update_layout(legend=dict(title=dict(text=legend_title, side="left")), hovermode="closest",
                      showlegend=True)
    if x_range is not None:
        fig.update_xaxes(range=list(x_range))
    series = [(lab, seed, [r for r in recs if isinstance(r.get(metric), (int, float))])
              for lab, seed, recs in series]
    series = [s for s in series if s[2]]
    if not series:
        return _empty(fig, "no data yet")
    labels = list(dict.fromkeys(lab for lab, _, _ in series))
    seed_order = list(dict.fromkeys(seed for _, seed, _ in series))
    color = {lab: _PALETTE[i % len(_PALETTE)] for i, lab in enumerate(labels)}
    mode = "lines+markers" if markers else "lines"
    sign = -1.0 if negate else 1.0

    def smooth(ys: np.ndarray) -> np.ndarray:
        return ema(ys, smoothing) if smoothing > 0 else ys

    if seeds == "lines" or len(seed_order) == 1:
        for lab, seed, recs in series:
            xs, ys = _column(recs, X_AXES[x][0]), sign * smooth(_column(recs, metric))
            idx = downsample_indices(len(ys), max_points)
            name = lab if len(seed_order) == 1 else f"{lab} · seed {seed}"
            fig.add_trace(go.Scatter(x=xs[idx], y=ys[idx], mode=mode, name=name, legendgroup=lab,
                                     line=dict(color=color[lab], width=2,
                                               dash=_DASHES[seed_order.index(seed) % len(_DASHES)])))
    else:
        for lab in labels:
            runs = [recs for l2, _, recs in series if l2 == lab]
            n = min(len(r) for r in runs)
            xs = np.nanmean(np.stack([_column(r[:n], X_AXES[x][0]) for r in runs]), axis=0)
            ys = np.stack([sign * smooth(_column(r, metric))[:n] for r in runs])
            mean, std = np.nanmean(ys, axis=0), (np.nanstd(ys, axis=0, ddof=1) if len(runs) > 1
                                                   else np.zeros(n))
            idx = downsample_indices(n, max_points)
            fig.add_trace(go.Scatter(x=np.concatenate([xs[idx], xs[idx][::-1]]),
                                     y=np.concatenate([(mean + std)[idx], (mean - std)[idx][::-1]]),
                                     mode="lines", fill="toself", fillcolor=_hex_rgba(color[lab], 0.18),
                                     line=dict(width=0),
                                     hoverinfo="skip", showlegend=False, legendgroup=lab))
            fig.add_trace(go.Scatter(x=xs[idx], y=mean[idx], mode=mode, legendgroup=lab,
                                     name=f"{lab} (mean of {len(runs)})", line=dict(color=color[lab], width=2)))
    if reference is not None:
        _reference_line(fig, reference, f"real data: {reference:.3g}")
    return fig


def runs_overlay_figure(series: Sequence[tuple[str, Sequence[dict]]], metric: str, *, x: str = "step",
                        smoothing: float = DEFAULT_SMOOTHING, title: str | None = None, y_title: str = "",
                        negate: bool = False, markers: bool = False, height: int = 340) -> go.Figure:
    """Several runs' curves of one metric on shared axes (TensorBoard / W&B style): one colour per run.

    series: (run name, records) per run; names should be unique (they are the legend). Runs that
    never logged `metric` are left out; with none left, the figure says so.
    """
    return sweep_curves_figure([(name, 0, recs) for name, recs in series], metric, x=x, smoothing=smoothing,
                               title=title, y_title=y_title, legend_title="run", negate=negate, markers=markers,
                               max_points=MAX_POINTS, height=height)


def sweep_summary_figure(values: Sequence[str], means: Sequence[float], stds: Sequence[float] | None = None, *,
                         metric_title: str, param_label: str, reference: float | None = None,
                         y_range: tuple[float, float] | None = None, height: int = 300) -> go.Figure:
    """A final metric per swept value (mean, with ±1 std error bars over seeds), values in sweep order."""
    fig = go.Figure()
    _layout(fig, f"{metric_title} by {param_label}", param_label, metric_title, height=height)
    means = np.asarray(means, dtype=float)
    if len(means) == 0 or not np.isfinite(means).any():
        return _empty(fig, "no finished runs yet")
    values = [str(v) for v in values]
    err = None
    if stds is not None:
        s = np.nan_to_num(np.asarray(stds, dtype=float), nan=0.0)
        if s.any():
            err = dict(type="data", array=s, visible=True)
    fig.add_trace(go.Scatter(x=values, y=means, mode="markers+lines", error_y=err, name=metric_title,
                             marker=dict(size=11, color=[_PALETTE[i % len(_PALETTE)] for i in range(len(values))]),
                             line=dict(color="#BBBBBB", width=1)))
    fig.update_xaxes(type="category")
    fig.update_layout(showlegend=False, hovermode="closest")
    if y_range is not None:
        fig.update_yaxes(range=list(y_range))
    if reference is not None:
        _reference_line(fig, reference, f"real data: {reference:.3g}")
    return fig
