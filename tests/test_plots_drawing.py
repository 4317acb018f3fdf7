"""The Draw page's figures: plotly's full validation accepts them, and they show the numbers given."""
import numpy as np
import plotly.graph_objects as go

from rnn_demo.plots import CELL_COLORS, drawing

RNG = np.random.default_rng(0)
DIGIT = RNG.integers(0, 256, (28, 28)).astype(np.uint8)


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_seen_digit_is_the_digit():
    fig = drawing.seen_digit(DIGIT)
    go.Figure(fig.to_dict())  # built without validation: plotly's full validation must accept it
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), DIGIT)
    assert fig.layout.yaxis.autorange == "reversed" and list(fig.data[0].y) == list(range(1, 29))


def test_probability_bars_one_trace_per_model():
    names = ["rnn", "lstm", "rnn-64", "rnn-128"]  # two models trained in the browser beside the shipped ones
    probs = {n: softmax(RNG.normal(size=10)) for n in names}
    fig = drawing.probability_bars(probs)
    go.Figure(fig.to_dict())
    assert [t.name for t in fig.data] == names
    for t in fig.data:
        np.testing.assert_allclose(t.y, probs[t.name])
    colors = [t.marker.color for t in fig.data]
    assert len(set(colors)) == 4  # every model its own colour
    assert colors[:2] == [CELL_COLORS["rnn"], CELL_COLORS["lstm"]]  # the shipped ones as on every page


def test_step_predictions_one_panel_per_model_with_its_argmax():
    step = {n: softmax(RNG.normal(size=(28, 10))) for n in ("rnn", "lstm", "gru")}
    fig = drawing.step_predictions(step)
    go.Figure(fig.to_dict())
    heat = [t for t in fig.data if t.type == "heatmap"]
    dots = [t for t in fig.data if t.type == "scatter"]
    assert [t.xaxis for t in heat] == ["x", "x2", "x3"] and [a.text for a in fig.layout.annotations] == list(step)
    for t, d, p in zip(heat, dots, step.values()):
        np.testing.assert_allclose(t.z, p)
        np.testing.assert_array_equal(d.x, p.argmax(1))
    assert [t.showscale for t in heat] == [False, False, True]
    domains = [fig.layout[f"xaxis{s}"].domain for s in ("", "2", "3")]
    assert all(a[1] < b[0] for a, b in zip(domains, domains[1:]))  # side by side, not overlapping


def test_row_attribution_strips_are_the_attribution():
    attr = {"rnn": RNG.random(28), "lstm": RNG.random(28)}
    fig = drawing.row_attribution(DIGIT, attr)
    go.Figure(fig.to_dict())
    assert len(fig.data) == 6
    for i, (name, a) in enumerate(attr.items()):
        digit, overlay, strip = fig.data[3 * i:3 * i + 3]
        np.testing.assert_array_equal(np.asarray(digit.z), DIGIT)
        np.testing.assert_allclose(np.asarray(overlay.z)[:, 5], a)
        np.testing.assert_allclose(np.asarray(strip.z)[:, 0], a)
        assert strip.zmax == a.max() and name in strip.hovertemplate


def test_every_colour_scale_reaches_the_browser_as_colours():
    """Unvalidated figures send a scale's name as it is; plotly.js does not know "gray"."""
    figs = [drawing.seen_digit(DIGIT), drawing.step_predictions({"rnn": softmax(RNG.normal(size=(28, 10)))}),
            drawing.row_attribution(DIGIT, {"rnn": RNG.random(28)})]
    for fig in figs:
        for trace in fig.to_dict()["data"]:
            if trace["type"] == "heatmap":
                assert isinstance(trace["colorscale"], list) and trace["colorscale"][0][0] == 0


def test_a_class_of_models_still_fits_side_by_side():
    """A class's 30 trained models and the 4 shipped ones on the Draw page: every subplot keeps a
    width inside the figure (the domains once ran past 1 and Plotly refused the figure)."""
    import numpy as np

    from rnn_demo.plots import subplot_domains
    from rnn_demo.plots.drawing import step_predictions
    for n in (2, 4, 34, 80):
        domains = subplot_domains(n, 0.02)
        assert all(0 <= a < b <= 1 for a, b in domains) and domains[-1][1] == 1.0
        assert all(b2 > a2 >= b1 for (a1, b1), (a2, b2) in zip(domains, domains[1:]))
    assert subplot_domains(4, 0.02)[1] == [0.255, 0.49]  # a few models: as before
    fig = step_predictions({f"m{i}": np.full((28, 10), 0.1) for i in range(34)})
    assert len(fig.data) == 68
