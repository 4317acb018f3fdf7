"""bench/drawn_digits.py on a tiny slice: the drawings are there, placed as asked, read through
the Draw page's pipeline, and the report has one `drawn <model>: X%` line per model."""
import re
from collections import Counter

import numpy as np
import pytest

from bench import drawn_digits as dd
from rnn_demo import canvas
from rnn_demo.ui import SHIPPED_DIR


def test_the_base_drawings_cover_every_digit():
    digits, others = dd.load_drawings()
    assert len(digits) >= 60
    assert all(n >= 6 for n in Counter(d["label"] for d in digits).values()) and len({d["label"] for d in digits}) == 10
    assert {o["kind"] for o in others} == {"letter", "scribble", "two digits"}


@pytest.mark.parametrize("size, tilt, position", [(0.4, 0.0, (0, 0)), (1.0, 20.0, (0, 0)), (0.55, -10.0, (1, 1))])
def test_a_drawing_is_placed_at_its_size_tilt_and_position(size, tilt, position):
    digits, _ = dd.load_drawings()
    seven = next(d for d in digits if d["label"] == 7)
    case = dd.Case(0, 7, "x", 0, 20, tilt, 0.0, size, position)
    pts = np.concatenate([np.asarray(s) for s in dd.place(seven["strokes"], case)])
    extent = pts.max(0) - pts.min(0)
    assert max(extent) == pytest.approx(size * dd.BOX)
    assert pts.min() >= 10 + canvas.EDGE and pts.max() <= canvas.CANVAS_SIZE - 10 - canvas.EDGE
    if position == (1, 1):  # pushed to the bottom right corner: the pen's edge 2 px inside the margin
        assert pts.max(0) == pytest.approx(canvas.CANVAS_SIZE - 10 - canvas.EDGE - 2)


def test_a_quick_run_reads_the_drawings(capsys):
    dd.main(["--quick", "--no-mnist", "--models", str(SHIPPED_DIR / "lstm.pt")])
    out = capsys.readouterr().out
    got = re.search(r"^drawn lstm: ([\d.]+)%", out, re.M)
    assert got and float(got.group(1)) >= 60.0  # the slice holds two of the hardest drawings; chance is 10%
    assert re.search(r"^not digits, every model below \d+%: [\d.]+%", out, re.M)
    for factor in dd.FACTORS:
        assert re.search(rf"^  {factor} ", out, re.M)


def test_the_styles_of_issue_27_are_drawn_as_asked():
    """Fat pens up to 60 px on digits at 40-60% of the box; soft ink; low resolution; a pen that
    swells along the stroke; every case made the same way twice (seeded)."""
    digits, others = dd.load_drawings()
    thick = dd.STYLES["thick pen"].values()
    assert max(v["pen"] for v in thick) == 60 and {v["size"] for v in thick} == {0.4, 0.5, 0.6}
    assert {v["lowres"] for v in dd.STYLES["low resolution"].values()} >= {8, 16}
    all_cases = dd.cases(digits, others)
    assert all_cases == dd.cases(digits, others)
    by_style = Counter(c.factor for c in all_cases)
    for style, settings in dd.STYLES.items():
        assert by_style[style] == len(settings) * len(digits)
    zero = next(i for i, d in enumerate(digits) if d["label"] == 0)

    def case(style, setting):
        return next(c for c in all_cases if c.drawing == zero and c.factor == style and c.setting == setting)

    blurred, photo = (dd.draw_case(case("soft ink", s), digits, others) for s in ("blur 12", "photo"))
    sharp = canvas.render(*dd.place(digits[zero]["strokes"], case("soft ink", "blur 12")), width=20, rgba=False)
    assert blurred.max() < 255 and (blurred > 25).sum() > 1.5 * (sharp > 25).sum()  # grey ink spread wide
    assert 0.5 * 255 <= photo.max() <= 0.6 * 255  # dimmed to 60% of the blurred ink
    low = dd.draw_case(case("low resolution", "8x8"), digits, others).astype(float)
    # 8 samples across the digit scaled up bilinearly: gentle ramps, where the pen's edge jumps by 255
    assert np.abs(np.diff(sharp.astype(float), axis=1)).max() == 255 and np.abs(np.diff(low, axis=1)).max() < 40
    np.testing.assert_array_equal(dd.draw_case(case("varying pen", "20-60"), digits, others),
                                  dd.draw_case(case("varying pen", "20-60"), digits, others))


def test_a_varying_pen_swells_and_shrinks_along_the_stroke():
    line = dd.render_varying([[(20.0, 140.0), (260.0, 140.0)]], (10, 40), seed=0)
    widths = (line[:, 40:240] >= 128).sum(0)  # column by column along the stroke
    assert widths.min() == pytest.approx(10, abs=2) and widths.max() == pytest.approx(40, abs=2)


def test_a_quick_run_prints_every_style_and_any_stroke_method(capsys, monkeypatch):
    monkeypatch.setattr(canvas, "STROKE_METHOD", canvas.STROKE_METHOD)  # put back after the test
    dd.main(["--quick", "--no-mnist", "--stroke", "peel", "--models", str(SHIPPED_DIR / "gru.pt")])
    out = capsys.readouterr().out
    for style in dd.STYLES:
        assert re.search(rf"^  {style} .+: [\d.]+%", out, re.M), style
    assert re.search(r"^  styles: thick pen [\d.]+%, soft ink [\d.]+%, low resolution [\d.]+%, varying pen [\d.]+%$",
                     out, re.M)
    assert re.search(r"^targets of issue 27 .*: (met|NOT met)$", out, re.M)
    assert canvas.STROKE_METHOD == "peel"
