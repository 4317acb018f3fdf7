"""The explorer's figures hold the model's numbers: every frame is checked, as the browser receives it
(the figure's JSON), against hidden states and probabilities computed directly from the checkpoint."""
import base64
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
import torch

from rnn_demo import analysis, checkpoints
from rnn_demo.plots import explorer
from rnn_demo.ui import SHIPPED, SHIPPED_DIR

T = 28


def decode(value):
    """Plotly 7 JSON encodes numpy arrays as {"dtype", "bdata", "shape"}; lists stay lists."""
    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            arr = arr.reshape([int(n) for n in str(value["shape"]).split(",")])
        return arr.astype(np.float64)
    return np.array(value, dtype=np.float64)


def as_sent(fig: go.Figure) -> dict:
    """The figure as Streamlit sends it to the browser."""
    return json.loads(pio.to_json(fig, validate=False))


@pytest.fixture(scope="module")
def shipped():
    return {name: checkpoints.load(SHIPPED_DIR / f"{name}.pt") for name in SHIPPED}


def reference(ckpt, sample, idx):
    """Straight from the checkpoint: the fused module's states and per-step probabilities, and the
    from-scratch cells' gates."""
    x = sample.sequences(slice(idx, idx + 1))
    with torch.no_grad():
        fused = ckpt.model.trace(x)
        scratch = ckpt.model.trace(x, internals=True)
    return x[0].numpy(), fused.states[0].numpy(), fused.step_probs[0].numpy(), \
        {k: v[0].numpy() for k, v in scratch.internals.items()}


def grid_values(z, units, n):
    """Undo the unit grid: value of unit u (1-based) sits where `units` holds u."""
    out = np.full(n, np.nan)
    mask = ~np.isnan(units)
    out[units[mask].astype(int) - 1] = z[mask]
    return out


def check_frames(spec, rows, values, step_probs):
    data, frames = spec["data"], spec["frames"]
    n = values.shape[1]
    units = decode(data[explorer.GRID]["customdata"])
    assert sorted(units[~np.isnan(units)].astype(int)) == list(range(1, n + 1))  # every unit exactly once
    # drawn once, whole: the digit as fed and the history of every unit
    np.testing.assert_allclose(decode(data[explorer.DIGIT]["z"]), rows, atol=1e-6)
    np.testing.assert_allclose(decode(data[explorer.HISTORY]["z"]), values.T, atol=1e-6)
    np.testing.assert_allclose(grid_values(decode(data[explorer.GRID]["z"]), units, n), values[-1], atol=1e-6)
    assert [f["name"] for f in frames] == [str(t) for t in range(1, T + 1)]
    assert [s["args"][0] for s in spec["layout"]["sliders"][0]["steps"]] == [[str(t)] for t in range(1, T + 1)]
    assert spec["layout"]["sliders"][0]["active"] == T - 1
    for t, frame in enumerate(frames, start=1):
        assert frame["traces"] == explorer.ANIMATED
        got = dict(zip(frame["traces"], frame["data"]))
        # the unit grid and the bars are the model's numbers at step t
        np.testing.assert_allclose(grid_values(decode(got[explorer.GRID]["z"]), units, n), values[t - 1], atol=1e-6)
        bars = decode(got[explorer.BARS]["y"])
        np.testing.assert_allclose(bars, step_probs[t - 1], atol=1e-6)
        assert bars.sum() == pytest.approx(1.0, abs=1e-6)
        # the highlighted row is row t, which is x_t, the row fed at step t
        by = decode(got[explorer.CURRENT]["y"])
        assert (by.min(), by.max()) == (t - 0.5, t + 0.5)
        digit_y = decode(data[explorer.DIGIT]["y"])
        np.testing.assert_allclose(decode(data[explorer.DIGIT]["z"])[digit_y == t][0], rows[t - 1], atol=1e-6)
        # the veils cover exactly the rows not read yet and the steps not taken yet
        uy = decode(got[explorer.UNREAD]["y"])
        assert (uy.min(), uy.max()) == (t + 0.5, T + 0.5)
        fx = decode(got[explorer.FUTURE]["x"])
        assert (fx.min(), fx.max()) == (t + 0.5, T + 0.5)
        assert f"Step {t} of {T}" in frame["layout"]["title"]["text"]
        assert f"best guess is {int(step_probs[t - 1].argmax())}" in frame["layout"]["title"]["text"]


@pytest.mark.parametrize("name", SHIPPED)
def test_frames_hold_the_checkpoints_states_and_probabilities(name, shipped, sample):
    ckpt = shipped[name]
    rows, states, step_probs, _ = reference(ckpt, sample, 123)
    trace = analysis.digit_trace(ckpt.model, sample.images[123], int(sample.labels[123]))
    fig = explorer.explorer_figure(trace)
    check_frames(as_sent(fig), rows, states, step_probs)
    go.Figure(fig.to_dict())  # built without validation: plotly's full validation must accept it


@pytest.mark.parametrize("name, quantity", [("lstm", "c"), ("lstm", "f"), ("lstm", "o"), ("gru", "z")])
def test_gate_and_cell_state_frames(name, quantity, shipped, sample):
    ckpt = shipped[name]
    rows, _, step_probs, internals = reference(ckpt, sample, 42)
    trace = analysis.digit_trace(ckpt.model, sample.images[42], int(sample.labels[42]))
    spec = as_sent(explorer.explorer_figure(trace, quantity, analysis.QUANTITIES[name][quantity]))
    check_frames(spec, rows, internals[quantity], step_probs)
    axis = spec["layout"]["coloraxis"]
    if quantity == "c":
        m = max(1.0, np.abs(internals["c"]).max())
        assert (axis["cmin"], axis["cmax"]) == pytest.approx((-m, m))
    else:
        assert (axis["cmin"], axis["cmax"]) == (0, 1)


def test_state_colour_scale_is_fixed_to_minus_one_one(shipped, sample):
    trace = analysis.digit_trace(shipped["rnn"].model, sample.images[0])
    axis = as_sent(explorer.explorer_figure(trace))["layout"]["coloraxis"]
    assert (axis["cmin"], axis["cmax"]) == (-1, 1)
    assert axis["colorscale"][0][1] != axis["colorscale"][-1][1]  # a real scale, resolved for plotly.js


def test_bidirectional_shows_both_directions(shipped, sample):
    trace = analysis.digit_trace(shipped["birnn"].model, sample.images[9])
    spec = as_sent(explorer.explorer_figure(trace))
    units = decode(spec["data"][explorer.GRID]["customdata"])
    half = units.shape[1] // 2
    assert np.nanmax(units[:, :half]) == 128 and np.nanmin(units[:, half + 1:]) == 129
    assert spec["layout"]["xaxis2"]["ticktext"] == ["forward", "backward"]
    assert "backward rows 28–5" in spec["frames"][4]["layout"]["title"]["text"]


def test_unit_grid_round_trip():
    values = np.arange(10, dtype=np.float32) / 10
    grid = explorer.unit_grid(values, 5, 2)
    units = explorer.grid_units(5, 2)
    assert grid.shape == (2, 7)  # two 2 x 3 blocks and a blank column between them
    np.testing.assert_allclose(grid_values(grid, units, 10), values)


def test_knows_figure_marks_the_step(shipped, sample):
    trace = analysis.digit_trace(shipped["lstm"].model, sample.images[0], int(sample.labels[0]))
    fig = explorer.knows_figure(trace)
    go.Figure(fig.to_dict())
    spec = as_sent(fig)
    np.testing.assert_allclose(decode(spec["data"][0]["y"]), trace["step_probs"][:, trace["target"]], atol=1e-6)
    picks = trace["step_probs"].argmax(-1)
    np.testing.assert_allclose(decode(spec["data"][1]["y"]), trace["step_probs"].max(-1), atol=1e-6)
    assert spec["data"][1]["text"] == [str(k) for k in picks]
    k = trace["knows_from"]
    assert k is not None
    assert [s["x0"] for s in spec["layout"]["shapes"]] == [k]


def test_drive_figure_plots_the_norms(shipped, sample):
    trace = analysis.digit_trace(shipped["birnn"].model, sample.images[0])
    fig = explorer.drive_figure(trace)
    go.Figure(fig.to_dict())
    spec = as_sent(fig)
    assert len(spec["data"]) == 4  # input and recurrent, for each direction
    for d in range(2):
        np.testing.assert_allclose(decode(spec["data"][2 * d]["y"]), trace["drive"]["input"][d], atol=1e-6)
        np.testing.assert_allclose(decode(spec["data"][2 * d + 1]["y"]), trace["drive"]["recurrent"][d], atol=1e-6)


def test_trajectory_figures(shipped, sample):
    digits = sample.subset(slice(0, 100))
    pcas, paths = [], []
    for name in ("rnn", "lstm"):
        model = shipped[name].model
        pca = analysis.sample_pca(model, digits, per_class=3)
        trace = analysis.digit_trace(model, sample.images[0])
        pcas.append(pca)
        paths.append(analysis.project(trace["states"], pca["pca"]))
    fig = explorer.trajectory_figure(pcas[0], paths[0], "rnn", "rnn")
    go.Figure(fig.to_dict())
    spec = as_sent(fig)
    selected = [d for d in spec["data"] if d.get("name") == "this digit"][0]
    np.testing.assert_allclose(decode(selected["x"]), paths[0][:, 0])
    np.testing.assert_allclose(decode(selected["y"]), paths[0][:, 1])
    ends = [d for d in spec["data"] if d.get("mode") == "markers"]
    assert sum(len(decode(d["x"])) for d in ends) == len(pcas[0]["labels"])  # one end point per path
    fig = explorer.compare_trajectories_figure([("rnn", "rnn", pcas[0], paths[0]), ("lstm", "lstm", pcas[1], paths[1])])
    go.Figure(fig.to_dict())
    both = as_sent(fig)
    right = [d for d in both["data"] if d.get("name") == "this digit" and d.get("xaxis") == "x2"][0]
    np.testing.assert_allclose(decode(right["x"]), paths[1][:, 0])
    assert "rnn" in both["layout"]["annotations"][0]["text"] and "lstm" in both["layout"]["annotations"][1]["text"]


def test_relu_states_are_not_clipped_to_minus_one_one(sample):
    from rnn_demo import model as model_lib
    from rnn_demo.model import ModelConfig
    torch.manual_seed(0)
    relu = model_lib.build(ModelConfig(hidden_size=8, nonlinearity="relu")).eval()
    with torch.no_grad():
        relu.rnn.weight_ih_l0.mul_(20)  # states well above 1
    trace = analysis.digit_trace(relu, sample.images[0])
    axis = as_sent(explorer.explorer_figure(trace))["layout"]["coloraxis"]
    top = float(np.abs(trace["states"]).max())
    assert top > 1 and (axis["cmin"], axis["cmax"]) == pytest.approx((-top, top))
