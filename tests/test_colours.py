"""Colours every learner can tell apart (issue 32): the models' colours stay apart under the
Machado (2009) simulations of protanopia, deuteranopia and tritanopia (CIEDE2000), the heat-map
scales keep their order, and figure text reaches WCAG's 4.5:1."""
import numpy as np
import pytest
from plotly.colors import get_colorscale

from rnn_demo import palette
from rnn_demo.plots import CELL_COLORS, model_colors

SHOWN_TOGETHER = list(palette.MODEL_COLORS.values()) + palette.DISTINCT_EXTRAS  # up to six models on a page


def test_ciede2000_matches_sharmas_published_pairs():
    # Sharma, Wu & Dalal (2005), table 1: pairs 1, 7 and 17 with their published differences.
    pairs = [((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
             ((50, 0, 0), (50, -1, 2), 2.3669),
             ((50, 2.5, 0), (73, 25, -18), 27.1492)]
    for a, b, want in pairs:
        assert palette.ciede2000(np.array(a), np.array(b)) == pytest.approx(want, abs=1e-4)


def test_machado_matrices_keep_grey_grey_and_fold_red_onto_green():
    # Each row sums to 1 (white stays white), and a protanope sees pure red and a dull green alike.
    for m in palette.MACHADO_2009.values():
        np.testing.assert_allclose(m.sum(axis=1), 1, atol=2e-3)
    assert palette.distance("#ff0000", "#00ff00") > 80
    assert palette.distance("#d62728", "#2ca02c", "deuteranopia") < 5  # the old LSTM / GRU pair: one colour


@pytest.mark.parametrize("vision", palette.VISIONS)
def test_model_colours_stay_apart_under_every_colour_vision(vision):
    closest, pair = palette.min_distance(SHOWN_TOGETHER, vision)
    assert closest >= 12, f"{pair} are only {closest:.1f} apart (CIEDE2000) with {vision}"
    # the palette every page uses is this one
    assert CELL_COLORS == palette.MODEL_COLORS
    assert list(model_colors(["rnn", "lstm", "gru", "birnn", "mine", "yours"]).values()) == SHOWN_TOGETHER


def test_the_old_palette_failed_where_the_new_one_holds():
    old = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    assert palette.min_distance(old, "protanopia")[0] < 2  # RNN blue and bi-RNN purple: one colour
    assert palette.min_distance(list(palette.MODEL_COLORS.values()), "protanopia")[0] > 12


def test_lines_stand_out_from_the_white_page_and_text_is_readable():
    # WCAG 1.4.11: a line (graphical object) at 3:1 against the figure's white; 1.4.3: text at 4.5:1.
    for c in SHOWN_TOGETHER:
        assert palette.contrast(c) >= 3, c
    assert palette.contrast(palette.FIGURE_TEXT) >= 4.5
    assert palette.contrast("#000000") == pytest.approx(21)


@pytest.mark.parametrize("name", palette.SEQUENTIAL_SCALES)
@pytest.mark.parametrize("vision", palette.VISIONS)
def test_sequential_scales_keep_their_order_in_lightness(name, vision):
    """Order is read from lightness, which every colour vision keeps: monotone L*, and the two
    ends far apart."""
    stops = np.array([palette.rgb(c) for _, c in get_colorscale(name)])
    L = palette.lab(palette.simulate(stops, vision))[:, 0]
    steps = np.diff(L)
    assert (steps > 0).all() or (steps < 0).all(), (name, vision, L.round(1))
    assert abs(L[-1] - L[0]) > 50


@pytest.mark.parametrize("name", palette.DIVERGING_SCALES)
@pytest.mark.parametrize("vision", palette.VISIONS)
def test_diverging_scales_keep_their_two_ends_apart(name, vision):
    stops = [c for _, c in get_colorscale(name)]
    assert palette.distance(stops[0], stops[-1], vision) > 20  # -1 and +1 (22.7 for a protanope)
    assert palette.distance(stops[2], stops[-3], vision) > 35  # -0.6 and +0.6
    middle = stops[len(stops) // 2]
    assert min(palette.distance(stops[0], middle, vision), palette.distance(stops[-1], middle, vision)) > 25
