"""Latent-space figures: the scatter of encoded test images and the decoded map."""
from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go

from gen_core.data.datasets import DATASETS
from gen_core.figures.curves import MAX_POINTS, _layout, downsample_indices


def class_names(dataset: str | None, n: int = 10) -> list[str]:
    """Label → name for a dataset in gen_core.data.datasets.DATASETS (digits as a fallback)."""
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
    """The z values of gen_core.models.sampling.normal_quantile_grid, as numpy (no torch needed)."""
    from statistics import NormalDist
    nd = NormalDist()
    return np.array([nd.inv_cdf(p) for p in np.linspace(lo, hi, n)])


def latent_map_pixel(z: float, n: int, cell: int, padding: int = 2, *, axis: str = "x") -> float:
    """Pixel coordinate of latent value z in an n×n latent-map grid (gen_core.data.imaging.make_grid layout).

    Columns follow z along x (low → high, left → right); rows follow z along y with the
    highest value at the top (gen_core.models.sampling.latent_grid_points). Values beyond the
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
