"""The Hidden states page runs under AppTest for every shipped model and every way to pick a digit."""
import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnn_demo import data, ui

PAGE = str(ui.ROOT / "pages" / "1_Hidden_states.py")


def run(model="rnn", **state) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90)
    at.session_state["hs_model"] = model
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def charts(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def bars_at_last_step(spec) -> np.ndarray:
    y = spec["frames"][-1]["data"][-1]["y"]
    return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]) if isinstance(y, dict) else np.array(y)


@pytest.mark.parametrize("name", ui.SHIPPED)
def test_page_runs_for_each_shipped_model(name, user_models):
    at = run(name)
    assert not at.exception, at.exception
    assert not at.error
    specs = charts(at)
    assert len(specs) == 5  # animation, when-does-it-know, drive, trajectories, two models side by side
    assert len(specs[0]["frames"]) == 28
    assert bars_at_last_step(specs[0]).sum() == pytest.approx(1.0, abs=1e-6)
    text = " ".join(m.value for m in at.markdown)
    assert f"with **{name}**" in text and ("From **step" in text or "never settles" in text)


def test_lstm_switch_to_the_forget_gate(user_models):
    at = run("lstm", hs_q_lstm="f")
    assert not at.exception
    axis = charts(at)[0]["layout"]["coloraxis"]
    assert (axis["cmin"], axis["cmax"]) == (0, 1)
    assert any("forget" in c.value for c in at.caption)


def test_choosing_class_and_index(user_models):
    at = run("rnn", hs_class=7, hs_nth=5)
    assert not at.exception
    labels = data.load_sample().labels.numpy()
    index = int(np.flatnonzero(labels == 7)[4])
    assert f"**a 7** from the bundled MNIST test sample (digit no. {index + 1} of" in " ".join(m.value for m in at.markdown)


def test_random_digit_and_another(user_models):
    at = run("rnn", hs_source="A random digit")
    assert not at.exception
    first = at.session_state["hs_random"]
    at.button(key="hs_reroll").click().run()
    assert not at.exception and isinstance(at.session_state["hs_random"], int)
    assert 0 <= first < 1000


def test_my_drawing(user_models):
    at = run("rnn", hs_source="My drawing")  # nothing drawn yet: a hint, not an error
    assert not at.exception and at.info
    drawn = data.load_sample().images[3].numpy()
    at = run("rnn", hs_source="My drawing", **{ui.DRAWN_DIGIT: drawn})
    assert not at.exception and not at.error
    assert "your drawing" in " ".join(m.value for m in at.markdown)
    at = run("rnn", hs_source="My drawing", **{ui.DRAWN_DIGIT: np.zeros((10, 10), np.uint8)})
    assert not at.exception and "28 × 28" in at.warning[0].value
