"""Figures for the Gradient flow page: ||dL/ds_t|| against t (log scale, median and
inter-quartile band), W_h's eigenvalues on the complex plane, and a training run's gradient norm.

Arrays in, plotly figures out (plain dicts through `plots.figure`); non-finite numbers become gaps (None), never fake values.
"""
from __future__ import annotations

import warnings

import numpy as np
from rnn_demo.i18n import N_, _, ngettext
from rnn_demo.plots import LOG_AXIS, figure, rgba

BAD_COLOR = "#d62728"
CLIP_COLOR = "#ff7f0e"


def _clean(a) -> list:
    """Floats with non-finite and non-positive values (nothing to draw on a log axis) as None."""
    return [float(v) if np.isfinite(v) and v > 0 else None for v in np.asarray(a, float)]


def norms_figure(curves: list[dict], normalised: bool = True, title: str = "",
                 x_title: str = N_("step t (row read)")) -> go.Figure:
    """One line per curve: median ||dL/ds_t|| with its inter-quartile band, log y.

    curves: dicts with "name", "color", "curve" (a gradients.NormCurve) and optionally
    "dash" ("solid", "dash", "dot").
    """
    data = []
    for c in curves:
        cur, color, dash = c["curve"], c["color"], c.get("dash", "solid")
        med, q1, q3 = ((cur.median, cur.q1, cur.q3) if normalised
                       else (cur.raw_median, cur.raw_q1, cur.raw_q3))
        t = cur.t.tolist()
        group = c["name"]
        data += [{"type": "scatter", "x": t, "y": _clean(q3), "mode": "lines", "line": {"width": 0}, "hoverinfo": "skip",
                  "legendgroup": group, "showlegend": False, "name": _("{name} 75th percentile", name=group)},
                 {"type": "scatter", "x": t, "y": _clean(q1), "mode": "lines", "line": {"width": 0}, "fill": "tonexty",
                  "fillcolor": rgba(color, 0.15 if dash == "solid" else 0.08), "hoverinfo": "skip",
                  "legendgroup": group, "showlegend": False, "name": _("{name} 25th percentile", name=group)},
                 {"type": "scatter", "x": t, "y": _clean(med), "mode": "lines", "name": group, "legendgroup": group,
                  "line": {"color": color, "width": 2.5, "dash": dash},
                  "hovertemplate": _("{name}<br>t=%{{x}}<br>median %{{y:.3g}}<extra></extra>", name=group)}]
    y_title = _("‖dL/ds_t‖ / ‖dL/ds_T‖ (median, IQR)") if normalised else _("‖dL/ds_t‖ (median, IQR)")
    return figure(data, {**_title(title), "height": 420, "margin": {"l": 60, "r": 20, "t": 50 if title else 20, "b": 50},
                         "legend": {"orientation": "h", "y": -0.18}, "hovermode": "x unified",
                         # the default, or a title the caller translated (unchanged then)
                         "xaxis": {"title": {"text": _(x_title)}}, "yaxis": {**LOG_AXIS, "title": {"text": y_title}}})


def _title(title: str) -> dict:
    return {"title": {"text": title}} if title else {}


def eigen_figure(eigenvalues, rho: float | None = None, title: str = N_("Eigenvalues of W_h")) -> go.Figure:
    """Eigenvalues on the complex plane with the unit circle (and the circle of radius rho)."""
    eig = np.asarray(eigenvalues, complex)
    theta = np.linspace(0, 2 * np.pi, 181)
    data = [{"type": "scatter", "x": np.cos(theta).tolist(), "y": np.sin(theta).tolist(), "mode": "lines",
             "name": _("unit circle |λ| = 1"), "line": {"color": "#444", "width": 1.5}, "hoverinfo": "skip"}]
    if rho is not None and np.isfinite(rho):
        data.append({"type": "scatter", "x": (rho * np.cos(theta)).tolist(), "y": (rho * np.sin(theta)).tolist(),
                     "mode": "lines", "name": f"|λ| = ρ = {rho:.2f}", "hoverinfo": "skip",
                     "line": {"color": BAD_COLOR if rho > 1 else "#1f77b4", "width": 1, "dash": "dash"}})
    data.append({"type": "scatter", "x": eig.real.tolist(), "y": eig.imag.tolist(), "mode": "markers",
                 "name": _("eigenvalues"),
                 "marker": {"size": 6, "color": np.abs(eig).tolist(), "colorscale": "Viridis", "line": {"width": 0}},
                 "hovertemplate": "λ = %{x:.3f} %{y:+.3f}i<extra></extra>"})
    r = max(1.05, float(np.abs(eig).max()) * 1.05 if eig.size else 1.05)
    return figure(data, {"title": {"text": _(title)}, "height": 440, "margin": {"l": 40, "r": 20, "t": 50, "b": 40},
                         "legend": {"orientation": "h", "y": -0.22},
                         "xaxis": {"range": [-r, r], "title": {"text": _("real")}, "zeroline": True},
                         "yaxis": {"range": [-r, r], "title": {"text": _("imaginary")}, "scaleanchor": "x",
                                   "scaleratio": 1, "zeroline": True}})


def training_figure(info: dict, title: str = "") -> go.Figure:
    """The global gradient norm (before clipping) at every training step, log y, with the
    clipping threshold and any NaN/inf steps marked."""
    step, norms, clip = info["step"], np.asarray(info["grad_norm"], float), info["clip"]
    data = [{"type": "scatter", "x": step.tolist(), "y": _clean(norms), "mode": "lines",
             "name": _("gradient norm at each step"), "line": {"color": "#9ecae1", "width": 1},
             "hovertemplate": _("step %{x}<br>‖g‖ = %{y:.3g}<extra></extra>")}]
    window = max(1, len(norms) // 100)
    if window > 1:  # a running median, so the trend shows through the step-to-step noise
        finite = np.where(np.isfinite(norms), norms, np.nan)
        pad = np.concatenate([np.full(window // 2, np.nan), finite, np.full(window - 1 - window // 2, np.nan)])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows stay NaN (gaps)
            running = np.nanmedian(np.lib.stride_tricks.sliding_window_view(pad, window), axis=1)
        data.append({"type": "scatter", "x": step.tolist(), "y": _clean(running), "mode": "lines",
                     "line": {"color": "#08519c", "width": 2}, "name": _("running median of {n} steps", n=window),
                     "hoverinfo": "skip"})
    shapes, notes = [], []
    if clip > 0:  # a line across the plot at the threshold, labelled below its right end
        shapes.append({"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": clip, "y1": clip,
                       "line": {"color": CLIP_COLOR, "dash": "dash", "width": 2}})
        notes.append({"text": ngettext("clip at {clip:g}: {n:,} step clipped", "clip at {clip:g}: {n:,} steps clipped",
                                       info["clipped"], clip=clip),
                      "xref": "x domain", "x": 1, "xanchor": "right", "yref": "y", "y": clip, "yanchor": "top",
                      "showarrow": False, "bgcolor": "rgba(255,255,255,0.85)", "font": {"color": CLIP_COLOR}})
    bad = np.asarray(info["bad_steps"])
    for s in bad[:20]:  # a diverged run stops at its first bad step; more would only clutter
        shapes.append({"type": "line", "xref": "x", "x0": int(s), "x1": int(s), "yref": "y domain", "y0": 0, "y1": 1,
                       "line": {"color": BAD_COLOR, "width": 2}})
    if bad.size:
        notes.append({"x": int(bad[0]), "y": 1, "yref": "paper", "text": _("NaN/inf at step {step}", step=int(bad[0])),
                      "showarrow": False, "font": {"color": BAD_COLOR}, "xanchor": "right"})
    spe = info.get("steps_per_epoch")
    return figure(data, {**_title(title), "height": 360, "margin": {"l": 60, "r": 20, "t": 50 if title else 20, "b": 50},
                         "legend": {"orientation": "h", "y": 1.02, "x": 0, "yanchor": "bottom"},
                         "shapes": shapes, "annotations": notes,
                         "xaxis": {"title": {"text": _("training step ({n} steps per epoch)", n=spe) if spe
                                             else _("training step")}},
                         "yaxis": {**LOG_AXIS, "title": {"text": _("global gradient norm ‖g‖")}}})
