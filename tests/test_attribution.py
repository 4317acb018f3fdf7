"""Row attribution against autograd on an unrolled copy and a finite difference; multi-model
predictions against model(x).softmax and the per-step read-out."""
import numpy as np
import pytest
import torch

from rnn_demo import attribution
from rnn_demo.data import to_sequences
from rnn_demo.model import ModelConfig, build


def _unrolled_logits(model, x):
    """The tiny tanh RNN written out step by step from its weights, independent of torch's module."""
    w = model.layer_weights(0)
    s = torch.zeros(x.shape[0], model.config.hidden_size, dtype=x.dtype)
    for t in range(x.shape[1]):
        s = torch.tanh(x[:, t] @ w["W_ih"].T.to(x.dtype) + s @ w["W_hh"].T.to(x.dtype)
                       + (w["b_ih"] + w["b_hh"]).to(x.dtype))
    return s @ model.readout.weight.T.to(x.dtype) + model.readout.bias.to(x.dtype)


@pytest.mark.parametrize("cfg", [ModelConfig("rnn", 8), ModelConfig("lstm", 6),
                                 ModelConfig("gru", 6, bidirectional=True)], ids=lambda c: c.label)
def test_attribution_matches_a_finite_difference(cfg, sample):
    model = build(cfg).double().eval()
    digit = sample.images[3].numpy()
    got = attribution.row_attribution(model, to_sequences(digit).double())
    target = int(model(to_sequences(digit).double()[None]).argmax())
    x0 = to_sequences(digit).double()
    eps = 1e-6
    bump = eps * torch.eye(28 * 28, dtype=torch.float64).reshape(-1, 28, 28)  # one pixel at a time
    with torch.no_grad():  # central differences, every pixel in one batch
        grad = ((model(x0 + bump)[:, target] - model(x0 - bump)[:, target]) / (2 * eps)).reshape(28, 28).numpy()
    np.testing.assert_allclose(got, np.linalg.norm(grad, axis=1), rtol=1e-5, atol=1e-9)


def test_attribution_matches_autograd_on_an_unrolled_loop(sample):
    model = build(ModelConfig("rnn", 8)).double().eval()
    x = sample.sequences(slice(0, 4)).double()
    got = attribution.row_attribution(model, x)  # (B, T): each digit's own predicted class
    assert got.shape == (4, 28)
    for b in range(4):
        xb = x[b:b + 1].clone().requires_grad_(True)
        logits = _unrolled_logits(model, xb)
        logits[0, logits.argmax()].backward()
        np.testing.assert_allclose(got[b], xb.grad[0].norm(dim=-1).numpy(), rtol=1e-8)


def test_attribution_of_a_chosen_class(sample):
    model = build(ModelConfig("lstm", 8)).double().eval()
    x = sample.sequences(slice(0, 1)).double().requires_grad_(True)
    model(x)[0, 7].backward()
    got = attribution.row_attribution(model, x.detach(), target=7)
    np.testing.assert_allclose(got[0], x.grad[0].norm(dim=-1).numpy(), rtol=1e-8)


def test_one_uint8_digit_gives_one_value_per_row(sample):
    # Even a blank row has a gradient (W_xh acts on it), so every row's attribution is positive.
    model = build(ModelConfig("rnn", 16)).eval()
    a = attribution.row_attribution(model, sample.images[0].numpy())
    assert a.shape == (28,) and (a > 0).all()


def test_predict_with_several_models_equals_softmax_of_each(sample):
    models = {"rnn": build(ModelConfig("rnn", 16)).eval(), "lstm": build(ModelConfig("lstm", 12)).eval(),
              "bi": build(ModelConfig("rnn", 8, bidirectional=True)).eval()}
    digit = sample.images[5].numpy()
    x = to_sequences(digit)[None]
    preds = attribution.predict(models, digit)
    assert list(preds) == list(models)
    for name, model in models.items():
        with torch.no_grad():
            probs = model(x).softmax(-1)[0].numpy()
            step = model.readout(model.rnn(x)[0]).softmax(-1)[0].numpy()
        p = preds[name]
        np.testing.assert_allclose(p.probs, probs, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(p.step_probs, step, rtol=1e-5, atol=1e-7)
        assert p.digit == int(probs.argmax()) and p.confidence == pytest.approx(probs.max())
        assert p.step_probs.shape == (28, 10)
    # the bidirectional model's last-step read-out is not its prediction; the others' is
    np.testing.assert_allclose(preds["rnn"].step_probs[-1], preds["rnn"].probs, rtol=1e-5)


def test_late_share_and_unlike_mnist():
    assert attribution.late_share(np.r_[np.zeros(21), np.ones(7)]) == 1.0
    assert attribution.late_share(np.ones(28)) == pytest.approx(7 / 28)
    assert attribution.late_share(np.zeros(28)) == 0.0
    sure = attribution.Prediction(3, np.eye(10)[3], np.zeros((28, 10)))
    unsure = attribution.Prediction(3, np.full(10, 0.1), np.zeros((28, 10)))
    assert attribution.unlike_mnist({"a": unsure, "b": unsure})
    assert not attribution.unlike_mnist({"a": unsure, "b": sure})
