"""Quality-metric figures: FID/KID over epochs, precision/recall, sharpness, class histograms."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from gen_core.figures.curves import COLORS, X_AXES, _column, _empty, _layout, _x
from gen_core.figures.latent import _PALETTE, class_names


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
