"""Exports for slides and notebooks: the numbers and pictures the pages show, as files.

- the Hidden states animation as an animated GIF, drawn with PIL from the page's own figure
  (`plots.explorer.explorer_figure`): each GIF frame is one of the figure's frames, painted from
  the arrays that frame carries, so no browser is needed;
- a digit's per-step states, gates and probabilities (`analysis.digit_trace`) as CSV and .npz;
- gradient-norm curves (gradients.NormCurve) and any table of rows (the Compare page's) as CSV;
- a run's TensorBoard event files as a zip.

Bytes out; no streamlit (the pages place download buttons, rnn_demo.ui caches).
"""
from __future__ import annotations

import csv
import functools
import io
import math
import re
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from plotly.colors import hex_to_rgb, unlabel_rgb

from rnn_demo.i18n import _

# --- CSV ----------------------------------------------------------------------------------


def _cell(v) -> str:
    """One CSV cell: numbers written so that they read back exactly (repr of the float), None
    empty, anything else as text."""
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


def _csv(header: list[str], rows) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([_cell(v) for v in row])
    return out.getvalue()


def table_csv(rows: list[dict]) -> str:
    """A table the page shows (a list of dicts, one per row, as given to st.dataframe) as CSV;
    the numbers unformatted (a fraction, not a percentage)."""
    header = list(dict.fromkeys(k for r in rows for k in r))
    return _csv(header, ([r.get(k) for k in header] for r in rows))


def trace_arrays(trace: dict) -> dict[str, np.ndarray]:
    """A digit's per-step arrays from `analysis.digit_trace`: rows (T, F) as fed, states (T, D*H),
    step_probs (T, C) = softmax(o_t), probs (C,) from the final state, and for an LSTM or GRU its
    cell state and gates by their letters (c, i, f, g, o or r, z, n), each (T, D*H)."""
    out = {"rows": trace["rows"], "states": trace["states"], "step_probs": trace["step_probs"],
           "probs": trace["probs"]}
    out |= {k: v for k, v in trace["internals"].items()}
    return {k: np.asarray(v) for k, v in out.items()}


def _units(k: str, n: int) -> list[str]:
    return [f"{k}_{u}" for u in range(1, n + 1)]


def trace_csv(trace: dict) -> str:
    """One line per step t: the read-out's probabilities p_0..p_9 (softmax(o_t)), the hidden state
    h_1..h_N (s_t; units numbered as on the page, a bidirectional model's backward units after the
    forward ones), then each gate or cell state the model has (c_1.., i_1.., ...)."""
    a = trace_arrays(trace)
    T, C = a["step_probs"].shape
    blocks = [("p", a["step_probs"], [f"p_{c}" for c in range(C)]),
              ("h", a["states"], _units("h", a["states"].shape[1]))]
    blocks += [(k, a[k], _units(k, a[k].shape[1])) for k in trace["internals"]]
    header = ["step"] + [name for _, _, names in blocks for name in names]
    values = np.concatenate([v.astype(np.float64) for _, v, _ in blocks], axis=1)  # (T, columns)
    return _csv(header, ([t + 1, *row] for t, row in enumerate(values.tolist())))


def trace_npz(trace: dict) -> bytes:
    """`trace_arrays` as a compressed .npz, with the answer: prediction, target (the true label,
    else the final answer), label (-1 when unknown) and knows_from (0 when it never settles)."""
    buf = io.BytesIO()
    extra = {"prediction": trace["prediction"], "target": trace["target"],
             "label": -1 if trace["label"] is None else trace["label"],
             "knows_from": trace["knows_from"] or 0}
    np.savez_compressed(buf, **trace_arrays(trace), **{k: np.int64(v) for k, v in extra.items()})
    return buf.getvalue()


def curves_csv(curves: list[dict]) -> str:
    """Gradient-norm curves as plotted (the dicts given to plots.gradients.norms_figure: "name" and
    "curve", a gradients.NormCurve), one line per curve and step: the median and quartiles of
    ||dL/ds_t|| divided by the reference step's (ratio_*) and of ||dL/ds_t|| itself (norm_*),
    and the fitted factor per step back. NaN where the page draws a gap."""
    rows = []
    for c in curves:
        cur = c["curve"]
        for i, t in enumerate(np.asarray(cur.t)):
            rows.append([c["name"], int(t), cur.median[i], cur.q1[i], cur.q3[i],
                         cur.raw_median[i], cur.raw_q1[i], cur.raw_q3[i], cur.factor])
    return _csv(["curve", "t", "ratio_median", "ratio_q1", "ratio_q3", "norm_median", "norm_q1", "norm_q3",
                 "factor_per_step_back"], rows)


def series_csv(columns: dict[str, np.ndarray]) -> str:
    """Columns of equal length (e.g. step, gradient norm) as CSV."""
    names = list(columns)
    arrays = [np.asarray(columns[n]).tolist() for n in names]
    return _csv(names, zip(*arrays))


# --- a run's folder -------------------------------------------------------------------------


def zip_folder(folder, pattern: str = "*") -> bytes:
    """The files directly in `folder` matching `pattern`, zipped under the folder's name (so the
    zip unpacks into one run folder that `tensorboard --logdir` can open)."""
    folder = Path(folder)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.glob(pattern)):
            if f.is_file():
                z.write(f, f"{folder.name}/{f.name}")
    return buf.getvalue()


# --- the animation as a GIF -----------------------------------------------------------------
# Layout of a frame, in pixels: a title line, the four panels' titles, then the panels as on
# the page: the digit, the units of step t as a grid, their history over the steps (with the
# colour bar), the probabilities. Panel tops at PANEL_Y, each PANEL px high.
GIF_SIZE = (1000, 330)
PANEL, PANEL_Y, PIXEL = 224, 64, 8  # a digit pixel is 8 x 8: 28 rows fill the panel
PANELS_X = (10, 254, 510, 790)     # left edges: digit, unit grid, history, bars
BAR_WIDTH = 18
WHITE, BLACK, GREY = (255, 255, 255), (0, 0, 0), (120, 120, 120)


def _rgb(color: str) -> tuple[int, int, int]:
    if color.startswith("#"):
        return tuple(hex_to_rgb(color))
    if color.startswith("rgba"):
        r, g, b, _ = color[color.index("(") + 1:-1].split(",")
        return int(float(r)), int(float(g)), int(float(b))
    return tuple(int(float(v)) for v in unlabel_rgb(color))


def _alpha(color: str) -> float:
    return float(color[color.index("(") + 1:-1].split(",")[3]) if color.startswith("rgba") else 1.0


def colors_at(colorscale, values, lo: float, hi: float) -> np.ndarray:
    """Values -> RGB (..., 3) uint8 on a Plotly colour scale [[position, colour], ...] from lo to
    hi, interpolated linearly between its stops as plotly.js does; NaN -> white (a blank cell)."""
    v = np.asarray(values, dtype=np.float64)
    pos = np.array([float(p) for p, _ in colorscale])
    stops = np.array([_rgb(c) for _, c in colorscale], dtype=np.float64)  # (S, 3)
    x = np.clip((np.nan_to_num(v, nan=lo) - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)
    out = np.stack([np.interp(x, pos, stops[:, k]) for k in range(3)], axis=-1)
    out = np.rint(out).astype(np.uint8)
    out[np.isnan(v)] = WHITE
    return out


# PIL's built-in font covers Latin only: a text in another script (a Korean title) is drawn with
# the first of these fonts that is installed (Debian's fonts-noto-cjk, fonts-nanum).
WIDE_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
              "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
              "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc")


@functools.cache
def _font(size: int, wide: bool = False) -> ImageFont.ImageFont:
    """PIL's built-in font, or for wide = True (text beyond Latin) an installed CJK font if any."""
    for path in WIDE_FONTS if wide else ():
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _font_for(text: str, size: int) -> ImageFont.ImageFont:
    return _font(size, any(ord(ch) > 0x2FFF for ch in text))


def _plain(text: str) -> str:
    """A figure's text for PIL's built-in font: no HTML tags, and ASCII for the two signs it lacks."""
    return re.sub(r"<[^>]+>", "", text or "").replace("–", "-").replace("→", "->")


def _blend(rgb: np.ndarray, color: str) -> np.ndarray:
    a = _alpha(color)
    return np.rint(rgb * (1 - a) + np.array(_rgb(color)) * a).astype(np.uint8)


class _Frames:
    """Paints the explorer figure's frames. Reads everything from the figure: the digit's
    pixels and the history (drawn once, whole, as on the page), then per frame the rows still
    to read, the current row, the unit grid, the steps not taken yet and the bars."""

    def __init__(self, fig):
        from rnn_demo.plots import explorer as ex

        self.ex, self.fig = ex, fig
        d = fig.data
        digit = d[ex.DIGIT]
        self.digit = colors_at(digit["colorscale"], digit["z"], digit["zmin"], digit["zmax"])  # (T, F, 3)
        ca = fig.layout.coloraxis
        self.scale, self.lo, self.hi = ca.colorscale, ca.cmin, ca.cmax
        self.history = colors_at(self.scale, d[ex.HISTORY]["z"], self.lo, self.hi)  # (units, T, 3)
        self.unread_veil, self.future_veil = d[ex.UNREAD]["fillcolor"], d[ex.FUTURE]["fillcolor"]
        self.row_color = _rgb(d[ex.CURRENT]["line"]["color"])
        bars = d[ex.BARS]
        self.bar_colors = [_rgb(c) for c in bars["marker"]["color"]]
        self.bar_edges = [c != "rgba(0,0,0,0)" for c in bars["marker"]["line"]["color"]]
        self.titles = [a.text for a in fig.layout.annotations]
        self.T = self.digit.shape[0]
        self.base = self._base()

    def _base(self) -> Image.Image:
        img = Image.new("RGB", GIF_SIZE, WHITE)
        draw = ImageDraw.Draw(img)
        small = _font(12)
        for x, text in zip(PANELS_X, self.titles):
            draw.text((x, PANEL_Y - 20), _plain(text), fill=BLACK, font=_font_for(text, 12))
        # colour bar beside the history, as the page's
        x0 = PANELS_X[2] + self.T * PIXEL + 12
        ramp = colors_at(self.scale, np.linspace(self.hi, self.lo, PANEL)[:, None].repeat(10, 1), self.lo, self.hi)
        img.paste(Image.fromarray(ramp), (x0, PANEL_Y))
        draw.text((x0 + 13, PANEL_Y - 6), f"{self.hi:g}", fill=BLACK, font=small)
        draw.text((x0 + 13, PANEL_Y + PANEL - 8), f"{self.lo:g}", fill=BLACK, font=small)
        # bar axis: 0 and 100%, classes under the bars
        bx = PANELS_X[3]
        draw.line([(bx, PANEL_Y), (bx, PANEL_Y + PANEL)], fill=GREY)
        draw.line([(bx, PANEL_Y + PANEL), (bx + 10 * (BAR_WIDTH + 2) + 6, PANEL_Y + PANEL)], fill=GREY)
        for c in range(len(self.bar_colors)):
            draw.text((bx + 6 + c * (BAR_WIDTH + 2) + 5, PANEL_Y + PANEL + 4), str(c), fill=BLACK, font=small)
        label, steps = _("class"), _("step t ->")
        draw.text((bx + 6, PANEL_Y + PANEL + 20), label, fill=GREY, font=_font_for(label, 12))
        draw.text((PANELS_X[2], PANEL_Y + PANEL + 4), steps, fill=GREY, font=_font_for(steps, 12))
        return img

    @staticmethod
    def _span(xs) -> tuple[float, float]:
        xs = [float(v) for v in xs]
        return min(xs), max(xs)

    def render(self, i: int) -> Image.Image:
        """Frame i (0-based; step t = i + 1) as an RGB image of GIF_SIZE."""
        ex, frame = self.ex, self.fig.frames[i]
        by_trace = dict(zip(frame.traces, frame.data))
        img = self.base.copy()
        draw = ImageDraw.Draw(img)
        title = _plain(frame.layout.title.text)
        draw.text((10, 8), title, fill=BLACK, font=_font_for(title, 15))
        # the digit, the rows still to read veiled
        digit = self.digit.copy()
        first_unread = math.ceil(self._span(by_trace[ex.UNREAD]["y"])[0])  # rows from here on (1-based)
        if first_unread <= self.T:
            digit[first_unread - 1:] = _blend(digit[first_unread - 1:], self.unread_veil)
        img.paste(Image.fromarray(digit).resize((28 * PIXEL, self.T * PIXEL), Image.NEAREST), (PANELS_X[0], PANEL_Y))
        lo, hi = self._span(by_trace[ex.CURRENT]["y"])
        draw.rectangle([PANELS_X[0], PANEL_Y + round((lo - 0.5) * PIXEL), PANELS_X[0] + 28 * PIXEL - 1,
                        PANEL_Y + round((hi - 0.5) * PIXEL) - 1], outline=self.row_color, width=3)
        # the units at this step: one square each, 1 px apart, blank where the grid has no unit
        grid = colors_at(self.scale, by_trace[ex.GRID]["z"], self.lo, self.hi)  # (rows, cols, 3)
        self.grid_cell = cell = max(4, min(PANEL // grid.shape[0], PANEL // grid.shape[1]))
        cells = np.kron(grid, np.ones((cell, cell, 1), dtype=np.uint8))
        cells[cell - 1::cell] = WHITE
        cells[:, cell - 1::cell] = WHITE
        img.paste(Image.fromarray(cells), (PANELS_X[1], PANEL_Y))
        # the history, the steps not taken yet behind the curtain
        hist = self.history.copy()
        first_future = math.ceil(self._span(by_trace[ex.FUTURE]["x"])[0])  # steps from here on
        if first_future <= self.T:
            hist[:, first_future - 1:] = _blend(hist[:, first_future - 1:], self.future_veil)
        img.paste(Image.fromarray(hist).resize((self.T * PIXEL, PANEL), Image.NEAREST), (PANELS_X[2], PANEL_Y))
        # the probabilities
        for c, p in enumerate(np.asarray(by_trace[ex.BARS]["y"], dtype=np.float64)):
            x0 = PANELS_X[3] + 6 + c * (BAR_WIDTH + 2)
            top = PANEL_Y + PANEL - round(float(p) * PANEL)
            if top < PANEL_Y + PANEL:
                draw.rectangle([x0, top, x0 + BAR_WIDTH - 1, PANEL_Y + PANEL - 1], fill=self.bar_colors[c])
            if self.bar_edges[c]:
                draw.rectangle([x0 - 1, min(top, PANEL_Y + PANEL - 3) - 1, x0 + BAR_WIDTH, PANEL_Y + PANEL],
                               outline=BLACK, width=2)
        return img


def animation_frames(fig) -> list[Image.Image]:
    """Every frame of the Hidden states figure (`explorer.explorer_figure`) as an RGB image."""
    painter = _Frames(fig)
    return [painter.render(i) for i in range(len(fig.frames))]


def animation_gif(fig, frame_ms: int | None = None) -> bytes:
    """The Hidden states animation as an animated GIF: one GIF frame per figure frame (28 for a
    digit), shown as long as the page's Play shows each, looping."""
    from rnn_demo.plots.explorer import FRAME_MS

    frames = animation_frames(fig)
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms or FRAME_MS,
                   loop=0, optimize=False, disposal=1)
    return buf.getvalue()
