"""Figures for the Draw page: the 28x28 digit the models see, their probabilities, their
prediction after every row, and which rows mattered. Arrays in, Plotly figures out.

Every drawing is new, so these are rebuilt on each prediction, for every learner drawing at
once: they are written as plain dicts (`plots.figure`), which builds each in about a
millisecond instead of the 50-100 ms of plotly's validating constructors."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import get_colorscale

from rnn_demo.i18n import _
from rnn_demo.plots import DIGIT_SCALE, figure, model_colors, subplot_domains, subplot_titles

# Colour scales as explicit lists: an unvalidated figure sends names as they are, and plotly.js
# knows only some of plotly.py's names ("gray" is not among them).
DIGIT = get_colorscale(DIGIT_SCALE)
STEP_SCALE = get_colorscale("Blues")            # probabilities in [0, 1]
ATTRIBUTION_SCALE = get_colorscale("YlOrRd")    # gradient size, from nothing (light) to the most (dark red)
# Laid over the digit: transparent where a row has no influence, red where it has the most.
OVERLAY_SCALE = [[0.0, "rgba(215, 48, 39, 0)"], [1.0, "rgba(215, 48, 39, 0.7)"]]
ROWS = list(range(1, 29))  # time steps are numbered 1..28 on every axis, as in s_1..s_28
PIXELS = ROWS              # and the pixels of a row 1..28 across, as on the Hidden states page
ROW_TICKS = [1, 7, 14, 21, 28]
MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}


def _digit_trace(digit, **kw) -> dict:
    return {"type": "heatmap", "z": np.asarray(digit), "colorscale": DIGIT, "zmin": 0, "zmax": 255,
            "showscale": False, "x": PIXELS, "y": ROWS,
            "hovertemplate": _("row %{y}, pixel %{x}: %{z}<extra></extra>")} | kw


def seen_digit(digit, height: int = 300) -> go.Figure:
    """The uint8 (28, 28) digit exactly as the models read it, enlarged; rows are time steps."""
    return figure([_digit_trace(digit)], {
        "height": height, "margin": MARGIN, "title": {"text": _("What the models see (28 x 28)")},
        "yaxis": {"autorange": "reversed", "title": {"text": _("row = time step")}, "scaleanchor": "x",
                  "constrain": "domain", "tickvals": ROW_TICKS},
        "xaxis": {"title": {"text": _("pixel in the row")}, "constrain": "domain", "tickvals": ROW_TICKS}})


def probability_bars(probs: dict[str, np.ndarray], height: int = 300) -> go.Figure:
    """Probability of each digit, one bar per model (grouped), one colour per model (the shipped
    ones by architecture, as on every page)."""
    colors = model_colors(probs)
    bars = [{"type": "bar", "x": list(range(10)), "y": np.asarray(p, dtype=float), "name": name,
             "marker": {"color": colors[name]},
             "hovertemplate": _("{name}: digit %{{x}} with probability %{{y:.1%}}<extra></extra>", name=name)}
            for name, p in probs.items()]
    return figure(bars, {
        "height": height, "barmode": "group", "margin": MARGIN, "title": {"text": _("Probability of each digit")},
        "xaxis": {"title": {"text": _("digit")}, "tickvals": list(range(10))},
        "yaxis": {"title": {"text": _("probability")}, "range": [0, 1], "tickformat": ".0%"},
        "legend": {"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"}})


def _axis(i: int) -> str:
    """Plotly's name for subplot i's axes (1-based): '' for the first, then '2', '3', ..."""
    return "" if i == 1 else str(i)


def step_predictions(step_probs: dict[str, np.ndarray], height: int = 420) -> go.Figure:
    """For each model, a (28 rows x 10 digits) heatmap: the read-out's probabilities after each row.

    The read-out of the final state is the prediction; applying it after every row shows when
    the network made up its mind."""
    names = list(step_probs)
    domains = subplot_domains(max(1, len(names)), 0.02)
    data, layout = [], {"height": height, "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
                        "annotations": subplot_titles(names, domains)}
    for i, (name, domain) in enumerate(zip(names, domains), start=1):
        p = np.asarray(step_probs[name], dtype=float)  # (T, C)
        axes = {"xaxis": "x" + _axis(i), "yaxis": "y" + _axis(i)}
        data.append({"type": "heatmap", "z": p, "x": list(range(10)), "y": ROWS, "zmin": 0, "zmax": 1,
                     "colorscale": STEP_SCALE, "showscale": i == len(names),
                     "colorbar": {"title": {"text": _("prob.")}, "tickformat": ".0%"},
                     "hovertemplate": _("{name} after row %{{y}}: digit %{{x}} %{{z:.1%}}<extra></extra>", name=name),
                     **axes})
        # the digit the model would say if the drawing ended at this row
        data.append({"type": "scatter", "x": p.argmax(1), "y": ROWS, "mode": "markers",
                     "marker": {"size": 5, "color": "#ff7f0e"}, "showlegend": False, "hoverinfo": "skip", **axes})
        layout["xaxis" + _axis(i)] = {"domain": domain, "anchor": "y" + _axis(i), "tickvals": list(range(10)),
                                      "title": {"text": _("digit")}}
        layout["yaxis" + _axis(i)] = {"domain": [0, 1], "anchor": "x" + _axis(i), "autorange": "reversed",
                                      "tickvals": ROW_TICKS, **({"title": {"text": _("after row (time step)")}}
                                                                if i == 1 else {"matches": "y", "showticklabels": False})}
    return figure(data, layout)


def row_attribution(digit, attributions: dict[str, np.ndarray], height: int = 380) -> go.Figure:
    """For each model, the digit with its per-row attribution ||d logit / d x_t|| laid over it as
    a heat strip (and repeated beside it at full strength). Each model's colours run from 0 to its
    own largest value; hovering shows the real numbers."""
    names = list(attributions)
    domains = subplot_domains(max(1, len(names)), 0.06)
    data, layout = [], {"height": height, "margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "plot_bgcolor": "white",
                        "annotations": subplot_titles(names, domains)}
    for i, (name, domain) in enumerate(zip(names, domains), start=1):
        a = np.asarray(attributions[name], dtype=float)  # (T,)
        top = float(a.max()) if a.size and a.max() > 0 else 1.0
        axes = {"xaxis": "x" + _axis(i), "yaxis": "y" + _axis(i)}
        hover = _("{name}, row %{{y}}: ||d logit / d x_t|| = %{{z:.3g}}<extra></extra>", name=name)
        strip = {"type": "heatmap", "y": ROWS, "zmin": 0, "zmax": top, "showscale": False, "hovertemplate": hover}
        data += [_digit_trace(digit, hoverinfo="skip", hovertemplate=None, **axes),
                 strip | {"z": np.repeat(a[:, None], 28, axis=1), "x": PIXELS,
                          "colorscale": OVERLAY_SCALE, **axes},
                 strip | {"z": np.repeat(a[:, None], 3, axis=1), "x": [30, 31, 32],
                          "colorscale": ATTRIBUTION_SCALE, **axes}]
        layout["xaxis" + _axis(i)] = {"domain": domain, "anchor": "y" + _axis(i), "range": [0.5, 32.5],
                                      "showticklabels": False, "showgrid": False, "zeroline": False,
                                      "scaleanchor": "y" + _axis(i), "constrain": "domain"}
        layout["yaxis" + _axis(i)] = {"domain": [0, 1], "anchor": "x" + _axis(i), "autorange": "reversed",
                                      "tickvals": ROW_TICKS, "showgrid": False,
                                      **({"title": {"text": _("row = time step")}} if i == 1 else {})}
    return figure(data, layout)
