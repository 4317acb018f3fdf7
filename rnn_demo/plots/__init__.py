"""Plotly figure builders: arrays in, figures out; no streamlit, no torch.

One module per page's pictures (`explorer`, `gradients`, `drawing`, `training`); the visual
constants every figure shares live here, in one place.
"""
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from rnn_demo import palette
from rnn_demo.i18n import _

# One colour per architecture, the same on every page, apart under any colour vision (palette).
CELL_COLORS = palette.MODEL_COLORS
# Ten digit classes (Plotly's qualitative D3 palette).
CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
# Hidden states of tanh cells live in [-1, 1]: a diverging scale fixed to that range.
STATE_SCALE = "RdBu_r"
STATE_RANGE = (-1.0, 1.0)
# Gates (sigmoid) live in [0, 1].
GATE_SCALE = "Viridis"
# Digits: white ink on black, as MNIST.
DIGIT_SCALE = "gray"
TEMPLATE = "plotly_white"
FONT = {"size": 13}


def cell_color(name: str, cell: str | None = None) -> str:
    """Colour for a model by its name ('rnn', 'lstm', ...) or, failing that, its cell."""
    return CELL_COLORS.get(name) or CELL_COLORS.get(cell or "", "#333333")


EXTRA_COLORS = palette.EXTRA_COLORS


def rgba(color: str, alpha: float) -> str:
    """'#1f77b4', 0.15 -> 'rgba(31,119,180,0.15)' (a colour not in #rrggbb form: dark grey)."""
    color = color.lstrip("#")
    if len(color) != 6:
        return f"rgba(51,51,51,{alpha})"
    r, g, b = (int(color[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def model_colors(names) -> dict[str, str]:
    """One colour per model on a page: the shipped models keep their architecture's colour on
    every page; other models (rnn-64, rnn-128, ...) take distinct colours in order."""
    out, used, extra = {}, set(), iter(EXTRA_COLORS)
    names = list(names)
    for name in names:
        if name in CELL_COLORS:
            out[name] = CELL_COLORS[name]
            used.add(out[name])
    for name in names:
        if name not in out:
            color = next((c for c in extra if c not in used), "#333333")
            out[name] = color
            used.add(color)
    return out
# Log axes label whole decades only (10⁻², 10⁻¹, 1, 10): Plotly's default minor labels ("2", "5")
# read as 2 and 5 even below 1. Minor grid lines still mark 2..9 x each decade.
LOG_AXIS = {"type": "log", "exponentformat": "power", "dtick": 1,
            "minor": {"ticks": "outside", "showgrid": True, "gridcolor": "#f3f3f3"}}


def animation_controls(names: list[str], labels: list[str], frame_ms: int, active: int = 0,
                       prefix: str = "", play_y: float = -0.12, slider_x: float = 0.12,
                       slider_y: float = -0.04, transition_ms: int = 0) -> tuple[dict, dict]:
    """Play/Pause buttons and a step slider for a figure whose frames are called `names`:
    the animation plays in the browser, with no script rerun."""
    still = {"mode": "immediate", "frame": {"duration": 0, "redraw": True}}
    play = {"type": "buttons", "showactive": False, "x": 0, "y": play_y, "xanchor": "left",
            "buttons": [{"label": _("▶ Play"), "method": "animate",
                         "args": [None, {"frame": {"duration": frame_ms, "redraw": True}, "fromcurrent": True,
                                         "transition": {"duration": transition_ms}}]},
                        {"label": _("Pause"), "method": "animate",
                         "args": [[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}]}]}
    slider = {"active": active, "x": slider_x, "len": 1 - slider_x, "y": slider_y,
              "currentvalue": {"prefix": prefix},
              "steps": [{"label": lab, "method": "animate", "args": [[name], still]}
                        for name, lab in zip(names, labels)]}
    return play, slider


def _plain_template(name: str, traces=("bar", "heatmap", "scatter")) -> dict:
    """A template as plain dicts, with the trace defaults of the kinds `figure` draws and no
    map, polar, 3-D or ternary axes: it looks the same on these figures, and copying and
    sending it costs a third of the full Template object."""
    full = pio.templates[name].to_plotly_json()
    return {"layout": {k: v for k, v in full["layout"].items() if k not in ("geo", "polar", "scene", "ternary")},
            "data": {k: v for k, v in full["data"].items() if k in traces}}


PLAIN_TEMPLATE = _plain_template(TEMPLATE)


def figure(data: list[dict], layout: dict, frames: list[dict] | None = None) -> go.Figure:
    """A figure from plain dicts, wrapped without plotly's per-property validation: that
    validation (the template's above all) is most of a figure's build time, 50-100 ms each, and
    a page rebuilds its figures on every rerun, for every session. The tests validate every
    builder in full. Traces are bar, heatmap or scatter (the template's trace defaults)."""
    layout = {"template": PLAIN_TEMPLATE, "font": FONT, **layout}
    return go.Figure({"data": data, "layout": layout, "frames": frames or []}, _validate=False)


def subplot_domains(n: int, spacing: float) -> list[list[float]]:
    """x domains of n side-by-side subplots with `spacing` between them (as make_subplots)."""
    if n > 1:  # many subplots (a class's models on the Draw page): the gaps shrink, never the plots to nothing
        spacing = min(spacing, 0.5 / (n - 1))
    width = (1 - spacing * (n - 1)) / n
    return [[min(1.0, i * (width + spacing)), min(1.0, i * (width + spacing) + width)] for i in range(n)]


def subplot_titles(titles: list[str], domains: list[list[float]]) -> list[dict]:
    """Titles centred above each subplot, as make_subplots writes them."""
    return [{"text": t, "x": (a + b) / 2, "y": 1.0, "xref": "paper", "yref": "paper", "xanchor": "center",
             "yanchor": "bottom", "showarrow": False, "font": {"size": 16}} for t, (a, b) in zip(titles, domains)]


def spec(fig: go.Figure) -> dict:
    """A finished figure as plain dicts, ready to keep and send: long lists of numbers become
    numpy arrays (copied and serialised in one go, sent as binary)."""
    def plain(v):
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            if len(v) >= 16 and all(type(x) in (int, float) for x in v) and any(type(x) is float for x in v):
                return np.asarray(v, np.float64)
            return [plain(x) for x in v]
        return v
    return plain(fig.to_plotly_json())


class Ready(go.Figure):
    """A figure whose spec (`spec`) was built once and is kept: Streamlit's plotly_chart takes a
    figure's `to_dict()` and serialises it, so this hands over the kept dicts as they are,
    without rebuilding, revalidating or deep-copying them on every visit. Nothing mutates them
    (plotly.io.to_json only reads)."""

    def __init__(self, spec: dict):
        super().__init__({"data": [], "layout": {"template": {}}}, _validate=False)
        self._spec = spec

    def to_dict(self) -> dict:
        return self._spec

    def to_plotly_json(self) -> dict:
        return self._spec
