"""Figures of the hidden-state explorer: the network reading a digit row by row, as a Plotly
animation that plays in the browser, plus the static charts beside it. Arrays in, figures out.

The input arrays come from `rnn_demo.analysis.digit_trace` (and `sample_pca`); every number
drawn is one of them, unchanged.
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.colors import get_colorscale

from rnn_demo.i18n import N_, _, a_digit
from rnn_demo.plots import (CLASS_COLORS, DIGIT_SCALE, GATE_SCALE, STATE_RANGE, STATE_SCALE,
                            cell_color, figure)

# Trace order in the animated figure. Frames update only the small ANIMATED traces: the digit
# and the history are drawn once, whole, and a "curtain" over the rows / steps not reached yet
# shrinks frame by frame, so a frame carries a few hundred numbers, not the whole history.
DIGIT, UNREAD, CURRENT, GRID, HISTORY, FUTURE, BARS = range(7)
ANIMATED = [UNREAD, CURRENT, GRID, FUTURE, BARS]
FRAME_MS = 350  # one row every 0.35 s: 28 rows in about 10 s
GATES = {"i", "f", "o", "r", "z"}
DIRECTION_NAMES = (N_("forward"), N_("backward"))  # translated where shown
UNREAD_VEIL = "rgba(255,255,255,0.78)"  # rows still to read stay faintly visible
FUTURE_VEIL = "rgba(255,255,255,1)"      # steps not taken yet are hidden


def unit_grid(values: np.ndarray, hidden_size: int, directions: int) -> np.ndarray:
    """One step's D*H unit values -> a 2-D grid for a heatmap: each direction's H units in a
    near-square block (row-major, unit 1 top left), directions side by side with an empty
    column between them; cells past H are NaN (blank)."""
    cols = math.ceil(math.sqrt(hidden_size))
    rows = math.ceil(hidden_size / cols)
    blocks = []
    for d in range(directions):
        block = np.full(rows * cols, np.nan, dtype=np.float32)
        block[:hidden_size] = values[d * hidden_size:(d + 1) * hidden_size]
        blocks.append(block.reshape(rows, cols))
        if d + 1 < directions:
            blocks.append(np.full((rows, 1), np.nan, dtype=np.float32))
    return np.concatenate(blocks, axis=1)


def grid_units(hidden_size: int, directions: int) -> np.ndarray:
    """Unit numbers (1-based, over D*H) laid out as `unit_grid` lays out the values."""
    return unit_grid(np.arange(1, hidden_size * directions + 1, dtype=np.float32), hidden_size, directions)


def value_range(quantity: str, values: np.ndarray, nonlinearity: str = "tanh") -> tuple[str, float, float]:
    """Colour scale and its fixed range: tanh states in [-1, 1], gates in [0, 1], the LSTM's cell
    state and a ReLU RNN's state (unbounded) symmetric around 0, at least [-1, 1]."""
    if quantity in GATES:
        return GATE_SCALE, 0.0, 1.0
    if quantity == "c" or nonlinearity == "relu":
        m = max(1.0, float(np.abs(values).max()))
        return STATE_SCALE, -m, m
    return STATE_SCALE, *STATE_RANGE


def _box(x0: float, x1: float, y0: float, y1: float) -> tuple[list[float], list[float]]:
    return [x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0]


def row_box(t: int) -> tuple[list[float], list[float]]:
    """Outline of row t (1-based) on the digit, whose pixels sit at x, y = 1..28."""
    return _box(0.5, 28.5, t - 0.5, t + 0.5)


def unread_box(t: int, T: int) -> tuple[list[float], list[float]]:
    """Veil over rows t+1..T (empty at t = T)."""
    return _box(0.5, 28.5, t + 0.5, T + 0.5)


def future_box(t: int, T: int, units: int) -> tuple[list[float], list[float]]:
    """Curtain over the history's steps t+1..T (empty at t = T)."""
    return _box(t + 0.5, T + 0.5, 0.5, units + 0.5)


def _title(t: int, T: int, step_probs: np.ndarray, directions: int, narrow: bool = False) -> str:
    k = int(step_probs[t - 1].argmax())
    values = {"t": t, "T": T, "k": k, "p": step_probs[t - 1, k], "br": "<br>" if narrow else " "}
    if directions == 1:
        return _("<b>Step {t} of {T}</b>: row {t} fed (rows 1–{t} read);{br}the read-out's best guess is {k} "
                 "with {p:.0%}", **values)
    return _("<b>Step {t} of {T}</b>: row {t} fed (forward has read rows 1–{t}, backward rows {T}–{t});{br}the "
             "read-out's best guess is {k} with {p:.0%}", **values)


def _columns(widths: list[float], gaps: list[float]) -> list[list[float]]:
    """x domains of side-by-side panels with the given relative widths and gaps between them."""
    free = 1.0 - sum(gaps)
    total, x, out = sum(widths), 0.0, []
    for w, gap in zip(widths, [*gaps, 0.0]):
        out.append([x, x + free * w / total])
        x = out[-1][1] + gap
    out[-1][1] = 1.0
    return out


def explorer_figure(trace: dict, quantity: str = "h", quantity_name: str = N_("hidden state s_t"),
                    narrow: bool = False) -> go.Figure:
    """The animation: one frame per time step t = 1..T.

    Left to right: the digit with the rows read so far and the current row x_t outlined; the
    chosen per-unit quantity at step t as a grid of units; its history (units x steps) filling
    in column by column; the read-out's class probabilities softmax(o_t). The figure opens on
    the last step; Play runs from step 1.
    trace: a dict from `analysis.digit_trace`; quantity: "h" or a key of trace["internals"].
    narrow: a phone's layout: the digit and the unit grid side by side, then the history, then the
    probabilities, each across the screen (the same traces and frames, other axis domains).

    Built as a plain dict and wrapped without plotly's per-property validation, which took
    about 0.4 s for these 28 frames here (the tests validate the figure in full instead).
    """
    rows, step_probs = trace["rows"], trace["step_probs"]
    quantity_name = _(quantity_name)  # analysis.QUANTITIES's English names are translated here
    values = trace["states"] if quantity == "h" else trace["internals"][quantity]  # (T, D*H)
    H, D = trace["hidden_size"], trace["directions"]
    T, C = step_probs.shape
    scale, lo, hi = value_range(quantity, values, trace.get("nonlinearity", "tanh"))
    units = grid_units(H, D)
    target = trace["target"]
    pixels = np.arange(1, rows.shape[1] + 1)
    domains = _columns([0.19, 0.25, 0.31, 0.25], [0.045, 0.06, 0.1])  # the colour bar sits in the last gap
    short = quantity_name.split(" ")[-1]  # "s_t", "c_t", "f_t", ... (every translation ends with it too)
    titles = [_("digit: row x_t fed at step t"), _("{symbol}, one square per unit", symbol=short),
              _("{symbol} at the steps so far", symbol=short), _("probabilities softmax(o_t)")]

    def veil(box, color, name, axis):
        return {"type": "scatter", "x": box[0], "y": box[1], "mode": "lines", "fill": "toself", "fillcolor": color,
                "line": {"width": 0}, "hoverinfo": "skip", "name": name, "xaxis": f"x{axis}", "yaxis": f"y{axis}"}

    bx, by = row_box(T)
    data = [None] * 7
    data[DIGIT] = {"type": "heatmap", "z": rows.astype(np.float32), "x": pixels, "y": np.arange(1, T + 1),
                   "colorscale": get_colorscale(DIGIT_SCALE), "zmin": 0, "zmax": 1, "showscale": False,
                   "name": _("digit"),
                   "hovertemplate": _("row %{y}, pixel %{x}: %{z:.2f}<extra></extra>"), "xaxis": "x", "yaxis": "y"}
    data[UNREAD] = veil(unread_box(T, T), UNREAD_VEIL, _("rows still to read"), "")
    data[CURRENT] = {"type": "scatter", "x": bx, "y": by, "mode": "lines", "line": {"color": "#ffbf00", "width": 3},
                     "hoverinfo": "skip", "name": _("current row"), "xaxis": "x", "yaxis": "y"}
    data[GRID] = {"type": "heatmap", "z": unit_grid(values[-1], H, D), "customdata": units, "coloraxis": "coloraxis",
                  "xgap": 1, "ygap": 1, "name": quantity_name, "xaxis": "x2", "yaxis": "y2",
                  "hovertemplate": _("unit %{customdata:.0f}: %{z:.3f}<extra></extra>")}
    data[HISTORY] = {"type": "heatmap", "z": values.T.astype(np.float32), "x": np.arange(1, T + 1),
                     "y": np.arange(1, H * D + 1), "coloraxis": "coloraxis", "name": _("history"),
                     "xaxis": "x3", "yaxis": "y3", "hovertemplate": _("step %{x}, unit %{y}: %{z:.3f}<extra></extra>")}
    data[FUTURE] = veil(future_box(T, T, H * D), FUTURE_VEIL, _("steps not taken yet"), 3)
    data[BARS] = {"type": "bar", "x": np.arange(C), "y": step_probs[-1], "name": _("probability"),
                  "marker": {"color": [CLASS_COLORS[c % len(CLASS_COLORS)] for c in range(C)],
                             "line": {"color": ["black" if c == target else "rgba(0,0,0,0)" for c in range(C)],
                                      "width": 3}},
                  "xaxis": "x4", "yaxis": "y4", "hovertemplate": _("class %{x}: %{y:.3f}<extra></extra>")}

    frames = []
    for t in range(1, T + 1):
        (ux, uy), (bx, by), (fx, fy) = unread_box(t, T), row_box(t), future_box(t, T, H * D)
        frames.append({"name": str(t), "traces": ANIMATED,
                       "layout": {"title": {"text": _title(t, T, step_probs, D, narrow)}},
                       "data": [{"type": "scatter", "x": ux, "y": uy}, {"type": "scatter", "x": bx, "y": by},
                                {"type": "heatmap", "z": unit_grid(values[t - 1], H, D)},
                                {"type": "scatter", "x": fx, "y": fy},
                                {"type": "bar", "y": step_probs[t - 1]}]})

    plain = {"showgrid": False, "zeroline": False}
    step_args = {"mode": "immediate", "frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0}}
    layout = {
        "height": 470, "showlegend": False,
        "margin": {"l": 10, "r": 10, "t": 80, "b": 120},
        "title": {"text": _title(T, T, step_probs, D, narrow), "x": 0.01, "y": 0.97},
        "annotations": [{"text": text, "x": sum(dom) / 2, "y": 1.0, "xref": "paper", "yref": "paper",
                         "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 14}}
                        for text, dom in zip(titles, domains)],
        "coloraxis": {"colorscale": get_colorscale(scale), "cmin": lo, "cmax": hi,
                      "colorbar": {"len": 1.0, "thickness": 12, "x": domains[2][1] + 0.01, "xanchor": "left",
                                   "title": {"text": quantity}}},
        # digit: row 1 at the top, square pixels
        "xaxis": {"domain": domains[0], "range": [0.5, 28.5], "showticklabels": False, "constrain": "domain",
                  **plain},
        "yaxis": {"range": [T + 0.5, 0.5], "scaleanchor": "x", "constrain": "domain", "title": {"text": _("row")},
                  "tickvals": [1, 7, 14, 21, 28], **plain},
        "xaxis2": {"domain": domains[1], "anchor": "y2", "showticklabels": D == 2, "constrain": "domain", **plain},
        "yaxis2": {"anchor": "x2", "autorange": "reversed", "scaleanchor": "x2", "constrain": "domain",
                   "showticklabels": False, **plain},
        "xaxis3": {"domain": domains[2], "anchor": "y3", "range": [0.5, T + 0.5], "title": {"text": _("step t")},
                   **plain},
        "yaxis3": {"anchor": "x3", "range": [H * D + 0.5, 0.5], **plain,
                   "title": {"text": _("unit") if D == 1 else _("unit (forward, then backward)")}},
        "xaxis4": {"domain": domains[3], "anchor": "y4", "title": {"text": _("class")}, "tickvals": list(range(C))},
        "yaxis4": {"anchor": "x4", "range": [0, 1], "tickformat": ".0%"},
        "updatemenus": [{"type": "buttons", "direction": "left", "x": 0.0, "y": -0.2, "xanchor": "left",
                         "yanchor": "top", "pad": {"r": 10, "t": 0}, "showactive": False, "buttons": [
                             {"label": _("▶ Play"), "method": "animate", "args": [None, {
                                 "mode": "immediate", "fromcurrent": False, "transition": {"duration": 0},
                                 "frame": {"duration": FRAME_MS, "redraw": True}}]},
                             {"label": _("❚❚ Pause"), "method": "animate", "args": [[None], step_args]}]}],
        "sliders": [{"active": T - 1, "x": 0.19, "len": 0.81, "y": -0.17, "yanchor": "top", "pad": {"t": 0},
                     "currentvalue": {"prefix": _("step t = "), "font": {"size": 13}},
                     "steps": [{"label": str(t), "method": "animate", "args": [[str(t)], step_args]}
                               for t in range(1, T + 1)]}],
        "shapes": [],
    }
    if D == 2:
        cols = units.shape[1]
        layout["xaxis2"].update(tickvals=[(cols - 1) / 4, 3 * (cols - 1) / 4], ticktext=[_(d) for d in DIRECTION_NAMES])
        layout["shapes"].append({"type": "line", "xref": "x3", "yref": "y3", "x0": 0.5, "x1": T + 0.5,
                                 "y0": H + 0.5, "y1": H + 0.5, "line": {"color": "black", "width": 1}})
    if narrow:
        _stack(layout, titles, T)
    return figure(data, layout, frames)


# A phone's layout of the explorer: (x domain, y domain) of each panel, top to bottom.
NARROW = [([0.0, 0.44], [0.70, 1.0]), ([0.56, 1.0], [0.70, 1.0]), ([0.0, 0.84], [0.36, 0.62]),
          ([0.0, 1.0], [0.0, 0.26])]


def _stack(layout: dict, titles: list[str], T: int) -> None:
    """Rearrange the explorer's four panels for a narrow screen (`NARROW`), in place."""
    for k, (xd, yd) in enumerate(NARROW, start=1):
        x, y = ("xaxis", "yaxis") if k == 1 else (f"xaxis{k}", f"yaxis{k}")
        layout[x]["domain"], layout[y]["domain"] = xd, yd
    layout["annotations"] = [{"text": text, "x": sum(xd) / 2, "y": yd[1], "xref": "paper", "yref": "paper",
                              "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 12}}
                             for text, (xd, yd) in zip(titles, NARROW)]
    bar = layout["coloraxis"]["colorbar"]
    bar.update(x=NARROW[2][0][1] + 0.03, len=NARROW[2][1][1] - NARROW[2][1][0], y=sum(NARROW[2][1]) / 2,
               yanchor="middle")
    layout.update(height=920, margin={"l": 10, "r": 10, "t": 90, "b": 170}, font={"size": 12})
    layout["title"].update(font={"size": 13})
    layout["updatemenus"][0].update(y=-0.08)
    slider = layout["sliders"][0]
    slider.update(x=0.0, len=1.0, y=-0.125)
    for t, step in enumerate(slider["steps"], start=1):  # a label every 4 steps fits a phone
        step["label"] = str(t) if t % 4 == 1 or t == T else ""


def knows_figure(trace: dict) -> go.Figure:
    """When does it know? The read-out's probability at each step for the reference class (the
    true label, else the final answer) and for the class it would pick at that step, with a
    line at the first step from which the pick stays the reference class."""
    step_probs, target = trace["step_probs"], trace["target"]
    T = len(step_probs)
    steps = np.arange(1, T + 1)
    picks = step_probs.argmax(-1)
    ref_name = (_("P(true class {k})", k=target) if trace["label"] is not None
                else _("P(its final answer {k})", k=target))
    data = [
        {"type": "scatter", "x": steps, "y": step_probs[:, target], "mode": "lines+markers", "name": ref_name,
         "line": {"color": CLASS_COLORS[target % 10], "width": 3},
         "hovertemplate": _("step %{x}: %{y:.3f}<extra></extra>")},
        {"type": "scatter", "x": steps, "y": step_probs[np.arange(T), picks], "mode": "lines+markers+text",
         "name": _("P(class picked at step t)"), "text": [str(k) for k in picks], "textposition": "top center",
         "textfont": {"size": 10}, "line": {"color": "#555555", "dash": "dot"},
         "marker": {"color": [CLASS_COLORS[k % 10] for k in picks], "size": 7}, "customdata": picks,
         "hovertemplate": _("step %{x}: picks %{customdata} with %{y:.3f}<extra></extra>")},
    ]
    shapes, notes = [], []
    k = trace["knows_from"]
    if k is not None:
        shapes.append({"type": "line", "x0": k, "x1": k, "xref": "x", "yref": "paper", "y0": 0, "y1": 1,
                       "line": {"color": "black", "dash": "dash"}})
        notes.append({"x": k, "y": 1, "xref": "x", "yref": "paper", "text": _("right from step {k} on", k=k),
                      "showarrow": False, "xanchor": "right", "yanchor": "top"})
    return figure(data, {"height": 330, "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
                          "legend": {"orientation": "h", "y": 1.12, "x": 0}, "shapes": shapes, "annotations": notes,
                          "xaxis": {"title": {"text": _("step t (rows read)")}, "range": [0.5, T + 0.5]},
                          "yaxis": {"title": {"text": _("probability")}, "range": [0, 1.08], "tickformat": ".0%"}})


def drive_figure(trace: dict) -> go.Figure:
    """What drives s_t? Per step, the size of the input term against the recurrent term."""
    drive = trace["drive"]
    D, T = drive["input"].shape
    steps = np.arange(1, T + 1)
    # legend names by (term, direction): one direction, or the forward / backward one
    names = {("input", 1, 0): _("input: new row"), ("recurrent", 1, 0): _("recurrent: memory"),
             ("input", 2, 0): _("input: new row (forward)"), ("recurrent", 2, 0): _("recurrent: memory (forward)"),
             ("input", 2, 1): _("input: new row (backward)"), ("recurrent", 2, 1): _("recurrent: memory (backward)")}
    data = []
    for d in range(D):
        dash = "solid" if d == 0 else "dash"
        for key, color in (("input", "#ff7f0e"), ("recurrent", "#1f77b4")):
            data.append({"type": "scatter", "x": steps, "y": drive[key][d], "mode": "lines+markers",
                         "name": names[key, D, d], "line": {"color": color, "dash": dash},
                         "hovertemplate": _("step %{x}: %{y:.2f}<extra></extra>")})
    return figure(data, {"height": 330, "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
                          "legend": {"orientation": "h", "y": 1.12, "x": 0},
                          "xaxis": {"title": {"text": _("step t")}, "range": [0.5, T + 0.5]},
                          "yaxis": {"title": {"text": _("size (Euclidean norm)")}}})


def _trajectory_traces(pca: dict, selected: np.ndarray, color: str, axis: str = "", legend: bool = True) -> list[dict]:
    """Background paths by class (thin, faint), their end points s_T, and the selected path on top."""
    paths, labels = pca["paths"], pca["labels"]
    where = {"xaxis": f"x{axis}", "yaxis": f"y{axis}"}
    traces = []
    for c in range(10):
        mine = paths[labels == c]  # (n, T, 2)
        if not len(mine):
            continue
        # one trace per class: paths joined with NaN breaks (much faster to draw than one trace each)
        xy = np.concatenate([mine, np.full((len(mine), 1, 2), np.nan)], axis=1).reshape(-1, 2)
        traces.append({"type": "scatter", "x": xy[:, 0], "y": xy[:, 1], "mode": "lines", "legendgroup": str(c),
                       "showlegend": False, "line": {"color": CLASS_COLORS[c], "width": 1}, "opacity": 0.25,
                       "hoverinfo": "skip", **where})
        traces.append({"type": "scatter", "x": mine[:, -1, 0], "y": mine[:, -1, 1], "mode": "markers",
                       "legendgroup": str(c), "name": f"{c}", "showlegend": legend,
                       "marker": {"color": CLASS_COLORS[c], "size": 5},
                       "hovertemplate": _("{a_digit}: end of its path<extra></extra>", a_digit=a_digit(c)), **where})
    T = len(selected)
    traces.append({"type": "scatter", "x": selected[:, 0], "y": selected[:, 1], "mode": "lines+markers",
                   "name": _("this digit"), "showlegend": legend, "line": {"color": "black", "width": 3},
                   "marker": {"color": color, "size": 7, "line": {"color": "black", "width": 1}},
                   "customdata": np.arange(1, T + 1),
                   "hovertemplate": _("step %{customdata}<extra>this digit</extra>"),
                   **where})
    traces.append({"type": "scatter", "x": selected[[0, -1], 0], "y": selected[[0, -1], 1], "mode": "text",
                   "showlegend": False, "text": ["t=1", f"t={T}"], "textposition": "top right",
                   "textfont": {"size": 13}, "hoverinfo": "skip", **where})
    return traces


def trajectory_figure(pca: dict, selected: np.ndarray, name: str = "", cell: str | None = None) -> go.Figure:
    """The paths s_1..s_T of a few hundred sample digits on the sample's two main directions
    (principal components), coloured by class, with the selected digit's path on top."""
    ex = pca["pca"]["explained"]
    return figure(_trajectory_traces(pca, selected, cell_color(name, cell)), {
        "height": 460, "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "legend": {"title": {"text": _("end point s_T of a")}},
        "xaxis": {"title": {"text": _("component {k} ({share:.0%} of the variance)", k=1, share=ex[0])}},
        "yaxis": {"title": {"text": _("component {k} ({share:.0%} of the variance)", k=2, share=ex[1])}}})


def compare_trajectories_figure(models: list[tuple[str, str, dict, np.ndarray]], narrow: bool = False) -> go.Figure:
    """Side by side (narrow: one above the other), one panel per model: (name, cell, sample PCA,
    the digit's projected path)."""
    n = len(models)
    domains = _columns([1.0] * n, [0.06] * (n - 1))
    rows = [[1 - (i + 1) / n + 0.06, 1 - i / n] for i in range(n)] if narrow else [[0.0, 1.0]] * n
    data, layout = [], {"height": 380 * n if narrow else 440, "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
                        "legend": {"title": {"text": _("end point s_T of a digit of class")}}, "annotations": []}
    if narrow:
        layout["legend"].update(orientation="h", y=-0.02, yanchor="top")
    for i, ((name, cell, pca, selected), dom, ydom) in enumerate(zip(models, domains, rows), start=1):
        axis = "" if i == 1 else str(i)
        data += _trajectory_traces(pca, selected, cell_color(name, cell), axis, legend=i == 1)
        ex = pca["pca"]["explained"]
        layout[f"xaxis{axis}"] = {"domain": [0.0, 1.0] if narrow else dom, "anchor": f"y{axis}"}
        layout[f"yaxis{axis}"] = {"anchor": f"x{axis}", "domain": ydom}
        layout["annotations"].append({"text": _("{name}: components 1, 2 = {first:.0%}, {second:.0%} of the variance",
                                                name=name, first=ex[0], second=ex[1]),
                                      "x": 0.5 if narrow else sum(dom) / 2, "y": ydom[1], "xref": "paper",
                                      "yref": "paper", "xanchor": "center", "yanchor": "bottom", "showarrow": False,
                                      "font": {"size": 12 if narrow else 14}})
    return figure(data, layout)
