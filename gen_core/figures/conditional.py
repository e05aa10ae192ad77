"""Plotly figures of the conditional-model page (plain functions, tested without a UI)."""
from __future__ import annotations

import plotly.graph_objects as go


def class_accuracy_figure(per_class: list[float], classes: list[str] | tuple[str, ...], chance: float,
                          *, title: str = "Does the evaluator read each generated class as that class?") -> go.Figure:
    """Bars: share of samples drawn for label c that the evaluator classifies as c; dashed: chance."""
    names = [str(c) for c in classes][: len(per_class)]
    fig = go.Figure(go.Bar(x=names, y=[100 * a for a in per_class], marker_color="#4c78a8",
                           text=[f"{100 * a:.0f}%" for a in per_class], textposition="outside",
                           hovertemplate="asked for %{x}: read as %{x} in %{y:.1f}% of samples<extra></extra>"))
    fig.add_hline(y=100 * chance, line_dash="dash", line_color="#e45756",
                  annotation_text=f"chance {100 * chance:.0f}%", annotation_position="top left")
    fig.update_layout(title=title, yaxis=dict(title="read as the asked-for class (%)", range=[0, 109]),
                      xaxis=dict(title="label given to the model", type="category"),
                      height=340, margin=dict(l=50, r=20, t=50, b=40), showlegend=False)
    return fig


def confusion_figure(confusion: list[list[int]], classes) -> go.Figure:
    """Heat map: rows = label asked for, columns = class the evaluator read."""
    names = [str(c) for c in classes][: len(confusion)]
    fig = go.Figure(go.Heatmap(z=confusion, x=names, y=names, colorscale="Blues",
                               hovertemplate="asked for %{y}, read as %{x}: %{z}<extra></extra>"))
    fig.update_layout(title="Asked for (rows) vs read as (columns)", height=340,
                      xaxis=dict(title="evaluator reads", type="category"),
                      yaxis=dict(title="label given", type="category", autorange="reversed"),
                      margin=dict(l=50, r=20, t=50, b=40))
    return fig
