"""The from-scratch cells equal torch's fused modules with the same weights (to 1e-5)."""
import pytest
import torch
from torch import nn

from rnn_demo import cells

B, T, F, H = 4, 28, 28, 16


def weights(module, sfx="_l0"):
    return [getattr(module, f"{n}{sfx}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_rnn_equals_nn_rnn(activation):
    ref = nn.RNN(F, H, batch_first=True, nonlinearity=activation)
    x = torch.rand(B, T, F)
    W_ih, W_hh, b_ih, b_hh = weights(ref)
    ours = cells.rnn(x, W_ih, W_hh, b_ih + b_hh, activation=activation)["h"]
    expected, h_n = ref(x)
    assert ours.shape == (B, T, H)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours[:, -1], h_n[0], atol=1e-5, rtol=0)


def test_rnn_is_the_seed_equation_step_by_step():
    x = torch.rand(2, 3, F)
    W_x, W_h, b = torch.randn(H, F), torch.randn(H, H) * 0.1, torch.randn(H)
    s = torch.zeros(2, H)
    h = cells.rnn(x, W_x, W_h, b)["h"]
    for t in range(3):
        s = torch.tanh(x[:, t] @ W_x.T + s @ W_h.T + b)
        torch.testing.assert_close(h[:, t], s)


def test_identity_activation_is_linear():
    x = torch.rand(2, 5, F)
    W_x, W_h, b = torch.randn(H, F), torch.randn(H, H) * 0.1, torch.zeros(H)
    h1 = cells.rnn(x, W_x, W_h, b, activation="identity")["h"]
    h2 = cells.rnn(2 * x, W_x, W_h, b, activation="identity")["h"]
    torch.testing.assert_close(h2, 2 * h1)


def test_lstm_equals_nn_lstm_and_exposes_gates():
    ref = nn.LSTM(F, H, batch_first=True)
    x = torch.rand(B, T, F)
    out = cells.lstm(x, *weights(ref))
    expected, (h_n, c_n) = ref(x)
    torch.testing.assert_close(out["h"], expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(out["c"][:, -1], c_n[0], atol=1e-5, rtol=0)
    for g in "ifo":  # sigmoid gates in (0, 1)
        assert out[g].shape == (B, T, H) and 0 <= out[g].min() and out[g].max() <= 1
    assert out["g"].abs().max() <= 1
    torch.testing.assert_close(out["h"], out["o"] * torch.tanh(out["c"]))


def test_gru_equals_nn_gru():
    ref = nn.GRU(F, H, batch_first=True)
    x = torch.rand(B, T, F)
    out = cells.gru(x, *weights(ref))
    torch.testing.assert_close(out["h"], ref(x)[0], atol=1e-5, rtol=0)
    assert set(out) == {"h", "r", "z", "n"}
