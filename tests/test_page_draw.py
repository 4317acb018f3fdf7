"""The Draw page under AppTest: strokes injected into the pad's state (as its frontend sends
them) get a prediction from every model, read from the same 28x28 digit as `canvas.render` of
those strokes; while the pen is down only the answers and the row-by-row strip are shown; an
empty pad, a bad drawing or a hostile value gets a friendly message, never an exception."""
import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnn_demo import attribution, canvas, checkpoints, ui
from tests.test_canvas import ONE, SEVEN, drawing

PAGE = str(ui.ROOT / "pages" / "3_Draw.py")
KEY = "draw_canvas"


def run(*strokes, value=None, down=False) -> AppTest:
    """The page after the pad sent these strokes (or this raw value)."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    if strokes or value is not None:
        at.session_state[KEY] = {"drawing": value if value is not None else canvas.pad_value(*strokes, down=down)}
    return at.run()


def decode(z):
    """A Plotly 7 array: a list, or {"dtype", "bdata", "shape"}."""
    if isinstance(z, dict):
        return np.frombuffer(base64.b64decode(z["bdata"]), z["dtype"]).reshape(
            [int(n) for n in str(z.get("shape", "-1")).split(",")])
    return np.asarray(z, dtype=float)


def spec(at, i):
    return json.loads(at.get("plotly_chart")[i].proto.spec)


def test_a_drawn_seven_is_read_by_every_model(user_models):
    at = run(SEVEN)
    assert not at.exception
    digit = canvas.to_mnist(drawing(SEVEN))  # the pipeline the tests trust, on the same strokes
    models = {n: checkpoints.load(p).model.eval() for n, p in ui.model_paths().items()}
    expected = attribution.predict(models, digit)
    shown = {m.label.split(" (")[0]: m.value for m in at.metric}
    assert shown == {n: str(p.digit) for n, p in expected.items()}
    assert expected["rnn"].digit == 7
    # the enlarged digit is the preprocessed array itself
    seen = spec(at, 0)["data"][0]["z"]
    np.testing.assert_array_equal(decode(seen), digit)
    # the probability bars are the models' own softmax
    bars = {t["name"]: decode(t["y"]) for t in spec(at, 2)["data"]}
    for name, p in expected.items():
        np.testing.assert_allclose(bars[name], p.probs, rtol=1e-5, atol=1e-7)
    # the per-step heatmaps are the read-out's softmax after every row
    heatmaps = [t for t in spec(at, 1)["data"] if t["type"] == "heatmap"]
    for trace, (name, p) in zip(heatmaps, expected.items()):
        np.testing.assert_allclose(decode(trace["z"]), p.step_probs, rtol=1e-5, atol=1e-7)
    # the strip beside the digit is ||d logit_pred / d x_t|| of the RNN (and the LSTM once shipped)
    strips = [t for t in spec(at, 3)["data"] if t["x"] == [30, 31, 32]]
    for trace, name in zip(strips, [n for n in ("rnn", "lstm") if n in models]):
        want = attribution.row_attribution(models[name], digit)
        np.testing.assert_allclose(decode(trace["z"])[:, 0], want, rtol=1e-4)
    assert strips
    assert not at.warning  # a good drawing: no complaint
    # and the stroke step says what it did to the pen (a 20 px pen on a full-size 7: thickened)
    stroke = canvas.prepare(drawing(SEVEN)).stroke
    assert stroke.action == "thickened"
    assert stroke.message in [c.value for c in at.caption]


def test_the_button_stores_the_drawn_digit_for_the_other_pages(user_models):
    # Start from the app's entry point, as a user does, so that links to other pages resolve.
    at = AppTest.from_file(str(ui.ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/3_Draw.py")
    image = drawing(ONE)
    at.session_state[KEY] = {"drawing": canvas.pad_value(ONE)}
    at.run()
    at.button(key="draw_send").click().run()
    assert not at.exception
    np.testing.assert_array_equal(at.session_state[ui.DRAWN_DIGIT], canvas.to_mnist(image))
    assert "stored" in at.success[0].value
    links = [el.proto.page for el in at.get("page_link")]
    assert links == [p.split("_", 1)[1].removesuffix(".py") for p, _, _ in ui.PAGES[:2]
                     if (ui.ROOT / p).exists()] and links


def test_empty_canvas_shows_a_friendly_message(user_models):
    for at in (run(), run(value={"strokes": []})):
        assert not at.exception
        assert "empty" in at.info[0].value
        assert not at.metric


FULL = [[(0, y), (280, y)] for y in range(0, 281, 15)]  # zig-zags over the whole pad


@pytest.mark.parametrize("strokes, words", [(FULL, "whole canvas"), ([[(140, 140), (141, 141)]], "dot")])
def test_bad_drawings_say_why(user_models, strokes, words):
    at = run(*strokes)
    assert not at.exception
    assert words in at.info[0].value


def test_a_stroke_at_the_edge_is_read_with_a_warning(user_models):
    at = run([(4, 30), (4, 250)])
    assert not at.exception
    assert at.metric and any("edge" in w.value for w in at.warning)


def test_when_no_model_is_sure_the_page_says_it_does_not_look_like_mnist(user_models, monkeypatch):
    at = run(SEVEN)
    assert not any("does not look like an MNIST digit" in w.value for w in at.warning)
    # Every model is below 101% sure of anything: the page must say so, and still show the answers.
    monkeypatch.setattr(attribution, "LOW_CONFIDENCE", 1.01)
    at = run(SEVEN)
    assert not at.exception and at.metric
    assert any("does not look like an MNIST digit" in w.value for w in at.warning)


def test_while_the_pen_is_down_the_answers_and_the_strip_come_first_and_alone(user_models):
    at = run(SEVEN, down=True)
    assert not at.exception
    digit = canvas.to_mnist(drawing(SEVEN))
    models = {n: checkpoints.load(p).model.eval() for n, p in ui.model_paths().items()}
    expected = attribution.predict(models, digit)
    assert {m.label.split(" (")[0]: m.value for m in at.metric} == {n: str(p.digit) for n, p in expected.items()}
    assert len(at.get("plotly_chart")) == 1  # the prediction after every row, nothing else yet
    heatmaps = [t for t in spec(at, 0)["data"] if t["type"] == "heatmap"]
    np.testing.assert_allclose(decode(heatmaps[0]["z"]), expected["rnn"].step_probs, rtol=1e-5, atol=1e-7)
    assert not any("Which rows mattered" in h.value for h in at.subheader)
    at.session_state[KEY] = {"drawing": canvas.pad_value(SEVEN, down=False, seq=2)}  # the pen lifted
    at.run()
    assert len(at.get("plotly_chart")) == 4 and any("Which rows mattered" in h.value for h in at.subheader)


@pytest.mark.parametrize("value", [
    "data:image/png;base64,AAAA",                                   # the old canvas's kind of value
    {"strokes": [[1, 2, 3]]},                                        # an odd number of coordinates
    {"strokes": [[140, 140, float("nan"), 150]]},                    # not a finite number
    {"strokes": [[140, 140]] * (canvas.MAX_STROKES + 1)},            # too many strokes
    {"strokes": [[140, 140, 150, 150]], "down": "yes"},              # a pen state that is not one
])
def test_a_hostile_pad_value_is_refused_with_one_sentence(user_models, value):
    at = run(value=value)
    assert not at.exception and not at.metric
    assert len(at.error) == 1 and at.error[0].value.count(". ") == 0 and at.error[0].value.endswith(".")


def test_a_sample_digit_is_read_without_a_pen_until_the_pad_sends_a_new_drawing(user_models):
    """The keyboard path (issue 32): choosing a sample digit gets every model's answer on MNIST's
    own digit; the next value from the pad (a stroke, Undo, Clear) puts the drawing back."""
    at = run()
    assert at.info  # nothing drawn yet
    at.selectbox(key="draw_sample").set_value(3).run()
    assert not at.exception and not at.info
    sample = ui.sample()
    index = int(np.flatnonzero(sample.labels.numpy() == 3)[0])
    digit = sample.images[index].numpy()
    np.testing.assert_array_equal(decode(spec(at, 0)["data"][0]["z"]), digit)  # the digit read is the sample's
    models = {n: checkpoints.load(p).model.eval() for n, p in ui.model_paths().items()}
    expected = attribution.predict(models, digit)
    assert {m.label.split(" (")[0]: m.value for m in at.metric} == {n: str(p.digit) for n, p in expected.items()}
    assert expected["rnn"].digit == 3
    # the pad sends a new drawing: the sample gives way to it
    at.session_state[KEY] = {"drawing": canvas.pad_value(SEVEN, seq=5)}
    at.run()
    assert at.selectbox(key="draw_sample").value is None
    np.testing.assert_array_equal(decode(spec(at, 0)["data"][0]["z"]), canvas.to_mnist(drawing(SEVEN)))


def test_sample_reading_is_the_first_digit_of_that_label():
    sample = ui.sample()
    for label in (0, 9):
        reading = canvas.sample_reading(sample.images, sample.labels, label)
        first = int(np.flatnonzero(sample.labels.numpy() == label)[0])
        assert reading.verdict.ok and reading.stroke is None
        np.testing.assert_array_equal(reading.digit, sample.images[first].numpy())
    with pytest.raises(ValueError):
        canvas.sample_reading(sample.images[:1], sample.labels[:1], int(sample.labels[0]) + 1)
