"""Plotly figure of the draw-and-encode panel: held-out latent means by class, and the encoder's
q(z|x) for the drawing as an ellipse (mu ± 1σ and ± 2σ on the first two latent dims)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]


def ellipse_points(mu, sigma, k: float = 1.0, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0, 2 * np.pi, n)
    return mu[0] + k * sigma[0] * np.cos(t), mu[1] + k * sigma[1] * np.sin(t)


def drawing_in_latent_figure(means: np.ndarray, labels: np.ndarray, classes, mu, sigma,
                             *, dims: tuple[int, int] = (0, 1)) -> go.Figure:
    a, b = dims
    fig = go.Figure()
    for c in np.unique(labels):
        sel = labels == c
        fig.add_trace(go.Scattergl(x=means[sel, a], y=means[sel, b], mode="markers", name=str(classes[int(c)]),
                                   marker=dict(size=4, opacity=0.45, color=COLOURS[int(c) % len(COLOURS)])))
    m, s = np.asarray(mu)[[a, b]], np.asarray(sigma)[[a, b]]
    for k, dash in ((2.0, "dot"), (1.0, "solid")):
        x, y = ellipse_points(m, s, k)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=f"your drawing ±{k:g}σ",
                                 line=dict(color="black", width=2, dash=dash)))
    fig.add_trace(go.Scatter(x=[m[0]], y=[m[1]], mode="markers", name="μ (your drawing)",
                             marker=dict(symbol="x", size=12, color="black")))
    fig.update_layout(title="Where the encoder puts your drawing", height=460,
                      xaxis_title=f"z{a + 1}", yaxis_title=f"z{b + 1}", legend=dict(itemsizing="constant"),
                      margin=dict(l=50, r=20, t=50, b=40))
    return fig
