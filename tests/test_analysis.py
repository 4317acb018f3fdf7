"""analysis.py against reference computations: the model's own trace, an unrolled loop, a plain SVD."""
import numpy as np
import pytest
import torch

from rnn_demo import analysis, checkpoints, model as model_lib
from rnn_demo.model import ModelConfig
from rnn_demo.ui import SHIPPED_DIR


def small(cell="rnn", bidirectional=False, layers=1, hidden=12):
    torch.manual_seed(0)
    return model_lib.build(ModelConfig(cell=cell, hidden_size=hidden, bidirectional=bidirectional,
                                       num_layers=layers)).eval()


def test_digit_trace_is_the_checkpoints_own_trace(sample):
    ckpt = checkpoints.load(SHIPPED_DIR / "rnn.pt")
    for idx in (0, 7):
        got = analysis.digit_trace(ckpt.model, sample.images[idx], int(sample.labels[idx]))
        x = sample.sequences(slice(idx, idx + 1))
        with torch.no_grad():
            ref = ckpt.model.trace(x)
        np.testing.assert_array_equal(got["rows"], x[0].numpy())
        np.testing.assert_allclose(got["states"], ref.states[0].numpy(), atol=1e-6)
        np.testing.assert_allclose(got["step_probs"], ref.step_probs[0].numpy(), atol=1e-6)
        np.testing.assert_allclose(got["step_probs"].sum(-1), 1.0, atol=1e-6)
        assert got["prediction"] == int(ref.logits.argmax()) and got["target"] == int(sample.labels[idx])
        assert got["states"].shape == (28, 128) and got["internals"] == {}


def test_a_drawn_digit_without_label_uses_the_final_answer_as_reference():
    image = np.zeros((28, 28), np.uint8)
    image[8:20, 12:15] = 255  # a stroke like a "1"
    got = analysis.digit_trace(small(), image)
    assert got["label"] is None and got["target"] == got["prediction"]
    assert got["knows_from"] is not None  # its own final answer is right at the last step by definition


def test_digit_trace_refuses_a_wrong_size():
    with pytest.raises(ValueError, match="28 x 28"):
        analysis.digit_trace(small(), np.zeros((20, 20), np.uint8))


def test_one_digit_runs_on_one_thread_and_restores_the_setting(sample):
    before = torch.get_num_threads()
    analysis.digit_trace(small(), sample.images[0])
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("cell, keys", [("lstm", "cifgo"), ("gru", "rzn")])
def test_internals_are_the_from_scratch_cells_gates(cell, keys, sample):
    m = small(cell)
    got = analysis.digit_trace(m, sample.images[3])
    with torch.no_grad():
        ref = m.trace(sample.sequences(slice(3, 4)), internals=True)
    assert set(got["internals"]) == set(keys)
    for k in keys:
        np.testing.assert_allclose(got["internals"][k], ref.internals[k][0].numpy(), atol=1e-6)
    for k in set(keys) - {"c", "g", "n"}:
        assert 0 <= got["internals"][k].min() and got["internals"][k].max() <= 1


@pytest.mark.parametrize("bidirectional", [False, True])
def test_drive_norms_are_the_two_terms_that_make_the_state(bidirectional, sample):
    """Reference: an explicit loop; the two terms plus the bias must give back the model's state."""
    m = small("rnn", bidirectional)
    H = m.config.hidden_size
    got = analysis.digit_trace(m, sample.images[5])
    x = sample.sequences(slice(5, 6))[0].double()  # (T, F)
    states = torch.as_tensor(got["states"]).double()
    for d in range(m.config.directions):
        w = {k: v.detach().double() for k, v in m.layer_weights(0, reverse=bool(d)).items()}
        s = states[:, d * H:(d + 1) * H]
        order = range(28) if d == 0 else range(27, -1, -1)
        prev = torch.zeros(H, dtype=torch.float64)
        for t in order:
            inp, rec = w["W_ih"] @ x[t], w["W_hh"] @ prev
            torch.testing.assert_close(torch.tanh(inp + rec + w["b_ih"] + w["b_hh"]), s[t], atol=1e-5, rtol=0)
            assert got["drive"]["input"][d, t] == pytest.approx(inp.norm().item(), abs=1e-4)
            assert got["drive"]["recurrent"][d, t] == pytest.approx(rec.norm().item(), abs=1e-4)
            prev = s[t]
    assert got["drive"]["input"].shape == (m.config.directions, 28)
    assert got["drive"]["recurrent"][0, 0] == 0  # s_0 = 0


def test_lstm_drive_norms_are_its_gate_preactivations(sample):
    m = small("lstm")
    got = analysis.digit_trace(m, sample.images[5])
    x = sample.sequences(slice(5, 6))[0]
    w = m.layer_weights(0)
    with torch.no_grad():
        h_prev = torch.cat([torch.zeros(1, 12), torch.as_tensor(got["states"][:-1])])
        inp, rec = x @ w["W_ih"].T, h_prev @ w["W_hh"].T  # (T, 4H)
        i = torch.sigmoid((inp + rec + w["b_ih"] + w["b_hh"])[:, :12])
    np.testing.assert_allclose(i.numpy(), got["internals"]["i"], atol=1e-5)  # the right two terms
    np.testing.assert_allclose(got["drive"]["input"][0], inp.norm(dim=-1).numpy(), rtol=1e-5)
    np.testing.assert_allclose(got["drive"]["recurrent"][0], rec.norm(dim=-1).numpy(), rtol=1e-5)


def test_drive_norms_of_a_two_layer_model_use_the_layer_reading_pixels(sample):
    m = small("gru", layers=2)
    got = analysis.digit_trace(m, sample.images[1])
    x = sample.sequences(slice(1, 2))
    with torch.no_grad():
        first = torch.nn.GRU(28, 12, batch_first=True)
        first.load_state_dict({k: v for k, v in m.rnn.state_dict().items() if k.endswith("_l0")})
        h1 = first(x)[0][0]  # (T, H)
        prev = torch.cat([torch.zeros(1, 12), h1[:-1]])
        rec = prev @ m.layer_weights(0)["W_hh"].T
    np.testing.assert_allclose(got["drive"]["recurrent"][0], rec.norm(dim=-1).numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("picks, expected", [
    ([1, 3, 3, 1, 3, 3], 5),   # wrong at step 4, right from step 5 on
    ([3, 3, 3], 1),            # right from the start
    ([3, 3, 1], None),         # wrong at the end: never settles
    ([1, 1, 3], 3),
])
def test_knows_from(picks, expected):
    probs = np.full((len(picks), 10), 0.01)
    probs[np.arange(len(picks)), picks] = 0.91
    assert analysis.knows_from(probs, 3) == expected


def test_fit_pca_agrees_with_svd_and_fixes_signs():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    X = rng.normal(size=(500, 6)) * [5, 2, 0.5, 0.3, 0.2, 0.1] @ basis.T + 3.0
    pca = analysis.fit_pca(X.reshape(50, 10, 6))
    Xc = X - X.mean(0)
    _, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    for k in range(2):
        assert abs(pca["components"][k] @ Vt[k]) == pytest.approx(1.0, abs=1e-9)
        assert pca["components"][k][np.abs(pca["components"][k]).argmax()] > 0
    np.testing.assert_allclose(pca["explained"], S[:2] ** 2 / (S ** 2).sum(), rtol=1e-9)
    np.testing.assert_allclose(analysis.project(X.mean(0), pca), 0, atol=1e-9)
    np.testing.assert_allclose(analysis.project(X, pca), Xc @ pca["components"].T, atol=1e-9)


def test_sample_pca_paths_are_projected_states(sample):
    m = small()
    got = analysis.sample_pca(m, sample, per_class=3)
    assert got["paths"].shape == (30, 28, 2) and np.bincount(got["labels"]).tolist() == [3] * 10
    states, _ = analysis.sample_traces(m, sample.subset(got["index"]))
    np.testing.assert_allclose(got["paths"], analysis.project(states, got["pca"]), atol=1e-9)
    assert (sample.labels.numpy()[got["index"]] == got["labels"]).all()


def test_true_class_prob_by_step_is_the_mean_over_digits(sample):
    m = small()
    digits = sample.subset(slice(0, 40))
    got = analysis.true_class_prob_by_step(m, digits, batch_size=16)  # several batches
    with torch.no_grad():
        probs = m.trace(digits.sequences()).step_probs  # (N, T, C)
    ref = probs[torch.arange(40), :, digits.labels].mean(0).numpy()
    assert got.shape == (28,)
    np.testing.assert_allclose(got, ref, atol=1e-6)
