"""Figures of the Inside the cell page: one step of the cell drawn as its diagram, each term a block
of units on one colour scale, wires between the terms (colah's layout for the LSTM), and the
read-out before and after the step. Arrays in (`cellstep.at_step`), plain-dict figures out.

Every block lays its units out as the Hidden states page does (`explorer.unit_grid`: unit 1 top
left, row by row), so a unit sits at the same place in every block and on that page.
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.colors import get_colorscale

from rnn_demo.i18n import N_, _
from rnn_demo.plots import STATE_RANGE, STATE_SCALE, figure
from rnn_demo.plots.explorer import grid_units, unit_grid

SCALE = get_colorscale(STATE_SCALE)  # one scale for every block: tanh's range, [-1, 1]
GAP_X, GAP_Y = 9.0, 7.0  # space between blocks, in units' cells
OP_STYLE = {"bgcolor": "#fde0ef", "bordercolor": "#c51b7d"}     # pointwise operations (colah: pink)
LAYER_STYLE = {"bgcolor": "#fff2b3", "bordercolor": "#d95f0e"}  # learned layers σ, tanh (colah: yellow)

# Each term's symbol at step t (HTML for Plotly: {t} this step, {p} the step it starts from).
SYMBOLS = {
    "rnn": {"x": "x<sub>{t}</sub>", "s_prev": "s<sub>{p}</sub>", "Wx_x": "W<sub>x</sub> x<sub>{t}</sub>",
            "Wh_s": "W<sub>h</sub> s<sub>{p}</sub>", "b": "b", "pre": "a<sub>{t}</sub>", "s": "s<sub>{t}</sub>"},
    "lstm": {"x": "x<sub>{t}</sub>", "h_prev": "h<sub>{p}</sub>", "c_prev": "c<sub>{p}</sub>", "f": "f<sub>{t}</sub>",
             "i": "i<sub>{t}</sub>", "g": "g<sub>{t}</sub>", "o": "o<sub>{t}</sub>",
             "f_c": "f<sub>{t}</sub> ⊙ c<sub>{p}</sub>", "i_g": "i<sub>{t}</sub> ⊙ g<sub>{t}</sub>",
             "c": "c<sub>{t}</sub>", "tanh_c": "tanh(c<sub>{t}</sub>)", "h": "h<sub>{t}</sub>"},
    "gru": {"x": "x<sub>{t}</sub>", "h_prev": "h<sub>{p}</sub>", "r": "r<sub>{t}</sub>", "z": "z<sub>{t}</sub>",
            "n": "n<sub>{t}</sub>", "z_h": "z<sub>{t}</sub> ⊙ h<sub>{p}</sub>",
            "zn": "(1 − z<sub>{t}</sub>) ⊙ n<sub>{t}</sub>", "h": "h<sub>{t}</sub>"},
}
# Each term in words (English, marked for the catalog), shown in its hover above the formula.
NAMES = {"x": N_("the input"), "s_prev": N_("the state it starts from"), "h_prev": N_("the state it starts from"),
         "c_prev": N_("the cell state it starts from"), "Wx_x": N_("input term"), "Wh_s": N_("recurrent term"),
         "b": N_("bias"), "pre": N_("the sum, before tanh"), "s": N_("the new state"), "h": N_("the new state"),
         "f": N_("forget gate: how much of c is kept"), "i": N_("input gate: how much of g is written"),
         "g": N_("candidate: what may be written"), "o": N_("output gate: how much of tanh(c) is shown"),
         "f_c": N_("kept memory"), "i_g": N_("written memory"), "c": N_("the new cell state"),
         "tanh_c": N_("the cell state squashed"), "r": N_("reset gate: how much of h feeds n"),
         "z": N_("update gate: how much of h is kept"), "n": N_("candidate state"), "z_h": N_("the part kept"),
         "zn": N_("the new part")}
# How each term is made (plain text for the hover; {t}, {p} as above); only the input's is words.
FORMULAS = {
    "rnn": {"x": N_("row {t} of the digit"), "s_prev": "s_{p}", "Wx_x": "W_x x_{t}", "Wh_s": "W_h s_{p}",
            "b": "b", "pre": "a_{t} = W_x x_{t} + W_h s_{p} + b", "s": "s_{t} = {act}(a_{t})"},
    "lstm": {"x": N_("row {t} of the digit"), "h_prev": "h_{p}", "c_prev": "c_{p}",
             "f": "f_{t} = σ(W_f [h_{p}, x_{t}] + b_f)", "i": "i_{t} = σ(W_i [h_{p}, x_{t}] + b_i)",
             "g": "g_{t} = tanh(W_g [h_{p}, x_{t}] + b_g)", "o": "o_{t} = σ(W_o [h_{p}, x_{t}] + b_o)",
             "f_c": "f_{t} ⊙ c_{p}", "i_g": "i_{t} ⊙ g_{t}", "c": "c_{t} = f_{t} ⊙ c_{p} + i_{t} ⊙ g_{t}",
             "tanh_c": "tanh(c_{t})", "h": "h_{t} = o_{t} ⊙ tanh(c_{t})"},
    "gru": {"x": N_("row {t} of the digit"), "h_prev": "h_{p}", "r": "r_{t} = σ(W_r [h_{p}, x_{t}] + b_r)",
            "z": "z_{t} = σ(W_z [h_{p}, x_{t}] + b_z)",
            "n": "n_{t} = tanh(W_in x_{t} + b_in + r_{t} ⊙ (W_hn h_{p} + b_hn))", "z_h": "z_{t} ⊙ h_{p}",
            "zn": "(1 − z_{t}) ⊙ n_{t}", "h": "h_{t} = (1 − z_{t}) ⊙ n_{t} + z_{t} ⊙ h_{p}"},
}
# The diagrams: term -> (column, row) slot; wires (from, to, label, style); "bus": the terms fed
# [h_(t-1), x_t] through a junction below them, with each one's layer (σ or tanh).
LAYOUTS = {
    "rnn": {"slots": {"s_prev": (0, 0), "x": (0, 2), "Wh_s": (1, 0), "b": (1, 1), "Wx_x": (1, 2), "pre": (2, 1),
                      "s": (3, 1)},
            "wires": [("s_prev", "Wh_s", "W<sub>h</sub> ·", LAYER_STYLE), ("x", "Wx_x", "W<sub>x</sub> ·", LAYER_STYLE),
                      ("Wh_s", "pre", "+", OP_STYLE), ("b", "pre", None, None), ("Wx_x", "pre", None, None),
                      ("pre", "s", "{act}", OP_STYLE)],
            "bus": {}},
    "lstm": {"slots": {"c_prev": (0, 0), "f_c": (2, 0), "c": (4, 0), "i_g": (3, 1), "tanh_c": (5, 1),
                       "f": (1, 2), "i": (2, 2), "g": (3, 2), "o": (4, 2), "h_prev": (0, 3), "h": (5, 3),
                       "x": (0, 4)},
             "wires": [("c_prev", "f_c", "×", OP_STYLE), ("f", "f_c", None, None), ("i", "i_g", None, None),
                       ("g", "i_g", "×", OP_STYLE), ("f_c", "c", "+", OP_STYLE), ("i_g", "c", None, None),
                       ("c", "tanh_c", "tanh", OP_STYLE), ("tanh_c", "h", "×", OP_STYLE), ("o", "h", None, None)],
             "bus": {"f": "σ", "i": "σ", "g": "tanh", "o": "σ"}},
    "gru": {"slots": {"h_prev": (0, 0), "z_h": (2, 0), "h": (4, 0), "zn": (3, 1), "r": (1, 2), "n": (2, 2),
                      "z": (3, 2), "x": (0, 3)},
            "wires": [("h_prev", "z_h", "×", OP_STYLE), ("z", "z_h", None, None), ("z", "zn", "1 − z", OP_STYLE),
                      ("n", "zn", "×", OP_STYLE), ("z_h", "h", "+", OP_STYLE), ("zn", "h", None, None),
                      ("r", "n", "r ⊙ W<sub>hn</sub>h", OP_STYLE)],
            "bus": {"r": "σ", "z": "σ", "n": "tanh"}},
}


def _block(values: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A term's values as a grid, and the unit (or pixel) number of each cell. A row of the digit
    (the first layer's input) stays a row; everything else is a near-square block of units."""
    values = np.asarray(values, dtype=np.float32)
    if name == "x" and values.size <= 28:
        return values[None, :], np.arange(1, values.size + 1, dtype=np.float32)[None, :]
    return unit_grid(values, values.size, 1), grid_units(values.size, 1)


def _edge(box: tuple[float, float, float, float], toward: tuple[float, float]) -> tuple[float, float]:
    """Where the line from a box's centre toward a point leaves the box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    dx, dy = toward[0] - cx, toward[1] - cy
    if dx == dy == 0:
        return cx, cy
    s = min((x1 - cx) / abs(dx) if dx else math.inf, (y1 - cy) / abs(dy) if dy else math.inf)
    return cx + s * dx, cy + s * dy


def _centre(box):
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _arrow(tail, head, head_on=True) -> dict:
    return {"x": head[0], "y": head[1], "ax": tail[0], "ay": tail[1], "xref": "x", "yref": "y", "axref": "x",
            "ayref": "y", "text": "", "showarrow": True, "arrowhead": 2 if head_on else 0, "arrowsize": 1.2,
            "arrowwidth": 1.6, "arrowcolor": "#555", "standoff": 1 if head_on else 0}


def _label(at, text, style) -> dict:
    return {"x": at[0], "y": at[1], "xref": "x", "yref": "y", "text": text, "showarrow": False,
            "font": {"size": 13}, "borderpad": 3, "borderwidth": 1, **style}


def cell_figure(step: dict, direction: int = 0, narrow: bool = False, height: int | None = None) -> go.Figure:
    """One step of one direction as the cell's diagram: a block of units per term (hover: the
    formula, the unit and its value), wires from the terms each is made of, operations on them.
    narrow (a phone): the blocks two abreast in the order they are computed, no wires."""
    cell, t = step["cell"], step["t"]
    p = t + 1 if direction == 1 else t - 1  # a backward direction comes from row t + 1
    act = "ReLU" if step["nonlinearity"] == "relu" else "tanh"
    fill = {"t": t, "p": p, "act": act}
    names = list(step["terms"])
    grids = {n: _block(step["terms"][n][direction], n) for n in names}
    rows, cols = grids[names[-1]][0].shape  # every state-sized block has this shape
    layout = LAYOUTS[cell]
    if narrow:
        slots = {n: (k % 2, k // 2) for k, n in enumerate(names)}
    else:
        slots = layout["slots"]
    boxes, data, notes, frames = {}, [], [], []
    for n in names:
        z, units = grids[n]
        c, r = slots[n]
        x0, y0 = c * (cols + GAP_X), r * (rows + GAP_Y)
        dx = cols / z.shape[1]  # a row of pixels spans a block's width
        dy = dx if z.shape[0] > 1 else 1.6  # and stays tall enough to see and to point at
        height_n = z.shape[0] * dy
        y0 += (rows - height_n) / 2  # a thin row sits level with its neighbours' middle
        boxes[n] = (x0, y0, x0 + cols, y0 + height_n)
        formula = _(FORMULAS[cell][n]).format(**fill)
        what = _("pixel") if n == "x" and z.shape[0] == 1 else _("unit")
        data.append({"type": "heatmap", "z": z, "customdata": units, "x0": x0 + dx / 2, "dx": dx,
                     "y0": y0 + dy / 2, "dy": dy, "coloraxis": "coloraxis", "xgap": 0.5, "ygap": 0.5,
                     "hovertemplate": f"<b>{formula}</b><br>{_(NAMES[n])}<br>{what} %{{customdata:.0f}}: %{{z:.4f}}"
                                      "<extra></extra>"})
        frames.append({"type": "rect", "xref": "x", "yref": "y", "x0": x0 - 0.15, "y0": y0 - 0.15,
                       "x1": x0 + cols + 0.15, "y1": y0 + height_n + 0.15, "line": {"color": "#bbbbbb", "width": 1},
                       "layer": "below"})  # white cells (zeros) still show where the block is
        norm = float(step["norms"][n][direction])
        notes.append({"x": x0 + cols / 2, "y": y0 - 0.6, "xref": "x", "yref": "y", "yanchor": "bottom",
                      "showarrow": False, "font": {"size": 12},
                      "text": SYMBOLS[cell][n].format(**fill) + f"  <span style='color:#777'>‖·‖ {norm:.2f}</span>"})
    if not narrow:
        for a, b, text, style in layout["wires"]:
            tail, head = _edge(boxes[a], _centre(boxes[b])), _edge(boxes[b], _centre(boxes[a]))
            notes.append(_arrow(tail, head))
            if text:
                mid = (0.45 * tail[0] + 0.55 * head[0], 0.45 * tail[1] + 0.55 * head[1])
                notes.append(_label(mid, text.format(**fill), style))
        if layout["bus"]:  # [h_(t-1), x_t] joined, then fed to every gate through its own layer
            prev = "h_prev"
            fed = list(layout["bus"])
            jy = max(boxes[g][3] for g in fed) + GAP_Y * 0.55
            jx = boxes[prev][2] + GAP_X * 0.5
            for src in (prev, "x"):
                notes.append(_arrow((boxes[src][2], _centre(boxes[src])[1]), (jx, jy), head_on=False))
            for g in fed:
                head = (_centre(boxes[g])[0], boxes[g][3])
                notes.append(_arrow((jx, jy), head))
                notes.append(_label((head[0], head[1] + GAP_Y * 0.35), layout["bus"][g], LAYER_STYLE))
    x_max = max(b[2] for b in boxes.values())
    y_max = max(b[3] for b in boxes.values())
    slot_rows = 1 + max(r for _c, r in slots.values())
    if height is None:  # the cells need not be square: the diagram fills the width it is given
        height = 40 + slot_rows * (165 if narrow else 135)
    return figure(data, {
        "height": height, "margin": {"l": 4, "r": 4, "t": 8, "b": 4}, "plot_bgcolor": "white", "annotations": notes,
        "shapes": frames, "coloraxis": {"colorscale": SCALE, "cmin": STATE_RANGE[0], "cmax": STATE_RANGE[1],
                      "colorbar": {"thickness": 12, "len": 0.6, "title": {"text": _("value")},
                                   **({"orientation": "h", "y": -0.01, "yanchor": "top", "len": 0.9}
                                      if narrow else {})}},
        "xaxis": {"visible": False, "range": [-1, x_max + 1], "fixedrange": True},
        "yaxis": {"visible": False, "range": [y_max + GAP_Y * 0.9, -GAP_Y * 0.75], "fixedrange": True}})


def readout_figure(before: np.ndarray, after: np.ndarray, t: int, height: int = 300) -> go.Figure:
    """The read-out's probability of each digit before step t and after it."""
    bars = [{"type": "bar", "x": list(range(10)), "y": np.asarray(p, dtype=float), "name": name,
             "marker": {"color": color},
             "hovertemplate": _("{when}: digit %{{x}} with probability %{{y:.1%}}<extra></extra>", when=name)}
            for p, name, color in ((before, _("before step {t}", t=t), "#bbbbbb"),
                                   (after, _("after step {t}", t=t), "#1f77b4"))]
    return figure(bars, {
        "height": height, "barmode": "group", "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "xaxis": {"title": {"text": _("digit")}, "tickvals": list(range(10))},
        "yaxis": {"title": {"text": _("probability")}, "range": [0, 1], "tickformat": ".0%"},
        "legend": {"orientation": "h", "y": 1.02, "x": 0, "xanchor": "left", "yanchor": "bottom"}})


def _u(symbol: str, norm: float) -> str:
    return r"\underbrace{%s}_{%.2f}" % (symbol, norm)


def equations(step: dict, direction: int = 0) -> str:
    """The cell's equations at this step as LaTeX (KaTeX), each term's size ‖·‖ written under it."""
    t = step["t"]
    p = t + 1 if direction == 1 else t - 1
    n = {k: float(v[direction]) for k, v in step["norms"].items()}
    if step["cell"] == "rnn":
        act = r"\mathrm{ReLU}" if step["nonlinearity"] == "relu" else r"\tanh"
        return (_u(f"s_{{{t}}}", n["s"]) + rf" = {act}\Big(" + _u(f"W_x\\,x_{{{t}}}", n["Wx_x"]) + " + "
                + _u(f"W_h\\,s_{{{p}}}", n["Wh_s"]) + " + " + _u("b", n["b"]) + r"\Big)")
    if step["cell"] == "lstm":
        gates = r" \\ ".join(_u(f"{g}_{{{t}}}", n[g]) + rf" &= {fn}(W_{g}\,[h_{{{p}}}, x_{{{t}}}] + b_{g})"
                             for g, fn in (("f", r"\sigma"), ("i", r"\sigma"), ("g", r"\tanh"), ("o", r"\sigma")))
        return (r"\begin{aligned}" + gates + r" \\ " + _u(f"c_{{{t}}}", n["c"]) + " &= "
                + _u(f"f_{{{t}}} \\odot c_{{{p}}}", n["f_c"]) + " + " + _u(f"i_{{{t}}} \\odot g_{{{t}}}", n["i_g"])
                + r" \\ " + _u(f"h_{{{t}}}", n["h"]) + " &= " + _u(f"o_{{{t}}}", n["o"]) + r" \odot "
                + _u(f"\\tanh(c_{{{t}}})", n["tanh_c"]) + r"\end{aligned}")
    return (r"\begin{aligned}" + _u(f"r_{{{t}}}", n["r"]) + rf" &= \sigma(W_r\,[h_{{{p}}}, x_{{{t}}}] + b_r) \\ "
            + _u(f"z_{{{t}}}", n["z"]) + rf" &= \sigma(W_z\,[h_{{{p}}}, x_{{{t}}}] + b_z) \\ "
            + _u(f"n_{{{t}}}", n["n"]) + rf" &= \tanh\big(W_{{in}}\,x_{{{t}}} + b_{{in}} \\ &\qquad + r_{{{t}}} \odot (W_{{hn}}\,h_{{{p}}}"
            + r" + b_{hn})\big) \\ " + _u(f"h_{{{t}}}", n["h"]) + " &= "
            + _u(f"(1 - z_{{{t}}}) \\odot n_{{{t}}}", n["zn"]) + " + " + _u(f"z_{{{t}}} \\odot h_{{{p}}}", n["z_h"])
            + r"\end{aligned}")


def digit_figure(digit, t: int, height: int = 260) -> go.Figure:
    """The digit with row t outlined: the row x_t this step reads (rows already read stay bright)."""
    from rnn_demo.plots.drawing import MARGIN, ROW_TICKS, _digit_trace
    veil = {"type": "scatter", "x": [0.5, 28.5, 28.5, 0.5, 0.5], "y": [t + 0.5, t + 0.5, 28.5, 28.5, t + 0.5],
            "fill": "toself", "fillcolor": "rgba(255,255,255,0.6)", "line": {"width": 0}, "hoverinfo": "skip",
            "showlegend": False, "mode": "lines"}
    row = {"type": "scatter", "x": [0.5, 28.5, 28.5, 0.5, 0.5], "y": [t - 0.5, t - 0.5, t + 0.5, t + 0.5, t - 0.5],
           "mode": "lines", "line": {"color": "#ff7f0e", "width": 3}, "hoverinfo": "skip", "showlegend": False}
    return figure([_digit_trace(digit), veil, row], {
        "height": height, "margin": MARGIN, "title": {"text": _("Row {t} is the input x<sub>{t}</sub>", t=t)},
        "yaxis": {"autorange": "reversed", "scaleanchor": "x", "constrain": "domain", "tickvals": ROW_TICKS,
                  "range": [28.5, 0.5]},
        "xaxis": {"constrain": "domain", "tickvals": ROW_TICKS, "range": [0.5, 28.5]}})
