"""A drawn image -> an MNIST-like 28x28 digit, made the way MNIST itself was made.

LeCun et al. (1998) size-normalised each NIST digit to fit a 20x20 box keeping its aspect
ratio (anti-aliased, hence grey levels), then placed it in a 28x28 field so that its centre
of mass sits at the centre. `to_mnist` repeats those steps on a canvas image; `assess` says,
in plain words, when a drawing is too empty, too small or too full to be read as a digit.
A pen on a canvas is as wide as the user set it, whatever the size of the digit, so before
shrinking, the strokes are thinned or thickened to the width MNIST's strokes have once in the
20 px box (`MNIST_STROKE`), keeping the thin parts of a pen whose width varies and the loops
they close (`STROKE_METHOD`); grey ink (blurred, dimmed) is measured against its own darkest
level; `prepare` says what was done.
`render` makes a drawing without a mouse, for the tests and bench/load.py. `parse_strokes`
turns the Draw page's pen (strokes as point lists, untrusted) into bounded strokes that
`render` draws; `pad_value` makes that value without a browser.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from rnn_demo import strokes as thinning  # not `strokes`: the pen's strokes are named so below
from rnn_demo.i18n import N_, _

SIZE = 28          # MNIST's field
BOX = 20           # the longer side of the digit's box inside the field
CENTRE = 14.0      # where MNIST's centre of mass sits (mean 14.0 row and column on the test set)
INK = 0.15         # a canvas pixel with at least this much ink (0..1) belongs to the drawing

# Canvas settings that give MNIST-like strokes: a digit drawn about 200 px tall on a 280 px
# canvas shrinks 10x to its 20 px box, so a 20 px pen becomes a 2 px stroke, as in MNIST.
CANVAS_SIZE = 280
STROKE_WIDTH = 20

MIN_EXTENT = 0.1   # ink box's longer side below this fraction of the canvas: a dot, not a digit
MAX_INK = 0.5      # more than this fraction of the canvas inked: not a digit
EDGE = 2           # ink within this many pixels of the border may have been cut off

# MNIST's median stroke width in its 28x28 field, by `stroke_width` on the digits drawn 10x
# larger (the bundled sample: quartiles 2.3 and 3.2 px, 5%-95% 1.9-4.2 px).
MNIST_STROKE = 2.7
STROKE_TOLERANCE = 0.15  # a pen within this fraction of MNIST's width is left as drawn
WORK = 120               # longer side, in pixels, of the drawing while its strokes are measured and redrawn


@dataclass(frozen=True)
class Verdict:
    """Whether a drawing can be read as a digit, and if not, why in plain words."""

    ok: bool              # a prediction is meaningful
    problem: str | None   # None | "empty" | "dot" | "full" | "edge"
    text: str             # the message in English (marked with N_); empty when all is well

    @property
    def message(self) -> str:
        """For the page, in the session's language (translated when read, so a kept verdict
        never shows one learner's language to another)."""
        return _(self.text) if self.text else ""

    @property
    def warn(self) -> bool:
        """Readable, but with a caveat worth saying (a stroke at the edge)."""
        return self.ok and self.problem is not None


def ink(image) -> np.ndarray:
    """Amount of ink per pixel, float (H, W) in [0, 1], from a gray (H, W) or RGB(A) (H, W, 3|4)
    image drawn light on dark. A transparent pixel carries no ink, whatever its colour."""
    a = np.asarray(image)
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ValueError(_("expected a gray (H, W) or RGBA (H, W, 4) image, got shape {shape}", shape=a.shape))
    if a.dtype != np.uint8:  # floats: in [0, 1] if they look like it, else in [0, 255]
        a = np.clip(a if a.max(initial=0) > 1.0 else a * 255.0, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        return a * np.float32(1 / 255)
    # The channels one at a time: much faster than a float mean over the strided last axis.
    total = a[..., 0].astype(np.uint16) + a[..., 1] + a[..., 2]  # (H, W) in [0, 765]
    if a.shape[2] == 3:
        return total * np.float32(1 / 765)
    return total * (a[..., 3] * np.float32(1 / (765 * 255)))


def _box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), bottom/right exclusive, of the True pixels; None if none."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return None
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def assess(image) -> Verdict:
    """Judge a drawing before reading it; never raises on a drawing of any content."""
    return _assess(ink(image))


def _assess(amount: np.ndarray) -> Verdict:
    mask = amount >= INK
    box = _box(mask)
    if box is None:
        return Verdict(False, "empty", N_("The canvas is empty: draw a digit from 0 to 9."))
    H, W = mask.shape
    top, bottom, left, right = box
    if max(bottom - top, right - left) < MIN_EXTENT * max(H, W):
        return Verdict(False, "dot", N_("That is only a dot: draw a whole digit, as large as the canvas allows."))
    if mask.mean() > MAX_INK:
        return Verdict(False, "full", N_("Almost the whole canvas is ink: clear it (Clear, under the canvas) "
                                         "and draw one digit with a single thin stroke."))
    if top < EDGE or left < EDGE or bottom > H - EDGE or right > W - EDGE:
        return Verdict(True, "edge", N_("The drawing touches the edge of the canvas, so part of it may be "
                                        "cut off; draw it a little smaller and in the middle."))
    return Verdict(True, None, "")


@dataclass(frozen=True)
class Stroke:
    """The drawing's stroke width before and after preparation, in pixels of the 28x28 field."""

    drawn: float          # as drawn (the pen's width shrunk with the digit)
    prepared: float       # as handed to the models
    action: str           # "thinned" | "thickened" | "kept"

    @property
    def message(self) -> str:
        values = {"drawn": self.drawn, "prepared": self.prepared, "mnist": MNIST_STROKE}
        if self.action == "kept":
            return _("Pen kept as drawn: strokes ~{drawn:.1f} px wide in the 28 x 28 digit, as in MNIST.", **values)
        if self.action == "thinned":
            return _("Pen thinned from ~{drawn:.1f} px to ~{prepared:.1f} px (MNIST's strokes are ~{mnist:.1f} px "
                     "wide in the 28 x 28 digit).", **values)
        return _("Pen thickened from ~{drawn:.1f} px to ~{prepared:.1f} px (MNIST's strokes are ~{mnist:.1f} px "
                 "wide in the 28 x 28 digit).", **values)


@dataclass(frozen=True)
class Reading:
    """A drawing made ready for the models: whether it can be read, the digit, the stroke step."""

    verdict: Verdict
    digit: np.ndarray     # uint8 (28, 28)
    stroke: Stroke | None  # None for an empty drawing

    def __iter__(self):  # verdict, digit, stroke = canvas.prepare(image)
        return iter((self.verdict, self.digit, self.stroke))


def stroke_width(mask: np.ndarray) -> float:
    """Typical width in pixels of the strokes in a boolean ink mask: for a band of width w the
    mean distance of its pixels to the background is about (w + 1) / 4. 0 for no ink."""
    if not mask.any():
        return 0.0
    inside = ndimage.distance_transform_edt(np.pad(mask, 1))  # background all round: ink at an edge ends there
    return float(4 * inside[1:-1, 1:-1][mask].mean() - 1)


def digit_stroke_width(digit) -> float:
    """Stroke width of a 28x28 digit in its own pixels, measured 10x larger (as MNIST_STROKE was)."""
    big = np.asarray(Image.fromarray(np.asarray(digit, dtype=np.uint8)).resize((280, 280), Image.Resampling.BILINEAR))
    return stroke_width(big >= 128) / 10


def restroke(amount: np.ndarray, width: float, target: float) -> np.ndarray:
    """Ink (H, W) in [0, 1] with strokes about `width` px wide -> strokes about `target` px wide,
    same size image: thinner by peeling (target - width) / 2 px off every edge, thicker by
    growing the ink as much, with a 1 px soft edge."""
    mask = amount >= 0.5
    k = (width - target) / 2
    if k > 0:  # thin: keep what lies deeper than k inside the ink (never all of it)
        inside = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
        k = min(k, inside.max() - 1.0)
        return np.clip(inside - k, 0.0, 1.0).astype(np.float32)
    outside = ndimage.distance_transform_edt(~mask)  # thicken: everything within -k of the ink
    return np.maximum(amount, np.clip(1.0 - k - outside, 0.0, 1.0)).astype(np.float32)


def centre_of_mass(digit) -> tuple[float, float]:
    """(row, column) centre of mass of a gray image."""
    d = np.asarray(digit, dtype=np.float64)
    total = d.sum()
    if total <= 0:
        return (d.shape[0] - 1) / 2, (d.shape[1] - 1) / 2
    ys, xs = np.indices(d.shape)
    return float((d * ys).sum() / total), float((d * xs).sum() / total)


def to_mnist(image) -> np.ndarray:
    """A drawing (gray or RGBA, light ink on dark, any size) -> uint8 (28, 28) as in MNIST.

    Crop to the ink's bounding box, scale the longer side to 20 px keeping the aspect ratio
    (Lanczos, anti-aliased), and paste into 28x28 so that the centre of mass lands on the
    centre (shifted by whole pixels, as MNIST was; kept inside the field where a lopsided digit
    would otherwise be cut). Ink is scaled so the darkest stroke is 255, MNIST's range.
    An empty drawing gives an all-zero digit.
    """
    return _to_mnist(ink(image))


def read(image) -> tuple[Verdict, np.ndarray]:
    """`assess` and `to_mnist` in one pass over the image: (verdict, uint8 (28, 28) digit)."""
    reading = prepare(image)
    return reading.verdict, reading.digit


def prepare(image) -> Reading:
    """What the Draw page does with the canvas: judge it, bring its strokes to MNIST's width and
    make it a 28x28 digit as MNIST was made, saying what was done to the pen."""
    amount = ink(image)
    digit, stroke = _prepare(amount)
    return Reading(_assess(amount), digit, stroke)


def sample_reading(images, labels, label: int) -> Reading:
    """The first MNIST digit of `label` among `images` (uint8 (N, 28, 28)) as a Reading: the
    keyboard's way into the Draw page (issue 32), for a learner who cannot draw. It is MNIST's
    own digit, so it needs no preparation and nothing is said about its pen."""
    matches = np.flatnonzero(np.asarray(labels) == int(label))
    if not len(matches):
        raise ValueError(_("the sample holds no digit {label}", label=int(label)))
    digit = np.asarray(images[int(matches[0])], dtype=np.uint8)
    return Reading(Verdict(True, None, ""), digit, None)


def _to_mnist(amount: np.ndarray) -> np.ndarray:
    return _prepare(amount)[0]


# How `prepare` brings strokes to MNIST's width; issue 27 measured each on bench/drawn_digits.py
# (`--stroke NAME`; the figures are in models/README.md):
#   "even":     peel the edges of strokes drawn with one pen (`restroke`), but where the pen's
#               width varies along the strokes (more than strokes.SPREAD times) or peeling would cut the
#               drawing in pieces, "thin" instead: the page's way, the best measured;
#   "keep":     peel, unless peeling changes the number of pieces or loops; then "thin";
#   "thin":     scikit-image's topology-keeping `thin`, stopped after strokes.THIN stroke widths, so fat
#               strokes become 1 px lines (every loop and joint kept) while what a fat pen
#               filled stays a blob, then redrawn with MNIST's pen (`redraw`);
#   "skeleton", "medial": thin all the way (`skeletonize`, `medial_axis`), spurs cut, redrawn;
#   "peel":     `restroke` alone, the way before issue 27 (thin parts of a swelling pen vanish,
#               loops open), with grey ink measured against a fixed level;
#   "thicken":  only grow thin strokes, leave fat ones to the models; "none": as drawn.
# All but "peel" measure grey ink against the drawing's own darkest level, so soft ink is ink.
STROKE_METHODS = ("even", "keep", "thin", "skeleton", "medial", "peel", "thicken", "none")
STROKE_METHOD = "even"
GREY = 0.5  # a pixel with at least this share of the drawing's darkest ink is stroke


def _prepare(amount: np.ndarray, method: str | None = None) -> tuple[np.ndarray, Stroke | None]:
    method = method or STROKE_METHOD
    box = _box(amount >= INK)
    if box is None:
        return np.zeros((SIZE, SIZE), dtype=np.uint8), None
    top, bottom, left, right = box
    crop = amount[top:bottom, left:right]
    # The stroke step works WORK / 20 = 6 times larger than the digit will be, enough to measure
    # and redraw a 2.7 px stroke (16 px there) and a few times cheaper than the canvas's pixels.
    work = _resize(crop, WORK / max(crop.shape)) if max(crop.shape) > WORK else crop
    if method != "peel":  # grey ink (blurred, dimmed, scanned) is ink: measured against its darkest level
        work = work / max(float(work.max()), 1e-6)
    scale = BOX / max(work.shape)                    # working px -> px of the 28x28 field
    drawn = stroke_width(work >= GREY) * scale
    off = abs(drawn - MNIST_STROKE) > STROKE_TOLERANCE * MNIST_STROKE
    if drawn > 0 and off and method in ("keep", "even"):
        mask = work >= GREY
        peeled, scale_p, prepared = _restroke_rounds(work, drawn, scale)
        least = (1 / scale) ** 2  # a pixel of the 28 x 28 digit: smaller specks and pinholes do not count
        if method == "even":  # peel strokes of one width; thin those whose width varies, or that peeling splits
            (p0, _), (p1, _) = thinning.topology(mask, least), thinning.topology(peeled >= 0.5, least)
            safe = p1 <= p0 and thinning.width_spread(mask) <= thinning.SPREAD
        else:
            safe = thinning.topology(peeled >= 0.5, least) == thinning.topology(mask, least)
        if safe:
            return _shrink(peeled), Stroke(round(drawn, 1), round(prepared, 1),
                                           "thinned" if drawn > MNIST_STROKE else "thickened")
        method = "thin"
    if drawn > 0 and off and method in ("thin", "skeleton", "medial"):
        work = thinning.redraw(work >= GREY, drawn / scale, method, MNIST_STROKE / BOX, INK)
        scale = BOX / max(work.shape)
        prepared = stroke_width(work >= 0.5) * scale
        return _shrink(work), Stroke(round(drawn, 1), round(prepared, 1),
                                     "thinned" if drawn > MNIST_STROKE else "thickened")
    if drawn > 0 and off and method != "none" and (method == "peel" or drawn < MNIST_STROKE):
        work, scale, prepared = _restroke_rounds(work, drawn, scale)
        return _shrink(work), Stroke(round(drawn, 1), round(prepared, 1),
                                     "thinned" if drawn > MNIST_STROKE else "thickened")
    return _shrink(crop), Stroke(round(drawn, 1), round(drawn, 1), "kept")


def _restroke_rounds(work: np.ndarray, drawn: float, scale: float) -> tuple[np.ndarray, float, float]:
    """Peel or grow the strokes to MNIST's pen: (ink, px of the field per px, width in the field)."""
    # Thickening grows the box and thinning shrinks it, which changes the scale: two rounds bring
    # the width within a few percent.
    width = drawn / scale
    work = np.pad(work, int(np.ceil(max(MNIST_STROKE / scale - width, 0) / 2)) + 2)
    for _ in range(2):
        target = MNIST_STROKE / scale
        work = restroke(work, width, target)
        b = _box(work >= INK)
        work = work[b[0]:b[1], b[2]:b[3]]  # restroke never removes all the ink
        width, scale = target, BOX / max(work.shape)
    return work, scale, stroke_width(work >= 0.5) * scale  # measured where it was redrawn: cheap


def _resize(a: np.ndarray, factor: float) -> np.ndarray:
    h, w = a.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))  # PIL wants (width, height)
    return np.clip(np.asarray(Image.fromarray(a.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS),
                              dtype=np.float64), 0.0, None)  # Lanczos rings slightly below zero next to strokes


def _shrink(crop: np.ndarray) -> np.ndarray:
    out = np.zeros((SIZE, SIZE), dtype=np.uint8)
    small = _resize(crop, BOX / max(crop.shape))
    peak = small.max()
    if peak <= 0:
        return out
    small = small / peak
    cy, cx = centre_of_mass(small)
    sh, sw = small.shape
    y0 = int(np.clip(round(CENTRE - cy), 0, SIZE - sh))
    x0 = int(np.clip(round(CENTRE - cx), 0, SIZE - sw))
    out[y0:y0 + sh, x0:x0 + sw] = np.round(small * 255).astype(np.uint8)
    return out


def render_large(digit, size: int = CANVAS_SIZE, thicken: int = 0) -> np.ndarray:
    """A 28x28 digit drawn large, as on the canvas: uint8 (size, size), upscaled smoothly and,
    with `thicken` > 1, widened by a `thicken`-pixel square max filter, like a thicker pen."""
    img = np.asarray(Image.fromarray(np.asarray(digit, dtype=np.uint8))
                     .resize((size, size), Image.Resampling.BILINEAR))
    for axis in (0, 1):  # a square max filter is a max over rows, then over columns
        padded = np.pad(img, [(thicken // 2, thicken // 2) if a == axis else (0, 0) for a in (0, 1)])
        img = np.max([np.take(padded, range(k, k + size), axis=axis) for k in range(max(thicken, 1))], axis=0)
    return img


# --- Drawings made without a mouse (tests and bench/load.py) ----------------------------------

def render(*strokes, width: int = STROKE_WIDTH, rgba: bool = True, background: int = 0) -> np.ndarray:
    """Pen strokes (lists of (x, y) canvas pixels) drawn white with the canvas's round brush on a
    canvas-sized image, as the page gets it: RGBA with an opaque black background, or gray."""
    img = Image.new("L", (CANVAS_SIZE, CANVAS_SIZE), background)
    pen = ImageDraw.Draw(img)
    for points in strokes:
        pen.line(points, fill=255, width=width, joint="curve")
        for x, y in points:  # round caps, as the canvas's brush
            pen.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=255)
    gray = np.asarray(img)
    return np.dstack([gray, gray, gray, np.full_like(gray, 255)]) if rgba else gray


# --- The Draw page's pen: strokes as point lists, from the browser (untrusted) ----------------

# A digit is a few strokes of a few hundred points (the pad keeps a point every 2 px or more);
# these bounds leave room for any honest drawing and cap what rendering one value can cost.
MAX_STROKES = 64
MAX_POINTS = 4096        # in one stroke
MAX_TOTAL_POINTS = 8192  # in the whole drawing


class StrokeError(ValueError):
    """The pen's value is not a drawing; the message is one plain sentence for the page."""


@dataclass(frozen=True)
class Strokes:
    """A checked drawing: strokes of (x, y) canvas pixels, each inside the canvas, and whether
    the pen is still down (a live update sent while drawing) or lifted."""

    strokes: tuple[tuple[tuple[float, float], ...], ...]
    down: bool = False
    seq: int = 0  # the pad counts its values, so an answer can say which drawing it is for

    def render(self) -> np.ndarray:
        """RGBA (280, 280, 4), drawn as `render` draws: what `read` expects from the page."""
        return render(*self.strokes)


def parse_strokes(value) -> Strokes:
    """The pad's value -> Strokes, or StrokeError with one sentence. The value is what the
    browser sent: {"strokes": [[x0, y0, x1, y1, ...], ...], "down": bool, "seq": int}, or None
    before anything is drawn (an empty drawing). Sizes are checked before anything is read,
    numbers must be finite, and points are clipped to the canvas."""
    if value is None:
        return Strokes(())
    if not isinstance(value, dict) or not isinstance(value.get("strokes"), list):
        raise StrokeError(_("The drawing could not be read: it is not a list of pen strokes."))
    raw, down, seq = value["strokes"], value.get("down", False), value.get("seq", 0)
    if not isinstance(down, bool) or type(seq) is not int or not 0 <= seq < 2 ** 53:
        raise StrokeError(_("The drawing could not be read: its pen state is not valid."))
    if len(raw) > MAX_STROKES:
        raise StrokeError(_("The drawing has more than {limit} strokes: clear it and draw one digit.",
                            limit=MAX_STROKES))
    if not all(isinstance(s, list) and 2 <= len(s) <= 2 * MAX_POINTS and len(s) % 2 == 0 for s in raw):
        raise StrokeError(_("The drawing could not be read: each stroke must be 1 to {limit} points given as "
                            "x, y pairs.", limit=MAX_POINTS))
    if sum(len(s) for s in raw) > 2 * MAX_TOTAL_POINTS:
        raise StrokeError(_("The drawing has more than {limit} points: clear it and draw one digit.",
                            limit=MAX_TOTAL_POINTS))
    strokes = []
    for s in raw:
        # bool is an int in Python, and a JSON true is no coordinate; an int may be too large for a float
        if not all(type(v) is int or (type(v) is float and math.isfinite(v)) for v in s):
            raise StrokeError(_("The drawing could not be read: a point is not a finite number."))
        xy = np.asarray([min(max(v, 0), CANVAS_SIZE) for v in s], dtype=np.float64).reshape(-1, 2)
        strokes.append(tuple(map(tuple, xy.tolist())))
    return Strokes(tuple(strokes), down, seq)


def pad_value(*strokes, down: bool = False, seq: int = 0) -> dict:
    """The Draw page pad's value for strokes of (x, y) points, as its frontend sends it."""
    return {"strokes": [[round(float(c), 1) for p in points for c in p] for points in strokes],
            "down": down, "seq": seq}
