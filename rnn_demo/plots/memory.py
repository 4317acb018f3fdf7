"""Figures for the Memory page: test accuracy against the gap (mean over seeds, a band from the
lowest to the highest seed), and a model's state through the gap (the read-out's probability of
the true class, a linear probe's accuracy and ||dL/ds_t|| at every step).

Plain dicts through `plots.figure`; arrays in, no streamlit, no torch.
"""
from __future__ import annotations

import numpy as np

from rnn_demo.i18n import _, ngettext
from rnn_demo.plots import CELL_COLORS, LOG_AXIS, figure, rgba

CHANCE = 0.1
GAP_FILL = "rgba(120,120,120,0.10)"
# One colour per cell (as every page), a dash per forget-gate initialisation.
STYLE = {"rnn": (CELL_COLORS["rnn"], "solid"), "lstm": (CELL_COLORS["lstm"], "dot"),
         "lstm-chrono": (CELL_COLORS["lstm"], "solid"), "lstm-bias3": (CELL_COLORS["lstm"], "dash"),
         "gru": (CELL_COLORS["gru"], "dot"), "gru-chrono": (CELL_COLORS["gru"], "solid")}


def style(variant: str, cell: str = "") -> tuple[str, str]:
    return STYLE.get(variant) or (CELL_COLORS.get(cell, "#333333"), "solid")


def _legend(height: int) -> dict:
    """Below the x axis's title (on a phone the legend wraps to several rows and grows downwards)."""
    return {"orientation": "h", "y": -0.34 if height < 400 else -0.26, "x": 0, "yanchor": "top"}


def accuracy_vs_gap(summary: dict, labels: dict, extra: list[dict] | None = None, budget: str = "",
                    height: int = 460) -> dict:
    """summary: variant -> {"gaps", "mean", "min", "max", "seeds"} (memory.summary); labels:
    variant -> legend text; extra: points trained on the page, dicts with "gap", "acc", "name",
    "variant". The band spans the seeds' lowest to highest accuracy."""
    data = []
    for variant, s in summary.items():
        color, dash = style(variant)
        gaps = list(s["gaps"])
        name = labels.get(variant, variant)
        if max(s["seeds"]) > 1:
            data.append({"type": "scatter", "x": gaps + gaps[::-1], "y": list(s["max"]) + list(s["min"])[::-1],
                         "fill": "toself", "fillcolor": rgba(color, 0.12), "line": {"width": 0},
                         "mode": "lines", "hoverinfo": "skip", "showlegend": False, "legendgroup": variant,
                         "name": _("{name}: seeds' range", name=name)})
        data.append({"type": "scatter", "x": gaps, "y": list(s["mean"]), "mode": "lines+markers", "name": name,
                     "legendgroup": variant, "line": {"color": color, "dash": dash, "width": 2.5},
                     "marker": {"size": 7},
                     "customdata": [[n, lo, hi] for n, lo, hi in zip(s["seeds"], s["min"], s["max"])],
                     "hovertemplate": _("{name}<br>gap %{{x}}: %{{y:.1%}} (mean of %{{customdata[0]}} seeds, "
                                        "%{{customdata[1]:.1%}} to %{{customdata[2]:.1%}})<extra></extra>", name=name)})
    for p in extra or []:
        color, _dash = style(p.get("variant", ""), p.get("cell", ""))
        data.append({"type": "scatter", "x": [p["gap"]], "y": [p["acc"]], "mode": "markers", "name": p["name"],
                     "marker": {"symbol": "star", "size": 15, "color": color, "line": {"color": "#222", "width": 1}},
                     "hovertemplate": _("{name}<br>gap %{{x}}: %{{y:.1%}}<extra></extra>", name=p["name"])})
    gaps_all = sorted({g for s in summary.values() for g in s["gaps"]} | {p["gap"] for p in extra or []}) or [0]
    layout = {"height": height, "margin": {"l": 60, "r": 20, "t": 40, "b": 60},
              "title": {"text": budget} if budget else None,
              # evenly spaced gaps (each about twice the last): a linear axis would crowd 0, 10 and 25 together
              "xaxis": {"title": {"text": _("gap: blank rows after the digit")}, "type": "category",
                        "categoryorder": "array", "categoryarray": gaps_all},
              "yaxis": {"title": {"text": _("test accuracy")}, "range": [0, 1.02], "tickformat": ".0%"},
              "legend": _legend(height), "hovermode": "closest",
              "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": CHANCE, "y1": CHANCE,
                          "line": {"color": "#888", "dash": "dash", "width": 1}}],
              "annotations": [{"xref": "paper", "x": 0, "y": CHANCE, "yanchor": "bottom", "xanchor": "left",
                               "text": _("chance (10%)"), "showarrow": False, "font": {"color": "#666", "size": 11}}]}
    return figure(data, layout)


def _gap_shapes(gap: int, log: bool = False) -> tuple[list, list]:
    """The gap's steps shaded, with a label: where the digit has ended and only blank rows come."""
    if gap <= 0:
        return [], []
    shape = {"type": "rect", "xref": "x", "yref": "paper", "x0": 28.5, "x1": 28 + gap + 0.5, "y0": 0, "y1": 1,
             "fillcolor": GAP_FILL, "line": {"width": 0}, "layer": "below"}
    note = {"xref": "x", "yref": "paper", "x": 28.5, "y": 1, "xanchor": "left", "yanchor": "bottom",
            "text": ngettext("the gap: {n} blank row", "the gap: {n} blank rows", gap), "showarrow": False,
            "font": {"size": 11, "color": "#555"}}
    return [shape], [note]


def through_gap(lines: list[dict], gap: int, y_title: str, title: str = "", height: int = 340,
                percent: bool = True, chance: bool = True) -> dict:
    """One line per model against the step t (1..28 + gap): lines are dicts with "name",
    "variant", "cell" and "y" (T,)."""
    data = []
    for ln in lines:
        color, dash = style(ln.get("variant", ""), ln.get("cell", ""))
        y = np.asarray(ln["y"], float)
        data.append({"type": "scatter", "x": np.arange(1, y.size + 1), "y": y, "mode": "lines", "name": ln["name"],
                     "line": {"color": color, "dash": dash, "width": 2.2},
                     "hovertemplate": _("{name}<br>step %{{x}}: %{{y:.1%}}<extra></extra>", name=ln["name"]) if percent
                     else _("{name}<br>step %{{x}}: %{{y:.3g}}<extra></extra>", name=ln["name"])})
    shapes, notes = _gap_shapes(gap)
    if chance:
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": CHANCE, "y1": CHANCE,
                       "line": {"color": "#888", "dash": "dash", "width": 1}})
    layout = {"height": height, "margin": {"l": 60, "r": 20, "t": 60 if title else 30, "b": 50},
              "title": {"text": title} if title else None, "shapes": shapes, "annotations": notes,
              "xaxis": {"title": {"text": _("step t (rows 1-28: the digit; then the gap)")},
                        "range": [0.5, 28 + gap + 0.5]},
              "yaxis": {"title": {"text": y_title}, "range": [0, 1.02], "tickformat": ".0%"} if percent
              else {"title": {"text": y_title}},
              "legend": _legend(height), "hovermode": "x unified"}
    return figure(data, layout)


def gradient_through_gap(lines: list[dict], gap: int, title: str = "", height: int = 360) -> dict:
    """||dL/ds_t|| / ||dL/ds_T|| (median over the digits, inter-quartile band), log y, per model:
    lines are dicts with "name", "variant", "cell", "median", "q1", "q3" (T,) and optionally
    "dash" (the LSTM's cell state c_t, dotted)."""
    def clean(a):
        a = np.asarray(a, float)
        return np.where(np.isfinite(a) & (a > 0), a, np.nan)

    data = []
    for ln in lines:
        color, dash = style(ln.get("variant", ""), ln.get("cell", ""))
        dash = ln.get("dash", dash)
        t = np.arange(1, len(ln["median"]) + 1)
        data.append({"type": "scatter", "x": t, "y": clean(ln["q3"]), "mode": "lines", "line": {"width": 0},
                     "hoverinfo": "skip", "showlegend": False, "legendgroup": ln["name"]})
        data.append({"type": "scatter", "x": t, "y": clean(ln["q1"]), "mode": "lines", "line": {"width": 0},
                     "fill": "tonexty", "fillcolor": rgba(color, 0.12), "hoverinfo": "skip", "showlegend": False,
                     "legendgroup": ln["name"]})
        data.append({"type": "scatter", "x": t, "y": clean(ln["median"]), "mode": "lines", "name": ln["name"],
                     "legendgroup": ln["name"], "line": {"color": color, "dash": dash, "width": 2.2},
                     "hovertemplate": _("{name}<br>step %{{x}}: %{{y:.3g}}<extra></extra>", name=ln["name"])})
    shapes, notes = _gap_shapes(gap)
    layout = {"height": height, "margin": {"l": 60, "r": 20, "t": 60 if title else 30, "b": 50},
              "title": {"text": title} if title else None, "shapes": shapes, "annotations": notes,
              "xaxis": {"title": {"text": _("step t")}, "range": [0.5, 28 + gap + 0.5]},
              "yaxis": {**LOG_AXIS, "title": {"text": "‖dL/ds_t‖ / ‖dL/ds_T‖"}},
              "legend": _legend(height), "hovermode": "x unified"}
    return figure(data, layout)


def keep_figure(lines: list[dict], gap: int, height: int = 340) -> dict:
    """Each gated model's units sorted by how much of their memory they keep per step in the gap
    (lines: "name", "variant", "keep" (H,)); the right axis reads it as what is left after the
    whole gap, keep^gap. The forget bias 1 of the standard initialisation starts every unit at 0.73."""
    data = []
    for ln in lines:
        color, dash = style(ln.get("variant", ""), ln.get("cell", ""))
        k = np.asarray(ln["keep"], float)
        data.append({"type": "scatter", "x": np.arange(1, k.size + 1), "y": k, "mode": "lines", "name": ln["name"],
                     "line": {"color": color, "dash": dash, "width": 2.2}, "customdata": k ** gap,
                     "hovertemplate": _("{name}<br>unit #%{{x}}: keeps %{{y:.3f}} per step, %{{customdata:.2g}} after "
                                        "{gap} steps<extra></extra>", name=ln["name"], gap=gap)})
    shapes = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0.731, "y1": 0.731,
               "line": {"color": "#888", "dash": "dash", "width": 1}}]
    notes = [{"xref": "paper", "x": 1, "y": 0.731, "xanchor": "right", "yanchor": "bottom", "showarrow": False,
              "text": _("sigmoid(1) = 0.73: forget bias 1 before training"), "font": {"size": 11, "color": "#666"}}]
    layout = {"height": height, "margin": {"l": 60, "r": 20, "t": 30, "b": 50}, "shapes": shapes, "annotations": notes,
              "xaxis": {"title": {"text": _("units, from the one that keeps most")}},
              "yaxis": {"title": {"text": _("kept per step in the gap")}, "range": [0, 1.02]},
              "legend": _legend(height), "hovermode": "x unified"}
    return figure(data, layout)


def learning_figure(curves: dict, labels: dict, gap: int, height: int = 320) -> dict:
    """Test accuracy at each evaluation during training, per variant at one gap (mean over seeds,
    the seeds' range as a band): does a curve still rise at the end of the budget?"""
    data = []
    for variant, c in curves.items():
        color, dash = style(variant)
        name = labels.get(variant, variant)
        if c["seeds"] > 1:
            data.append({"type": "scatter", "x": c["steps"] + c["steps"][::-1], "y": c["max"] + c["min"][::-1],
                         "fill": "toself", "fillcolor": rgba(color, 0.12), "line": {"width": 0}, "mode": "lines",
                         "hoverinfo": "skip", "showlegend": False, "legendgroup": variant,
                         "name": _("{name}: seeds' range", name=name)})
        data.append({"type": "scatter", "x": c["steps"], "y": c["mean"], "mode": "lines+markers", "name": name,
                     "legendgroup": variant, "line": {"color": color, "dash": dash, "width": 2.2},
                     "hovertemplate": _("{name}<br>step %{{x}}: %{{y:.1%}}<extra></extra>", name=name)})
    layout = {"height": height, "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
              "title": {"text": _("During training, gap {gap}", gap=gap)},
              "xaxis": {"title": {"text": _("training step")}},
              "yaxis": {"title": {"text": _("test accuracy")}, "range": [0, 1.02], "tickformat": ".0%"},
              "legend": _legend(height), "hovermode": "x unified"}
    return figure(data, layout)
