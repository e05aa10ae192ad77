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

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from gen_core.figures.curves import (DEFAULT_SMOOTHING, MAX_POINTS, TITLES, X_AXES, _column, _empty, _layout, _x,
                                     downsample_indices, ema)
from gen_core.figures.latent import _PALETTE
from gen_core.figures.quality import _reference_line


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
