"""kernels.py's hand-written BPTT against torch's nn.RNN and autograd."""
import pytest
import torch
from torch import nn

from rnn_demo import kernels
from rnn_demo.kernels import tanh_rnn_last
from rnn_demo.model import ModelConfig, SequenceClassifier


@pytest.fixture(params=sorted(kernels.TANHS))
def tanh_way(request, monkeypatch):
    """Run a test with each way of computing tanh that kernels.tanh_choice may pick."""
    monkeypatch.setattr(kernels, "tanh_choice", lambda: request.param)
    return request.param


def test_last_state_and_every_weight_gradient_equal_nn_rnn(tanh_way):
    torch.manual_seed(0)
    rnn = nn.RNN(28, 16, batch_first=True).double()
    x = torch.rand(5, 28, 28, dtype=torch.float64)
    upstream = torch.randn(5, 16, dtype=torch.float64)
    weights = [rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0]
    ref = rnn(x)[0][:, -1]
    ours = tanh_rnn_last(x, *weights)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)
    for a, b in zip(torch.autograd.grad((ours * upstream).sum(), weights),
                    torch.autograd.grad((ref * upstream).sum(), weights)):
        assert a.abs().max() > 0
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_model_forward_uses_the_kernel_and_keeps_the_numbers(bidirectional, monkeypatch, tanh_way):
    torch.manual_seed(1)
    model = SequenceClassifier(ModelConfig("rnn", hidden_size=12, bidirectional=bidirectional)).double()
    x = torch.rand(4, 28, 28, dtype=torch.float64)
    calls = []
    real = kernels.tanh_rnn_last
    monkeypatch.setattr(kernels, "tanh_rnn_last", lambda *a: calls.append(1) or real(*a))
    fast = model(x)
    assert len(calls) == (2 if bidirectional else 1)
    torch.testing.assert_close(fast, model.trace(x).logits, rtol=0, atol=1e-12)
    # the training loss's gradient is the same as through nn.RNN
    y = torch.tensor([0, 3, 7, 9])
    grads = torch.autograd.grad(nn.functional.cross_entropy(fast, y), list(model.parameters()))
    ref = torch.autograd.grad(nn.functional.cross_entropy(model.trace(x).logits, y), list(model.parameters()))
    for a, b in zip(grads, ref):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_a_differentiated_input_goes_through_nn_rnn():
    """The kernel gives no gradient for x, so attribution (d logit / d x) must not use it."""
    torch.manual_seed(2)
    model = SequenceClassifier(ModelConfig("rnn", hidden_size=8)).double()
    x = torch.rand(2, 28, 28, dtype=torch.float64, requires_grad=True)
    (gx,) = torch.autograd.grad(model(x)[:, 3].sum(), x)
    x2 = x.detach().requires_grad_()
    (ref,) = torch.autograd.grad(model.trace(x2).logits[:, 3].sum(), x2)
    assert gx.abs().max() > 0
    torch.testing.assert_close(gx, ref)


def test_disabled_runs_on_nn_rnn(monkeypatch):
    """bench/train_speed.py times the seed's recipe on torch's own cell."""
    calls = []
    monkeypatch.setattr(kernels, "tanh_rnn_last", lambda *a: calls.append(1))
    model = SequenceClassifier(ModelConfig("rnn", hidden_size=8))
    with kernels.disabled():
        model(torch.rand(2, 28, 28))
    assert calls == [] and kernels.enabled


def test_both_tanhs_are_tanh_in_float32_and_the_choice_is_one_of_them():
    z = torch.linspace(-20, 20, 100_001)
    for name, fn in kernels.TANHS.items():
        torch.testing.assert_close(fn(z.clone()), torch.tanh(z), rtol=0, atol=3e-7, msg=name)
    assert kernels.tanh_choice() in kernels.TANHS
    torch.testing.assert_close(kernels.tanh_(z.clone()), torch.tanh(z), rtol=0, atol=3e-7)


def test_the_faster_tanh_is_chosen(monkeypatch):
    """tanh_choice times both ways and keeps the sigmoid form only when clearly faster."""
    import time as time_module
    for slow, expected in (("tanh", "sigmoid"), ("sigmoid", "tanh")):
        real = dict(kernels.TANHS)
        clock = [0.0]

        def timed(name):
            def fn(z):
                clock[0] += 1.0 if name == slow else 0.1
                return real[name](z)
            return fn
        monkeypatch.setattr(kernels, "TANHS", {name: timed(name) for name in real})
        monkeypatch.setattr(time_module, "perf_counter", lambda: clock[0])
        kernels.tanh_timings.cache_clear()
        try:
            assert kernels.tanh_choice() == expected
        finally:
            monkeypatch.undo()
            kernels.tanh_timings.cache_clear()
