"""The Gradient flow page runs under AppTest, every control moves without an exception, and
the numbers it shows are the ones rnn_demo.gradients computes."""
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnn_demo import gradients, ui

PAGE = str(ui.ROOT / "pages" / "2_Gradient_flow.py")


def _spec(at, i):
    return json.loads(at.get("plotly_chart")[i].proto.spec)


def _trace(spec, name):
    return next(t for t in spec["data"] if t.get("name") == name)


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def _ok(at):
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


N = 64  # digits per curve in these tests (the page's default is 256): keeps the 784-step run short


@pytest.fixture(scope="module")
def at():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ui, "GRADIENT_DIGITS", N)
        app = AppTest.from_file(PAGE, default_timeout=120).run()
        _ok(app)
        yield app


def test_page_shows_all_four_parts(at):
    headers = [h.value for h in at.header]
    assert headers == ["1. Gradient norm through time", "2. Make it vanish or explode", "3. During training",
                       "4. Why it happens"]
    assert len(at.get("plotly_chart")) == 5  # trained, at init, experiment, eigenvalues, training
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "Bengio" in text and "Pascanu" in text


def test_experiment_numbers_are_the_libraries(at):
    names = list(ui.model_paths())
    digits = ui.sample()
    exp = gradients.rnn_experiment(gradients.fresh_rnn_weights(), gradients.make_sequences(
        digits.images[:N]), digits.labels[:N], 0.9, "tanh")
    assert _metric(at, "ρ (largest |eigenvalue|)") == f"{exp.rho:.3f}" == "0.900"
    assert _metric(at, "fitted factor per step back") == f"{exp.curve.factor:.3f}"
    line = _trace(_spec(at, 2), "tanh RNN, ρ = 0.90")
    np.testing.assert_allclose(line["y"], exp.curve.median, rtol=1e-9)
    info = gradients.training_norms(ui.load_model(at.selectbox(key="grad_train_model").value).history)
    assert _metric(at, "steps clipped").startswith(f"{info['clipped']:,} ")
    assert names


def test_every_control_moves(at):
    names = list(ui.model_paths())
    before = _trace(_spec(at, 2), "tanh RNN, ρ = 0.90")["y"]
    at.slider(key="grad_rho").set_value(1.5).run()
    _ok(at)
    assert _metric(at, "ρ (largest |eigenvalue|)") == "1.500"
    assert _trace(_spec(at, 2), "tanh RNN, ρ = 1.50")["y"] != before
    at.radio(key="grad_activation").set_value("identity").run()
    _ok(at)
    assert float(_metric(at, "fitted factor per step back")) > 1  # identity, rho 1.5: it explodes
    at.radio(key="grad_activation").set_value("relu").run()
    _ok(at)
    for seq in ("blank", "noise"):
        at.selectbox(key="grad_sequence").set_value(seq).run()
        _ok(at)
        at.select_slider(key="grad_extra").set_value(50).run()
        _ok(at)
        assert _metric(at, "steps") == "78"
    at.selectbox(key="grad_sequence").set_value("pixels").run()
    _ok(at)
    assert _metric(at, "steps") == "784"
    at.selectbox(key="grad_sequence").set_value("rows").run()
    if "rnn" in names:
        at.selectbox(key="grad_source").set_value("rnn").run()
        _ok(at)
        assert "pixels" not in at.selectbox(key="grad_sequence").options
    at.toggle(key="grad_normalised").set_value(False).run()
    _ok(at)
    assert "‖dL/ds_t‖ (median, IQR)" in json.dumps(_spec(at, 0)["layout"]["yaxis"], ensure_ascii=False)
    at.multiselect(key="grad_models").set_value(names[-1:]).run()
    _ok(at)
    at.multiselect(key="grad_models").set_value([]).run()
    _ok(at)
    assert any("Pick at least one model" in i.value for i in at.info)
    at.selectbox(key="grad_train_model").set_value(names[-1]).run()
    _ok(at)


def test_a_drawn_digit_gets_its_own_curves():
    """The Draw page's digit (session state) is measured too, against each model's own answer."""
    from rnn_demo import checkpoints, data

    digit = data.load_sample().images[3].numpy()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ui, "GRADIENT_DIGITS", N)
        app = AppTest.from_file(PAGE, default_timeout=120)
        app.session_state[ui.DRAWN_DIGIT] = digit
        app.run()
    _ok(app)
    assert "Your drawing" in [h.value for h in app.subheader]
    spec = next(_spec(app, i) for i in range(len(app.get("plotly_chart")))
                if "Your drawing" in json.dumps(_spec(app, i)["layout"].get("title", "")))
    model = checkpoints.load(ui.SHIPPED_DIR / "lstm.pt").model
    curves, answer = gradients.digit_norms(model, digit)
    shown = _trace(spec, "lstm ‖dL/ds_t‖")
    np.testing.assert_allclose(np.asarray(shown["y"], dtype=float), curves["h"].median, rtol=1e-6)
    assert answer == int(data.load_sample().labels[3])


def test_the_figures_sentence_is_computed_from_the_trained_curves(at):
    """The text alternative (issue 32) says each trained model's row-1 / row-28 median, the
    same numbers the curves end on, the model that keeps most first."""
    from rnn_demo import describe
    at.multiselect(key="grad_models").set_value([n for n in ("rnn", "lstm", "gru") if n in ui.model_paths()]).run()
    _ok(at)
    ratios = {}
    for name in at.multiselect(key="grad_models").value:
        ratios[name] = float(ui.gradient_curves(name, at_init=False)["h"].median[0])
    sentence = describe.gradient_sentence(ratios)
    assert sentence.startswith("At row 1, ") and len(ratios) >= 2
    from tests.conftest import shown
    assert sentence in [shown(c.value) for c in at.caption]
    best = max(ratios, key=ratios.get)
    assert sentence.startswith(f"At row 1, {best} keeps {describe.power_of_ten(ratios[best])}")
