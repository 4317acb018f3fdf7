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
