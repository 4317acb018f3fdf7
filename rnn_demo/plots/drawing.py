"""Figures for the Draw page: the 28x28 digit the models see, their probabilities, their
prediction after every row, and which rows mattered. Arrays in, Plotly figures out."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnn_demo.plots import DIGIT_SCALE, FONT, TEMPLATE, cell_color

STEP_SCALE = "Blues"      # probabilities in [0, 1]
ATTRIBUTION_SCALE = "YlOrRd"  # gradient size, from nothing (light) to the most (dark red)
# Laid over the digit: transparent where a row has no influence, red where it has the most.
OVERLAY_SCALE = [[0.0, "rgba(215, 48, 39, 0)"], [1.0, "rgba(215, 48, 39, 0.7)"]]
ROWS = list(range(1, 29))  # time steps are numbered 1..28 on every axis, as in s_1..s_28


def _digit_trace(digit, **kw) -> go.Heatmap:
    kw = {"hovertemplate": "row %{y}, pixel %{x}: %{z}<extra></extra>"} | kw
    return go.Heatmap(z=np.asarray(digit).tolist(), colorscale=DIGIT_SCALE, zmin=0, zmax=255, showscale=False,
                      x=list(range(28)), y=ROWS, **kw)


def seen_digit(digit, height: int = 300) -> go.Figure:
    """The uint8 (28, 28) digit exactly as the models read it, enlarged; rows are time steps."""
    fig = go.Figure(_digit_trace(digit))
    fig.update_yaxes(autorange="reversed", title="row = time step", scaleanchor="x", constrain="domain",
                     tickvals=[1, 7, 14, 21, 28])
    fig.update_xaxes(title="pixel in the row", constrain="domain", tickvals=[0, 7, 14, 21, 27])
    fig.update_layout(template=TEMPLATE, font=FONT, height=height, margin=dict(l=10, r=10, t=30, b=10),
                      title="What the models see (28 x 28)")
    return fig


def probability_bars(probs: dict[str, np.ndarray], cells: dict[str, str] | None = None,
                     height: int = 300) -> go.Figure:
    """Probability of each digit, one bar per model (grouped), coloured by architecture."""
    cells = cells or {}
    fig = go.Figure()
    for name, p in probs.items():
        fig.add_bar(x=list(range(10)), y=np.asarray(p, dtype=float).tolist(), name=name,
                    marker_color=cell_color(name, cells.get(name)),
                    hovertemplate=f"{name}: digit %{{x}} with probability %{{y:.1%}}<extra></extra>")
    fig.update_xaxes(title="digit", tickvals=list(range(10)))
    fig.update_yaxes(title="probability", range=[0, 1], tickformat=".0%")
    fig.update_layout(template=TEMPLATE, font=FONT, height=height, barmode="group",
                      margin=dict(l=10, r=10, t=30, b=10), title="Probability of each digit",
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    return fig


def step_predictions(step_probs: dict[str, np.ndarray], height: int = 420) -> go.Figure:
    """For each model, a (28 rows x 10 digits) heatmap: the read-out's probabilities after each row.

    The read-out of the final state is the prediction; applying it after every row shows when
    the network made up its mind."""
    names = list(step_probs)
    fig = make_subplots(rows=1, cols=max(1, len(names)), subplot_titles=names, shared_yaxes=True,
                        horizontal_spacing=0.02)
    for i, name in enumerate(names, start=1):
        p = np.asarray(step_probs[name], dtype=float)  # (T, C)
        fig.add_trace(go.Heatmap(z=p, x=list(range(10)), y=ROWS, zmin=0, zmax=1, colorscale=STEP_SCALE,
                                 showscale=i == len(names), colorbar=dict(title="prob.", tickformat=".0%"),
                                 hovertemplate=f"{name} after row %{{y}}: digit %{{x}} "
                                               f"%{{z:.1%}}<extra></extra>"), row=1, col=i)
        best = p.argmax(1)  # the digit the model would say if the digit ended at this row
        fig.add_trace(go.Scatter(x=best, y=ROWS, mode="markers", marker=dict(size=5, color="#ff7f0e"),
                                 showlegend=False, hoverinfo="skip"), row=1, col=i)
        fig.update_xaxes(tickvals=list(range(10)), title="digit", row=1, col=i)
    fig.update_yaxes(autorange="reversed", tickvals=[1, 7, 14, 21, 28])
    fig.update_yaxes(title="after row (time step)", row=1, col=1)
    fig.update_layout(template=TEMPLATE, font=FONT, height=height, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def row_attribution(digit, attributions: dict[str, np.ndarray], height: int = 380) -> go.Figure:
    """For each model, the digit with its per-row attribution ||d logit / d x_t|| laid over it as
    a heat strip (and repeated beside it at full strength). Each model's colours run from 0 to its
    own largest value; hovering shows the real numbers."""
    names = list(attributions)
    fig = make_subplots(rows=1, cols=max(1, len(names)), subplot_titles=names, horizontal_spacing=0.06)
    for i, name in enumerate(names, start=1):
        a = np.asarray(attributions[name], dtype=float)  # (T,)
        top = float(a.max()) if a.size and a.max() > 0 else 1.0
        strip = np.repeat(a[:, None], 28, axis=1)
        hover = f"{name}, row %{{y}}: ||d logit / d x_t|| = %{{z:.3g}}<extra></extra>"
        fig.add_trace(_digit_trace(digit, hoverinfo="skip", hovertemplate=None), row=1, col=i)
        fig.add_trace(go.Heatmap(z=strip, x=list(range(28)), y=ROWS, zmin=0, zmax=top,
                                 colorscale=OVERLAY_SCALE, showscale=False, hovertemplate=hover),
                      row=1, col=i)
        fig.add_trace(go.Heatmap(z=np.repeat(a[:, None], 3, axis=1), x=[29, 30, 31], y=ROWS, zmin=0, zmax=top,
                                 colorscale=ATTRIBUTION_SCALE, showscale=False, hovertemplate=hover),
                      row=1, col=i)
        fig.update_xaxes(range=[-0.5, 31.5], showticklabels=False, showgrid=False, zeroline=False,
                         scaleanchor=f"y{'' if i == 1 else i}", constrain="domain", row=1, col=i)
        fig.update_yaxes(autorange="reversed", tickvals=[1, 7, 14, 21, 28], showgrid=False, row=1, col=i)
    fig.update_yaxes(title="row = time step", row=1, col=1)
    fig.update_layout(template=TEMPLATE, font=FONT, height=height, margin=dict(l=10, r=10, t=40, b=10),
                      plot_bgcolor="white")
    return fig

