"""Gradient flow (rnn_demo.gradients, rnn_demo.plots.gradients): per-step gradient norms against
independent computations, the spectral-radius control, and the figures' numbers."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnn_demo import gradients as G
from rnn_demo.model import ModelConfig, build
from rnn_demo.plots import gradients as gplots

B, T, FEAT, H = 3, 6, 3, 4


def tiny(cell: str, bidirectional: bool = False, nonlinearity: str = "tanh"):
    torch.manual_seed({"rnn": 1, "lstm": 2, "gru": 3}[cell])
    model = build(ModelConfig(cell=cell, hidden_size=H, input_size=FEAT, bidirectional=bidirectional,
                              nonlinearity=nonlinearity)).double()
    with torch.no_grad():  # larger recurrent weights than torch's default, so the curve has shape
        for name, p in model.rnn.named_parameters():
            p.mul_(2.0)
    x = torch.rand(B, T, FEAT, dtype=torch.float64)
    y = torch.tensor([0, 3, 7])
    return model, x, y


def _run_fused_from(model, x_rest, state):
    """The fused full-sequence module from a given state, then the read-out: logits (B, C)."""
    if x_rest.shape[1] == 0:
        last = state[0] if isinstance(state, tuple) else state
        return model.readout(last[0])
    out, _ = model.rnn(x_rest, state)
    return model.readout(out[:, -1])


def _fused_prefix_state(model, x, t):
    """(h, c) or h after rows 0..t by the fused module, as (1, B, H) tensors."""
    _, state = model.rnn(x[:, :t + 1])
    return state


def _lstm_output_gate(model, x, t, h_prev):
    """o_t of torch's LSTM layout (rows i, f, g, o) from x_t and h_{t-1}: needed to let a change
    of c_t flow into h_t = o_t * tanh(c_t), since dL/dc_t is the total derivative."""
    W_ih, W_hh = model.rnn.weight_ih_l0[3 * H:], model.rnn.weight_hh_l0[3 * H:]
    b = model.rnn.bias_ih_l0[3 * H:] + model.rnn.bias_hh_l0[3 * H:]
    return torch.sigmoid(x[:, t] @ W_ih.T + h_prev @ W_hh.T + b)


def _lstm_state_from_c(model, x, t, c):
    """(h_t, c_t) as (1, B, H) with h_t = o_t * tanh(c_t), for a given (perturbed or leaf) c_t."""
    h_prev = _fused_prefix_state(model, x, t - 1)[0][0] if t > 0 else x.new_zeros(B, H)
    return _lstm_output_gate(model, x, t, h_prev.detach()) * torch.tanh(c), c


def split_reference(model, x, y, which="h"):
    """dL/ds_t by cutting torch's fused nn.RNN/LSTM/GRU at step t: run it up to t, make s_t a
    leaf, run it on from there. The fused module never exposes s_t inside the graph, so this is
    the comparable quantity: a total derivative through torch's own kernels."""
    norms = np.zeros((B, T))
    for t in range(T):
        with torch.no_grad():
            state = _fused_prefix_state(model, x, t)
        if isinstance(state, tuple):
            h, c = (s.clone().requires_grad_() for s in state)
            leaf = h if which == "h" else c
            if which == "c":
                h = _lstm_state_from_c(model, x, t, c)[0]
            logits = _run_fused_from(model, x[:, t + 1:], (h, c))
        else:
            leaf = state.clone().requires_grad_()
            logits = _run_fused_from(model, x[:, t + 1:], leaf)
        loss = F.cross_entropy(logits, y, reduction="sum")
        (g,) = torch.autograd.grad(loss, leaf)
        norms[:, t] = g[0].norm(dim=-1).numpy()
    return norms


def finite_difference(model, x, y, which="h", eps=1e-6):
    """Perturb one unit of s_t (for every digit at once: digits do not interact), re-run the
    remaining steps, and read each digit's own loss change: a central difference."""
    norms = np.zeros((B, T))
    with torch.no_grad():
        for t in range(T):
            state = _fused_prefix_state(model, x, t)
            grad = torch.zeros(B, H, dtype=torch.float64)
            for j in range(H):
                losses = []
                for sign in (1, -1):
                    if isinstance(state, tuple):
                        h, c = (s.clone() for s in state)
                        (h if which == "h" else c)[0, :, j] += sign * eps
                        if which == "c":
                            h = _lstm_state_from_c(model, x, t, c)[0]
                        st = (h, c)
                    else:
                        st = state.clone()
                        st[0, :, j] += sign * eps
                    losses.append(F.cross_entropy(_run_fused_from(model, x[:, t + 1:], st), y, reduction="none"))
                grad[:, j] = (losses[0] - losses[1]) / (2 * eps)
            norms[:, t] = grad.norm(dim=-1).numpy()
    return norms


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_state_gradients_equal_finite_differences(cell):
    model, x, y = tiny(cell)
    got = G.state_gradients(model, x, y)
    np.testing.assert_allclose(got["h"], finite_difference(model, x, y, "h"), rtol=1e-5, atol=1e-9)
    assert got["h"].shape == (B, T) and (got["h"] > 0).all()
    if cell == "lstm":
        np.testing.assert_allclose(got["c"], finite_difference(model, x, y, "c"), rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_from_scratch_fused_cells_and_fused_module_agree(cell):
    model, x, y = tiny(cell)
    scratch = G.state_gradients(model, x, y, path="scratch")
    fused = G.state_gradients(model, x, y, path="fused")
    for key in scratch:
        np.testing.assert_allclose(scratch[key], fused[key], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(scratch[key], split_reference(model, x, y, key), rtol=1e-10, atol=1e-14)
    assert set(scratch) == ({"h", "c"} if cell == "lstm" else {"h"})


def test_relu_rnn_and_bidirectional_paths_agree():
    model, x, y = tiny("rnn", nonlinearity="relu")
    np.testing.assert_allclose(G.state_gradients(model, x, y)["h"],
                               split_reference(model, x, y), rtol=1e-10, atol=1e-14)
    bi, x, y = tiny("gru", bidirectional=True)
    scratch, fused = G.state_gradients(bi, x, y), G.state_gradients(bi, x, y, path="fused")
    assert set(scratch) == {"h", "h_reverse"}
    for key in scratch:
        np.testing.assert_allclose(scratch[key], fused[key], rtol=1e-10, atol=1e-14)
    # The backward direction's first row read is row T: its last state there reaches the loss
    # only through the remaining backward steps, the forward direction's only through s_T.
    assert scratch["h_reverse"][:, -1].min() > 0
    back = G.norms_through_time(bi, x, y)["h_reverse"]
    assert back.median[0] == pytest.approx(1.0)  # its last row read is row 1
    assert back.factor == pytest.approx(G.fit_factor(back.t, back.median[::-1]))


def test_norms_do_not_depend_on_the_batch():
    model, x, y = tiny("lstm")
    whole = G.state_gradients(model, x, y)
    alone = G.state_gradients(model, x[1:2], y[1:2])
    np.testing.assert_allclose(alone["h"][0], whole["h"][1], rtol=1e-12)


def test_summarise_and_fit():
    norms = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0], [0.5, 1.0, 0.0]])
    cur = G.summarise(norms)
    # Digit 3's last step is 0: it is left out of the ratio and said so.
    np.testing.assert_allclose(cur.median, np.median([[0.25, 0.5, 1.0], [1, 1, 1]], axis=0))
    np.testing.assert_allclose(cur.raw_median, np.median(norms, axis=0))
    np.testing.assert_allclose(cur.q1, np.nanpercentile([[0.25, 0.5, 1.0], [1, 1, 1]], 25, axis=0))
    assert any("zero gradient at the last step" in n for n in cur.notes)
    t = np.arange(1, 21)
    assert G.fit_factor(t, 0.7 ** (20 - t)) == pytest.approx(0.7, rel=1e-9)
    assert G.fit_factor(t, 1.3 ** (20 - t)) == pytest.approx(1.3, rel=1e-9)
    assert math.isnan(G.fit_factor(t, np.full(20, np.nan)))


@pytest.mark.parametrize("rho", [0.25, 0.9, 1.0, 1.7, 2.0])
def test_setting_rho_sets_the_spectral_radius(rho):
    W = G.fresh_rnn_weights(hidden=64, seed=3)["W_hh"]
    scaled = G.set_spectral_radius(W, rho)
    assert torch.linalg.eigvals(scaled).abs().max().item() == pytest.approx(rho, abs=1e-4)
    # Rescaling keeps the eigenvectors: eigenvalues scale by one common factor.
    ratio = np.sort(np.abs(torch.linalg.eigvals(scaled).numpy())) / np.sort(np.abs(torch.linalg.eigvals(W).numpy()))
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-6)
    with pytest.raises(ValueError, match="positive"):
        G.set_spectral_radius(W, 0.0)


def test_trained_model_weights_get_rho_too(sample):
    model = build(ModelConfig(cell="rnn", hidden_size=16))
    w = G.rnn_weights_from(model)
    x = G.make_sequences(sample.images[:8])
    exp = G.rnn_experiment(w, x, sample.labels[:8], 1.3, "tanh")
    assert exp.rho == pytest.approx(1.3, abs=1e-4)
    # The W_h that was really run has that spectral radius, and the eigenvalues shown are its own.
    run_eig = torch.linalg.eigvals(torch.from_numpy(exp.W_hh)).numpy()
    assert np.abs(run_eig).max() == pytest.approx(1.3, abs=1e-4)
    order = lambda e: e[np.lexsort((np.round(e.imag, 6), np.round(e.real, 6)))]  # noqa: E731 (ties robust)
    np.testing.assert_allclose(order(exp.eigenvalues), order(run_eig), atol=1e-8)
    np.testing.assert_allclose(exp.W_hh, G.set_spectral_radius(w["W_hh"], 1.3).numpy(), rtol=1e-12)
    assert exp.sigma_max >= exp.rho - 1e-9  # the largest singular value bounds every |eigenvalue|
    with pytest.raises(ValueError, match="not a one-layer"):
        G.rnn_weights_from(build(ModelConfig(cell="lstm", hidden_size=8)))


def test_rho_below_one_vanishes_above_one_with_identity_explodes(sample):
    w = G.fresh_rnn_weights(hidden=64, seed=0)
    x, y = G.make_sequences(sample.images[:64]), sample.labels[:64]
    low = G.rnn_experiment(w, x, y, 0.5, "tanh")
    high = G.rnn_experiment(w, x, y, 1.8, "identity")
    assert low.curve.factor < 0.8
    assert low.curve.median[0] < 1e-3 * low.curve.median[-1]
    assert high.curve.factor > 1.2
    assert high.curve.median[0] > 1e3
    assert 0 < low.mean_slope < 1 and high.mean_slope == 1.0
    assert high.overflow_step is None


def test_experiment_norms_match_autograd_on_a_plain_loop(sample):
    """The experiment's per-step norms against a loop written here, with requires_grad states."""
    w = G.fresh_rnn_weights(hidden=16, seed=1)
    x, y = G.make_sequences(sample.images[:5], "noise", 4).double(), sample.labels[:5]
    exp = G.rnn_experiment(w, x, y, 1.2, "relu")
    W_hh = G.set_spectral_radius(w["W_hh"], 1.2).requires_grad_()
    states, s = [], torch.zeros(5, 16, dtype=torch.float64)
    for t in range(x.shape[1]):
        s = torch.relu(x[:, t] @ w["W_xh"].T + s @ W_hh.T + w["b_h"])
        s.retain_grad()
        states.append(s)
    F.cross_entropy(s @ w["W_out"].T + w["b_out"], y, reduction="sum").backward()
    norms = torch.stack([st.grad.norm(dim=-1) for st in states], 1).numpy()
    np.testing.assert_allclose(exp.curve.raw_median, np.median(norms, axis=0), rtol=1e-10)
    assert exp.steps == 32


def test_make_sequences(sample):
    imgs = sample.images[:4]
    assert torch.equal(G.make_sequences(imgs, "rows"), sample.sequences(slice(0, 4)))
    px = G.make_sequences(imgs, "pixels")
    assert px.shape == (4, 784, 1) and torch.equal(px[:, :, 0], imgs.reshape(4, -1).float() / 255)
    blank = G.make_sequences(imgs, "blank", 10)
    assert blank.shape == (4, 38, 28) and blank[:, 28:].abs().sum() == 0
    n1, n2 = G.make_sequences(imgs, "noise", 10), G.make_sequences(imgs, "noise", 10)
    assert torch.equal(n1, n2) and 0 <= n1[:, 28:].min() and n1[:, 28:].max() < 1 and n1[:, 28:].std() > 0.2
    with pytest.raises(ValueError, match="sequence must be"):
        G.make_sequences(imgs, "columns")


def test_training_norms_counts_clipped_and_bad_steps():
    info = G.training_norms({"grad_norm": [0.5, 2.0, float("nan"), float("inf"), 1.0, 3.0], "clip": 1.0})
    assert info["clipped"] == 2 and list(info["bad_steps"]) == [3, 4]
    assert info["clipped_fraction"] == pytest.approx(2 / 6)
    assert G.training_norms({"grad_norm": [5.0], "clip": 0.0})["clipped"] == 0
    with pytest.raises(ValueError, match="no gradient norms"):
        G.training_norms({})


def test_at_initialisation_is_seeded_and_leaves_global_rng_alone():
    model, x, y = tiny("lstm")
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    a = G.at_initialisation(model.float(), {"init": "orthogonal"})
    assert torch.equal(torch.rand(3), expected)
    b = G.at_initialisation(model, {"init": "orthogonal"})
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(p, q), n
    assert not torch.equal(a.rnn.weight_hh_l0, model.rnn.weight_hh_l0)
    assert (a.rnn.bias_ih_l0[H:2 * H] == 1).all()  # orthogonal scheme: forget bias 1


def test_norms_through_time_for_the_compare_page(sample):
    model = build(ModelConfig(cell="lstm", hidden_size=8))
    curves = G.norms_through_time(model, sample.sequences(slice(0, 16)), sample.labels[:16])
    assert set(curves) == {"h", "c"}
    cur = curves["h"]
    assert cur.t.tolist() == list(range(1, 29)) and cur.median[-1] == pytest.approx(1.0)
    assert (cur.q1 <= cur.median + 1e-12).all() and (cur.median <= cur.q3 + 1e-12).all()


def test_figures_show_the_computed_numbers():
    norms = np.array([[1e-3, 1e-2, 1.0], [2e-3, np.inf, 2.0]])
    cur = G.summarise(norms)
    fig = gplots.norms_figure([{"name": "rnn", "color": "#1f77b4", "curve": cur}])
    median = next(tr for tr in fig.data if tr.name == "rnn")
    assert median.y[0] == pytest.approx(np.median([1e-3, 1e-3])) and median.y[1] == pytest.approx(1e-2)
    assert fig.layout.yaxis.type == "log"
    raw = gplots.norms_figure([{"name": "rnn", "color": "#1f77b4", "curve": cur}], normalised=False)
    assert next(tr for tr in raw.data if tr.name == "rnn").y[2] == pytest.approx(1.5)
    eig = np.array([0.5 + 0.5j, 0.5 - 0.5j, -0.9])
    efig = gplots.eigen_figure(eig, 0.9)
    pts = next(tr for tr in efig.data if tr.name == "eigenvalues")
    assert list(pts.x) == [0.5, 0.5, -0.9] and list(pts.y) == [0.5, -0.5, 0.0]
    info = G.training_norms({"grad_norm": [0.5, 2.0, float("nan")], "clip": 1.0})
    tfig = gplots.training_figure(info)
    assert list(tfig.data[0].y) == [0.5, 2.0, None]
    assert any(s.type == "line" and s.y0 == 1.0 for s in tfig.layout.shapes)
    assert any("NaN/inf at step 3" in a.text for a in tfig.layout.annotations)
