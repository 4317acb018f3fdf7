"""The Inside the cell page under AppTest: every shipped model, stepping with the buttons and the
slider, the learner's drawing, and the numbers the page shows are cellstep's."""
import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnn_demo import cellstep, checkpoints, data, ui

PAGE = "pages/7_Inside_the_cell.py"


def opened(model="lstm", **state) -> AppTest:
    at = AppTest.from_file(str(ui.ROOT / "app.py"), default_timeout=120)
    at.run()
    at.session_state["cell_model"] = model
    for k, v in state.items():
        at.session_state[k] = v
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def array(v) -> np.ndarray:
    return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]) if isinstance(v, dict) else np.array(v, float)


@pytest.mark.parametrize("name", ui.SHIPPED)
def test_page_shows_the_cell_for_each_shipped_model(name, user_models):
    at = opened(name, cell_t=14)
    assert not at.error, [e.value for e in at.error]
    cfg = checkpoints.load(ui.ROOT / "models" / f"{name}.pt").model_config
    specs = charts(at)
    D = cfg.directions
    assert len(specs) == 3 + (D - 1)  # digit, one diagram per direction, read-out
    walked = cellstep.walk(checkpoints.load(ui.ROOT / "models" / f"{name}.pt").model, data.load_sample().images[0].numpy())
    step = cellstep.at_step(walked, 14)
    for d in range(D):
        heat = [tr for tr in specs[1 + d]["data"] if tr["type"] == "heatmap"]
        assert len(heat) == len(cellstep.TERMS[cfg.cell])
        state = heat[-1]  # the new state, last computed
        shown = array(state["z"]).astype(np.float64).ravel()
        units = array(state["customdata"]).ravel()
        keep = ~np.isnan(units)
        got = shown[keep][np.argsort(units[keep])]
        np.testing.assert_allclose(got, step["terms"]["s" if cfg.cell == "rnn" else "h"][d], atol=1e-6)
    bars = specs[-1]["data"]
    np.testing.assert_allclose(array(bars[0]["y"]), step["probs_before"], atol=1e-7)
    np.testing.assert_allclose(array(bars[1]["y"]), step["probs_after"], atol=1e-7)
    latex = [e.proto.body for e in at.get("latex")]
    assert len(latex) == D and f"{step['norms']['c' if cfg.cell == 'lstm' else 'h' if cfg.cell == 'gru' else 's'][0]:.2f}" in latex[0]


def test_step_buttons_move_the_step_and_stop_at_the_ends(user_models):
    at = opened("rnn", cell_t=2)
    assert at.slider(key="cell_t").value == 2
    at.button(key="cell_fwd").click().run()
    assert at.slider(key="cell_t").value == 3 and not at.exception
    at.button(key="cell_back").click().run()
    at.button(key="cell_back").click().run()
    assert at.slider(key="cell_t").value == 1
    assert at.button(key="cell_back").disabled
    latex = [e.proto.body for e in at.get("latex")] if at.get("latex") else []
    assert any("s_{1}" in b and "s_{0}" in b for b in latex), latex
    at.slider(key="cell_t").set_value(28).run()
    assert at.button(key="cell_fwd").disabled and not at.button(key="cell_back").disabled
    assert "step 28 of 28" in " ".join(m.value for m in at.markdown)


def test_opens_on_the_first_row_with_ink(user_models):
    at = opened("gru")
    first = int(np.flatnonzero(data.load_sample().images[0].numpy().max(1) > 0)[0]) + 1
    assert at.slider(key="cell_t").value == first


def test_the_learners_drawing(user_models):
    drawn = np.zeros((28, 28), np.uint8)
    drawn[6:22, 13:16] = 255  # a 1
    at = opened("rnn", cell_source="My drawing", cell_t=10, **{ui.DRAWN_DIGIT: drawn})
    assert not at.error
    assert "Your drawing." in " ".join(m.value for m in at.markdown)
    digit = array(charts(at)[0]["data"][0]["z"]).reshape(28, 28)
    np.testing.assert_array_equal(digit, drawn)


def test_no_drawing_yet_says_so(user_models):
    at = opened("rnn", cell_source="My drawing")
    assert any("No drawing yet" in i.value for i in at.info)


def test_korean(user_models):
    at = AppTest.from_file(str(ui.ROOT / "app.py"), default_timeout=120)
    at.query_params["lang"] = "ko"
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert any("\uac00" <= ch <= "\ud7a3" for ch in at.title[0].value)
    assert any("\uac00" <= ch <= "\ud7a3" for ch in at.button(key="cell_fwd").label)
