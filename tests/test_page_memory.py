"""The Memory page in AppTest: it opens with no exception, its curves are the results file's
numbers, the per-step view is the shipped model's own, and a run trained on it adds a point."""
import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnn_demo import checkpoints, data, memory, ui
from tests.conftest import poll


def decode(v):
    """A Plotly 7 array: a list, or {"dtype", "bdata", "shape"}."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), v["dtype"]).reshape(v.get("shape", [-1]))
    return np.asarray(v, float)


def fig(at, title: str) -> dict:
    """The page's figure whose title starts with `title`."""
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        if ((spec["layout"].get("title") or {}).get("text") or "").startswith(title):
            return spec
    raise AssertionError(f"no figure titled {title!r}")


def open_page() -> AppTest:
    at = AppTest.from_file(str(ui.ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("pages/6_Memory.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def page():
    return open_page()


def test_the_curves_are_the_results_files_numbers(page):
    assert not page.error
    spec = json.loads(page.get("plotly_chart")[0].proto.spec)
    results = memory.load_results()
    drawn = {t["name"]: t for t in spec["data"] if t.get("mode") == "lines+markers"}
    for variant, (_, _, _, label) in memory.VARIANTS.items():
        runs = [r for r in results["runs"] if r["variant"] == variant]
        if not runs:
            continue
        gaps = sorted({r["gap"] for r in runs})
        means = [np.mean([r["test_acc"] for r in runs if r["gap"] == g]) for g in gaps]
        assert decode(drawn[label]["x"]).tolist() == gaps
        np.testing.assert_allclose(decode(drawn[label]["y"]), means, rtol=1e-12)
    bands = [t for t in spec["data"] if t.get("fill") == "toself"]
    for band in bands:  # the seeds' range: highest accuracies out, lowest back
        variant = next(v for v, s in memory.VARIANTS.items() if band["name"].startswith(s[3]))
        accs = {g: [r["test_acc"] for r in results["runs"] if r["variant"] == variant and r["gap"] == g]
                for g in sorted({r["gap"] for r in results["runs"] if r["variant"] == variant})}
        y = decode(band["y"])
        np.testing.assert_allclose(y[:len(accs)], [max(a) for a in accs.values()])
        np.testing.assert_allclose(y[len(accs):], [min(a) for a in accs.values()][::-1])
    b = results["budget"]
    assert f"{b['steps']} steps of {b['batch_size']} digits" in page.caption[0].value


def test_the_per_step_view_is_the_shipped_models_own(page):
    gap = page.radio(key="memory_gap").value
    chosen = page.multiselect(key="memory_models").value
    assert gap in memory.CHECKPOINT_GAPS and "rnn" in chosen
    spec = fig(page, "Digit ")
    ckpt = checkpoints.load(memory.checkpoint_path("rnn", gap))
    sample = data.load_sample()
    expected = memory.read_through_gap(ckpt.model, sample.subset(slice(0, 1)), gap)["p_true"][0]
    line = next(t for t in spec["data"] if t.get("name") == memory.VARIANTS["rnn"][3])
    y = decode(line["y"])
    assert y.shape == (28 + gap,)
    np.testing.assert_allclose(y, expected, atol=1e-5)
    grad = fig(page, "How far back")
    assert any("‖dL/dc_t‖" in t.get("name", "") for t in grad["data"]) == ("lstm" in "".join(chosen))


def test_the_learning_curves_are_the_runs_evaluations(page):
    results = memory.load_results()
    gap = page.select_slider(key="memory_lc_gap").value
    spec = fig(page, f"During training, gap {gap}")
    line = next(t for t in spec["data"] if t.get("name") == memory.VARIANTS["rnn"][3])
    runs = [r for r in results["runs"] if r["variant"] == "rnn" and r["gap"] == gap]
    np.testing.assert_allclose(decode(line["y"]), np.mean([[e["test_acc"] for e in r["evals"]] for r in runs], 0))


def test_another_digit_and_gap(page):
    page.number_input(key="memory_digit").set_value(7).run()  # counted from 1, as on the other pages
    assert not page.exception
    label = int(data.load_sample().labels[6])
    article = "an" if label == 8 else "a"
    assert f"Digit 7 ({article} {label})" in fig(page, "Digit ")["layout"]["title"]["text"]
    assert page.number_input(key="memory_digit").min == 1
    gaps = sorted(memory.shipped_checkpoints())
    page.radio(key="memory_gap").set_value(gaps[-1]).run()
    assert not page.exception
    x = decode(fig(page, "How much of the digit")["data"][0]["x"])
    assert x[-1] == 28 + gaps[-1]


def test_train_it_yourself_adds_a_point(user_models, train_workers):
    at = open_page()
    at.selectbox(key="memory_train_variant").set_value("rnn")
    at.select_slider(key="memory_train_gap").set_value(10)
    at.select_slider(key="memory_train_steps").set_value(100).run()
    at.button(key="memory_train_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    poll(at, lambda a: a.success, timeout=240)
    saved = user_models / "memory" / "rnn-gap10.pt"
    ckpt = checkpoints.load(saved)
    assert ckpt.train_config["gap"] == 10 and len(ckpt.history["loss"]) == 100
    assert "rnn-gap10" not in ui.model_paths()  # kept out of the other pages' lists
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    star = next(t for t in spec["data"] if t["name"].startswith("yours: rnn-gap10"))
    assert decode(star["x"]).tolist() == [10]
    assert decode(star["y"])[0] == pytest.approx(ckpt.metrics["test_acc"])


def test_bad_files_among_the_pages_own_models_are_left_out(user_models, tmp_path):
    folder = user_models / "memory"
    folder.mkdir(parents=True)
    (folder / "broken.pt").write_bytes(b"PK\x03\x04 not a checkpoint")
    from rnn_demo.model import ModelConfig, build
    from rnn_demo.train import TrainConfig
    good = checkpoints.save(folder / "fine.pt", build(ModelConfig("lstm", 8)), TrainConfig(gap=25),
                            {"test_acc": 0.5, "steps": 3})
    (folder / "<b>x<_b>.pt").write_bytes(good.read_bytes())
    at = open_page()
    assert not at.error
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    stars = [t["name"] for t in spec["data"] if t["name"].startswith("yours")]
    assert stars == ["yours: fine (MNIST, 3 steps)"]
