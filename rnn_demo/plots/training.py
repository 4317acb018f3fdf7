"""Figures for the Train and Compare pages: training curves, gradient norms, weight summaries,
confusion matrices, per-class accuracy, "when does it know", and two models reading one digit.

Arrays and lists in, Plotly figures out; no streamlit, no torch.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnn_demo.plots import (CLASS_COLORS, DIGIT_SCALE, FONT, LOG_AXIS, STATE_RANGE, STATE_SCALE, TEMPLATE,
                            animation_controls, figure, rgba, subplot_domains, subplot_titles)
from rnn_demo.i18n import _

GRID = "#e5e5e5"


def _layout(fig: go.Figure, title: str | None = None, height: int = 360, **kw) -> go.Figure:
    fig.update_layout(template=TEMPLATE, font=FONT, height=height, margin=dict(l=50, r=20, t=50 if title else 20, b=40),
                      title=title, legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0), **kw)
    return fig


def _plain(data: list[dict], title: str | None = None, height: int = 360, frames: list[dict] | None = None,
           **kw) -> go.Figure:
    """`plots.figure` with this module's layout: `_layout`'s, as plain dicts."""
    layout = {"height": height, "margin": {"l": 50, "r": 20, "t": 50 if title else 20, "b": 40},
              "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}, **kw}
    if title is not None:
        layout["title"] = {"text": title}
    return figure(data, layout, frames)


def _hline(y: float, line: dict, text: str, position: str) -> tuple[dict, dict]:
    """A line across the plot at y, and its label at one end ("top right", "bottom right"), as
    plotly's add_hline draws them."""
    shape = {"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": y, "y1": y, "line": line}
    note = {"text": text, "showarrow": False, "xref": "x domain", "x": 1, "xanchor": "right", "yref": "y", "y": y,
            "yanchor": "bottom" if position.startswith("top") else "top"}
    return shape, note


def smooth(values, window: int | None = None) -> np.ndarray:
    """Running mean over the last `window` values (the first values average what there is), so a
    noisy per-batch curve is readable; the raw values are drawn beside it, faint."""
    v = np.asarray(values, float)
    if v.size == 0:
        return v
    window = window or max(1, min(50, v.size // 20))
    c = np.cumsum(np.insert(np.nan_to_num(v), 0, 0.0))
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def param_label(name: str) -> str:
    """torch's parameter name -> the seed's plain name, e.g. rnn.weight_hh_l0 -> 'W_h (layer 1)'."""
    if name.startswith("readout."):
        return _("read-out W_l") if name.endswith("weight") else _("read-out b_l")
    kind, _sep, rest = name.removeprefix("rnn.").partition("_l")
    layer, reverse = rest.removesuffix("_reverse"), rest.endswith("_reverse")
    base = {"weight_ih": "W_x", "weight_hh": "W_h", "bias_ih": _("b (input)"), "bias_hh": _("b (state)")}.get(kind)
    if base is None or not layer.isdigit():
        return name
    if reverse:
        return _("{weight} layer {n} backward", weight=base, n=int(layer) + 1)
    return _("{weight} layer {n}", weight=base, n=int(layer) + 1)


# --- Train page ---------------------------------------------------------------------------

def training_curves(loss, batch_acc, evals, total: int | None = None) -> go.Figure:
    """Loss per step (faint) with its running mean, and accuracy: per batch (running mean) and on
    the test digits at each evaluation (markers). Polled every second or two while training, so it
    is built from plain dicts and numpy arrays."""
    loss, batch_acc = np.asarray(loss, float), np.asarray(batch_acc, float)
    steps = np.arange(1, loss.size + 1)
    ev = [e for e in evals if e.get("test_acc") is not None]
    span = [0, max(total or 0, loss.size, 1)]
    return _plain([
        {"type": "scatter", "x": steps, "y": loss, "mode": "lines", "line": {"color": "#9ecae1", "width": 1},
         "name": _("loss per batch")},
        {"type": "scatter", "x": steps, "y": smooth(loss), "mode": "lines", "line": {"color": "#1f77b4", "width": 2},
         "name": _("loss, running mean")},
        {"type": "scatter", "x": steps, "y": smooth(batch_acc), "mode": "lines", "line": {"color": "#ff7f0e", "width": 2},
         "name": _("accuracy on training batches, running mean"), "xaxis": "x2", "yaxis": "y2"},
        {"type": "scatter", "x": np.array([e["step"] for e in ev]), "y": np.array([e["test_acc"] for e in ev]),
         "mode": "lines+markers", "line": {"color": "#2ca02c", "width": 2}, "name": _("accuracy on the test digits"),
         "xaxis": "x2", "yaxis": "y2"},
    ], height=340,
        xaxis={"domain": [0, 0.45], "range": span, "title": {"text": _("step")}, "gridcolor": GRID},
        yaxis={"rangemode": "tozero", "title": {"text": _("loss (cross-entropy)")}, "gridcolor": GRID},
        xaxis2={"domain": [0.55, 1], "range": span, "title": {"text": _("step")}, "gridcolor": GRID, "anchor": "y2"},
        yaxis2={"range": [0, 1.02], "tickformat": ".0%", "title": {"text": _("accuracy")}, "gridcolor": GRID,
                "anchor": "x2"})


def grad_norm_steps(grad_norm, clip: float = 0.0, total: int | None = None) -> go.Figure:
    """The global gradient norm at every step, before clipping (log scale), and the clip line:
    steps above it were scaled down to it (Pascanu et al. 2013)."""
    g = np.asarray(grad_norm, float)
    steps = np.arange(1, g.size + 1)
    data = [{"type": "scatter", "x": steps, "y": np.where(np.isfinite(g) & (g > 0), g, np.nan), "mode": "lines",
             "line": {"color": "#7f7f7f", "width": 1}, "name": _("gradient norm ||g|| (before clipping)")}]
    shapes, notes = [], []
    if clip and clip > 0:
        shape, note = _hline(clip, {"color": "#d62728", "dash": "dash"}, _("clip at {clip:g}", clip=clip), "top right")
        shapes, notes = [shape], [note]
    return _plain(data, height=280, showlegend=True, shapes=shapes, annotations=notes,
                  xaxis={"title": {"text": _("step")}, "range": [0, max(total or 0, g.size, 1)], "gridcolor": GRID},
                  yaxis={**LOG_AXIS, "title": {"text": "||g||"}, "gridcolor": GRID})


def weight_summaries(param_summaries: list[dict]) -> go.Figure:
    """Per parameter, over training: the mean with a band of one standard deviation, and the min
    and max (the seed's `variable_summaries` in TensorBoard)."""
    names = list(param_summaries[0]["params"]) if param_summaries else []
    cols = 3
    rows = max(1, -(-len(names) // cols))
    xs, ys = subplot_domains(cols, 0.07), _row_domains(rows, 0.2)
    axes = {}
    for k in range(rows * cols):
        axes[_axis("xaxis", k)] = {"anchor": _ref("y", k), "domain": xs[k % cols], "title": {"text": _("epoch")},
                                   "gridcolor": GRID}
        axes[_axis("yaxis", k)] = {"anchor": _ref("x", k), "domain": ys[k // cols], "gridcolor": GRID}
    titles = [{**t, "y": ys[k // cols][1]} for k, t in
              enumerate(subplot_titles([param_label(n) for n in names], [xs[k % cols] for k in range(len(names))]))]
    epochs = [s["epoch"] for s in param_summaries]
    data = []
    for k, name in enumerate(names):
        get = lambda key: [s["params"][name][key] for s in param_summaries]  # noqa: E731
        mean, std = np.array(get("mean")), np.array(get("std"))
        first, on = k == 0, {"xaxis": _ref("x", k), "yaxis": _ref("y", k)}
        data += [{"type": "scatter", "x": epochs + epochs[::-1], "y": (mean + std).tolist() + (mean - std)[::-1].tolist(),
                  "fill": "toself", "fillcolor": "rgba(31,119,180,0.15)", "line": {"width": 0}, "name": _("mean ± std"),
                  "showlegend": first, "hoverinfo": "skip", **on},
                 {"type": "scatter", "x": epochs, "y": mean.tolist(), "mode": "lines+markers", "line": {"color": "#1f77b4"},
                  "name": _("mean"), "showlegend": first, **on},
                 {"type": "scatter", "x": epochs, "y": get("min"), "mode": "lines",
                  "line": {"color": "#7f7f7f", "dash": "dot"}, "name": _("min"), "showlegend": first, **on},
                 {"type": "scatter", "x": epochs, "y": get("max"), "mode": "lines",
                  "line": {"color": "#333333", "dash": "dash"}, "name": _("max"), "showlegend": first, **on}]
    return _plain(data, title=_("solid: mean · band: mean ± one std · dotted: min · dashed: max"),
                  height=270 * rows + 60, showlegend=False, annotations=titles,
                  margin={"l": 50, "r": 20, "t": 90, "b": 40}, **axes)


def _row_domains(rows: int, spacing: float) -> list[list[float]]:
    """y domains of `rows` stacked subplots, the first on top (as make_subplots)."""
    height = (1 - spacing * (rows - 1)) / rows
    return [[(rows - 1 - r) * (height + spacing), (rows - 1 - r) * (height + spacing) + height] for r in range(rows)]


def _ref(letter: str, k: int) -> str:
    """The k-th subplot's axis as a trace names it: x, x2, x3, ..."""
    return letter if k == 0 else f"{letter}{k + 1}"


def _axis(name: str, k: int) -> str:
    """The k-th subplot's axis as the layout names it: xaxis, xaxis2, ..."""
    return name if k == 0 else f"{name}{k + 1}"


def weight_histogram_animation(param_summaries: list[dict], name: str, max_frames: int = 60) -> go.Figure:
    """The histogram of one parameter's values at each epoch, as an animation (frames, play,
    slider). The x range covers every epoch, so the bars move instead of the axis. A long run
    (the seed's recipe on the sample is 1,600 epochs) shows `max_frames` evenly spaced epochs,
    always the first and the last."""
    snaps = [s for s in param_summaries if name in s["params"]]
    if len(snaps) > max_frames:
        keep = np.unique(np.linspace(0, len(snaps) - 1, max_frames).round().astype(int))
        snaps = [snaps[i] for i in keep]
    if not snaps:
        raise ValueError(_("no summaries recorded for {name}", name=name))
    lo = min(s["params"][name]["min"] for s in snaps)
    hi = max(s["params"][name]["max"] for s in snaps)
    ymax = max(max(s["params"][name]["hist"]) for s in snaps)

    def bars(s) -> dict:
        p = s["params"][name]
        e = np.asarray(p["edges"], float)
        return {"type": "bar", "x": ((e[:-1] + e[1:]) / 2).tolist(), "y": p["hist"], "width": (np.diff(e) * 0.95).tolist(),
                "marker": {"color": "#1f77b4"}, "name": _("epoch {epoch}", epoch=s["epoch"]),
                "hovertemplate": _("value %{x:.3g}: %{y} weights<extra></extra>")}

    def label(s) -> str:  # a frame's name, and its label: the page's language (frames are named per figure)
        return _("epoch {epoch} (step {step})", epoch=s["epoch"], step=s["step"])
    span = (hi - lo) or 1.0
    play, slider = animation_controls([label(s) for s in snaps], [f"{s['epoch']}" for s in snaps], frame_ms=600,
                                      play_y=-0.25, slider_x=0.15, slider_y=-0.15, transition_ms=200)
    return _plain([bars(snaps[0])], frames=[{"data": [bars(s)], "name": label(s)} for s in snaps],
                  title=_("{weight}: {first} … {last}", weight=param_label(name), first=label(snaps[0]),
                          last=label(snaps[-1])), height=380, updatemenus=[play], sliders=[slider], showlegend=False,
                  xaxis={"range": [lo - 0.05 * span, hi + 0.05 * span],
                         "title": {"text": _("value of {weight}", weight=param_label(name))}, "gridcolor": GRID},
                  yaxis={"range": [0, ymax * 1.1], "title": {"text": _("how many weights")}, "gridcolor": GRID})


# --- Compare page -------------------------------------------------------------------------

def overlaid_curves(histories: dict[str, dict], colors: dict[str, str]) -> go.Figure:
    """Several models' training: test accuracy at each evaluation and the loss averaged over each
    epoch, against epochs (models trained with different batch sizes line up by epoch)."""
    xs = subplot_domains(2, 0.1)
    titles = [{**t, "font": {"size": 13}}  # the subplot titles, side by side even on a phone
              for t in subplot_titles([_("test accuracy"), _("training loss (epoch mean)")], xs)]
    data = []
    for name, h in histories.items():
        color = colors.get(name)
        ev = [e for e in h.get("evals", []) if e.get("test_acc") is not None]
        data.append({"type": "scatter", "x": [e["epoch"] for e in ev], "y": [e["test_acc"] for e in ev],
                     "mode": "lines+markers", "name": name, "legendgroup": name, "line": {"color": color},
                     "xaxis": "x", "yaxis": "y"})
        loss = np.asarray(h.get("loss", []), float)
        spe = int(h.get("steps_per_epoch") or 0) or max(1, loss.size)
        if loss.size:
            n = -(-loss.size // spe)
            means = [float(np.nanmean(loss[i * spe:(i + 1) * spe])) for i in range(n)]
            x = [min((i + 1) * spe, loss.size) / spe for i in range(n)]
            data.append({"type": "scatter", "x": x, "y": means, "mode": "lines+markers", "name": name,
                         "legendgroup": name, "showlegend": False, "line": {"color": color}, "xaxis": "x2", "yaxis": "y2"})
    return _plain(data, height=380, annotations=titles, margin={"l": 50, "r": 20, "t": 20, "b": 90},
                  legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
                  xaxis={"anchor": "y", "domain": xs[0], "title": {"text": _("epoch")}, "gridcolor": GRID},
                  yaxis={"anchor": "x", "domain": [0.0, 1.0], "tickformat": ".0%", "gridcolor": GRID},
                  xaxis2={"anchor": "y2", "domain": xs[1], "title": {"text": _("epoch")}, "gridcolor": GRID},
                  yaxis2={**LOG_AXIS, "anchor": "x2", "domain": [0.0, 1.0], "gridcolor": GRID})


def confusion_matrix(cm, title: str = "") -> go.Figure:
    """Rows: the true digit; columns: the model's answer; each row as a fraction of that digit's
    test examples (the count is in the hover)."""
    cm = np.asarray(cm)
    frac = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    text = [[f"{100 * v:.0f}" if v >= 0.005 else "" for v in row] for row in frac]  # percent, without "%": fits a cell
    return _plain([{"type": "heatmap", "z": frac.tolist(), "x": list(range(10)), "y": list(range(10)),
                    "colorscale": "Blues", "zmin": 0, "zmax": 1, "text": text, "texttemplate": "%{text}",
                    "textfont": {"size": 11}, "customdata": cm.tolist(),
                    "hovertemplate": _("true %{y}, answered %{x}: %{customdata} digits (%{z:.1%})<extra></extra>"),
                    "showscale": False}],
                  title=title, height=340, margin={"l": 45, "r": 10, "t": 40, "b": 40}, font={"size": 11},
                  xaxis={"title": {"text": _("model's answer")}, "dtick": 1, "range": [-0.5, 9.5]},
                  yaxis={"title": {"text": _("true digit")}, "dtick": 1, "range": [9.5, -0.5]})


def per_class_accuracy(accs: dict[str, np.ndarray], colors: dict[str, str]) -> go.Figure:
    """Grouped bars: each model's accuracy on each digit class."""
    data = [{"type": "bar", "x": list(range(10)), "y": np.asarray(a, float).tolist(), "name": name,
             "marker": {"color": colors.get(name)},
             "hovertemplate": _("digit %{{x}}: %{{y:.1%}}<extra>{name}</extra>", name=name)}
            for name, a in accs.items()]
    lows = [float(np.min(a)) for a in accs.values()] or [0.0]
    return _plain(data, height=320, barmode="group", xaxis={"title": {"text": _("true digit")}, "dtick": 1},
                  yaxis={"title": {"text": _("accuracy")}, "tickformat": ".0%",
                         "range": [max(0.0, min(lows) - 0.05), 1.0], "gridcolor": GRID})


def when_it_knows(curves: dict[str, np.ndarray], colors: dict[str, str]) -> go.Figure:
    """Mean probability of the true class after each row: when does the model know the digit?"""
    data = []
    for name, c in curves.items():
        c = np.asarray(c, float)
        data.append({"type": "scatter", "x": np.arange(1, c.size + 1).tolist(), "y": c.tolist(), "mode": "lines+markers",
                     "name": name, "line": {"color": colors.get(name)},
                     "hovertemplate": _("after row %{{x}}: %{{y:.1%}}<extra>{name}</extra>", name=name)})
    shape, note = _hline(0.1, {"color": "#999999", "dash": "dot"}, _("chance (10%)"), "bottom right")
    return _plain(data, height=340, shapes=[shape], annotations=[note],
                  xaxis={"title": {"text": _("rows read (time step t)")}, "range": [0.5, 28.5], "dtick": 2,
                         "gridcolor": GRID},
                  yaxis={"title": {"text": _("mean P(true digit)")}, "tickformat": ".0%", "range": [0, 1.02],
                         "gridcolor": GRID})


def grad_through_time(curves: dict[str, dict], colors: dict[str, str]) -> go.Figure:
    """Median ||dL/ds_t|| / ||dL/ds_T|| per step with its inter-quartile band, log scale: how much
    of the error signal reaches early rows (Pascanu et al. 2013)."""
    data = []
    for name, c in curves.items():
        t, med, q1, q3 = (np.asarray(c[k], float) for k in ("t", "median", "q1", "q3"))
        color = colors.get(name) or "#333333"
        data += [{"type": "scatter", "x": np.concatenate([t, t[::-1]]).tolist(),
                  "y": np.concatenate([q3, q1[::-1]]).tolist(), "fill": "toself", "fillcolor": rgba(color, 0.15),
                  "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False, "legendgroup": name},
                 {"type": "scatter", "x": t.tolist(), "y": med.tolist(), "mode": "lines+markers", "name": name,
                  "legendgroup": name, "line": {"color": color},
                  "hovertemplate": _("row %{{x}}: %{{y:.3g}} × the last row's<extra>{name}</extra>", name=name)}]
    return _plain(data, height=360, xaxis={"title": {"text": _("time step t (row)")}, "gridcolor": GRID},
                  yaxis={**LOG_AXIS, "title": {"text": "||dL/ds_t|| ÷ ||dL/ds_T||"}, "gridcolor": GRID})


def two_models_reading(rows, traces: dict[str, dict], label: int | None = None, narrow: bool = False) -> go.Figure:
    """Two (or more) models read the same digit together: one slider and one Play button step
    every panel. Left: the digit with the row being read (square pixels); per model, its hidden
    states so far (units x steps, later steps blank) and its read-out probabilities at that step.
    narrow: a phone's layout, the digit on top and each model's two panels below it."""
    rows = np.asarray(rows, float)
    names = list(traces)
    n, T = len(names), rows.shape[0]
    titles = [x for nm in names for x in (_("{name}: s_t (units × steps)", name=nm), _("{name}: P(digit)", name=nm))]
    if narrow:
        fig = make_subplots(rows=n + 1, cols=2, column_widths=[0.62, 0.38], row_heights=[1.2] + [1.0] * n,
                            specs=[[{"colspan": 2}, None]] + [[{}, {}] for _ in range(n)],
                            subplot_titles=[_("the digit"), *titles], horizontal_spacing=0.17, vertical_spacing=0.09)
        cell = lambda k, col: (k + 2, col - 1)  # noqa: E731  model k's panel in column 2 (states) or 3 (bars)
    else:
        fig = make_subplots(rows=n, cols=3, column_widths=[0.22, 0.5, 0.28],
                            specs=[[{"rowspan": n}, {}, {}]] + [[None, {}, {}] for _ in range(n - 1)],
                            subplot_titles=[_("the digit"), *titles], horizontal_spacing=0.06, vertical_spacing=0.12)
        cell = lambda k, col: (k + 1, col)  # noqa: E731

    states = {nm: np.asarray(traces[nm]["states"], np.float32).T for nm in names}  # (D*H, T)
    probs = {nm: np.asarray(traces[nm]["step_probs"], float) for nm in names}  # (T, C)

    def at_step(t: int) -> list[dict]:
        """What changes with t: the row marker's y, then per model the states so far (later
        steps blank) and the bars' heights and colours (the current guess highlighted)."""
        out = [{"type": "scatter", "y": [t, t]}]
        for nm in names:
            shown = np.full_like(states[nm], np.nan)
            shown[:, :t + 1] = states[nm][:, :t + 1]
            p = probs[nm][t]
            out.append({"type": "heatmap", "z": shown})
            guess = [CLASS_COLORS[c] if c == int(p.argmax()) else "#c7c7c7" for c in range(10)]
            out.append({"type": "bar", "y": p, "marker": {"color": guess}})
        return out

    last = at_step(T - 1)
    fig.add_trace(go.Heatmap(z=rows, colorscale=DIGIT_SCALE, showscale=False, zmin=0, zmax=1, hoverinfo="skip"), 1, 1)
    fig.add_trace(go.Scatter(x=[-0.5, 27.5], y=last[0]["y"], mode="lines", line=dict(color="#ff7f0e", width=3),
                             hoverinfo="skip", showlegend=False), 1, 1)
    for k, nm in enumerate(names):
        fig.add_trace(go.Heatmap(z=last[1 + 2 * k]["z"], x=np.arange(1, T + 1), y=np.arange(1, states[nm].shape[0] + 1),
                                 colorscale=STATE_SCALE, zmin=STATE_RANGE[0], zmax=STATE_RANGE[1], showscale=k == 0,
                                 colorbar=dict(title="s", len=0.4, y=0.75, thickness=12) if k == 0 else None,
                                 hovertemplate=_("step %{{x}}, unit %{{y}}: %{{z:.3f}}<extra>{name}</extra>", name=nm)),
                      *cell(k, 2))
        fig.add_trace(go.Bar(x=np.arange(10), y=last[2 + 2 * k]["y"], marker_color=last[2 + 2 * k]["marker"]["color"],
                             showlegend=False, hovertemplate=_("digit %{{x}}: %{{y:.1%}}<extra>{name}</extra>", name=nm)),
                      *cell(k, 3))
    # Frames carry only what moves (traces 1.. after the digit); Plotly merges them into the
    # traces. Plain dicts: validating 28 frames of heat maps through graph_objects takes seconds.
    frames = [{"data": at_step(t), "name": str(t + 1), "traces": list(range(1, 2 + 2 * n))} for t in range(T)]
    # the digit: row 1 on top, square pixels (the panel keeps 28 x 28 whatever space it gets)
    fig.update_yaxes(range=[27.5, -0.5], showticklabels=False, scaleanchor="x", constrain="domain", row=1, col=1)
    fig.update_xaxes(range=[-0.5, 27.5], showticklabels=False, constrain="domain", row=1, col=1)
    for k in range(n):
        fig.update_xaxes(title_text=_("step t") if k == n - 1 else None, range=[0.5, T + 0.5], row=cell(k, 2)[0],
                         col=cell(k, 2)[1])
        fig.update_yaxes(showticklabels=False, row=cell(k, 2)[0], col=cell(k, 2)[1])
        fig.update_xaxes(dtick=1 if not narrow else 3, row=cell(k, 3)[0], col=cell(k, 3)[1])
        fig.update_yaxes(range=[0, 1], tickformat=".0%", row=cell(k, 3)[0], col=cell(k, 3)[1])
    steps = [str(t + 1) for t in range(T)]
    play, slider = animation_controls(steps, steps, frame_ms=250, active=T - 1, prefix=_("rows read: "))
    title = _("the same digit (true label {label})", label=label) if label is not None else _("the same digit")
    _layout(fig, title=title, height=(230 * (n + 1) + 140) if narrow else 260 * n + 120, updatemenus=[play],
            sliders=[slider], showlegend=False)
    if narrow:
        fig.update_layout(font=dict(size=12), margin=dict(l=10, r=10, b=150))
        fig.update_annotations(font_size=12)
        slider["steps"] = [dict(st, label=st["label"] if int(st["label"]) % 4 == 1 or st["label"] == str(T) else "")
                           for st in slider["steps"]]
        fig.update_layout(sliders=[dict(slider, x=0.32, len=0.68, y=-0.1)],
                          updatemenus=[dict(play, y=-0.09, direction="down")])
    return go.Figure(fig.to_dict() | {"frames": frames}, _validate=False)
