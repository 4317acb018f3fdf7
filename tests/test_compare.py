"""Compare-page analysis and the training/compare figures, each against a direct computation."""
import base64

import numpy as np
import pytest
import torch

from rnn_demo import compare, gradients, train
from rnn_demo.checkpoints import Checkpoint
from rnn_demo.model import ModelConfig, build
from rnn_demo.plots import model_colors
from rnn_demo.plots import training as plots


def arr(v):
    """A Plotly trace value as a numpy array (Plotly 7 encodes arrays as base64)."""
    if isinstance(v, dict) and "bdata" in v:
        out = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        shape = v.get("shape")
        return out.reshape([int(n) for n in str(shape).split(",")]) if shape else out
    return np.asarray(v, dtype=float)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(1)
    return build(ModelConfig(cell="lstm", hidden_size=8)).eval()


@pytest.fixture(scope="module")
def digits(sample):
    return sample.subset(slice(0, 300))


def test_confusion_and_per_class_match_loops():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    cm = compare.confusion(y, p)
    ref = np.zeros((10, 10), int)
    for a, b in zip(y, p):
        ref[a, b] += 1
    assert np.array_equal(cm, ref)
    assert np.allclose(compare.per_class(cm), [np.mean(p[y == c] == c) for c in range(10)])


def test_evaluate_matches_the_training_loops_accuracy(model, digits):
    r = compare.evaluate(model, digits)
    acc, preds = train.accuracy(model, digits)
    assert r["accuracy"] == pytest.approx(acc) and r["n"] == 300 and r["confusion"].sum() == 300
    y = digits.labels.numpy()
    assert np.allclose(r["per_class"], [np.mean(preds.numpy()[y == c] == c) for c in range(10)])


def test_when_it_knows_is_the_mean_true_class_probability_per_step(model, digits):
    curve = compare.when_it_knows(model, digits)
    with torch.no_grad():
        probs = model.readout(model.rnn(digits.sequences())[0]).softmax(-1)  # (N, T, C)
    ref = probs[torch.arange(len(digits)), :, digits.labels].mean(0).numpy()
    assert curve.shape == (28,) and np.allclose(curve, ref, atol=1e-6)


def test_gradient_curve_comes_from_the_gradient_module(model, digits):
    c = compare.gradient_curve(model, digits, n=20)
    sub = digits.subset(slice(0, 20))
    ref = gradients.norms_through_time(model, sub.sequences(), sub.labels)["h"]
    assert np.allclose(c["median"], ref.median) and c["median"][-1] == pytest.approx(1.0)


def _ckpt(model, dataset, metrics=None, history=None):
    return Checkpoint(model, model.config, {"optimizer": "adam", "lr": 0.003, "batch_size": 64},
                      metrics or {"test_acc": 0.5, "steps": 10}, history or {"loss": [1.0] * 10, "seconds": 3.0},
                      dataset, "2")


def test_table_rows_and_anchors(model, digits, tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(b"0" * 2048)
    r = compare.evaluate(model, digits)
    row = compare.summary_row("m", _ckpt(model, {"kind": "sample", "train": "bundled sample"}), path, r)
    assert row["parameters"] == sum(p.numel() for p in model.parameters()) == 4 * (8 * 28 + 8 * 8 + 16) + 90
    assert row["size (KB)"] == 2.0 and row["training time (s)"] == 3.0 and row["steps"] == 10
    assert row["note"] == "trained on digits of the test set" and row["trained on"] == "bundled sample"
    assert compare.trained_on({"train": "MNIST train (/data)", "n_train": 60000}) == "MNIST train, 60,000 digits"
    shipped = {"lstm": _ckpt(model, {"n_test": 10_000, "train": "MNIST train"}, {"test_acc": 0.987, "steps": 100})}
    rows = compare.anchor_rows(shipped)
    assert rows[0]["test accuracy"] == 0.9766 and rows[0]["test digits"] == 128
    assert rows[1]["test accuracy"] == 0.987 and rows[1]["test digits"] == 10_000
    assert rows[1]["training"] == "adam lr 0.003, batch 64, 100 steps"
    shipped["lstm"].train_config.update(start_from="base.pt", start_from_steps=80)  # train.py --start-from
    assert compare.anchor_rows(shipped)[1]["training"] == "adam lr 0.003, batch 64, 100 steps, going on from base.pt (80 steps)"
    assert compare.summary_row("s", shipped["lstm"], None, r)["note"] == ""


def test_figures_show_the_numbers_given(model, digits):
    cm = compare.evaluate(model, digits)["confusion"]
    spec = plots.confusion_matrix(cm).to_plotly_json()
    assert np.allclose(arr(spec["data"][0]["z"]), cm / cm.sum(1, keepdims=True).clip(1))

    trace = compare.reading_trace(model, digits.images[3], int(digits.labels[3]))
    fig = plots.two_models_reading(trace["rows"], {"a": trace, "b": trace}, int(digits.labels[3]))
    frames = fig.to_plotly_json()["frames"]
    assert len(frames) == 28 and frames[0]["traces"] == [1, 2, 3, 4, 5]
    t = 9  # at frame t+1 the heat map shows the states of steps 1..t+1 and nothing later
    heat = arr(frames[t]["data"][1]["z"])
    assert np.allclose(heat[:, :t + 1], trace["states"].T[:, :t + 1]) and np.isnan(heat[:, t + 1:]).all()
    assert np.allclose(arr(frames[t]["data"][2]["y"]), trace["step_probs"][t])
    assert frames[t]["data"][0]["y"] == [t, t]  # the row being read

    h = train.train(ModelConfig(hidden_size=4), train.TrainConfig(batch_size=100, epochs=2, schedule="constant"),
                    digits).history
    summaries = h["param_summaries"]
    anim = plots.weight_histogram_animation(summaries, "rnn.weight_hh_l0")
    assert len(anim.frames) == len(summaries) == 3
    assert np.array_equal(arr(anim.frames[-1].data[0].y), summaries[-1]["params"]["rnn.weight_hh_l0"]["hist"])
    ws = plots.weight_summaries(summaries)
    assert np.allclose(arr(ws.data[1].y), [s["params"]["rnn.weight_ih_l0"]["mean"] for s in summaries])
    g = plots.grad_norm_steps(h["grad_norm"], clip=1.0)
    assert np.allclose(arr(g.data[0].y), h["grad_norm"]) and g.layout.shapes[0].y0 == 1.0
    assert plots.param_label("rnn.weight_hh_l1_reverse") == "W_h layer 2 backward"
    assert model_colors(["mine", "rnn", "other"]) == {"rnn": "#0072B2", "mine": "#000000", "other": "#6E6E6E"}


def test_long_runs_animate_at_most_sixty_epochs():
    snaps = [{"epoch": i, "step": 7 * i, "params": {"w": {"min": 0.0, "max": 1.0, "edges": [0.0, 0.5, 1.0],
                                                          "hist": [i, 1]}}} for i in range(1601)]
    fig = plots.weight_histogram_animation(snaps, "w")
    assert len(fig.frames) == 60 and fig.frames[0].name.startswith("epoch 0 ")
    assert fig.frames[-1].name == "epoch 1600 (step 11200)" and list(fig.frames[-1].data[0].y) == [1600, 1]
