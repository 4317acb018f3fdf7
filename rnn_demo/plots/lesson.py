"""Figures of the Lesson page that no other page has: the post's training log beside the shipped
run of its recipe, the graph of the post's network, and the two test figures side by side.
Plain dicts through plots.figure; no streamlit, no torch."""
from __future__ import annotations

import numpy as np

from rnn_demo.i18n import _
from rnn_demo.plots import figure
from rnn_demo.plots.training import smooth

POST_COLOR, RUN_COLOR, RUN_FAINT = "#d62728", "#1f77b4", "#c6dbef"


def post_log_figure(history: dict, post_log, height: int = 380) -> dict:
    """Two panels (loss, minibatch accuracy) over the 10,000 iterations: the shipped run's every
    minibatch (faint) and its running mean over 100 steps, and the post's logged points."""
    loss, acc = np.asarray(history["loss"], float), np.asarray(history["batch_acc"], float)
    it = np.arange(loss.size)  # iteration i: the batch of step i + 1, as the post counts
    step = max(1, loss.size // 1000)  # every minibatch is drawn faint; 1,000 points are enough
    post_it = [p[0] for p in post_log]
    data = []
    for axis, values, post_values in (("", loss, [p[1] for p in post_log]), ("2", acc, [p[2] for p in post_log])):
        first = axis == ""
        data += [
            {"type": "scatter", "x": it[::step], "y": values[::step], "mode": "lines", "xaxis": "x" + axis,
             "yaxis": "y" + axis, "line": {"color": RUN_FAINT, "width": 1}, "name": _("this run: each minibatch"),
             "legendgroup": "batch", "showlegend": first, "hoverinfo": "skip"},
            {"type": "scatter", "x": it[::step], "y": smooth(values, 100)[::step], "mode": "lines",
             "xaxis": "x" + axis, "yaxis": "y" + axis, "line": {"color": RUN_COLOR, "width": 2.5},
             "name": _("this run: mean of 100 minibatches"), "legendgroup": "mean", "showlegend": first},
            {"type": "scatter", "x": post_it, "y": post_values, "mode": "markers", "xaxis": "x" + axis,
             "yaxis": "y" + axis, "marker": {"color": POST_COLOR, "size": 11, "symbol": "diamond",
                                             "line": {"color": "#fff", "width": 1}},
             "name": _("the post's log"), "legendgroup": "post", "showlegend": first,
             "hovertemplate": _("the post, iteration %{x:,}: %{y:.3g}<extra></extra>")},
        ]
    span = [0, max(loss.size, 1)]
    layout = {"height": height, "margin": {"l": 60, "r": 20, "t": 30, "b": 50}, "hovermode": "closest",
              "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0},
              "xaxis": {"domain": [0, 0.46], "range": span, "title": {"text": _("iteration")}},
              "yaxis": {"rangemode": "tozero", "title": {"text": _("loss (cross-entropy)")}},
              "xaxis2": {"domain": [0.56, 1], "range": span, "title": {"text": _("iteration")}, "anchor": "y2"},
              "yaxis2": {"range": [0, 1.02], "tickformat": ".0%", "title": {"text": _("minibatch accuracy")},
                         "anchor": "x2"}}
    return figure(data, layout)


def results_figure(bars: list[dict], height: int = 300) -> dict:
    """Accuracy bars with their 95% intervals: dicts with "name", "acc", "low", "high", "color"."""
    data = [{"type": "bar", "orientation": "h", "y": [b["name"] for b in bars], "x": [b["acc"] for b in bars],
             "marker": {"color": [b["color"] for b in bars]},
             "error_x": {"type": "data", "symmetric": False, "array": [b["high"] - b["acc"] for b in bars],
                         "arrayminus": [b["acc"] - b["low"] for b in bars], "color": "#333", "thickness": 2},
             "text": [f"{b['acc']:.2%}" for b in bars], "textposition": "inside", "insidetextanchor": "start",
             "textfont": {"color": "#fff"}, "hovertemplate": "%{y}: %{x:.2%}<extra></extra>"}]
    lo = min(0.9, min(b["low"] for b in bars) - 0.01)
    layout = {"height": height, "margin": {"l": 20, "r": 20, "t": 10, "b": 50}, "showlegend": False,
              "xaxis": {"range": [lo, 1.0], "tickformat": ".0%", "title": {"text": _("test accuracy (95% interval)")}},
              "yaxis": {"automargin": True, "autorange": "reversed"}}
    return figure(data, layout)


def graph_figure(hidden: int, rows: int, pixels: int, classes: int, batch: int, height: int = 460) -> dict:
    """The post's network as the graph TensorBoard draws it, top to bottom: the input batch,
    transposed to time-major, scanned by rnn_step, a linear layer on every state, the last read
    out. Each box names the operation and the shape of what it gives (the shipped run's settings)."""
    nodes = [("_inputs", f"[{batch}, {rows}, {pixels}]"), ("transpose", f"[{rows}, {batch}, {pixels}]"),
             ("scan(rnn_step)", f"[{rows}, {batch}, {hidden}]"), ("map_fn(linear)", f"[{rows}, {batch}, {classes}]"),
             ("all_outputs[-1]", f"[{batch}, {classes}]"), ("softmax, loss", "")]
    ys = np.linspace(0.93, 0.07, len(nodes))
    half = 0.3 / len(nodes)
    shapes, annotations = [], []
    for i, ((name, shape), y) in enumerate(zip(nodes, ys)):
        shapes.append({"type": "rect", "xref": "paper", "yref": "paper", "x0": 0.02, "x1": 0.98,
                       "y0": y - half, "y1": y + half, "line": {"color": "#1f77b4", "width": 2},
                       "fillcolor": "#fde0dd" if name.startswith("scan") else "#eef5fb"})
        annotations.append({"xref": "paper", "yref": "paper", "x": 0.5, "y": y, "showarrow": False,
                            "text": f"<b>{name}</b>  {shape}".strip(), "font": {"family": "monospace"}})
        if i:
            annotations.append({"xref": "paper", "yref": "paper", "axref": "paper", "ayref": "paper",
                                "x": 0.5, "y": y + half, "ax": 0.5, "ay": ys[i - 1] - half, "text": "",
                                "showarrow": True, "arrowhead": 2, "arrowwidth": 2, "arrowcolor": "#555"})
    layout = {"height": height, "margin": {"l": 4, "r": 4, "t": 4, "b": 4}, "shapes": shapes,
              "annotations": annotations, "xaxis": {"visible": False, "range": [0, 1], "fixedrange": True},
              "yaxis": {"visible": False, "range": [0, 1], "fixedrange": True}, "showlegend": False}
    return figure([], layout)
