"""Backpropagation through time for the seed's tanh RNN, written out for speed on a CPU.

Training only needs the last state s_T. torch's `nn.RNN` on a CPU records every step as
separate autograd nodes and computes the weight gradients one step at a time (28 small
matrix products each for W_h and W_x). Here the forward pass is one product for every
step's input `X W_x^T + b` and then 28 fused `addmm + tanh` in place; the backward pass
walks the steps once for dL/d(pre-activation) and then gets each weight gradient with a
single product over all steps at once:

    g_t  = dL/ds_t * (1 - s_t^2)           (t = T..1; dL/ds_{t-1} = g_t W_h)
    dW_h = sum_t g_t^T s_{t-1},  dW_x = sum_t g_t^T x_t,  db = sum_t g_t

The tanh itself is chosen at run time (`tanh_`): some torch builds compute float tanh one
element at a time (torch 2.14 on x86: 36 us for a 128x128 batch against 4 us for the
vectorised sigmoid, so half of the forward pass was tanh), and tanh(z) = 2 sigmoid(2z) - 1 is
then ~4x faster; where tanh is as fast, it is kept. Both agree to float rounding.

The same numbers as `nn.RNN` (tests/test_kernels.py: forward and every gradient to float
rounding, with either tanh); `bench/train_speed.py` prints the speed-up.
"""
from __future__ import annotations

import contextlib
import functools
import time

import torch

enabled = True  # SequenceClassifier.forward uses this file when True (see `disabled`)


@contextlib.contextmanager
def disabled():
    """Run the block on torch's nn.RNN alone: the baseline bench/train_speed.py times the
    seed's recipe on, as the seed ran it on the framework's built-in cell."""
    global enabled
    before, enabled = enabled, False
    try:
        yield
    finally:
        enabled = before


def _tanh_via_sigmoid_(z: torch.Tensor) -> torch.Tensor:
    """tanh(z) in place as 2 sigmoid(2z) - 1 (the same function; four vectorised passes)."""
    return z.mul_(2).sigmoid_().mul_(2).sub_(1)


def _tanh_(z: torch.Tensor) -> torch.Tensor:
    return z.tanh_()


TANHS = {"tanh": _tanh_, "sigmoid": _tanh_via_sigmoid_}  # the forward pass below inlines each


@functools.cache
def tanh_timings() -> dict[str, float]:
    """Median microseconds of each way of computing a 128x128 float tanh in place on this machine
    (15 alternating timings after 5 warm-up rounds, once per process; a few milliseconds)."""
    z = torch.randn(128, 128)
    times: dict[str, list[float]] = {name: [] for name in TANHS}
    for i in range(20):
        for name, fn in TANHS.items():
            w = z.clone()
            t = time.perf_counter()
            fn(w)
            if i >= 5:
                times[name].append(1e6 * (time.perf_counter() - t))
    return {name: sorted(ts)[len(ts) // 2] for name, ts in times.items()}


def tanh_choice() -> str:
    """'sigmoid' where that way is clearly faster here (at most 80% of tanh's time), else 'tanh'."""
    t = tanh_timings()
    return "sigmoid" if t["sigmoid"] < 0.8 * t["tanh"] else "tanh"


def describe() -> str:
    """One line for benchmark output: how the tanh RNN kernel computes tanh here, and why."""
    t = tanh_timings()
    way = "2 sigmoid(2z) - 1" if tanh_choice() == "sigmoid" else "torch.tanh"
    return f"tanh as {way} (a 128x128 batch: tanh {t['tanh']:.1f} us, via sigmoid {t['sigmoid']:.1f} us)"


def tanh_(z: torch.Tensor) -> torch.Tensor:
    """tanh in place, the faster way here (`tanh_choice`)."""
    return TANHS[tanh_choice()](z)


class _TanhRNNLast(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh):
        B, T, F = x.shape
        H = w_hh.shape[0]
        xs = x.transpose(0, 1).reshape(T * B, F)                    # time-major rows
        pre = torch.addmm(b_ih + b_hh, xs, w_ih.t()).view(T, B, H)  # every step's W_x x_t + b
        states = x.new_empty(T + 1, B, H)                           # s_0 .. s_T
        states[0].zero_()
        w_t = w_hh.t()
        if tanh_choice() == "sigmoid":  # s = 2 sigmoid(2z) - 1: the 2z inside the product, -1 + 2(.) in one pass
            minus_one = x.new_tensor(-1.0)
            for t in range(T):
                torch.addmm(pre[t], states[t], w_t, beta=2, alpha=2, out=states[t + 1]).sigmoid_()
                torch.add(minus_one, states[t + 1], alpha=2, out=states[t + 1])
        else:
            for t in range(T):
                torch.addmm(pre[t], states[t], w_t, out=states[t + 1]).tanh_()
        ctx.save_for_backward(xs, w_hh, states)
        return states[T].clone()

    @staticmethod
    def backward(ctx, grad_last):
        xs, w_hh, states = ctx.saved_tensors
        T, B, H = states.shape[0] - 1, states.shape[1], states.shape[2]
        g = states.new_empty(T, B, H)  # dL/d pre-activation at each step
        grad_s, buf, tmp = grad_last, states.new_empty(B, H), states.new_empty(B, H)
        for t in range(T, 0, -1):
            s = states[t]
            torch.mul(grad_s, s, out=tmp)
            torch.addcmul(grad_s, tmp, s, value=-1, out=g[t - 1])  # (1 - s_t^2) * dL/ds_t
            if t > 1:
                grad_s = torch.mm(g[t - 1], w_hh, out=buf)
        g = g.view(T * B, H)
        d_bias = g.sum(0)
        return (None, g.t().mm(xs), g.t().mm(states[:-1].reshape(T * B, H)), d_bias, d_bias)


def tanh_rnn_last(x: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor,
                  b_ih: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    """s_T of a one-layer tanh RNN from s_0 = 0: x (B, T, F) -> (B, H), differentiable in the
    weights (not in x: training never needs it)."""
    return _TanhRNNLast.apply(x.contiguous(), w_ih, w_hh, b_ih, b_hh)
