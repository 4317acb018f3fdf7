"""The Lesson page: every number it shows is pinned to its source (the post's log as transcribed,
the shipped seed-recipe run's history and metrics), the code it shows runs and matches the model,
projector mode's figures have no font under 18 px, and every screen renders in both languages."""
import base64
import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from rnn_demo import checkpoints, data, lesson, plots, train, ui
from rnn_demo.i18n import set_language
from rnn_demo.plots import lesson as lplots

PAGE = "pages/0_Lesson.py"


@pytest.fixture(scope="module")
def run():
    return checkpoints.load(lesson.SEED_RUN)


# --- the data -----------------------------------------------------------------------------

def test_the_run_is_the_posts_recipe(run):
    seed = train.PRESETS["seed"]
    cfg = run.train_config
    for field in ("optimizer", "lr", "batch_size", "iterations", "clip", "init", "schedule"):
        assert cfg[field] == getattr(seed, field), field
    assert (cfg["augment"], cfg["non_digits"], cfg["eval_every"]) == (0.0, 0.0, 1000)
    mc = run.model_config
    assert (mc.cell, mc.hidden_size, mc.num_layers, mc.bidirectional, mc.nonlinearity) == ("rnn", 128, 1, False, "tanh")
    assert len(run.history["loss"]) == 10_000 and run.history["status"] == "done"
    assert run.dataset["n_train"] == 60_000 and run.dataset["n_test"] == 10_000


def test_the_post_log_is_minibatches_of_128():
    """As printed, each accuracy is a count out of 128 digits, rounded to 0.1 points."""
    assert [p[0] for p in lesson.POST_LOG] == list(range(0, 10_000, 1000))
    for _it, loss, acc in lesson.POST_LOG:
        assert abs(acc * 128 - round(acc * 128)) < 0.07, acc
        assert 0 < loss < 2.31
    assert round(lesson.POST_TEST_ACC * 128) == 125 and abs(125 / 128 - lesson.POST_TEST_ACC) < 5e-5


def test_post_log_beside_reads_the_history(run):
    rows = lesson.post_log_beside(run.history)
    assert len(rows) == len(lesson.POST_LOG)
    for row, (it, loss, acc) in zip(rows, lesson.POST_LOG):
        assert (row["iteration"], row["post_loss"], row["post_acc"]) == (it, loss, acc)
        assert row["run_loss"] == run.history["loss"][it] and row["run_acc"] == run.history["batch_acc"][it]
        lo = max(0, it - 99)
        assert row["run_acc_mean"] == pytest.approx(np.mean(run.history["batch_acc"][lo:it + 1]))
    # the first batch, before any update: an untrained net's loss is ln 10 for both
    assert rows[0]["run_loss"] == pytest.approx(np.log(10), abs=1e-3) and rows[0]["post_loss"] == 2.30


def test_results(run):
    post = lesson.post_result()
    assert (post["right"], post["n"]) == (125, 128)
    assert post["low"] == pytest.approx(0.9333, abs=5e-4) and post["high"] == pytest.approx(0.9920, abs=5e-4)
    ours = lesson.run_result(run)
    assert ours["acc"] == run.metrics["test_acc"] == run.history["evals"][-1]["test_acc"]
    assert ours["n"] == 10_000 and ours["right"] == 9728  # python -m rnn_demo.evaluate: 0.9728 (models/README.md)
    assert ours["high"] - ours["low"] < 0.007 < post["high"] - post["low"]


def test_the_run_evaluates_as_recorded(run, test_digits):
    if len(test_digits) != 10_000:
        pytest.skip("needs the full MNIST test set (RNN_DEMO_DATA)")
    acc, _preds = train.accuracy(run.model, test_digits)
    assert acc == pytest.approx(run.metrics["test_acc"], abs=1e-4)


def test_weight_table(run):
    rows = lesson.weight_table(run.model)
    assert [r["app"] for r in rows][:2] == ["W_x", "W_h"] and [r["shape"] for r in rows][:2] == ["128 × 28", "128 × 128"]
    assert sum(r["numbers"] for r in rows) == run.metrics["params"] == 21_514


def test_the_pytorch_code_on_the_page_is_the_model(run, sample):
    """TORCH_CODE, run as shown with the shipped run's weights, gives the model's own logits."""
    w = run.model.layer_weights(0)
    env = {"torch": torch, "images": sample.images[:64], "W_x": w["W_ih"].detach(), "W_h": w["W_hh"].detach(),
           "b": (w["b_ih"] + w["b_hh"]).detach(), "W_l": run.model.readout.weight.detach(),
           "b_l": run.model.readout.bias.detach()}
    with torch.no_grad():
        exec(lesson.TORCH_CODE, env)
        expected = run.model(sample.sequences(slice(0, 64)))
    torch.testing.assert_close(env["output"], expected, atol=1e-5, rtol=1e-5)
    assert env["last"].shape == (64, 128) and len(env["all_states"]) == data.ROWS


@pytest.mark.parametrize("raw, screen", [(None, 0), ("1", 0), ("4", 3), (" 10 ", 9), ("11", 9), ("0", 0),
                                         ("-3", 0), ("2.5", 0), ("abc", 0), ("<script>", 0), ("9" * 400, 0),
                                         (["3", "5"], 4), ([], 0), ("٣", 0), ("", 0)])
def test_parse_step(raw, screen):
    assert lesson.parse_step(raw) == screen


# --- projector mode -----------------------------------------------------------------------

def _fonts(v, out, path=""):
    if isinstance(v, dict):
        for k, x in v.items():
            if k.endswith("font") and isinstance(x, dict):
                out.append((path + "." + k, x.get("size")))
            _fonts(x, out, path + "." + k)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            _fonts(x, out, f"{path}[{i}]")
    return out


def test_projector_fonts(run, sample):
    from rnn_demo import analysis
    from rnn_demo.plots import explorer
    set_language("en")
    trace = analysis.digit_trace(run.model, sample.images[lesson.DIGIT].numpy(), int(sample.labels[lesson.DIGIT]))
    specs = [plots.spec(lplots.post_log_figure(run.history, lesson.POST_LOG)),
             plots.spec(lplots.graph_figure(128, 28, 28, 10, 128)),
             plots.spec(explorer.explorer_figure(trace, "h", "s_t"))]
    for spec in specs:
        big = lesson.projector(spec)
        assert big["layout"]["font"]["size"] >= 18
        sizes = _fonts(big, [])
        assert sizes and all(s is not None and s >= 18 for _p, s in sizes), [p for p in sizes if not p[1] or p[1] < 18]
        assert lesson.projector(spec)["data"] == big["data"] and spec is not big  # a copy; the kept spec untouched


# --- the page -----------------------------------------------------------------------------

def _decode(v):
    if isinstance(v, dict) and "bdata" in v and "dtype" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v)


def _open(lang="en", step=None, present=False):
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.query_params["lang"] = lang
    if step is not None:
        at.query_params["step"] = step
    if present:
        at.query_params["present"] = "1"
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_screen_renders(lang):
    at = _open(lang)
    titles = []
    for i in range(len(lesson.SCREENS)):
        assert not at.exception, (i, at.exception)
        assert at.query_params["step"] == [str(i + 1)] or at.query_params["step"] == str(i + 1)
        titles.append(at.header[0].value)
        assert at.button(key="lesson_prev").disabled == (i == 0)
        if i < len(lesson.SCREENS) - 1:
            at.button(key="lesson_next").click().run()
    assert at.button(key="lesson_next").disabled
    assert len(set(titles)) == len(lesson.SCREENS)
    if lang == "ko":
        assert titles[0] == "1. 순환 신경망이란"
    at.button(key="lesson_prev").click().run()
    assert at.header[0].value == titles[-2]


def _figure(at, i=0) -> dict:
    return json.loads(at.get("plotly_chart")[i].proto.spec)


def test_training_screen_shows_the_post_and_the_run(run):
    at = _open(step="4")
    fig = _figure(at)
    post = [t for t in fig["data"] if t["name"] == "the post's log"]
    assert [list(_decode(t["y"])) for t in post] == [[p[1] for p in lesson.POST_LOG], [p[2] for p in lesson.POST_LOG]]
    batch = [t for t in fig["data"] if t["name"] == "this run: each minibatch"][0]
    step = len(run.history["loss"]) // 1000
    np.testing.assert_array_equal(_decode(batch["y"]), np.asarray(run.history["loss"])[::step])
    table = at.table[0].value
    assert list(table["this run: loss"]) == [f"{r:.3f}" for r in run.history["loss"][:10_000:1000]]


def test_result_screen_numbers(run):
    at = _open(step="5")
    shown = {m.label: m.value for m in at.metric}
    assert shown["the post: 125 of 128 test digits"] == "97.66%"
    assert shown["this run: 9,728 of 10,000 test digits"] == f"{run.metrics['test_acc']:.2%}" == "97.28%"
    bars = _figure(at)["data"][0]
    rnn = checkpoints.load(ui.SHIPPED_DIR / "rnn.pt")
    np.testing.assert_allclose(_decode(bars["x"]), [125 / 128, run.metrics["test_acc"], rnn.metrics["test_acc"]])


def test_vanish_screen_uses_the_runs_w_h(run):
    from rnn_demo import gradients
    at = _open(step="7")
    assert not at.exception
    lines = [t["name"] for t in _figure(at)["data"] if t.get("showlegend") is not False]
    rho = float(torch.linalg.eigvals(run.model.layer_weights(0)["W_hh"].detach().double()).abs().max())
    assert lines[0] == f"this run's own W_h, ρ = {rho:.2f}" and lines[1] == "W_h rescaled to ρ = 0.90"
    at.segmented_control(key="lesson_rho").set_value(1.3).run()
    assert not at.exception
    assert [t["name"] for t in _figure(at)["data"]][-1] == "W_h rescaled to ρ = 1.30"
    assert gradients  # the page computed it through gradients.rnn_experiment


@pytest.mark.parametrize("step, screen", [("<b>x</b>", 1), ("0", 1), ("99999", 10), ("-1", 1), ("3", 3)])
def test_hostile_step(step, screen):
    at = _open(step=step)
    assert at.header[0].value == lesson.SCREENS[screen - 1].title
    assert at.query_params["step"] in ([str(screen)], str(screen))


def test_projector_mode_from_the_url():
    at = _open(step="4", present=True)
    assert at.toggle(key="lesson_present_switch").value is True
    fig = _figure(at)
    assert all(s >= 18 for _p, s in _fonts(fig, []))
    assert not at.table  # fewer things on the screen: the table is left to the normal mode
    at.toggle(key="lesson_present_switch").set_value(False).run()
    assert "present" not in at.query_params and at.table


def test_home_lists_the_lesson_first():
    assert ui.PAGES[0][0] == PAGE
    at = AppTest.from_file("../app.py", default_timeout=120).run()
    assert not at.exception
